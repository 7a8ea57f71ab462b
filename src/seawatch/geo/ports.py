"""Ports: a table of named points and a vectorised nearest-port search.

``port_id`` is unique within a table (repeats get ``#2``, ``#3``...).

In: the UN/LOCODE ports shipped by the ``searoute`` package (Apache-2.0; 3,962 ports), and
optionally a World Port Index CSV (NGA Pub. 150) or any CSV with id/name/country/lat/lon.
Out: a :class:`PortTable` (an Arrow table with :data:`PORTS_SCHEMA`) whose
:meth:`~PortTable.nearest` answers ``(port_index, distance_km)`` for arrays of positions with
a KD-tree on 3-D unit vectors (scipy): exact great-circle nearest, no all-pairs loop.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from scipy.spatial import cKDTree

from seawatch.errors import ConfigError, InputError
from seawatch.geo._arrow import doc_field
from seawatch.geo._sphere import chord_to_km, unit_vectors

__all__ = ["PORTS_SCHEMA", "PortTable", "default_ports", "load_ports_csv", "nearest_port"]

PORTS_SCHEMA = pa.schema(
    [
        doc_field(
            "port_id", pa.string(), "UN/LOCODE without space, else SOURCE:id", nullable=False
        ),
        doc_field("port_name", pa.string(), "Port name as given by the source"),
        doc_field("country", pa.string(), "Country name as given by the source"),
        doc_field("lat", pa.float64(), "Latitude, degrees WGS84", nullable=False),
        doc_field("lon", pa.float64(), "Longitude, degrees WGS84", nullable=False),
        doc_field("source", pa.string(), "searoute, wpi or the CSV file name", nullable=False),
    ]
)

# Column names tried, in order, when reading a ports CSV (World Port Index first).
_CSV_COLUMNS = {
    "locode": ["UN/LOCODE", "unlocode", "locode"],
    "number": ["World Port Index Number", "port_id", "id"],
    "name": ["Main Port Name", "port_name", "name"],
    "country": ["Country Code", "country"],
    "lat": ["Latitude", "lat", "latitude"],
    "lon": ["Longitude", "lon", "longitude"],
}


@dataclass(frozen=True)
class PortTable:
    """Ports as an Arrow table with :data:`PORTS_SCHEMA`, plus a lazily built KD-tree."""

    table: pa.Table
    _tree: list[cKDTree] = field(default_factory=list, repr=False, compare=False)

    def __len__(self) -> int:
        return self.table.num_rows

    def extend(self, other: PortTable) -> PortTable:
        """This table plus the ports of ``other`` whose ``port_id`` is not already here."""
        known = self.table.column("port_id")
        new = other.table.filter(pc.invert(pc.is_in(other.table.column("port_id"), known)))
        return PortTable(pa.concat_tables([self.table, new]))

    def nearest(
        self, lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Row index of the nearest port and great-circle km to it; (-1, NaN) for NaN input."""
        lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
        lon = np.atleast_1d(np.asarray(lon_deg, dtype=np.float64))
        lat, lon = np.broadcast_arrays(lat, lon)
        index = np.full(lat.shape, -1, dtype=np.int64)
        dist = np.full(lat.shape, np.nan, dtype=np.float64)
        valid = np.isfinite(lat) & np.isfinite(lon)
        if len(self) == 0 or not valid.any():
            return index, dist
        if not self._tree:
            lats = self.table.column("lat").to_numpy()
            lons = self.table.column("lon").to_numpy()
            self._tree.append(cKDTree(unit_vectors(lats, lons)))
        chord, idx = self._tree[0].query(unit_vectors(lat[valid], lon[valid]), k=1)
        index[valid] = idx
        dist[valid] = chord_to_km(chord)
        return index, dist


def _unique_ids(ids: list[str | None]) -> list[str | None]:
    """Ids made unique: a repeated id gets ``#2``, ``#3``... in order of appearance."""
    seen: dict[str, int] = {}
    out: list[str | None] = []
    for port_id in ids:
        if port_id is None:
            out.append(None)
            continue
        seen[port_id] = seen.get(port_id, 0) + 1
        out.append(port_id if seen[port_id] == 1 else f"{port_id}#{seen[port_id]}")
    return out


