"""Daily runs on the partitioned engine: what day N costs, against the local engine's.

Simulates ``--vessels`` for ``--days`` days (bench/increments.py's cached hourly NMEA files),
then ingests them a day at a time into a fresh DuckDB, each run resuming from the states the
last one kept and leaving its own at midnight (``seawatch ingest --detect --incremental
--watermark ... --engine E``), once with the local engine and once with ``--engine``
(``partitioned``: tasks in this process; ``dask``: a LocalCluster of ``--workers``). Per day:
wall seconds, this process's CPU seconds (a cluster's workers are not counted), positions
read, and the bytes of the states kept at that day's watermark (with its journals). At the
end: whether the two stores hold the same canonical tables (they must).

``--late-hours N`` (the late-day case): day 1's files (``--late-day``'s) from 12:00 for N
hours are held back and given after the last day, as one more run (``late``) whose rows all
belong to that day: it runs that day again and the following ones in the buckets whose state
changed
(:mod:`seawatch.engine.partition_late`; the local engine: :mod:`seawatch.engine.late`). Its
row says what that cost against a full day, and how many days and (day, bucket) chains ran
again.

``--rebucket M --rebucket-day D``: the runs from day D on use ``--buckets M`` (the states
of day D - 1 re-split per vessel first: :mod:`seawatch.engine.rebucket`); the row of day D
gives the seconds the re-split took (``re-split s``) within its wall time.

    .venv/bin/python bench/partitioned_days.py --vessels 25 --days 3
    .venv/bin/python bench/partitioned_days.py --engine dask --workers 2 --buckets 16
    .venv/bin/python bench/partitioned_days.py --days 3 --late-hours 1 --late-day 3
    .venv/bin/python bench/partitioned_days.py --days 3 --buckets 16 --rebucket 64 --rebucket-day 3
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from increments import START, day_files, simulate  # noqa: E402


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def state_bytes(root: Path, mark_us: int) -> int:
    from seawatch.engine.state import StateStore

    states = StateStore(root)
    if not root.is_dir():
        return 0
    total = 0
    for p in root.iterdir():
        path = states.path(p.name, mark_us)
        if p.is_dir() and path.exists():  # the state and its journals
            total += sum(f.stat().st_size for f in p.glob(f"{path.stem}.*"))
    return total


def canonical(db: Path, settings: Any) -> dict[str, str]:
    """Each stored table's digest (rows in a total order, the write order left out)."""
    import pyarrow as pa

    from seawatch.engine.canonical import digest
    from seawatch.store import TABLES, open_store
    from seawatch.store.tables import SEQ

    out = {}
    with open_store(str(db), settings) as store:
        for name in ("positions", "statics", "segments", "events"):
            schema = TABLES[name].arrow_schema()
            fields = [f for f in schema if f.name != SEQ]
            cols = ", ".join(f.name for f in fields)
            out[name] = digest(store.backend.fetch(f"SELECT {cols} FROM {name}", (),
                                                   pa.schema(fields)))  # fmt: skip
    return out


