"""What a store holds, as sets of tuples, for tests that compare two stores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from seawatch.store import Store
from seawatch.store.tables import TABLES


def stored_rows(store: Store, columns: Mapping[str, Sequence[str]]) -> dict[str, set[Any]]:
    """Each table named in ``columns``: its rows as tuples of those columns, in a set."""
    out = {}
    for table, cols in columns.items():
        schema = TABLES[table].arrow_schema()
        rows = store.backend.fetch(f"SELECT {', '.join(cols)} FROM {table}", (),
                                   pa.schema([schema.field(c) for c in cols]))  # fmt: skip
        out[table] = set(zip(*(rows.column(c).to_pylist() for c in cols), strict=True))
    return out
