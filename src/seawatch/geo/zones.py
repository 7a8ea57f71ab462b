"""Zone layers: polygons users import (EEZ, territorial seas, areas of interest) and lookups.

In: a GeoJSON, GeoPackage or Shapefile (anything GDAL reads, via ``pyogrio``) in WGS84
longitude/latitude. Out: a :class:`ZoneLayer` stored as ``<data_dir>/zones/<name>.parquet``
(one row per polygon: its attributes plus ``geometry`` as WKB; the layer name, source file,
CRS and the attribute naming each polygon in the schema metadata: ``--name-field``, else the
first of :data:`ZONE_NAME_FIELDS` naming the most polygons), ``ZoneLayer.names()``, and
``ZoneLayer.locate(lat, lon)``: for each position the index of the containing polygon, -1
outside any, found with a shapely 2 STRtree (no per-point loop). Invalid polygons are
repaired with ``make_valid``; non-polygonal features are dropped (a warning is logged).
Positions on a polygon's edge count as inside.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import shapely

from seawatch.errors import InputError, NotFound

__all__ = [
    "GEOMETRY_COLUMN",
    "ZONE_NAME_FIELDS",
    "ZoneLayer",
    "choose_name_field",
    "import_zones",
    "load_zone_layer",
    "zone_layer_path",
]

log = logging.getLogger(__name__)

GEOMETRY_COLUMN = "geometry"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_WGS84_MARKERS = ("4326", "CRS84", "WGS 84", "WGS84")
_NAME_FIELD_KEY = b"seawatch.name_field"

ZONE_NAME_FIELDS: Final = (
    "name",
    "NAME",
    "Name",
    "zone_name",
    "ZONE_NAME",
    "GEONAME",  # Marine Regions (EEZ, territorial seas): "Kenyan Exclusive Economic Zone"
    "geoname",
    "TERRITORY1",  # Marine Regions: "Kenya"
    "title",
    "label",
)
"""Text attributes that commonly name a polygon, in the order they are preferred when the
import is not told which (``--name-field``): the first naming the most polygons wins."""


def _text(column: pa.ChunkedArray[Any]) -> pa.Array[Any]:
    """A column as text, empty and blank values null."""
    values = column.combine_chunks().cast(pa.string())
    blank = pc.equal(pc.utf8_trim_whitespace(values), pa.scalar(""))
    out: pa.Array[Any] = pc.if_else(blank, pa.scalar(None, pa.string()), values)
    return out


def choose_name_field(table: pa.Table) -> str | None:
    """The first text column of :data:`ZONE_NAME_FIELDS` in ``table`` that names the most
    rows (a non-blank value); None when none names any."""
    best, most = None, 0
    for col in ZONE_NAME_FIELDS:
        if col not in table.column_names or not pa.types.is_string(table.schema.field(col).type):
            continue
        named = len(table) - _text(table.column(col)).null_count
        if named > most:
            best, most = col, named
    return best


def _check_name_field(table: pa.Table, name_field: str, source: str) -> None:
    if name_field not in table.column_names or name_field == GEOMETRY_COLUMN:
        present = ", ".join(c for c in table.column_names if c != GEOMETRY_COLUMN)
        raise InputError(
            f"no field {name_field!r} in {source}; fields present: {present or '(none)'}"
        )


@dataclass(frozen=True)
class ZoneLayer:
    """Polygons (``geometries``) with their attributes (``table``, geometry as WKB).

    ``name_field``: the attribute naming each polygon (:meth:`names`); not given, the one
    :func:`choose_name_field` picks (None: polygons unnamed).
    """

    name: str
    table: pa.Table
    geometries: npt.NDArray[np.object_] = field(repr=False)
    name_field: str | None = None
    _tree: shapely.STRtree = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.name_field is None:
            object.__setattr__(self, "name_field", choose_name_field(self.table))
        else:
            _check_name_field(self.table, self.name_field, f"zone layer {self.name!r}")
        shapely.prepare(self.geometries)
        object.__setattr__(self, "_tree", shapely.STRtree(self.geometries))

    def __len__(self) -> int:
        return len(self.geometries)

    def locate(self, lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike) -> npt.NDArray[np.int32]:
        """Index of the polygon holding each position, -1 outside all (or NaN input).

        Where polygons overlap, the lowest index wins.
        """
        lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
        lon = np.atleast_1d(np.asarray(lon_deg, dtype=np.float64))
        lat, lon = np.broadcast_arrays(lat, lon)
        out = np.full(lat.shape, -1, dtype=np.int32)
        valid = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
        if len(valid) == 0 or len(self) == 0:
            return out
        points = shapely.points(lon[valid], lat[valid])
        point_idx, poly_idx = self._tree.query(points, predicate="intersects")
        # lowest polygon index per point: sort by polygon descending, later writes win
        order = np.argsort(-poly_idx, kind="stable")
        out[valid[point_idx[order]]] = poly_idx[order].astype(np.int32)
        return out

    def names(self) -> pa.Array[Any]:
        """Each polygon's name (its ``name_field`` as text; null if blank or no field)."""
        if self.name_field is None:
            return pa.nulls(len(self), pa.string())
        return _text(self.table.column(self.name_field))

    def attribute(self, column: str, index: npt.NDArray[np.int32]) -> pa.Array[Any]:
        """Values of ``column`` for polygon indices from :meth:`locate` (null for -1)."""
        values = self.table.column(column).combine_chunks()
        idx = pa.array(np.where(index >= 0, index, 0), pa.int32(), mask=index < 0)
        return values.take(idx)


