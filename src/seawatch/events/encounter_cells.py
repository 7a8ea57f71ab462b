"""Close pairs of the encounter rule: grid points hashed into ~1 km cells per grid step.

In: the grid points of :func:`~.encounter_kernels.resample` (step, lat, lon, land/port flag,
MMSI) and the points to hash (``src``: every point, then copies of those just west of +180°,
:func:`~.encounter_kernels.wrapped`). Out: the close pairs, as indices of grid points, lower
MMSI first, with their distances. A compiled pass hashes the points, numpy sorts their
keys, and a second compiled pass lays them out in that order and walks the cells; see
:mod:`.encounter` for the rule.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from seawatch.events.encounter_kernels import M_PER_DEG
from seawatch.events.tracks_in import EARTH_RADIUS_M, F64, I64
from seawatch.tracks.compiled import HELPER

__all__ = ["close_pairs"]


@njit(cache=True, nogil=True, inline="always")
def _row_cos(y: int, cell_m: float) -> float:  # pragma: no cover
    """The cosine of cell row ``y``'s poleward edge: its smallest over the row. A cell's x is
    its longitude in metres at that cosine, the same for every point of the row, so two
    points of a row within ``cell_m`` of each other are at most one cell apart in x (with
    each point's own cosine, as before, points ~500 m apart far from 0° and the equator
    could hash two or three cells apart and were never compared)."""
    edge_deg = max(abs(y), abs(y + 1)) * cell_m / M_PER_DEG
    return math.cos(math.radians(min(90.0, edge_deg)))


@njit(cache=True, nogil=True)
def _hashed(
    gs: I64, glat: F64, glon: F64, ga: F64, gmmsi: I64, src: I64, n_orig: int, cell_m: float,
    y_lo: int, row_cos: F64,
) -> tuple[I64, F64]:  # fmt: skip  # pragma: no cover
    """Per hashed point its (step, cell y, cell x) key (x at the row's cosine,
    :func:`_row_cos`, read from ``row_cos`` of :func:`_row_table`) and one record of what
    the cell walk reads: latitude, longitude (copies shifted by -360°), latitude cosine,
    MMSI (exact in a float64) and the land/port flag. One record per point: laying the
    points out in key order then reads one cache line per point, not one per array."""
    n = len(src)
    key = np.empty(n, np.int64)
    rec = np.empty((n, 5))
    s0 = gs.min() if len(gs) else 0
    for h in range(n):
        i = src[h]
        la = glat[i]
        lo = glon[i] - 360.0 if h >= n_orig else glon[i]
        c = math.cos(math.radians(la))
        y = math.floor(la * M_PER_DEG / cell_m)
        cy = np.int64(y)
        cx = np.int64(math.floor(lo * M_PER_DEG * row_cos[cy - y_lo] / cell_m))
        key[h] = ((gs[i] - s0) << 36) | ((cy + (1 << 17)) << 18) | (cx + (1 << 17))
        rec[h, 0], rec[h, 1], rec[h, 2] = la, lo, c
        rec[h, 3], rec[h, 4] = gmmsi[i], ga[i]
    return key, rec


@njit(cache=True, nogil=True)
def _row_table(glat: F64, cell_m: float) -> tuple[int, F64]:  # pragma: no cover
    """:func:`_row_cos` of every cell row from the lowest of ``glat``'s to one past the
    highest (row y at ``[y - y_lo]``), and ``y_lo``: one cosine per row, not per point."""
    if len(glat) == 0:
        return 0, np.ones(1)
    lat_lo, lat_hi = glat[0], glat[0]
    for la in glat:
        lat_lo, lat_hi = min(lat_lo, la), max(lat_hi, la)
    y_lo = math.floor(lat_lo * M_PER_DEG / cell_m)
    y_hi = math.floor(lat_hi * M_PER_DEG / cell_m)
    out = np.empty(y_hi - y_lo + 2)
    for y in range(y_lo, y_hi + 2):
        out[y - y_lo] = _row_cos(y, cell_m)
    return y_lo, out


@njit(cache=True, nogil=True, inline="always")
def _haversine_cos(
    lat1: float, lon1: float, cos1: float, lat2: float, lon2: float, cos2: float
) -> float:  # pragma: no cover
    """:func:`~.tracks_in.haversine_m` with the cosines of both latitudes given (as
    :func:`_hashed` computed them, ``cos(radians(lat))``): the same operations, two fewer
    cosines per candidate pair."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + cos1 * cos2 * math.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def close_pairs(
    gs: I64, glat: F64, glon: F64, ga: F64, gmmsi: I64, src: I64, n_orig: int,
    cell_m: float, max_d: float,
) -> tuple[I64, I64, F64]:  # fmt: skip
    """Close (point, point) pairs of grid points, lower MMSI first, each pair once.

    Hashed points ``src[h]`` from ``n_orig`` on are copies, shifted by -360°, of points just
    west of +180°: they meet the points just east of -180° in the cells; two copies never
    pair (their originals already did)."""
    assert cell_m >= max_d * 1.001, "a pair max_d apart must lie in adjacent cells"
    y_lo, row_cos = _row_table(glat, cell_m)
    key, rec = _hashed(gs, glat, glon, ga, gmmsi, src, n_orig, cell_m, y_lo, row_cos)
    reach = _row_reach(row_cos, max_d, cell_m)
    packed, row, nb, x_lo = _packed(key)
    if nb:  # sorting keys with their index in the low bits: ~3x faster than an argsort
        packed.sort()  # numpy's sort of int64: vectorised, faster than compiled
        order = packed & ((1 << nb) - 1)
        skey, x_top = packed >> nb, row - 2
    else:
        order = np.argsort(key)
        skey, row, x_lo, x_top = key[order], 1 << 18, -(1 << 17), (1 << 18) - 1
    return _walk(skey, order, rec, src, n_orig, max_d, cell_m, row, x_lo, x_top, y_lo, reach)


