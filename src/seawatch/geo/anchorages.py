"""Anchorages derived from the node's own positions, the way Global Fishing Watch does it.

Source: GlobalFishingWatch/pipe-anchorages (``anchorage_cfg.yaml``; DOMAIN.md §5). A
*stationary period* is a run of one track's positions that all lie within
``max_drift_km`` (0.5 km) of the run's first position and span at least
``min_stationary_s`` (12 h). Each period is placed in the grid cell of its mean position;
a cell where at least ``min_vessels`` (20) distinct MMSIs had a stationary period is an
*anchorage*, at the mean of those periods' positions. GFW's defaults need weeks of data:
a file of a few hours (the Argenni Baltic sample spans 10.9 h, so no period can last 12 h)
finds none with them, and a caller deriving from a short history lowers the thresholds on
purpose (``seawatch ports derive --min-vessels 2 --min-stationary-h 2``), knowing that a
few vessels stationary together at sea would then count as an anchorage too
(``max_distance_to_shore_km`` keeps derived anchorages near the coast when set).

The grid (:func:`cell_of`): GFW uses S2 cells of level 14 (0.3–0.6 km a side). We use a
declared latitude-band grid with the same ~0.5 km cells and no dependency: rows are bands
of :data:`CELL_KM` of latitude; the band holding latitude φ is cut into
``floor(360° · cos φc · km per degree / CELL_KM)`` equal columns (φc: the band's middle),
so cells are about :data:`CELL_KM` square at every latitude, and column indices wrap at the
antimeridian. A cell's id is ``row · 2**20 + column``; its text form, in ``port_id``, is
``anchorage:<row>:<column>``.

In: positions as an Arrow table (``ts``, ``mmsi``, ``lat``, ``lon``; optional
``segment_id``, the track key when present). Out: :func:`stationary_periods` (one row per
period) and :func:`derive_anchorages` (:data:`ANCHORAGES_SCHEMA`, one row per anchorage
cell). Pure numpy/Arrow with one compiled loop; no Python object per position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from seawatch.geo._arrow import doc_field
from seawatch.geo._sphere import EARTH_RADIUS_KM, unit_vectors

__all__ = [
    "ANCHORAGES_SCHEMA",
    "CELL_KM",
    "AnchorageParams",
    "anchorages_from_periods",
    "cell_id_text",
    "cell_of",
    "derive_anchorages",
    "stationary_periods",
]

CELL_KM: Final = 0.5
"""Side of a grid cell, km (GFW: S2 level 14, 0.3–0.6 km)."""
KM_PER_DEG: Final = math.pi * EARTH_RADIUS_KM / 180.0
_ROW_DEG: Final = CELL_KM / KM_PER_DEG
_COL_BITS: Final = 20
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class AnchorageParams:
    """Thresholds of the derivation (defaults: GFW pipe-anchorages ``anchorage_cfg.yaml``)."""

    min_vessels: int = 20
    """A cell is an anchorage when this many distinct MMSIs were stationary in it."""
    min_stationary_s: float = 12 * 3600.0
    """Shortest stationary period (first to last position of the run)."""
    max_drift_km: float = 0.5
    """A stationary period's positions all lie within this of its first position."""
    max_distance_to_shore_km: float = math.inf
    """Keep anchorages at most this far from the coast (GFW: no limit)."""

    def __post_init__(self) -> None:
        from seawatch.errors import ConfigError

        if self.min_vessels < 1:
            raise ConfigError(f"min_vessels {self.min_vessels}: must be at least 1")
        for name in ("min_stationary_s", "max_drift_km", "max_distance_to_shore_km"):
            value = getattr(self, name)
            if not value >= 0:  # NaN too
                raise ConfigError(f"{name} {value}: must be a number ≥ 0")


