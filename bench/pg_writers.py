"""PostgreSQL ingest A/B of ``db_writers``: one and several writer connections, chunk by chunk.

In: the bench/store.py input (the sample's decoded positions replicated to ``--positions``),
a throwaway local PostgreSQL server (tests/store/pgserver.py, the durable settings of
bench/store.py). Out: a Markdown table for bench/RESULTS.md on stdout: positions per second
of each ``db_writers`` value.

Each chunk is written into one database per ``db_writers`` value, in turn, so both see the
same load of a shared machine (runs one after the other differ by tens of percent here);
the order alternates from chunk to chunk. Timed: the store's write path as bench/store.py
times it (message keys, labels, deduplicating insert, one transaction per chunk).

    .venv/bin/python bench/pg_writers.py --positions 4000000 --writers 1,2
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from seawatch.decode.keys import message_keys
from seawatch.labels import LabelRules
from seawatch.settings import load_settings
from seawatch.store import open_store
from seawatch.store.records import Labeller
from store import PG_BENCH_SETTINGS, copies, sample_positions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--positions", type=int, default=4_000_000)
    ap.add_argument("--chunk", type=int, default=1_000_000)
    ap.add_argument("--writers", default="1,2", help="db_writers values, comma-separated")
    args = ap.parse_args()
    counts = [int(w) for w in args.writers.split(",")]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))
    from pgserver import postgres_server  # type: ignore[import-not-found]

    base = sample_positions()
    with postgres_server(settings=PG_BENCH_SETTINGS) as server:
        stores, labellers = [], []
        for w in counts:
            env = {"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DB_WRITERS": str(w)}
            settings = load_settings(env=env)
            store = open_store(server.create_database(f"writers_{w}"), settings)
            stores.append(store)
            labellers.append(Labeller(store, LabelRules.from_settings(settings, store.policy)))
        secs = [0.0] * len(counts)
        stored = [0] * len(counts)
        load = [os.getloadavg()]
        for k, rows in enumerate(copies(base, args.positions, 10, args.chunk)):
            rows = rows.append_column("msg_key", message_keys(rows, "positions"))
            order = range(len(counts)) if k % 2 == 0 else reversed(range(len(counts)))
            for i in order:
                t = time.perf_counter()
                with stores[i].transaction():
                    stored[i] += stores[i].write("positions", labellers[i].records(rows, "bench"))
                secs[i] += time.perf_counter() - t
        load.append(os.getloadavg())
        for store in stores:
            store.close()
    print(f"## PostgreSQL ingest by db_writers — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print(
        f"- Command: `.venv/bin/python bench/pg_writers.py --positions {args.positions} "
        f"--chunk {args.chunk} --writers {args.writers}`; PostgreSQL {server.version}, "
        f"{', '.join(PG_BENCH_SETTINGS)}; {os.cpu_count()} cores shared with other work."
    )
    print(
        "- Load average (1, 5, 15 min) before, after: "
        + "; ".join(", ".join(f"{v:.1f}" for v in la) for la in load)
        + ".\n"
    )
    print("| db_writers | positions/s | seconds | stored |\n|---:|---:|---:|---:|")
    for w, s, n in zip(counts, secs, stored, strict=True):
        print(f"| {w} | {n / s:,.0f} | {s:.1f} | {n:,} |")


if __name__ == "__main__":
    main()