@functools.cache
def default_ports() -> PortTable:
    """The UN/LOCODE ports shipped with ``searoute`` (read without importing searoute)."""
    spec = importlib.util.find_spec("searoute")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the default ports need the 'searoute' package: pip install searoute")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "ports.geojson"
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    cols: dict[str, list[object]] = {name: [] for name in PORTS_SCHEMA.names}
    for feat in features:
        props, (lon, lat) = feat["properties"], feat["geometry"]["coordinates"][:2]
        cols["port_id"].append(props["port"])
        cols["port_name"].append(props.get("name"))
        cols["country"].append(props.get("cty"))
        cols["lat"].append(float(lat))
        cols["lon"].append(float(lon))
        cols["source"].append("searoute")
    cols["port_id"] = list(_unique_ids(cols["port_id"]))  # type: ignore[arg-type]
    return PortTable(pa.table(cols, schema=PORTS_SCHEMA))


def _pick(available: list[str], key: str, path: Path, required: bool) -> str | None:
    for candidate in _CSV_COLUMNS[key]:
        if candidate in available:
            return candidate
    if required:
        raise InputError(
            f"ports CSV {str(path)!r} has no {key} column (expected one of {_CSV_COLUMNS[key]})"
        )
    return None


def load_ports_csv(path: str | Path, *, source: str | None = None) -> PortTable:
    """Ports from a World Port Index CSV (NGA Pub. 150) or a CSV with id/name/country/lat/lon.

    ``port_id`` is the UN/LOCODE without its space when there is one, else ``SOURCE:number``;
    an id repeated in the file gets ``#2``, ``#3``... (WPI lists some terminals under one code).
    Rows without valid coordinates are dropped.
    """
    path = Path(path)
    try:
        raw = pacsv.read_csv(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(f"cannot read ports CSV {str(path)!r}: {exc}") from exc
    names = [n.lstrip("\ufeff") for n in raw.column_names]
    raw = raw.rename_columns(names)
    is_wpi = "World Port Index Number" in names
    src = source or ("wpi" if is_wpi else path.stem)
    lat_col, lon_col = _pick(names, "lat", path, True), _pick(names, "lon", path, True)
    number_col = _pick(names, "number", path, True)
    locode_col = _pick(names, "locode", path, False)
    name_col, country_col = _pick(names, "name", path, False), _pick(names, "country", path, False)
    assert lat_col is not None
    assert lon_col is not None
    assert number_col is not None
    lat = pc.cast(raw.column(lat_col), pa.float64(), safe=False)
    lon = pc.cast(raw.column(lon_col), pa.float64(), safe=False)
    number = pc.cast(raw.column(number_col), pa.int64(), safe=False)
    fallback: Any = pa.array(
        [None if n is None else f"{src}:{n}" for n in number.to_pylist()], pa.string()
    )
    port_id: Any = fallback
    if locode_col is not None:
        code: Any = pc.replace_substring(pc.cast(raw.column(locode_col), pa.string()), " ", "")
        has_code: Any = pc.greater(pc.utf8_length(pc.fill_null(code, "")), pa.scalar(0))
        port_id = pc.if_else(has_code, code, fallback)

    def text(col: str | None) -> Any:
        if col is None:
            return pa.nulls(raw.num_rows, pa.string())
        return pc.utf8_trim_whitespace(pc.cast(raw.column(col), pa.string()))

    port_id = pa.array(_unique_ids(pc.cast(port_id, pa.string()).to_pylist()), pa.string())
    columns = [port_id, text(name_col), text(country_col), lat, lon]
    columns.append(pa.array([src] * raw.num_rows, pa.string()))
    table = pa.table(columns, names=PORTS_SCHEMA.names)
    ok = pc.and_(
        pc.and_(pc.is_finite(lat), pc.is_finite(lon)),
        pc.and_(
            pc.less_equal(pc.abs(lat), pa.scalar(90.0)),
            pc.less_equal(pc.abs(lon), pa.scalar(180.0)),
        ),
    )
    ok = pc.and_(ok, pc.is_valid(port_id))
    return PortTable(table.filter(ok).cast(PORTS_SCHEMA))


def nearest_port(
    lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike, ports: PortTable | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """``(port_index, distance_km)`` of the nearest port in ``ports`` (default: searoute's)."""
    return (ports or default_ports()).nearest(lat_deg, lon_deg)
