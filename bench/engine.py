"""The engine's cost of reading several inputs side by side, and the ingest around it.

Simulates a run (or takes ``--sim DIR``), splits its stream into the coast stations' file
and the satellites' file (two receivers, as partners deliver them), then times, each
``--repeat`` times in a fresh subprocess-free loop after one warm-up:

- ``detect one``: :func:`seawatch.engine.detect.detect_files` on the single stream (the
  peer every other figure is a ratio against);
- ``detect two``: the same on the two receivers' files, merged by the engine;
- ``ingest two``: :func:`seawatch.engine.ingest.ingest` with ``detect=True`` on the two
  files into a fresh DuckDB store (decode, pipeline, labels, message keys, storage).

Prints positions/s, medians, the ratio to ``detect one``, whether the two-file answers equal
the one-file answer (events and segments), and the load average. Run on demand:

    .venv/bin/python bench/engine.py --hours 6 --vessels 300 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from seawatch.engine.detect import detect_files
from seawatch.engine.ingest import ingest
from seawatch.labels import Reader
from seawatch.settings import load_settings
from seawatch.store import open_store
from seawatch.store.query import Query


def _simulate(out: Path, hours: float, vessels: int, seed: int) -> Path:
    cmd = [sys.executable, "-m", "seawatch.cli.main", "simulate", "--hours", str(hours)]
    cmd += ["--vessels", str(vessels), "--seed", str(seed), "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def _split(sim: Path, work: Path) -> dict[str, Path]:
    lines: list[bytes] = []
    for path in sorted(sim.glob("ais-*.nmea")):
        lines += path.read_bytes().splitlines(keepends=True)
    files = {"one": work / "all.nmea", "coast": work / "coast.nmea", "sat": work / "sat.nmea"}
    files["one"].write_bytes(b"".join(lines))
    files["sat"].write_bytes(b"".join(x for x in lines if x.startswith(b"\\s:sat")))
    files["coast"].write_bytes(b"".join(x for x in lines if not x.startswith(b"\\s:sat")))
    return files


def _events(out: Path) -> list[tuple[str, ...]]:
    t = pq.read_table(out / "events.parquet", columns=["event_id", "event_type"])
    return sorted(zip(*(map(str, c.to_pylist()) for c in t.columns), strict=True))


def _timed(fn: Callable[[int], object], repeat: int) -> list[float]:
    fn(-1)  # warm-up: imports, numba, land mask
    out = []
    for k in range(repeat):
        t0 = time.perf_counter()
        fn(k)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--vessels", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sim", type=Path, help="an existing `seawatch simulate` output")
    args = ap.parse_args()
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        work = Path(tmp)
        sim = args.sim or _simulate(work / "sim", args.hours, args.vessels, args.seed)
        files = _split(sim, work)
        two = [files["coast"], files["sat"]]
        answers: dict[str, object] = {}

        def detect_one(k: int) -> None:
            r = detect_files([files["one"]], settings=settings, out_dir=work / f"one{k}")
            answers["positions"] = r.report.read["positions"]
            answers["one"] = _events(work / f"one{k}")

        def detect_two(k: int) -> None:
            detect_files(two, settings=settings, out_dir=work / f"two{k}")
            answers["two"] = _events(work / f"two{k}")

        def ingest_two(k: int) -> None:
            db = str(work / f"store{k}.duckdb")
            with open_store(db, settings) as store:
                ingest(store, two, settings, detect=True)
                q = Query(store, Reader.node_admin("bench/engine"))
                ev = q.events()
                answers["ingest"] = sorted(
                    zip(
                        map(str, ev.column("event_id").to_pylist()),
                        map(str, ev.column("event_type").to_pylist()),
                        strict=True,
                    )
                )

        runs = {
            "detect one": _timed(detect_one, args.repeat),
            "detect two": _timed(detect_two, args.repeat),
            "ingest two": _timed(ingest_two, args.repeat),
        }
    n = int(answers["positions"])  # type: ignore[call-overload]
    base = statistics.median(runs["detect one"])
    made = f"{args.hours:g} h x {args.vessels} vessels (seed {args.seed})"
    print(f"bench/engine: {args.sim or made}, {n:,} positions")
    print(f"{'run':<12} {'median s':>9} {'min s':>7} {'positions/s':>12} {'vs detect one':>14}")
    for name, secs in runs.items():
        med = statistics.median(secs)
        print(f"{name:<12} {med:>9.2f} {min(secs):>7.2f} {n / med:>12,.0f} {med / base:>13.2f}x")
    same = answers["one"] == answers["two"] == answers["ingest"]
    print(f"two receivers give the one-stream events: {same} ({len(answers['one']):,} events)")  # type: ignore[arg-type]
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