def run_days(
    sim: Path,
    days: int,
    work: Path,
    engine: str,
    options: dict[str, Any],
    late_hours: int = 0,
    late_day: int = 1,
    rebucket: tuple[int, int] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    import seawatch.engine.dask_engine as engine_module
    from seawatch.engine.ingest import ingest
    from seawatch.engine.state import StateStore
    from seawatch.settings import load_settings
    from seawatch.store import open_store

    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DATA_DIR": str(work)})
    db, root = work / f"{engine}.duckdb", work / f"{engine}-states"
    states = StateStore(root)
    rows: list[dict[str, Any]] = []
    first = START + timedelta(days=late_day - 1)
    held = [first + timedelta(hours=12 + h) for h in range(late_hours)]
    late = [f for f in day_files(sim, first) if any(f"{t:%Y%m%dT%H}" in f.name for t in held)]
    runs = []
    for d in range(days):
        day = START + timedelta(days=d)
        end_us = int((day + timedelta(days=1)).timestamp()) * 1_000_000
        runs.append((d + 1, [f for f in day_files(sim, day) if f not in late], end_us))
    if late:
        runs.append(("late", late, runs[-1][2]))
    split_s: list[float] = []
    real = engine_module.rebucket

    def timed(carry: Any, cfg: Any) -> None:
        t = time.perf_counter()
        real(carry, cfg)
        split_s.append(time.perf_counter() - t)

    engine_module.rebucket = timed  # type: ignore[assignment]
    for d, files, end_us in runs:
        mine = dict(options)
        if rebucket is not None and engine != "local" and d != "late" and d >= rebucket[0]:
            mine["buckets"] = rebucket[1]
        with open_store(str(db), settings) as store:
            t0, c0 = time.perf_counter(), cpu_s()
            report = ingest(store, files, settings, detect=True, states=states,
                            watermark_us=end_us, engine=engine, options=mine)  # fmt: skip
            wall, cpu = time.perf_counter() - t0, cpu_s() - c0
        rerun = report.rerun
        again = "" if rerun is None else f"{rerun.days} day(s)" + (
            f", {rerun.buckets} (day, bucket) chains" if rerun.buckets else "")  # fmt: skip
        if split_s:
            again = f"re-split {options['buckets']}->{mine['buckets']}: {split_s.pop():.2f} s"
        rows.append({"day": d, "wall_s": wall, "cpu_s": cpu, "again": again,
                     "positions": report.engine.read["positions"],
                     "state_kib": state_bytes(root, end_us) / 1024})  # fmt: skip
        print(f"{engine:12s} day {d}: {wall:6.2f} s wall {cpu:6.2f} CPU-s "
              f"{rows[-1]['positions']:8d} positions, states {rows[-1]['state_kib']:8.1f} "
              f"KiB {again}", file=sys.stderr)  # fmt: skip
    return rows, canonical(db, settings)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vessels", type=int, default=25)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--engine", choices=("partitioned", "dask"), default="partitioned")
    ap.add_argument("--buckets", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--late-hours", type=int, default=0, help="hours of --late-day from "
                    "12:00 held back and given after the last day (the late-day case)")  # fmt: skip
    ap.add_argument("--late-day", type=int, default=1, help="the day (1..) of those hours")
    ap.add_argument("--rebucket", type=int, default=0, help="the bucket count of the runs from "
                    "--rebucket-day on (their states re-split)")  # fmt: skip
    ap.add_argument("--rebucket-day", type=int, default=2)
    args = ap.parse_args()
    sim = BENCH / "_work" / f"increments-{args.vessels}v-{args.days}d-s{args.seed}"
    simulate(sim, args.vessels, args.days, args.seed)
    options: dict[str, Any] = {"buckets": args.buckets}
    if args.engine == "dask":
        options["workers"] = args.workers
    print(f"load before: {os.getloadavg()}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="seawatch-pdays-") as tmp:
        local, want = run_days(sim, args.days, Path(tmp), "local", {}, args.late_hours,
                               args.late_day)  # fmt: skip
        change = (args.rebucket_day, args.rebucket) if args.rebucket else None
        mine, got = run_days(sim, args.days, Path(tmp), args.engine, options,
                             args.late_hours, args.late_day, change)  # fmt: skip
    print(f"load after: {os.getloadavg()}", file=sys.stderr)
    print(f"| day | local wall s | local CPU-s | {args.engine} wall s | {args.engine} CPU-s "
          "| positions | states KiB (local / partitioned) "
          "| run again / re-split (local / partitioned) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for a, b in zip(local, mine, strict=True):
        print(f"| {a['day']} | {a['wall_s']:.2f} | {a['cpu_s']:.2f} | {b['wall_s']:.2f} | "
              f"{b['cpu_s']:.2f} | {a['positions']:,} | {a['state_kib']:.0f} / "
              f"{b['state_kib']:.0f} | {a['again'] or '-'} / {b['again'] or '-'} |")  # fmt: skip
    print(f"same canonical tables: {got == want}")
    if got != want:
        sys.exit(1)


if __name__ == "__main__":
    main()