ANCHORAGES_SCHEMA = pa.schema(
    [
        doc_field(
            "port_id", pa.string(), "anchorage:<row>:<column> of the grid cell", nullable=False
        ),
        doc_field(
            "lat", pa.float64(), "Mean latitude of the cell's stationary periods", nullable=False
        ),
        doc_field(
            "lon", pa.float64(), "Mean longitude of the cell's stationary periods", nullable=False
        ),
        doc_field("n_vessels", pa.int32(), "Distinct MMSIs stationary in the cell", nullable=False),
        doc_field("n_periods", pa.int32(), "Stationary periods in the cell", nullable=False),
        doc_field("stationary_s", pa.float64(), "Sum of the periods' durations, s", nullable=False),
    ]
)


def cell_of(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike) -> I64:
    """The grid cell id of each position (see the module docstring); -1 for NaN."""
    lat = np.asarray(lat_deg, dtype=np.float64)
    lon = np.asarray(lon_deg, dtype=np.float64)
    ok = np.isfinite(lat) & np.isfinite(lon)
    la, lo = np.where(ok, np.clip(lat, -90.0, 90.0), 0.0), np.where(ok, lon, 0.0)
    n_rows = math.ceil(180.0 / _ROW_DEG)
    row = np.minimum(np.floor((la + 90.0) / _ROW_DEG).astype(np.int64), n_rows - 1)
    mid = np.radians(-90.0 + (row + 0.5) * _ROW_DEG)
    n_cols = np.maximum(1, np.floor(360.0 * np.cos(mid) * KM_PER_DEG / CELL_KM)).astype(np.int64)
    col = np.floor(((lo + 180.0) % 360.0) / 360.0 * n_cols).astype(np.int64) % n_cols
    return np.where(ok, (row << _COL_BITS) | col, -1)


def cell_id_text(cells: npt.ArrayLike) -> list[str]:
    """``anchorage:<row>:<column>`` of each cell id."""
    c = np.asarray(cells, dtype=np.int64)
    rows, cols = (c >> _COL_BITS).tolist(), (c & ((1 << _COL_BITS) - 1)).tolist()
    return [f"anchorage:{r}:{k}" for r, k in zip(rows, cols, strict=True)]


@njit(cache=True, nogil=True)
def _periods(
    track: I64, ts: I64, x: F64, y: F64, z: F64, max_chord: float, min_us: int, out: I64
) -> int:  # pragma: no cover - compiled
    """Runs of rows (sorted by track, ts) within ``max_chord`` of the run's first row and
    lasting ``min_us``: their first and last row in ``out``; returns how many."""
    n = 0
    start = 0
    m = len(ts)
    for i in range(1, m + 1):
        end_run = i == m or track[i] != track[start]
        if not end_run:
            dx, dy, dz = x[i] - x[start], y[i] - y[start], z[i] - z[start]
            end_run = dx * dx + dy * dy + dz * dz > max_chord * max_chord
        if end_run:
            if ts[i - 1] - ts[start] >= min_us:
                out[n, 0] = start
                out[n, 1] = i - 1
                n += 1
            start = i
    return n


def _column(table: pa.Table, name: str, dtype: Any) -> Any:
    return np.asarray(table.column(name).combine_chunks().to_numpy(zero_copy_only=False), dtype)