@njit(cache=True, nogil=True)
def _packed(key: I64) -> tuple[I64, int, int, int]:  # pragma: no cover
    """The keys of :func:`_hashed` (step << 36 | cell y << 18 | cell x) renumbered densely,
    ``((step × (rows + 1) + y) × row + x) << nb | index`` (``row``: the columns + 1, ``nb``:
    the bits of an index), when that fits in 63 bits; else nb = 0. Same order of cells, and
    a neighbour's key is still key + 1 (x + 1) and key + row + (x' - x) (y + 1, x'): the
    spare column and row make every computed neighbour either the true one or a key no
    point has. Also the lowest cell x (what a key's x of 0 stands for)."""
    n = key.shape[0]
    m18 = (1 << 18) - 1
    s_hi, y_lo, y_hi, x_lo, x_hi = 0, m18, 0, m18, 0
    for h in range(n):
        k = key[h]
        y, x = (k >> 18) & m18, k & m18
        s_hi = max(s_hi, k >> 36)
        y_lo, y_hi, x_lo, x_hi = min(y_lo, y), max(y_hi, y), min(x_lo, x), max(x_hi, x)
    nb = 1
    while (1 << nb) < n:
        nb += 1
    row = x_hi - x_lo + 2
    plane = (y_hi - y_lo + 2) * row
    if n == 0 or float(s_hi + 1) * float(plane) >= float(1 << (62 - nb)):
        return np.empty(0, np.int64), 0, 0, 0
    out = np.empty(n, np.int64)
    for h in range(n):
        k = key[h]
        dense = (k >> 36) * plane + (((k >> 18) & m18) - y_lo) * row + ((k & m18) - x_lo)
        out[h] = (dense << nb) | h
    return out, row, nb, x_lo - (1 << 17)


@njit(cache=True, nogil=True)
def _row_reach(row_cos: F64, max_d: float, cell_m: float) -> F64:  # pragma: no cover
    """Per cell row y of ``row_cos`` (:func:`_row_table`, but its last) what
    :func:`_next_row_x` reads: the metres per degree at its cosine, the largest longitude
    difference of two points ``max_d`` apart in rows y and y + 1 (haversine ≥
    2R·min(cos)·sin(Δλ/2)), in degrees with a margin (-1: any, the whole next row), and
    row y + 1's cells per degree. Per row, not per cell: an arcsine and two cosines less per
    cell."""
    out = np.empty((max(len(row_cos) - 1, 0), 3))
    for r in range(len(out)):
        c0, c1 = row_cos[r], row_cos[r + 1]
        s = max_d / (2.0 * EARTH_RADIUS_M * max(min(c0, c1), 1e-12))
        whole = s >= 1.0 or c0 <= 0.0
        out[r, 0] = M_PER_DEG * c0
        out[r, 1] = -1.0 if whole else math.degrees(2.0 * math.asin(s)) * 1.001 + 1e-9
        out[r, 2] = M_PER_DEG * c1 / cell_m
    return out


@njit(**HELPER)
def _next_row_x(
    lat: float, x: int, cell_m: float, y_lo: int, reach: F64
) -> tuple[int, int]:  # pragma: no cover
    """The cells x of row y + 1 that hold every point within ``max_d`` of a point of cell
    (y, ``x``) (``lat``: one point of that cell, for y): the cell's longitudes widened by
    :func:`_row_reach`'s reach of row y, at row y + 1's cosine."""
    r = math.floor(lat * M_PER_DEG / cell_m) - y_lo
    per_deg, reach_deg, scale = reach[r, 0], reach[r, 1], reach[r, 2]
    if reach_deg < 0.0:
        return -(1 << 40), 1 << 40
    lon_lo = x * cell_m / per_deg - reach_deg
    lon_hi = (x + 1) * cell_m / per_deg + reach_deg
    return math.floor(lon_lo * scale), math.floor(lon_hi * scale)


