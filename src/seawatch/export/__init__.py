"""Standard exports of what a reader may see, each carrying the labels of what it contains.

In: an Arrow table of positions, latest positions, events or vessels with a ``label_id``
column (as the store's query layer returns it), the store's label dictionary, the reader
and the node's policy. Out: a file (or binary stream) in one of :data:`FORMATS` (GeoJSON,
CSV, JSON Lines, KML, Cursor-on-Target, GeoParquet, Parquet, Arrow IPC; declared once in
:mod:`seawatch.export.formats`) in which each record carries its CAPCO marking and the
file as a whole the most restrictive combination of them. :func:`export` applies the
reader once more (records its label denies are never written, whoever built the table)
and writes a path through a temporary file renamed into place. docs/exports.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import IO

import pyarrow as pa

from seawatch.export.columnar import write_arrow, write_parquet
from seawatch.export.common import KINDS, PLACED, ExportResult, Kind, atomic_output, check_table
from seawatch.export.cot import write_cot
from seawatch.export.csv import write_csv
from seawatch.export.formats import (
    FORMATS,
    OUTPUT_FORMATS,
    OutputFormat,
    WriteOptions,
    output_format,
)
from seawatch.export.geojson import write_geojson
from seawatch.export.geoparquet import write_geoparquet
from seawatch.export.jsonl import write_jsonl
from seawatch.export.kml import write_kml
from seawatch.labels import Label, Policy, Reader, label_mask

__all__ = [
    "FORMATS",
    "KINDS",
    "OUTPUT_FORMATS",
    "PLACED",
    "ExportResult",
    "Format",
    "Kind",
    "OutputFormat",
    "WriteOptions",
    "export",
    "output_format",
    "write_arrow",
    "write_cot",
    "write_csv",
    "write_geojson",
    "write_geoparquet",
    "write_jsonl",
    "write_kml",
    "write_parquet",
]

log = logging.getLogger(__name__)

Format = str
"""A name in :data:`FORMATS`."""


def export(
    table: pa.Table,
    labels: Mapping[int, Label],
    out: str | Path | IO[bytes],
    *,
    fmt: Format,
    kind: Kind,
    reader: Reader,
    policy: Policy,
    node_id: str = "local",
    cot_stale_s: float = 600.0,
    cot_now: datetime | None = None,
    cot_incidents: bool = False,
) -> ExportResult:
    """Write the records of ``table`` that ``reader`` may read to ``out`` in format ``fmt``.

    A path ``out`` appears only once complete (temporary file renamed into place); a binary
    file object is written as it is (not closed). Returns what was written: record count,
    the collection's marking, the distinct markings. ``cot_now``: Cursor-on-Target times
    from the time of the export (replayed data; :mod:`seawatch.export.cot`);
    ``cot_incidents``: Cursor-on-Target events followed by a marker per incident of the
    events the reader may read.
    """
    spec = output_format(fmt)
    check_table(table, kind)
    output_format(fmt, kind)
    allowed = table.filter(label_mask(table["label_id"], reader, labels, policy))
    if allowed.num_rows < table.num_rows:
        log.info(
            "export for %s: %d record(s) withheld by label",
            reader,
            table.num_rows - allowed.num_rows,
        )
    options = WriteOptions(kind, policy, node_id, cot_stale_s, cot_now, cot_incidents)
    if isinstance(out, str | Path):
        with atomic_output(out) as tmp:
            result = spec.write(allowed, labels, tmp, options)
    else:
        result = spec.write(allowed, labels, out, options)
    log.info(
        "exported %d %s record(s) for %s as %s to %s, marked %s",
        result.rows,
        kind,
        reader,
        fmt,
        out if isinstance(out, str | Path) else getattr(out, "name", "a stream"),
        result.marking,
    )
    return result
