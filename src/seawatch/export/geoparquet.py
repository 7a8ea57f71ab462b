"""GeoParquet 1.1 export: the records as Parquet with a WKB Point ``geometry`` and a ``label``.

In: positions, latest positions or events (an Arrow table with ``lon``, ``lat`` and
``label_id``) and the label dictionary. Out: one Parquet file with every column of the
table (``label_id`` left out; ``lon``/``lat`` kept so that tools without geometry support
still read positions), ``label`` (each record's CAPCO marking) and ``geometry``: the
position as ISO WKB, little-endian 2D Point (null when the position is missing or out of
range). File metadata:

- ``geo`` (GeoParquet 1.1.0): ``primary_column`` ``geometry``, encoding ``WKB``,
  ``geometry_types`` ``["Point"]``, the ``bbox`` of the points; no ``crs`` member, which
  the specification defines as OGC:CRS84 (WGS 84 longitude, latitude);
- ``seawatch``: JSON with ``kind``, ``label`` (the collection's marking) and ``labels``
  (the distinct markings present).

The encoding (``geometry``, ``geo``) is :mod:`seawatch.store.geoparquet`'s, which the
store's archive of closed days writes too. Read with geopandas
(``geopandas.read_parquet``), DuckDB or :func:`read_geoparquet`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from seawatch.export.columnar import marked_table
from seawatch.export.common import ExportResult, Kind
from seawatch.labels import Label, Policy
from seawatch.store.geoparquet import GEOPARQUET_VERSION, point_wkb, with_geometry

__all__ = ["GEOPARQUET_VERSION", "point_wkb", "read_geoparquet", "write_geoparquet"]


def write_geoparquet(
    table: pa.Table,
    labels: Mapping[int, Label],
    out: IO[bytes] | str | Path,
    *,
    kind: Kind,
    policy: Policy,
) -> ExportResult:
    """Write ``table`` (already filtered for its reader) to ``out`` as GeoParquet: the
    Parquet export (:func:`seawatch.export.columnar.marked_table`) plus ``geometry``."""
    data, result = marked_table(table, labels, kind=kind, policy=policy)
    data = with_geometry(data, table["lon"], table["lat"])
    pq.write_table(data, out, compression="zstd")
    return result


def read_geoparquet(path: str | Path) -> tuple[pa.Table, dict[str, Any], dict[str, Any]]:
    """The table (geometry as WKB), the ``geo`` metadata and the ``seawatch`` metadata."""
    table = pq.read_table(path)
    meta = table.schema.metadata or {}
    geo = json.loads(meta.get(b"geo", b"{}"))
    own = json.loads(meta.get(b"seawatch", b"{}"))
    return table, geo, own
