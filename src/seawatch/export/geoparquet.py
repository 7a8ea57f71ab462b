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

Read with geopandas (``geopandas.read_parquet``), DuckDB or :func:`read_geoparquet`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seawatch.export.columnar import marked_table
from seawatch.export.common import ExportResult, Kind
from seawatch.labels import Label, Policy

__all__ = ["GEOPARQUET_VERSION", "point_wkb", "read_geoparquet", "write_geoparquet"]

GEOPARQUET_VERSION: Final = "1.1.0"
GEOMETRY: Final = "geometry"
_WKB_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])


def point_wkb(lon: pa.ChunkedArray[Any], lat: pa.ChunkedArray[Any]) -> pa.Array[Any]:
    """ISO WKB little-endian Points (21 bytes each), built column-wise; null where the
    position is missing, not finite or out of range."""
    fill: Any = pc.fill_null
    x = np.asarray(fill(lon.cast(pa.float64()), np.nan).to_numpy(), dtype=np.float64)
    y = np.asarray(fill(lat.cast(pa.float64()), np.nan).to_numpy(), dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180.0) & (np.abs(y) <= 90.0)
    rec = np.zeros(len(x), dtype=_WKB_POINT)
    rec["order"], rec["type"], rec["x"], rec["y"] = 1, 1, x, y
    offsets = np.arange(len(x) + 1, dtype=np.int32) * _WKB_POINT.itemsize
    validity = pa.array(ok).buffers()[1] if not ok.all() else None
    return pa.Array.from_buffers(
        pa.binary(),
        len(x),
        [validity, pa.py_buffer(offsets.tobytes()), pa.py_buffer(rec.tobytes())],
        null_count=int((~ok).sum()),
    )


def _bbox(lon: pa.ChunkedArray[Any], lat: pa.ChunkedArray[Any], ok: Any) -> list[float]:
    x, y = pc.filter(lon, ok), pc.filter(lat, ok)
    if len(x) == 0:
        return []
    lo_x, hi_x = pc.min_max(x).values()
    lo_y, hi_y = pc.min_max(y).values()
    return [lo_x.as_py(), lo_y.as_py(), hi_x.as_py(), hi_y.as_py()]


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
    geometry = point_wkb(table["lon"], table["lat"])
    data = data.append_column(GEOMETRY, geometry)
    column: dict[str, Any] = {"encoding": "WKB", "geometry_types": ["Point"]}
    bbox = _bbox(table["lon"], table["lat"], pc.is_valid(geometry))
    if bbox:
        column["bbox"] = bbox
    geo = {"version": GEOPARQUET_VERSION, "primary_column": GEOMETRY, "columns": {GEOMETRY: column}}
    meta = dict(data.schema.metadata or {})
    meta[b"geo"] = json.dumps(geo).encode()
    pq.write_table(data.replace_schema_metadata(meta), out, compression="zstd")
    return result


def read_geoparquet(path: str | Path) -> tuple[pa.Table, dict[str, Any], dict[str, Any]]:
    """The table (geometry as WKB), the ``geo`` metadata and the ``seawatch`` metadata."""
    table = pq.read_table(path)
    meta = table.schema.metadata or {}
    geo = json.loads(meta.get(b"geo", b"{}"))
    own = json.loads(meta.get(b"seawatch", b"{}"))
    return table, geo, own
