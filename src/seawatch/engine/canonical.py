"""Canonical outputs: a run's tables sorted by a total key and hashed, to compare runs.

In: a ``seawatch detect`` output directory (:class:`seawatch.engine.sinks.ParquetDirSink`).
Out: per table (positions with their segment ids, segments, identity, events) the SHA-256
of its rows sorted by every sortable column in schema order, so two runs that found the
same answers give equal digests whatever their chunks, partitions, workers or task order.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["TABLES", "canonical", "digests"]

TABLES = ("positions", "segments", "identity", "events")


def canonical(table: pa.Table) -> pa.Table:
    """``table`` sorted by all its sortable columns (lists and structs excepted)."""
    keys: list[tuple[str, Literal["ascending", "descending"]]] = [
        (f.name, "ascending")
        for f in table.schema
        if not (pa.types.is_nested(f.type) or pa.types.is_dictionary(f.type))
    ]
    return table.sort_by(keys) if keys else table


def digest(table: pa.Table) -> str:
    """SHA-256 of ``table``'s schema and rows (values, not buffers: null slots are nulls)."""
    h = hashlib.sha256(str(table.schema).encode())
    for batch in canonical(table).to_batches(max_chunksize=65_536):
        for row in batch.to_pylist():
            h.update(json.dumps(row, default=str, sort_keys=True).encode())
            h.update(b"\n")
    return h.hexdigest()


def digests(out_dir: Path) -> dict[str, str]:
    """The digest of each of :data:`TABLES` in ``out_dir`` (a missing one: its name only)."""
    return {
        name: digest(pq.read_table(out_dir / f"{name}.parquet"))
        if (out_dir / f"{name}.parquet").exists()
        else "missing"
        for name in TABLES
    }