def zone_layer_path(name: str, data_dir: str | Path) -> Path:
    """Where layer ``name`` is stored under ``data_dir``."""
    if not _NAME_RE.match(name):
        raise InputError(
            f"bad zone layer name {name!r}: use letters, digits, '_', '-', '.' (max 100)"
        )
    return Path(data_dir) / "zones" / f"{name}.parquet"


def _read_source(path: Path) -> tuple[pa.Table, npt.NDArray[np.object_], str]:
    import pyogrio  # imported here: GDAL loads slowly and only imports need it

    if not path.exists():
        raise InputError(f"cannot import zones from {str(path)!r}: no such file")
    try:
        meta, table = pyogrio.read_arrow(path)
    except Exception as exc:  # pyogrio raises several GDAL error types
        raise InputError(f"cannot read zones from {str(path)!r}: {exc}") from exc
    crs = str(meta.get("crs") or "")
    if crs and not any(marker in crs for marker in _WGS84_MARKERS):
        raise InputError(
            f"zones in {str(path)!r} use CRS {crs}; convert to WGS84 first "
            f"(ogr2ogr -t_srs EPSG:4326 out.gpkg {path.name})"
        )
    geom_name = meta.get("geometry_name") or "wkb_geometry"
    if geom_name not in table.column_names:
        raise InputError(f"no geometry column in {str(path)!r}")
    wkb = table.column(geom_name).to_numpy(zero_copy_only=False)
    geoms = shapely.make_valid(shapely.from_wkb(wkb))
    attrs = table.drop_columns([geom_name])
    return attrs, geoms, crs or "EPSG:4326"


def _polygonal(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Polygonal part of each geometry (collections from make_valid keep their polygons)."""
    out = np.empty(len(geoms), dtype=object)
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            out[i] = None
        elif isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
            out[i] = geom
        else:
            parts = [g for g in shapely.get_parts(geom) if isinstance(g, shapely.Polygon)]
            out[i] = shapely.multipolygons(parts) if parts else None
    return out


def import_zones(
    path: str | Path, name: str, data_dir: str | Path, name_field: str | None = None
) -> ZoneLayer:
    """Read polygons from ``path`` and store them as layer ``name`` under ``data_dir``.

    ``name_field``: the attribute naming each polygon, remembered with the layer (an unknown
    one is an :class:`InputError` listing the fields present); None: :func:`choose_name_field`.
    The Parquet file is written to a temporary name and renamed, so a reader never sees a
    half-written layer; importing again under the same name replaces the layer.
    """
    path = Path(path)
    target = zone_layer_path(name, data_dir)
    attrs, geoms, crs = _read_source(path)
    if name_field is not None:
        _check_name_field(attrs, name_field, repr(str(path)))
    polys = _polygonal(geoms)
    keep = np.array([g is not None for g in polys], dtype=bool)
    if not keep.all():
        log.warning("%s: dropped %d non-polygonal features", path, int((~keep).sum()))
    if not keep.any():
        raise InputError(f"{str(path)!r} holds no polygons (lines or points cannot hold zones)")
    attrs = attrs.filter(pa.array(keep))
    polys = polys[keep]
    table = attrs.append_column(GEOMETRY_COLUMN, pa.array(shapely.to_wkb(polys), pa.binary()))
    meta = {b"seawatch.zone_layer": name.encode(), b"source": str(path).encode()}
    chosen = choose_name_field(attrs) if name_field is None else name_field
    if chosen is not None:
        meta[_NAME_FIELD_KEY] = chosen.encode()
    table = table.replace_schema_metadata({**meta, b"crs": crs.encode()})
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("zone layer %r: %d polygons from %s -> %s", name, len(polys), path, target)
    return ZoneLayer(name, table, polys, chosen)


def load_zone_layer(name: str, data_dir: str | Path) -> ZoneLayer:
    """The layer ``name`` stored by :func:`import_zones` under ``data_dir``."""
    path = zone_layer_path(name, data_dir)
    if not path.exists():
        raise NotFound(f"no zone layer {name!r} in {str(path.parent)!r} (seawatch zones import)")
    table = pq.read_table(path)
    wkb = table.column(GEOMETRY_COLUMN).to_numpy(zero_copy_only=False)
    stored = (table.schema.metadata or {}).get(_NAME_FIELD_KEY)  # None: imported before
    return ZoneLayer(name, table, shapely.from_wkb(wkb), stored.decode() if stored else None)
