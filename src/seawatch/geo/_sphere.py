"""Spherical helpers: unit vectors for KD-trees and chord ↔ great-circle distance.

In: degrees. Out: 3-D unit vectors and kilometres on a sphere of the mean Earth radius.
A KD-tree on unit vectors finds the nearest point on the sphere exactly (the chord is
monotonic in the great-circle distance), with no trouble at the antimeridian or poles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

__all__ = ["EARTH_RADIUS_KM", "chord_to_km", "kd_tree", "unit_vectors"]

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088


def unit_vectors(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """(n, 3) unit vectors for positions in degrees."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    cos_lat = np.cos(lat)
    return np.column_stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)])


def chord_to_km(chord: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Great-circle distance in km for chord lengths between unit vectors."""
    c = np.clip(np.asarray(chord, dtype=np.float64), 0.0, 2.0)
    result: npt.NDArray[np.float64] = 2.0 * EARTH_RADIUS_KM * np.arcsin(c / 2.0)
    return result


def kd_tree(points: npt.NDArray[np.float64], **options: Any) -> cKDTree:
    """A KD-tree (scipy's ``cKDTree``) of ``points``: scipy.spatial is imported here, on
    first use, not by every process that imports seawatch.geo (~0.5 s)."""
    from scipy.spatial import cKDTree

    return cKDTree(points, **options)