@njit(cache=True, nogil=True)
def _walk(
    skey: I64, order: I64, rec: F64, src: I64, n_orig: int, max_d: float, cell_m: float,
    row: int, x0: int, x_top: int, y_lo: int, reach: F64,
) -> tuple[I64, I64, F64]:  # fmt: skip
    """The close pairs of hashed points in key order (``skey``: the keys sorted, ``order``:
    the points in that order; a cell's y + 1 is ``row`` keys on; a key's x, ``key % row``,
    is cell x - ``x0``, from 0 to ``x_top``).

    Every cell is compared with itself, with x + 1, and with the cells of row y + 1 whose
    longitudes come within ``max_d`` of its own (rows differ in their cosine,
    :func:`_row_cos`: usually the three at x - 1 … x + 1, more far from 0° and the equator,
    the whole row at a pole); the cells before it compare with it. Cells come in key order,
    so those keys grow too and are found by pointers that only move forward: linear in the
    number of points. A candidate pair whose longitude difference alone (a lower bound of
    the haversine distance) is too far costs no haversine.
    """
    n = len(src)
    # the points laid out in key order: the cell walk reads memory in sequence
    slat, slon, scos = np.empty(n), np.empty(n), np.empty(n)
    sbad = np.empty(n, np.bool_)
    smm = np.empty(n, np.int64)
    for r in range(n):
        h = order[r]
        slat[r], slon[r], scos[r] = rec[h, 0], rec[h, 1], rec[h, 2]
        smm[r] = np.int64(rec[h, 3])
        sbad[r] = rec[h, 4] > 0
    max_dlat = max_d / M_PER_DEG
    max_lb = max_d * 1.000001  # margin over rounding: a pair skipped is surely too far
    cap = 1024
    pa_ = np.empty(cap, np.int64)
    pb = np.empty(cap, np.int64)
    pd = np.empty(cap)
    ranges = np.empty((3, 2), np.int64)
    ptr = np.zeros(3, np.int64)
    m = 0
    a = 0
    while a < n:
        b = a + 1
        while b < n and skey[b] == skey[a]:
            b += 1
        ranges[0, 0], ranges[0, 1] = a, b
        x_rel = skey[a] % row
        x_lo, x_hi = _next_row_x(slat[a], x_rel + x0, cell_m, y_lo, reach)
        want = (skey[a] + 1, skey[a] + 1)  # x + 1
        for c in range(1, 3):
            if c == 2:  # y + 1, the cells x_lo … x_hi (those a key can stand for)
                lo_x, hi_x = max(x_lo - x0, 0), min(x_hi - x0, x_top)
                want = (skey[a] + row + lo_x - x_rel, skey[a] + row + hi_x - x_rel)
                if lo_x > hi_x:
                    ranges[c, 0], ranges[c, 1] = b, b
                    continue
            lo = max(ptr[c], b)
            while lo < n and skey[lo] < want[0]:
                lo += 1
            hi = lo
            while hi < n and skey[hi] <= want[1]:
                hi += 1
            ptr[c] = lo
            ranges[c, 0], ranges[c, 1] = lo, hi
        for r in range(a, b):
            if sbad[r]:
                continue
            for c in range(3):
                lo = r + 1 if c == 0 else ranges[c, 0]
                for r2 in range(lo, ranges[c, 1]):
                    if sbad[r2] or smm[r2] == smm[r] or abs(slat[r2] - slat[r]) > max_dlat:
                        continue
                    if order[r] >= n_orig and order[r2] >= n_orig:
                        continue
                    # haversine ≥ 2R·cos φ1·cos φ2·|sin(Δλ/2)|... ≥ 2R·min(cos)·(x - x³/6)
                    x = abs(math.radians(slon[r2] - slon[r])) / 2
                    if 2.0 * EARTH_RADIUS_M * min(scos[r], scos[r2]) * (x - x**3 / 6) > max_lb:
                        continue
                    d = _haversine_cos(slat[r], slon[r], scos[r], slat[r2], slon[r2], scos[r2])
                    if d > max_d:
                        continue
                    if m == cap:
                        cap *= 2
                        pa_ = np.concatenate((pa_, np.empty(cap - m, np.int64)))
                        pb = np.concatenate((pb, np.empty(cap - m, np.int64)))
                        pd = np.concatenate((pd, np.empty(cap - m)))
                    p, q = src[order[r]], src[order[r2]]
                    lo_first = smm[r] < smm[r2]
                    pa_[m] = p if lo_first else q
                    pb[m] = q if lo_first else p
                    pd[m] = d
                    m += 1
        a = b
    return pa_[:m], pb[:m], pd[:m]
