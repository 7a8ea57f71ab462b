"""Daily increments that carry state: does day N cost what day 1 costs?

Simulates a modest fleet for ``--days`` days (``seawatch simulate``, hourly NMEA files;
cached in bench/_work/increments-<vessels>v-<days>d-s<seed>/), then runs one day at a time,
each run resuming from the state the previous one left (:class:`seawatch.engine.state.
StateStore`) and leaving its own at midnight (``--watermark``), as ``seawatch ingest
--detect --incremental`` does. Per day: wall and CPU seconds, positions read, the state
file's size, the time to load and save it (after one warm-up run over the first hour: the
detectors compile once). Issue 17's goal: day N within 10 % of day 1
(CPU per position, since days differ in traffic).

Two modes: the engine alone (decode, reorder, tracks, every detector, geography when its
data is present; no sink: what the state carries is the point), or ``--store`` (the whole
``ingest`` into a fresh DuckDB, whose cost also grows with the positions already stored).

    .venv/bin/python bench/increments.py                       # 25 vessels, 30 days
    .venv/bin/python bench/increments.py --days 5 --vessels 10 --store
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
START = datetime(2025, 6, 1, tzinfo=UTC)


def simulate(out: Path, vessels: int, days: int, seed: int) -> None:
    if (out / "manifest.json").exists():
        return
    cmd = [str(REPO / ".venv/bin/seawatch"), "simulate", "--vessels", str(vessels),
           "--hours", str(24 * days), "--seed", str(seed), "--out", str(out)]  # fmt: skip
    print("simulating:", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def day_files(sim: Path, day: datetime) -> list[Path]:
    return sorted(sim.glob(f"ais-{day:%Y%m%d}T*.nmea"))


def run_days(sim: Path, days: int, store_mode: bool, work: Path) -> list[dict[str, float]]:
    from seawatch.engine.ingest import Ingest
    from seawatch.engine.run import Engine
    from seawatch.engine.state import StateStore
    from seawatch.settings import load_settings
    from seawatch.store.factory import open_store

    settings = load_settings(
        env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DATA_DIR": str(work / "data")}
    )
    states = StateStore(work / "state")
    store = open_store(str(work / "seawatch.duckdb"), settings) if store_mode else None
    warm = Engine(settings, detect=True)  # compile and load once, as a long-lived node would
    warm.add(day_files(sim, START)[:1])
    warm.finish()
    rows = []
    for d in range(days):
        day = START + timedelta(days=d)
        files = day_files(sim, day)
        end_us = int((day + timedelta(days=1)).timestamp() * 1_000_000)
        wall, cpu = time.perf_counter(), time.process_time()
        if store is not None:
            session = Ingest(store, settings, detect=True, states=states, watermark_us=end_us)
            session.add(files)
            report = session.finish().engine
            load_s = save_s = float("nan")
        else:
            engine = Engine(settings, detect=True)
            t = time.perf_counter()
            found = states.load("all")
            if found is not None:
                engine.resume(found[1])
            load_s = time.perf_counter() - t
            engine.add(files)
            report = engine.finish(checkpoint=True, watermark_us=end_us)
            t = time.perf_counter()
            states.save("all", end_us, engine.state())
            save_s = time.perf_counter() - t
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        size = states.path("all", end_us).stat().st_size
        row = {"day": d + 1, "wall_s": wall, "cpu_s": cpu, "positions": report.read["positions"],
               "events": report.events, "state_bytes": size, "load_s": load_s,
               "save_s": save_s, "late": sum(report.late.values())}  # fmt: skip
        row["cpu_us_per_position"] = 1e6 * cpu / max(row["positions"], 1)
        rows.append(row)
        print(
            f"day {d + 1:2d}: {wall:6.1f} s wall, {cpu:6.1f} s CPU, {row['positions']:,} "
            f"positions ({row['cpu_us_per_position']:.1f} µs CPU each), {report.events:,} "
            f"events, state {size / 1e6:.2f} MB (load {load_s:.2f} s, save {save_s:.2f} s), "
            f"late {row['late']}",
            file=sys.stderr,
            flush=True,
        )
    if store is not None:
        store.close()
    return rows


def markdown(rows: list[dict[str, float]], args: argparse.Namespace) -> str:
    load = os.getloadavg()
    first = rows[0]["cpu_us_per_position"]
    later = rows[1:] or rows
    worst = max(r["cpu_us_per_position"] for r in later)
    mean_later = sum(r["cpu_us_per_position"] for r in later) / len(later)
    lines = [
        f"{args.vessels} vessels, {args.days} days (seed {args.seed}), "
        f"{'whole ingest into DuckDB' if args.store else 'engine alone'}; load average "
        f"{load[0]:.1f} at the end (machine shared with other sessions).",
        "",
        "| day | positions | events | wall s | CPU s | CPU µs/position | state MB | load s | "
        "save s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['day']} | {r['positions']:,} | {r['events']:,} | {r['wall_s']:.1f} | "
            f"{r['cpu_s']:.1f} | {r['cpu_us_per_position']:.1f} | {r['state_bytes'] / 1e6:.2f} "
            f"| {r['load_s']:.2f} | {r['save_s']:.2f} |"
        )
    lines += [
        "",
        f"Day 1: {first:.1f} µs CPU per position; days 2–{len(rows)}: mean "
        f"{mean_later:.1f} ({100 * (mean_later / first - 1):+.1f} %), worst {worst:.1f} "
        f"({100 * (worst / first - 1):+.1f} %).",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vessels", type=int, default=25)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--sim", type=Path, help="a simulation already made (hourly files)")
    ap.add_argument("--store", action="store_true", help="the whole ingest into DuckDB")
    args = ap.parse_args()
    sim = args.sim or BENCH / "_work" / f"increments-{args.vessels}v-{args.days}d-s{args.seed}"
    simulate(sim, args.vessels, args.days, args.seed)
    with tempfile.TemporaryDirectory(prefix="increments-") as tmp:
        rows = run_days(sim, args.days, args.store, Path(tmp))
    print(markdown(rows, args))


if __name__ == "__main__":
    main()