def stationary_periods(
    positions: pa.Table, params: AnchorageParams = AnchorageParams()
) -> pa.Table:
    """One row per stationary period: ``mmsi``, ``start_ts``/``end_ts`` (µs), ``lat``,
    ``lon`` (mean position), ``n_positions``, ``cell`` (grid cell id). Rows without a time
    or a position are left out; the track key is ``segment_id`` when every row has one
    (positions stored without detection have none), else ``mmsi``."""
    need: Any = pc.and_(
        pc.and_(pc.is_valid(positions.column("ts")), pc.is_valid(positions.column("mmsi"))),
        pc.and_(pc.is_finite(positions.column("lat")), pc.is_finite(positions.column("lon"))),
    )
    rows = positions.filter(pc.fill_null(need, False))
    has_segments = "segment_id" in rows.column_names and rows.column("segment_id").null_count == 0
    key = "segment_id" if has_segments else "mmsi"
    ts_col = rows.column("ts").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    ts = np.asarray(ts_col.to_numpy(), np.int64)
    keys: Any = rows.column(key).cast(pa.int64())
    track = np.asarray(keys.to_numpy(), np.int64)
    order = np.lexsort((ts, track))
    lat, lon = _column(rows, "lat", np.float64)[order], _column(rows, "lon", np.float64)[order]
    xyz = unit_vectors(lat, lon)
    max_chord = 2.0 * math.sin(params.max_drift_km / EARTH_RADIUS_KM / 2.0)
    out = np.empty((len(ts), 2), np.int64)
    n = _periods(
        track[order],
        ts[order],
        xyz[:, 0],
        xyz[:, 1],
        xyz[:, 2],
        max_chord,
        round(params.min_stationary_s * 1e6),
        out,
    )
    first, last = out[:n, 0], out[:n, 1]
    csum = np.vstack([np.zeros((1, 3)), np.cumsum(xyz, axis=0)])
    mean = csum[last + 1] - csum[first]
    mean /= np.linalg.norm(mean, axis=1, keepdims=True)
    plat = np.degrees(np.arcsin(np.clip(mean[:, 2], -1.0, 1.0)))
    plon = np.degrees(np.arctan2(mean[:, 1], mean[:, 0]))
    mmsi = _column(rows, "mmsi", np.int64)[order]
    ts_o = ts[order]
    return pa.table(
        {
            "mmsi": pa.array(mmsi[first], pa.int64()),
            "start_ts": pa.array(ts_o[first], pa.int64()),
            "end_ts": pa.array(ts_o[last], pa.int64()),
            "lat": pa.array(plat, pa.float64()),
            "lon": pa.array(plon, pa.float64()),
            "n_positions": pa.array(last - first + 1, pa.int64()),
            "cell": pa.array(cell_of(plat, plon), pa.int64()),
        }
    )


def derive_anchorages(positions: pa.Table, params: AnchorageParams = AnchorageParams()) -> pa.Table:
    """Anchorage cells of ``positions`` (:data:`ANCHORAGES_SCHEMA`), by ``port_id``."""
    return anchorages_from_periods(stationary_periods(positions, params), params)


def anchorages_from_periods(periods: pa.Table, params: AnchorageParams) -> pa.Table:
    """Anchorage cells of the stationary ``periods`` of :func:`stationary_periods`."""
    if periods.num_rows == 0:
        return ANCHORAGES_SCHEMA.empty_table()
    cell = _column(periods, "cell", np.int64)
    mmsi = _column(periods, "mmsi", np.int64)
    cells, inverse = np.unique(cell, return_inverse=True)
    pairs = np.unique(np.column_stack([inverse, mmsi]), axis=0)
    n_vessels = np.bincount(pairs[:, 0], minlength=len(cells))
    n_periods = np.bincount(inverse, minlength=len(cells))
    dur_s = (_column(periods, "end_ts", np.int64) - _column(periods, "start_ts", np.int64)) / 1e6
    stationary = np.bincount(inverse, weights=dur_s, minlength=len(cells))
    xyz = unit_vectors(_column(periods, "lat", np.float64), _column(periods, "lon", np.float64))
    sums: F64 = np.column_stack(
        [np.bincount(inverse, weights=xyz[:, j], minlength=len(cells)) for j in range(3)]
    ).astype(np.float64)
    sums = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    lat = np.degrees(np.arcsin(np.clip(sums[:, 2], -1.0, 1.0)))
    lon = np.degrees(np.arctan2(sums[:, 1], sums[:, 0]))
    keep = n_vessels >= params.min_vessels
    if math.isfinite(params.max_distance_to_shore_km) and keep.any():
        from seawatch.geo.shore import distance_to_shore_km

        shore = np.full(len(cells), np.inf)
        shore[keep] = distance_to_shore_km(lat[keep], lon[keep])
        keep &= shore <= params.max_distance_to_shore_km
    return pa.table(
        [
            pa.array(cell_id_text(cells[keep]), pa.string()),
            pa.array(lat[keep]),
            pa.array(lon[keep]),
            pa.array(n_vessels[keep], pa.int32()),
            pa.array(n_periods[keep], pa.int32()),
            pa.array(stationary[keep]),
        ],
        schema=ANCHORAGES_SCHEMA,
    )
