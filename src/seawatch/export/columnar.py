"""Columnar exports: Apache Parquet and Arrow IPC, each record with a ``label`` column and
the file's marking in its metadata.

In: any kind of records (an Arrow table with ``label_id``) and the label dictionary. Out:
the table's columns as they are (``label_id``, the node's internal id, left out; types
kept: timestamps UTC, lists as lists), then ``label`` (each record's CAPCO marking); the
schema metadata ``seawatch`` holds JSON ``{"kind", "label", "labels"}``: the kind, the
collection's marking (the banner) and the distinct markings present. Parquet is
zstd-compressed; Arrow IPC is the uncompressed file format (``.arrow``, Feather v2).
GeoParquet (:mod:`seawatch.export.geoparquet`) is this Parquet plus a ``geometry``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Final

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from seawatch.export.common import (
    LABEL_COLUMN,
    ExportResult,
    Kind,
    check_table,
    marking_array,
    marking_of,
)
from seawatch.labels import Label, Policy

__all__ = [
    "METADATA_KEY",
    "marked_table",
    "read_arrow",
    "read_parquet",
    "write_arrow",
    "write_parquet",
]

METADATA_KEY: Final = b"seawatch"


def marked_table(
    table: pa.Table, labels: Mapping[int, Label], *, kind: Kind, policy: Policy
) -> tuple[pa.Table, ExportResult]:
    """``table`` without ``label_id``, with ``label`` and the ``seawatch`` schema metadata;
    and what it holds (records, banner, distinct markings)."""
    check_table(table, kind)
    marked = marking_of(table, labels, policy)
    data = table.drop_columns(["label_id"])
    data = data.append_column(LABEL_COLUMN, marking_array(table, labels))
    own = {"kind": kind, "label": marked.overall.marking, "labels": sorted(set(marked.markings))}
    meta = dict(data.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps(own).encode()
    return data.replace_schema_metadata(meta), marked.result(table.num_rows)


def write_parquet(
    table: pa.Table,
    labels: Mapping[int, Label],
    out: IO[bytes] | str | Path,
    *,
    kind: Kind,
    policy: Policy,
) -> ExportResult:
    """Write ``table`` (already filtered for its reader) to ``out`` as Parquet."""
    data, result = marked_table(table, labels, kind=kind, policy=policy)
    pq.write_table(data, out, compression="zstd")
    return result


def write_arrow(
    table: pa.Table,
    labels: Mapping[int, Label],
    out: IO[bytes] | str | Path,
    *,
    kind: Kind,
    policy: Policy,
) -> ExportResult:
    """Write ``table`` (already filtered for its reader) to ``out`` as an Arrow IPC file."""
    data, result = marked_table(table, labels, kind=kind, policy=policy)
    sink: Any = str(out) if isinstance(out, str | Path) else out
    with ipc.new_file(sink, data.schema) as writer:
        writer.write_table(data)
    return result


def _meta(table: pa.Table) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((table.schema.metadata or {}).get(METADATA_KEY, b"{}"))
    return found


def read_parquet(path: str | Path) -> tuple[pa.Table, dict[str, Any]]:
    """A Parquet export: the table and its ``seawatch`` metadata."""
    table = pq.read_table(path)
    return table, _meta(table)


def read_arrow(path: str | Path) -> tuple[pa.Table, dict[str, Any]]:
    """An Arrow IPC export: the table and its ``seawatch`` metadata."""
    with pa.memory_map(str(path)) as source:
        table = ipc.open_file(source).read_all()
    return table, _meta(table)
