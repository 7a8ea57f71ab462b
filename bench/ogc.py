"""OGC summaries benchmark: what ``numberMatched``, the collections' ``extent`` and a
``tgsequence`` cost on a large store (issue 13).

In: a DuckDB store of ``--positions`` synthetic positions (``--vessels`` vessels in the Bay
of Bengal, one report a minute each, sailing straight for as many days as that takes),
written through the store's own write path and labelling rules, built here unless
``--reuse`` names one (e.g. bench/store.py's). Out: a Markdown section for
bench/RESULTS.md on stdout.

Timed, for a reader (``USA:SECRET``), p50/p95 over ``--repeat`` runs: the positions' extent
(:func:`seawatch.store.summary.extent`: what ``/ogc/collections`` computes), the events'
extent, ``numberMatched`` of a viewport (5 x 5 degrees) + 1 day of positions and of the
latest positions in it (:func:`seawatch.store.summary.count`), and one vessel's 30-day track
as MovingPoints (Query.track + :func:`seawatch.serve.ogc.moving.runs`, without HTTP).

    .venv/bin/python bench/ogc.py --positions 10_000_000 --db /tmp/bench-ogc.duckdb
    .venv/bin/python bench/ogc.py --reuse /tmp/seawatch-bench-store.duckdb
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from seawatch.decode.keys import message_keys
from seawatch.labels import LabelRules, Reader, parse_label
from seawatch.serve.ogc.moving import runs
from seawatch.settings import load_settings
from seawatch.store import open_store
from seawatch.store.query import Query
from seawatch.store.records import Labeller
from seawatch.store.summary import count, extent

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SECRET = "SECRET//REL TO IND"  # half the fleet: USA:SECRET may not read it, IND:SECRET may
TS = pa.timestamp("us", tz="UTC")


def synthetic(total: int, vessels: int, chunk: int = 1_000_000) -> Any:
    """Chunks of positions by time: every vessel reports once a minute, sailing straight."""
    rng = np.random.default_rng(4)
    lon0, lat0 = rng.uniform(80, 95, vessels), rng.uniform(5, 20, vessels)
    dlon, dlat = rng.uniform(-0.002, 0.002, vessels), rng.uniform(-0.002, 0.002, vessels)
    minutes = np.arange(-(-total // vessels))
    per = max(1, chunk // vessels)
    for first in range(0, len(minutes), per):
        m = minutes[first : first + per]
        n = min(len(m) * vessels, total - first * vessels)
        if n <= 0:
            return
        mm = np.repeat(m, vessels)[:n]
        v = np.tile(np.arange(vessels), len(m))[:n]
        ts = (T0.timestamp() * 1e6 + mm * 60e6).astype("int64")
        yield pa.table(
            {
                "ts": pa.array(ts, pa.int64()).cast(TS),
                "mmsi": pa.array(419_000_000 + v, pa.int32()),
                "msg_type": pa.array(np.ones(n, "int8")),
                "lat": np.clip(lat0[v] + dlat[v] * mm, -89, 89),
                "lon": (lon0[v] + dlon[v] * mm + 180) % 360 - 180,
                "speed_kn": np.full(n, 10.0),
            }
        )


def build(db: str, positions: int, vessels: int) -> None:
    for p in (Path(db), Path(db + ".wal")):
        p.unlink(missing_ok=True)
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with open_store(db, settings) as store:
        labeller = Labeller(store, LabelRules.from_settings(settings, store.policy))
        secret = store.label_id(parse_label(SECRET, store.policy))
        for rows in synthetic(positions, vessels):
            with store.transaction():
                rows = rows.append_column("msg_key", message_keys(rows, "positions"))
                rows = labeller.records(rows, "bench")
                odd = pc.equal(pc.bit_wise_and(rows.column("mmsi"), 1), 1)  # half the fleet
                ids = pc.if_else(odd, pa.scalar(secret, pa.int32()), rows.column("label_id"))
                rows = rows.set_column(rows.schema.get_field_index("label_id"), "label_id", ids)
                store.write("positions", rows)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    out, got = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        got = fn()
        out.append(time.perf_counter() - t)
    return out, got


def measure(
    q: Query, repeat: int, results: dict[str, list[float]], rows: dict[str, list[float]]
) -> None:
    """Time the summaries and a track for ``q``'s reader; rows keyed ``reader: what``."""
    rng = random.Random(4)
    who = str(q.reader)
    results[f"{who}: positions extent"], ext = timed(lambda: extent(q, "positions"), repeat)
    results[f"{who}: events extent"], _ = timed(lambda: extent(q, "events"), repeat)
    lo, hi = ext.start, ext.end
    first_day = q.latest(start=lo, end=lo + timedelta(days=1))
    mmsis = sorted(set(first_day.column("mmsi").to_pylist()))
    days = max(1, (hi - lo).days)
    names = {
        "positions": f"{who}: numberMatched positions viewport+1d",
        "latest": f"{who}: numberMatched latest viewport+1d",
        "track": f"{who}: tgsequence 30 days (Query.track + runs)",
    }
    for name in names.values():
        results[name], rows[name] = [], []
    for _ in range(repeat):
        start = lo + timedelta(days=rng.uniform(0, max(0, days - 1)))
        x, y = rng.uniform(80, 90), rng.uniform(5, 17)
        f = {"bbox": (x, y, x + 5, y + 5), "start": start, "end": start + timedelta(days=1)}
        for listing in ("positions", "latest"):
            (s,), got = timed(lambda listing=listing, f=f: count(q, listing, **f), 1)
            results[names[listing]].append(s)
            rows[names[listing]].append(got.total)
        m = rng.choice(mmsis)
        t = time.perf_counter()
        track = q.track(m, lo, lo + timedelta(days=30))
        runs(q, m, track)
        results[names["track"]].append(time.perf_counter() - t)
        rows[names["track"]].append(track.num_rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--positions", type=int, default=10_000_000)
    ap.add_argument("--vessels", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--db", default="/tmp/seawatch-bench-ogc.duckdb")
    ap.add_argument("--reuse", help="an existing DuckDB store to read (not rebuilt)")
    args = ap.parse_args()
    db = args.reuse or args.db
    if not args.reuse:
        t = time.perf_counter()
        build(db, args.positions, args.vessels)
        print(f"(built {db} in {time.perf_counter() - t:.0f} s)", file=sys.stderr)
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    rows: dict[str, list[float]] = {}
    results: dict[str, list[float]] = {}
    with open_store(db, settings) as store:
        for who in ("USA:SECRET", "IND:SECRET"):
            measure(Query(store, Reader.parse(who, store.policy)), args.repeat, results, rows)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"## bench/ogc — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print(
        f"- Machine: {os.cpu_count()} cores shared with other work (load average "
        f"{os.getloadavg()[0]:.1f} at the end); git {commit}; DuckDB store of synthetic "
        f"positions, half the fleet {SECRET} (USA:SECRET reads the other half through the "
        f"label filter, IND:SECRET every label: the table's bounds); `{' '.join(sys.argv)}`.\n"
    )
    print("| what | p50 ms | p95 ms | rows (median) |")
    print("|---|---:|---:|---:|")
    for name, secs in results.items():
        med = statistics.median(rows[name]) if name in rows else "—"
        p95 = float(np.percentile(secs, 95)) * 1000
        print(f"| {name} | {statistics.median(secs) * 1000:.1f} | {p95:.1f} | {med} |")


if __name__ == "__main__":
    main()
