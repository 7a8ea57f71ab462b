"""Land or sea at any position, from the ``global-land-mask`` package (MIT).

In: latitudes and longitudes in degrees (arrays). Out: ``on_land`` as a bool array.

The grid is NOAA's GLOBE 30-arc-second (≈ 0.93 km at the equator) land/sea mask shipped
inside ``global-land-mask``; most lakes count as land. Loading it means inflating a 933 MB
boolean array (≈ 11 s), so the first use packs it to bits (117 MB) and keeps that, plus the
coastline points that :mod:`seawatch.geo.shore` needs, in the cache directory
(:func:`seawatch.geo._cache.cache_dir`); later processes memory-map the packed file.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt

from seawatch.errors import ConfigError
from seawatch.geo._cache import load_npy, save_npy_atomic

__all__ = ["CELLS_PER_DEG", "on_land", "packed_land_mask"]

log = logging.getLogger(__name__)

#: Grid cells per degree of the GLOBE mask (30 arc seconds).
CELLS_PER_DEG = 120
_N_ROWS = 180 * CELLS_PER_DEG
_N_COLS = 360 * CELLS_PER_DEG
_PACKED_NAME = "land_mask_globe30s_packed_v1.npy"
#: Coastline cell centres at 1/60 degree (lat, lon) — written alongside the packed mask.
COAST_NAME = "coast_points_60_v1.npy"
COAST_CELLS_PER_DEG = 60

_lock = threading.Lock()
_packed: npt.NDArray[np.uint8] | None = None


def _package_mask_path() -> Path:
    spec = importlib.util.find_spec("global_land_mask")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the land mask needs the 'global-land-mask' package: pip install global-land-mask"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "globe_combined_mask_compressed.npz"


def _coast_points(land: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    """Centres of 1/60° cells holding land that touch a sea cell (4-neighbours; lon wraps)."""
    k = CELLS_PER_DEG // COAST_CELLS_PER_DEG
    coarse = land[0::k] | land[1::k]
    coarse = coarse[:, 0::k] | coarse[:, 1::k]
    sea = ~coarse
    near_sea = np.roll(sea, 1, axis=1) | np.roll(sea, -1, axis=1)
    near_sea[1:] |= sea[:-1]
    near_sea[:-1] |= sea[1:]
    rows, cols = np.nonzero(coarse & near_sea)
    lat = 90.0 - (rows + 0.5) / COAST_CELLS_PER_DEG
    lon = -180.0 + (cols + 0.5) / COAST_CELLS_PER_DEG
    return np.column_stack([lat, lon]).astype(np.float32)


def _build() -> npt.NDArray[np.uint8]:
    path = _package_mask_path()
    log.info("building the packed land mask and coastline from %s (once, ~30 s)", path)
    with np.load(path) as npz:
        land = ~npz["mask"]  # the package stores True = ocean
    if land.shape != (_N_ROWS, _N_COLS):
        raise ConfigError(f"unexpected land mask shape {land.shape} in {path}")
    packed = np.packbits(land, axis=1)
    save_npy_atomic(COAST_NAME, _coast_points(land))
    save_npy_atomic(_PACKED_NAME, packed)
    return packed


def packed_land_mask() -> npt.NDArray[np.uint8]:
    """The GLOBE land mask, rows from 90°N southwards, bits packed along longitude (1 = land)."""
    global _packed
    with _lock:
        if _packed is None:
            cached = load_npy(_PACKED_NAME)
            if cached is not None and cached.shape == (_N_ROWS, _N_COLS // 8):
                _packed = np.asarray(cached, dtype=np.uint8)
            else:
                _packed = _build()
        return _packed


def grid_index(
    lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike, cells_per_deg: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Row (from 90°N) and column (from 180°W) of the cell holding each position."""
    lat = np.asarray(lat_deg, dtype=np.float64)
    lon = np.asarray(lon_deg, dtype=np.float64)
    lon = (lon + 180.0) % 360.0 - 180.0
    rows = np.clip(((90.0 - lat) * cells_per_deg).astype(np.intp), 0, 180 * cells_per_deg - 1)
    cols = np.clip(((lon + 180.0) * cells_per_deg).astype(np.intp), 0, 360 * cells_per_deg - 1)
    return rows, cols


def on_land(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where the position falls in a land cell of the 30″ GLOBE mask; NaN gives False.

    >>> on_land([48.85, 45.0], [2.35, -30.0]).tolist()
    [True, False]
    """
    lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
    lon = np.atleast_1d(np.asarray(lon_deg, dtype=np.float64))
    lat, lon = np.broadcast_arrays(lat, lon)
    valid = np.isfinite(lat) & np.isfinite(lon)
    rows, cols = grid_index(np.where(valid, lat, 0.0), np.where(valid, lon, 0.0), CELLS_PER_DEG)
    packed = packed_land_mask()
    byte = packed[rows, cols >> 3]
    bit = (byte >> (7 - (cols & 7)).astype(np.uint8)) & 1
    result: npt.NDArray[np.bool_] = (bit == 1) & valid
    return result
