"""Distance to the nearest shore, computed from the land mask of :mod:`seawatch.geo.land`.

In: latitudes and longitudes in degrees (arrays). Out: ``distance_to_shore_km`` (float64).

The coastline is the set of 1/60° cells (≈ 1.85 km) that hold land in the 30″ GLOBE mask and
touch a sea cell. Within ``EXACT_WITHIN_KM`` of it the distance is the great-circle distance to
the nearest such cell centre, found with a KD-tree on 3-D unit vectors (scipy): accurate to
≈ 1.5 km (half a 1/60° cell diagonal) plus the mask's own error (≈ 1 km). Farther out, nearest
neighbour queries get slow (the ball holds many tree nodes), so the distance is interpolated
bilinearly in a 0.25° grid of exact distances, built once and cached: the distance field is
1-Lipschitz, so the error there is below 20 km and typically a few km (docs/geography.md).
Positions on land get 0. NaN positions give NaN.

We do not use ``landmetrics``' precomputed grid here because its data is LGPL-3.0.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from seawatch.geo._cache import load_npy, save_npy_atomic
from seawatch.geo._sphere import EARTH_RADIUS_KM, chord_to_km, kd_tree, unit_vectors
from seawatch.geo.land import COAST_NAME, on_land, packed_land_mask

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

__all__ = ["EXACT_WITHIN_KM", "distance_inland_km", "distance_to_shore_km"]

#: Below this interpolated distance the exact KD-tree distance is computed.
EXACT_WITHIN_KM = 150.0
ONE_QUERY_POINTS = 20_000
"""Up to this many points, :func:`_exact_km` queries the coast tree once, not per bin."""
_GRID_CELLS_PER_DEG = 4
_GRID_NAME = "shore_distance_grid_0.25deg_v1.npy"

_lock = threading.Lock()
_tree: cKDTree | None = None
_grid: npt.NDArray[np.float32] | None = None


def _coast_tree() -> cKDTree:
    global _tree
    with _lock:
        if _tree is None:
            points = load_npy(COAST_NAME)
            if points is None:
                packed_land_mask()  # builds the coastline file as a side effect
                points = load_npy(COAST_NAME)
            assert points is not None
            pts = np.asarray(points, dtype=np.float64)
            _tree = kd_tree(unit_vectors(pts[:, 0], pts[:, 1]), balanced_tree=False)
        return _tree


def _exact_km(
    xyz: npt.NDArray[np.float64], guess_km: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Exact nearest-coast km, querying in bins of similar ``guess_km`` with a bounded radius.

    A few points (a live batch's, :data:`ONE_QUERY_POINTS`) go in one query with the
    largest bin's radius instead of one per bin (3x less CPU); a point is then given what
    its bin's query would give it (inf beyond the bin's radius: the query finds only
    neighbours strictly within it), so the result is the same."""
    tree = _coast_tree()
    out = np.empty(len(xyz), dtype=np.float64)
    if len(xyz) == 0:
        return out
    bound_km = np.minimum(guess_km + 25.0, 20_100.0)
    edges = np.unique(np.quantile(bound_km, np.linspace(0.0, 1.0, 33)))
    bins = np.searchsorted(edges, bound_km, side="left")
    if len(xyz) <= ONE_QUERY_POINTS:
        per_bin = np.zeros(len(edges) + 1)
        np.maximum.at(per_bin, bins, bound_km)
        chords = np.minimum(2.0 * np.sin(per_bin / (2.0 * EARTH_RADIUS_KM)) * 1.001, 2.0)
        chord, _ = tree.query(xyz, k=1, distance_upper_bound=float(chords.max()))
        chord[chord >= chords[bins]] = np.inf
        return chord_to_km(chord)
    for b in np.unique(bins):
        sel = bins == b
        bound_chord = 2.0 * np.sin(bound_km[sel].max() / (2.0 * EARTH_RADIUS_KM)) * 1.001
        chord, _ = tree.query(xyz[sel], k=1, distance_upper_bound=min(bound_chord, 2.0))
        out[sel] = chord_to_km(chord)
    return out


