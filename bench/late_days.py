"""Late data for a past day: what running that day and the following ones again costs.

Simulates ``--days`` days (the cache of bench/increments.py), holds out every ``--every``-th
one-sentence message of day ``--late-day`` into a late file, ingests the days one by one into
a fresh DuckDB (``Ingest`` with a state store and the day's end as watermark, as ``seawatch
ingest --detect --incremental`` does; the first hour is run once before, to compile), then:

- the late file (the day and, while the state differs, the following ones run again);
- one position of an unknown vessel far from the others at noon of that day (a segment that
  stays open 24 h: how many days it takes until the state is unchanged);
- one position at 0°N 0°E at noon of that day (the cleaner drops it: one day run again).

Per run: wall and CPU seconds, the days run again, rows written; the state and journal
sizes of the last day.

    .venv/bin/python bench/late_days.py --days 5 --vessels 10
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from increments import BENCH, START, day_files, simulate


def _hold_out(files: list[Path], every: int, out: Path) -> tuple[list[Path], Path]:
    """The day's files without every ``every``-th one-sentence message, and the late file."""
    kept_files, late = [], []
    for f in files:
        kept = []
        for i, line in enumerate(f.read_text().splitlines(keepends=True)):
            (late if i % every == every // 2 and "!AIVDM,1,1," in line else kept).append(line)
        (out / f.name).write_text("".join(kept))
        kept_files.append(out / f.name)
    (out / "late.nmea").write_text("".join(late))
    return kept_files, out / "late.nmea"


def _one(path: Path, ts: int, mmsi: int, lat: float, lon: float) -> Path:
    from seawatch.decode.encode import encode_sentences
    from seawatch.decode.layouts import BY_NAME

    values = {"mmsi": mmsi, "lat": lat, "lon": lon, "speed_kn": 8.0, "course_deg": 45.0}
    (line,) = encode_sentences(BY_NAME["type1"], values, tag_block={"s": "sw-late", "c": ts})
    path.write_text(line + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vessels", type=int, default=10)
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--late-day", type=int, default=2)
    ap.add_argument("--every", type=int, default=50)
    args = ap.parse_args()
    sim = BENCH / "_work" / f"increments-{args.vessels}v-{args.days}d-s{args.seed}"
    simulate(sim, args.vessels, args.days, args.seed)

    from seawatch.engine.ingest import Ingest
    from seawatch.engine.run import Engine
    from seawatch.engine.state import JOURNAL, StateStore
    from seawatch.settings import load_settings
    from seawatch.store.factory import open_store

    with tempfile.TemporaryDirectory(prefix="late-days-") as tmp:
        work = Path(tmp)
        settings = load_settings(
            env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DATA_DIR": str(work / "data")}
        )
        states = StateStore(work / "state")
        store = open_store(str(work / "seawatch.duckdb"), settings)
        warm = Engine(settings, detect=True)
        warm.add(day_files(sim, START)[:1])
        warm.finish()

        def run(files: list[Path], end_us: int | None) -> tuple[float, float, Any]:
            wall, cpu = time.perf_counter(), time.process_time()
            session = Ingest(store, settings, detect=True, states=states, watermark_us=end_us)
            session.add(files)
            report = session.finish()
            return time.perf_counter() - wall, time.process_time() - cpu, report

        rows = []
        late_file = None
        for d in range(args.days):
            day = START + timedelta(days=d)
            files = day_files(sim, day)
            if d + 1 == args.late_day:
                files, late_file = _hold_out(files, args.every, work)
            end_us = int((day + timedelta(days=1)).timestamp() * 1_000_000)
            wall, cpu, report = run(files, end_us)
            n = report.read["positions"]
            rows.append((f"day {d + 1}", wall, cpu, n, "", ""))
            print(f"day {d + 1}: {wall:.1f} s, {n:,} positions", file=sys.stderr, flush=True)
        state = states.path("all", end_us).stat().st_size
        journal = sum(states.journal_path("all", end_us, k).stat().st_size for k in JOURNAL)
        from seawatch.engine.late import state_digest

        found = states.load("all", end_us)
        assert found is not None
        t = time.perf_counter()
        state_digest(found[1])
        digest_s = time.perf_counter() - t
        rows_kept = states.load_journal("all", end_us)
        assert rows_kept is not None
        spool = states.spool("all", [], {k: t.schema for k, t in rows_kept.items()})
        t = time.process_time()
        for kind, table in rows_kept.items():
            spool.write(kind, table)
        spool.close()
        journal_s = time.process_time() - t
        for path in spool.paths.values():
            path.unlink()
        assert late_file is not None
        noon = int((START + timedelta(days=args.late_day - 1, hours=12)).timestamp())
        lone = _one(work / "lone.nmea", noon, 257000002, -30.0, 80.0)  # south Indian Ocean
        noise = _one(work / "noise.nmea", noon + 60, 257000001, 0.0, 0.0)
        for name, path in (("late file", late_file), ("lone vessel", lone), ("null island", noise)):
            wall, cpu, report = run([path], None)
            r = report.rerun
            changed = ", ".join(f"{v} {k}" for k, v in r.changed.items()) if r else ""
            rows.append((name, wall, cpu, report.read["positions"], r.days if r else 0, changed))
            print(f"{name}: {wall:.1f} s, {r.days if r else 0} days", file=sys.stderr, flush=True)
        store.close()
    load = os.getloadavg()
    print(
        f"{args.vessels} vessels, {args.days} days (seed {args.seed}), whole ingest into "
        f"DuckDB; late rows for day {args.late_day} (every {args.every}th one-sentence message "
        f"held out); load average {load[0]:.1f} / {load[1]:.1f} at the end.\n"
    )
    print("| run | wall s | CPU s | positions read | days run again | written |")
    print("|---|---:|---:|---:|---:|---|")
    for name, wall, cpu, n, days, changed in rows:
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {n:,} | {days} | {changed} |")
    print(
        f"\nLast day's state {state / 1e6:.2f} MB, its journal {journal / 1e6:.2f} MB; comparing "
        f"a state (state_digest) {digest_s:.2f} s; writing the journal (zstd Arrow IPC) "
        f"{journal_s:.2f} s CPU. Written: rows written by the re-run days "
        "(identical rewrites of events and segments included)."
    )


if __name__ == "__main__":
    main()
