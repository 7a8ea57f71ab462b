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
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from seawatch.errors import ConfigError, InputError
from seawatch.geo._arrow import doc_field
from seawatch.geo._sphere import chord_to_km, kd_tree, unit_vectors

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

__all__ = [
    "PORTS_SCHEMA",
    "PortList",
    "PortTable",
    "default_ports",
    "load_ports_csv",
    "nearest_port",
    "read_ports_csv",
]

log = logging.getLogger(__name__)

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

    def without_source(self, source: str) -> PortTable:
        """This table less the ports whose ``source`` is ``source``."""
        column: Any = self.table.column("source")
        same: Any = pc.fill_null(pc.equal(column, pa.scalar(source)), False)
        return PortTable(self.table.filter(pc.invert(same)))

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
            self._tree.append(kd_tree(unit_vectors(lats, lons)))
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


_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


def _degrees(col: Any, limit: float) -> Any:
    """A coordinate column as float64: null where it is not a number within ±``limit``."""
    text: Any = pc.cast(col, pa.string())
    number: Any = pc.fill_null(pc.match_substring_regex(text, _NUMBER), False)
    cleaned: Any = pc.if_else(number, pc.utf8_trim_whitespace(text), pa.scalar(None, pa.string()))
    values: Any = pc.cast(cleaned, pa.float64())
    ok: Any = pc.and_(pc.is_finite(values), pc.less_equal(pc.abs(values), pa.scalar(limit)))
    return pc.if_else(pc.fill_null(ok, False), values, pa.scalar(None, pa.float64()))


def _text(raw: pa.Table, col: str | None) -> Any:
    if col is None:
        return pa.nulls(raw.num_rows, pa.string())
    out: Any = pc.utf8_trim_whitespace(pc.cast(raw.column(col), pa.string()))
    empty: Any = pc.equal(pc.utf8_length(pc.fill_null(out, "")), pa.scalar(0))
    return pc.if_else(empty, pa.scalar(None, pa.string()), out)


@dataclass(frozen=True)
class PortList:
    """A port list read from a CSV: its ports, and how many rows were left out and why."""

    ports: PortTable
    rows: int
    bad: dict[str, int]
    """Rows left out by reason (``no valid latitude/longitude``, ``no id``)."""
    kind: str
    """``wpi``, ``gfw`` or ``generic``."""


def read_ports_csv(path: str | Path, *, source: str | None = None) -> PortList:
    """Ports from a World Port Index CSV (NGA Pub. 150), a GFW pipe-anchorages port list
    (``anchorage_overrides.csv``: ``s2id,latitude,longitude,label,sublabel,iso3``, or
    ``iso3,label,sublabel,latitude,longitude``) or a CSV with id/name/country/lat/lon.

    ``port_id``: WPI, the UN/LOCODE without its space when there is one, else
    ``wpi:number``; GFW, ``gfw:<s2id>`` or ``<source>:<row number>``; generic, the id as
    given, prefixed ``<source>:`` when it is a bare number. An id repeated in the file gets
    ``#2``, ``#3``... (WPI lists some terminals under one code). Rows without a valid
    position or id are left out and counted in :attr:`PortList.bad`, never an exception;
    a file that cannot be read, or lacks a position column, is an :class:`InputError`.
    """
    path = Path(path)
    try:
        raw = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(auto_dict_encode=False))
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(f"cannot read ports CSV {str(path)!r}: {exc}") from exc
    names = [n.lstrip("\ufeff") for n in raw.column_names]
    raw = raw.rename_columns(names)
    is_wpi = "World Port Index Number" in names
    is_gfw = not is_wpi and {"label", "iso3"} <= set(names)
    kind = "wpi" if is_wpi else "gfw" if is_gfw else "generic"
    src = source or ("wpi" if is_wpi else f"gfw-{path.stem}" if is_gfw else path.stem)
    lat_col, lon_col = _pick(names, "lat", path, True), _pick(names, "lon", path, True)
    assert lat_col is not None
    assert lon_col is not None
    lat, lon = _degrees(raw.column(lat_col), 90.0), _degrees(raw.column(lon_col), 180.0)
    n = raw.num_rows
    ids: list[str | None]
    if is_gfw:
        ids = (
            [None if t is None else f"gfw:{t}" for t in _text(raw, "s2id").to_pylist()]
            if "s2id" in names
            else [f"{src}:{i + 1}" for i in range(n)]
        )
        label, sub = _text(raw, "label").to_pylist(), _text(raw, "sublabel").to_pylist()
        name: Any = pa.array(
            [a if not b else f"{a} {b}" if a else b for a, b in zip(label, sub, strict=True)],
            pa.string(),
        )
        country = _text(raw, "iso3")
    else:
        number_col = _pick(names, "number", path, True)
        locode_col = _pick(names, "locode", path, False)
        number = _text(raw, number_col).to_pylist()
        ids = [None if v is None else f"{src}:{v}" if v.isdigit() or is_wpi else v for v in number]
        if locode_col is not None:
            codes = pc.replace_substring(_text(raw, locode_col), " ", "").to_pylist()
            ids = [c or i for c, i in zip(codes, ids, strict=True)]
        name = _text(raw, _pick(names, "name", path, False))
        country = _text(raw, _pick(names, "country", path, False))
    port_id = pa.array(_unique_ids(ids), pa.string())
    table = pa.table(
        [port_id, name, country, lat, lon, pa.array([src] * n, pa.string())],
        names=PORTS_SCHEMA.names,
    )
    has_pos: Any = pc.and_(pc.is_valid(lat), pc.is_valid(lon))
    has_id: Any = pc.is_valid(port_id)
    bad = {
        "no valid latitude/longitude": n - int(pc.sum(has_pos).as_py() or 0),
        "no id": int(pc.sum(pc.and_(has_pos, pc.invert(has_id))).as_py() or 0),
    }
    ok: Any = pc.and_(has_pos, has_id)
    ports = PortTable(table.filter(ok).cast(PORTS_SCHEMA))
    return PortList(ports, n, {k: v for k, v in bad.items() if v}, kind)


def load_ports_csv(path: str | Path, *, source: str | None = None) -> PortTable:
    """The ports of :func:`read_ports_csv` (rows left out are logged)."""
    found = read_ports_csv(path, source=source)
    if found.bad:
        log.warning("ports CSV %s: rows left out %s", path, found.bad)
    return found.ports


def nearest_port(
    lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike, ports: PortTable | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """``(port_index, distance_km)`` of the nearest port in ``ports`` (default: searoute's)."""
    return (ports or default_ports()).nearest(lat_deg, lon_deg)