def _build_grid() -> npt.NDArray[np.float32]:
    n = _GRID_CELLS_PER_DEG
    lat = 90.0 - (np.arange(180 * n + 1) / n)
    lon = -180.0 + np.arange(360 * n + 1) / n
    lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
    flat_lat, flat_lon = lat2.ravel(), lon2.ravel()
    grid = np.zeros(flat_lat.shape, dtype=np.float64)
    sea = ~on_land(flat_lat, flat_lon)
    # a coarse (1°) coast tree bounds the exact query's radius
    pts = _coast_tree().data
    coarse_idx = np.unique(np.round(pts * 50.0), axis=0)
    coarse = kd_tree(coarse_idx / np.linalg.norm(coarse_idx, axis=1)[:, None])
    xyz = unit_vectors(flat_lat[sea], flat_lon[sea])
    chord, _ = coarse.query(xyz, k=1)
    grid[sea] = _exact_km(xyz, chord_to_km(chord) + 200.0)
    result = grid.reshape(lat2.shape).astype(np.float32)
    save_npy_atomic(_GRID_NAME, result)
    return result


def _shore_grid() -> npt.NDArray[np.float32]:
    global _grid
    with _lock:
        if _grid is None:
            cached = load_npy(_GRID_NAME)
            n = _GRID_CELLS_PER_DEG
            if cached is not None and cached.shape == (180 * n + 1, 360 * n + 1):
                _grid = np.asarray(cached, dtype=np.float32)
    if _grid is None:
        built = _build_grid()
        with _lock:
            _grid = built
    return _grid


def _interpolated_km(
    lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    grid = _shore_grid()
    n = _GRID_CELLS_PER_DEG
    y = np.clip((90.0 - lat) * n, 0.0, 180 * n - 1e-9)
    x = np.clip(((lon + 180.0) % 360.0) * n, 0.0, 360 * n - 1e-9)
    r, c = y.astype(np.intp), x.astype(np.intp)
    fy, fx = y - r, x - c
    top = grid[r, c] * (1 - fx) + grid[r, c + 1] * fx
    bottom = grid[r + 1, c] * (1 - fx) + grid[r + 1, c + 1] * fx
    result: npt.NDArray[np.float64] = (top * (1 - fy) + bottom * fy).astype(np.float64)
    return result


def distance_inland_km(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Great-circle km from each land position to the nearest coast cell centre; 0 at sea.

    Coast cells are the land cells that touch the sea, so a berth that the mask counts as
    land is within about a cell (≈ 1.3 km) of one. Exact (KD-tree); on-land positions are
    few in AIS, so no grid is needed.
    """
    lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
    lon = np.atleast_1d(np.asarray(lon_deg, dtype=np.float64))
    lat, lon = np.broadcast_arrays(lat, lon)
    valid = np.isfinite(lat) & np.isfinite(lon)
    out = np.full(lat.shape, np.nan, dtype=np.float64)
    land = np.zeros(lat.shape, dtype=bool)
    land[valid] = on_land(lat[valid], lon[valid])
    out[valid & ~land] = 0.0
    if land.any():
        chord, _ = _coast_tree().query(unit_vectors(lat[land], lon[land]), k=1)
        out[land] = chord_to_km(chord)
    return out


def distance_to_shore_km(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Great-circle km from each sea position to the nearest coast cell; 0 on land.

    Exact (KD-tree) below ``EXACT_WITHIN_KM``, interpolated in a 0.25° grid beyond.
    """
    lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
    lon = np.atleast_1d(np.asarray(lon_deg, dtype=np.float64))
    lat, lon = np.broadcast_arrays(lat, lon)
    valid = np.isfinite(lat) & np.isfinite(lon)
    out = np.full(lat.shape, np.nan, dtype=np.float64)
    land = on_land(lat, lon)
    out[valid & land] = 0.0
    sea = valid & ~land
    if sea.any():
        guess = _interpolated_km(lat[sea], lon[sea])
        near = guess < EXACT_WITHIN_KM
        result = guess
        result[near] = _exact_km(unit_vectors(lat[sea][near], lon[sea][near]), guess[near])
        out[sea] = result
    return out
