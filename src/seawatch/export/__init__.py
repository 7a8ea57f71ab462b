"""Standard exports of what a reader may see, each carrying the labels of what it contains.

In: an Arrow table of positions, latest positions or events with a ``label_id`` column (as
the store's query layer returns it), the store's label dictionary, the reader and the
node's policy. Out: a GeoJSON, CSV, KML, Cursor-on-Target or GeoParquet file in which each
record carries its CAPCO marking and the file as a whole the most restrictive combination
of them. :func:`export` applies the reader once more (records its label denies are never
written, whoever built the table) and writes to a temporary file renamed into place.
The writers (``write_geojson`` ...) are pure functions over the table; docs/exports.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Literal

import pyarrow as pa

from seawatch.errors import InputError
from seawatch.export.common import KINDS, ExportResult, Kind, atomic_output, check_table
from seawatch.export.cot import write_cot
from seawatch.export.csv import write_csv
from seawatch.export.geojson import write_geojson
from seawatch.export.geoparquet import write_geoparquet
from seawatch.export.kml import write_kml
from seawatch.labels import Label, Policy, Reader, label_mask

__all__ = [
    "FORMATS",
    "KINDS",
    "ExportResult",
    "Format",
    "Kind",
    "export",
    "write_cot",
    "write_csv",
    "write_geojson",
    "write_geoparquet",
    "write_kml",
]

log = logging.getLogger(__name__)

Format = Literal["geojson", "csv", "kml", "cot", "geoparquet"]
FORMATS: Final[tuple[Format, ...]] = ("geojson", "csv", "kml", "cot", "geoparquet")


def export(
    table: pa.Table,
    labels: Mapping[int, Label],
    out: str | Path,
    *,
    fmt: Format,
    kind: Kind,
    reader: Reader,
    policy: Policy,
    node_id: str = "local",
    cot_stale_s: float = 600.0,
) -> ExportResult:
    """Write the records of ``table`` that ``reader`` may read to ``out`` in format ``fmt``.

    ``out`` appears only once complete (temporary file renamed into place). Returns what
    was written: record count, the collection's marking, the distinct markings.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r} (use one of {', '.join(FORMATS)})")
    check_table(table, kind)
    allowed = table.filter(label_mask(table["label_id"], reader, labels, policy))
    if allowed.num_rows < table.num_rows:
        log.info(
            "export for %s: %d record(s) withheld by label",
            reader,
            table.num_rows - allowed.num_rows,
        )
    with atomic_output(out) as tmp:
        if fmt == "geojson":
            result = write_geojson(allowed, labels, tmp, kind=kind, policy=policy)
        elif fmt == "csv":
            result = write_csv(allowed, labels, tmp, kind=kind, policy=policy)
        elif fmt == "kml":
            result = write_kml(allowed, labels, tmp, kind=kind, policy=policy)
        elif fmt == "cot":
            result = write_cot(
                allowed, labels, tmp, kind=kind, policy=policy, node_id=node_id, stale_s=cot_stale_s
            )
        else:
            result = write_geoparquet(allowed, labels, tmp, kind=kind, policy=policy)
    log.info(
        "exported %d %s record(s) for %s as %s to %s, marked %s",
        result.rows,
        kind,
        reader,
        fmt,
        out,
        result.marking,
    )
    return result
