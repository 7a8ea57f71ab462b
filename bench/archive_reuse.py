"""After ``seawatch db archive``: does the DuckDB file grow when new positions arrive?

In: a DuckDB store left by ``bench/store.py --positions N --archive`` (its first N copies
archived but the newest day). Out: one line: ``--more`` new positions (the copies after
the first N, the same generator as bench/store.py) stored, and the file's and the
positions table's bytes before and after (DuckDB reuses the blocks the archive freed).

    .venv/bin/python bench/store.py --positions 10000000 --archive --db /tmp/b10.duckdb
    .venv/bin/python bench/archive_reuse.py --db /tmp/b10.duckdb --positions 10000000 --more 5000000
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from seawatch.decode.keys import message_keys
from seawatch.labels import LabelRules
from seawatch.settings import load_settings
from seawatch.store import open_store
from seawatch.store.records import Labeller
from store import copies, sample_positions  # type: ignore[import-not-found]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--positions", type=int, default=10_000_000, help="what bench/store.py stored")
    ap.add_argument("--more", type=int, default=5_000_000)
    args = ap.parse_args()
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with open_store(args.db, settings) as store:
        before = store.backend.size_bytes()
        labeller = Labeller(store, LabelRules.from_settings(settings, store.policy))
        made = stored = 0
        for rows in copies(sample_positions(), args.positions + args.more, 10, 1_000_000):
            made += rows.num_rows
            if made <= args.positions:
                continue
            with store.transaction():
                rows = rows.append_column("msg_key", message_keys(rows, "positions"))
                stored += store.write("positions", labeller.records(rows, "bench"))
        after = store.backend.size_bytes()
    mb = 1e6
    print(
        f"stored {stored:,} new positions: file {before['total'] / mb:.1f} -> "
        f"{after['total'] / mb:.1f} MB, positions table {before['positions'] / mb:.1f} -> "
        f"{after['positions'] / mb:.1f} MB; load {', '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
