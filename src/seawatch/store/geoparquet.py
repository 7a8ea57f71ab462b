"""GeoParquet 1.1 encoding: a table's ``lon``/``lat`` as a WKB Point ``geometry`` column
with the ``geo`` file metadata. The one encoder: the GeoParquet export
(:mod:`seawatch.export.geoparquet`) and the store's archive of closed days
(:mod:`seawatch.store.archive`) both write through :func:`with_geometry`.

In: an Arrow table and its ``lon``/``lat`` columns. Out: the table with ``geometry`` (ISO
WKB, little-endian 2D Point; null when the position is missing or out of range) and the
schema metadata ``geo``: ``primary_column`` ``geometry``, encoding ``WKB``,
``geometry_types`` ``["Point"]``, the ``bbox`` of the points; no ``crs`` member, which the
specification defines as OGC:CRS84 (WGS 84 longitude, latitude).
"""

from __future__ import annotations

import json
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["GEOMETRY", "GEOPARQUET_VERSION", "point_wkb", "with_geometry"]

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


def with_geometry(data: pa.Table, lon: pa.ChunkedArray[Any], lat: pa.ChunkedArray[Any]) -> pa.Table:
    """``data`` with a ``geometry`` column of the points (``lon``, ``lat``: one per row)
    and the ``geo`` metadata (other schema metadata kept)."""
    geometry = point_wkb(lon, lat)
    data = data.append_column(GEOMETRY, geometry)
    column: dict[str, Any] = {"encoding": "WKB", "geometry_types": ["Point"]}
    bbox = _bbox(lon, lat, pc.is_valid(geometry))
    if bbox:
        column["bbox"] = bbox
    geo = {"version": GEOPARQUET_VERSION, "primary_column": GEOMETRY, "columns": {GEOMETRY: column}}
    meta = dict(data.schema.metadata or {})
    meta[b"geo"] = json.dumps(geo).encode()
    return data.replace_schema_metadata(meta)
