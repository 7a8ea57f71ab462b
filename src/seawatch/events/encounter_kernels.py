"""Compiled loops of the encounter rule: resampling, close pairs by cell, runs of close steps.

In: positions as :func:`~seawatch.events.tracks_in.prepare` sorts them (track, time, lat, lon,
a land/port flag), the grid step and thresholds of :class:`~.encounter.EncounterParams`.
Out: grid points, close pairs per grid step and encounter rows as arrays, which
:mod:`.encounter` turns into events. See :mod:`.encounter` for the rule and its sources.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from seawatch.events.tracks_in import F64, I64, M_PER_NM, haversine_m

__all__ = ["M_PER_DEG", "close_pairs", "resample", "runs", "wrapped"]

M_PER_DEG = 111_195.0


@njit(cache=True, nogil=True)
def resample(
    track: I64, ts: I64, lat: F64, lon: F64, aux: F64, step_us: int, max_gap_us: int
) -> tuple[I64, I64, F64, F64, F64, F64]:  # pragma: no cover
    """Grid points of every track: (track, step, lat, lon, speed_kn, flags of the pair)."""
    n = 0
    for i in range(1, len(ts)):
        if track[i] == track[i - 1] and ts[i] - ts[i - 1] <= max_gap_us:
            n += (ts[i] - ts[i - 1]) // step_us + 2
    gk = np.empty(n, np.int64)
    gs = np.empty(n, np.int64)
    glat = np.empty(n)
    glon = np.empty(n)
    gv = np.empty(n)
    ga = np.empty(n)
    m = 0
    for i in range(1, len(ts)):
        a, b = ts[i - 1], ts[i]
        if track[i] != track[i - 1] or b - a > max_gap_us:
            continue
        linked = i >= 2 and track[i - 2] == track[i] and a - ts[i - 2] <= max_gap_us
        first = a // step_us if (a % step_us == 0 and not linked) else a // step_us + 1
        last = b // step_us
        d = haversine_m(lat[i - 1], lon[i - 1], lat[i], lon[i])
        dlon = (lon[i] - lon[i - 1] + 180.0) % 360.0 - 180.0  # the short way round ±180°
        v = (d / M_PER_NM) / ((b - a) / 3.6e9) if b > a else 0.0
        for s in range(first, last + 1):
            t = s * step_us
            f = (t - a) / (b - a) if b > a else 0.0
            gk[m] = track[i]
            gs[m] = s
            glat[m] = lat[i - 1] + f * (lat[i] - lat[i - 1])
            glon[m] = (lon[i - 1] + f * dlon + 180.0) % 360.0 - 180.0
            gv[m] = v
            ga[m] = max(aux[i - 1], aux[i])  # 1: on land or near port at either end
            m += 1
    return gk[:m], gs[:m], glat[:m], glon[:m], gv[:m], ga[:m]


@njit(cache=True, nogil=True)
def close_pairs(
    skey: I64, order: I64, glat: F64, glon: F64, ga: F64, gmmsi: I64, n_orig: int, max_d: float
) -> tuple[I64, I64, F64]:  # pragma: no cover
    """Close (point, point) pairs, lower MMSI first, each pair once.

    Points from ``n_orig`` on are copies, shifted by -360°, of points just west of +180°
    (:func:`wrapped`): they meet the points just east of -180° in the cells; two copies
    never pair (their originals already did).

    ``skey`` is the sorted (step, cell y, cell x) key of the points ``order``; every cell is
    compared with itself and with 4 of its 8 neighbours (x + 1 and the three at y + 1; the
    other 4 compare with it). Cells come in key order, so the neighbours' keys grow too and
    are found by pointers that only move forward: linear in the number of points.
    """
    row = np.int64(1 << 18)
    max_dlat = max_d / M_PER_DEG
    cap = 1024
    pa_ = np.empty(cap, np.int64)
    pb = np.empty(cap, np.int64)
    pd = np.empty(cap)
    ranges = np.empty((5, 2), np.int64)
    ptr = np.zeros(5, np.int64)
    n = 0
    a = 0
    m = len(skey)
    while a < m:
        b = a + 1
        while b < m and skey[b] == skey[a]:
            b += 1
        ranges[0, 0], ranges[0, 1] = a, b
        for c in range(1, 5):
            want = skey[a] + (1 if c == 1 else row + c - 3)  # x+1; y+1 with x-1, x, x+1
            lo = max(ptr[c], b)
            while lo < m and skey[lo] < want:
                lo += 1
            hi = lo
            while hi < m and skey[hi] == want:
                hi += 1
            ptr[c] = lo
            ranges[c, 0], ranges[c, 1] = lo, hi
        for r in range(a, b):
            p = order[r]
            if ga[p] > 0:
                continue
            for c in range(5):
                lo = r + 1 if c == 0 else ranges[c, 0]
                for r2 in range(lo, ranges[c, 1]):
                    q = order[r2]
                    if ga[q] > 0 or gmmsi[q] == gmmsi[p] or abs(glat[q] - glat[p]) > max_dlat:
                        continue
                    if p >= n_orig and q >= n_orig:
                        continue
                    d = haversine_m(glat[p], glon[p], glat[q], glon[q])
                    if d > max_d:
                        continue
                    if n == cap:
                        cap *= 2
                        pa_ = np.concatenate((pa_, np.empty(cap - n, np.int64)))
                        pb = np.concatenate((pb, np.empty(cap - n, np.int64)))
                        pd = np.concatenate((pd, np.empty(cap - n)))
                    lo_first = gmmsi[p] < gmmsi[q]
                    pa_[n] = p if lo_first else q
                    pb[n] = q if lo_first else p
                    pd[n] = d
                    n += 1
        a = b
    return pa_[:n], pb[:n], pd[:n]


@njit(cache=True, nogil=True)
def _emit(
    first: int,
    last: int,
    p: I64,
    q: I64,
    d: F64,
    gk: I64,
    gs: I64,
    gv: F64,
    glat: F64,
    glon: F64,
    pv: F64,
    closed: bool,
    max_kn: float,
    max_silent: int,
    oi: I64,
    of: F64,
    n_out: int,
) -> int:  # pragma: no cover
    """One merged run ``[first, last]`` of close pairs to an output row, if both are slow enough."""
    cnt = last - first + 1
    for x in range(cnt):
        pv[x] = gv[p[first + x]]
    va = np.median(pv[:cnt])
    for x in range(cnt):
        pv[x] = gv[q[first + x]]
    vb = np.median(pv[:cnt])
    if max(va, vb) >= max_kn:
        return n_out
    for x in range(cnt):
        pv[x] = d[first + x]
    dm = np.median(pv[:cnt])
    slat = 0.0
    sx = 0.0
    sy = 0.0
    for x in range(first, last + 1):
        slat += (glat[p[x]] + glat[q[x]]) / 2
        for lon in (glon[p[x]], glon[q[x]]):  # circular mean: ±180° averages to ±180°
            sx += math.cos(math.radians(lon))
            sy += math.sin(math.radians(lon))
    silent = 0
    for x in range(first, last):
        if _silence(x, p, q, gs, max_silent):
            silent += gs[p[x + 1]] - gs[p[x]]
    oi[n_out, 0] = gs[p[first]]
    oi[n_out, 1] = gs[p[last]]
    oi[n_out, 2] = 1 if closed else 0
    oi[n_out, 3] = gk[p[first]]
    oi[n_out, 4] = gk[q[first]]
    oi[n_out, 5] = cnt
    oi[n_out, 6] = silent
    of[n_out, 0] = slat / cnt
    of[n_out, 1] = math.degrees(math.atan2(sy, sx))
    of[n_out, 2] = dm
    of[n_out, 3] = va
    of[n_out, 4] = vb
    return n_out + 1


@njit(cache=True, nogil=True)
def runs(
    p: I64,
    q: I64,
    d: F64,
    gk: I64,
    gs: I64,
    gv: F64,
    glat: F64,
    glon: F64,
    pv: F64,
    step_us: int,
    lag_us: int,
    now_us: int,
    prev_now_us: int,
    min_steps: float,
    merge_steps: float,
    max_kn: float,
    max_silent: int,
    oi: I64,
    of: F64,
    keep: I64,
) -> int:  # pragma: no cover
    """Encounters of close pairs sorted by (track, other track, step).

    Per pair of tracks: runs of consecutive steps (a shared silence of at most
    ``max_silent`` steps continues a run, :func:`_silence`), runs shorter than ``min_steps``
    dropped, kept runs less than ``merge_steps`` apart merged, both median speeds below
    ``max_kn``. A merged run is closed when no later row can extend it; closed runs already
    closed by the previous call (``prev_now_us``) are not emitted again. Out rows: ``oi``
    (first step, last step, closed, track, other track, close steps, silent steps), ``of``
    (lat, lon, median distance, median speed, other median speed). Returns the row count;
    ``keep[track]`` is lowered to the first step a later call still needs of that track (the
    start of an unsettled run).
    """
    n_out = 0
    g = 0
    while g < len(p):
        h = g + 1
        while h < len(p) and gk[p[h]] == gk[p[g]] and gk[q[h]] == gk[q[g]]:
            h += 1
        mf = -1
        ml = -1
        i = g
        while i < h:
            j = i
            while j + 1 < h and (gs[p[j + 1]] == gs[p[j]] + 1 or _silence(j, p, q, gs, max_silent)):
                j += 1
            if (gs[p[j]] + 1) * step_us + lag_us >= now_us:
                keep[gk[p[i]]] = min(keep[gk[p[i]]], gs[p[i]])
                keep[gk[q[i]]] = min(keep[gk[q[i]]], gs[p[i]])
            if gs[p[j]] - gs[p[i]] >= min_steps:
                if mf >= 0 and gs[p[i]] - gs[p[ml]] < merge_steps:
                    ml = j
                else:
                    if mf >= 0:
                        n_out = _settle(
                            mf,
                            ml,
                            p,
                            q,
                            d,
                            gk,
                            gs,
                            gv,
                            glat,
                            glon,
                            pv,
                            step_us,
                            lag_us,
                            now_us,
                            prev_now_us,
                            max_kn,
                            max_silent,
                            oi,
                            of,
                            n_out,
                        )
                    mf, ml = i, j
            i = j + 1
        if mf >= 0:
            n_out = _settle(
                mf,
                ml,
                p,
                q,
                d,
                gk,
                gs,
                gv,
                glat,
                glon,
                pv,
                step_us,
                lag_us,
                now_us,
                prev_now_us,
                max_kn,
                max_silent,
                oi,
                of,
                n_out,
            )
            if (gs[p[ml]] + 1) * step_us + lag_us >= now_us:
                keep[gk[p[mf]]] = min(keep[gk[p[mf]]], gs[p[mf]])
                keep[gk[q[mf]]] = min(keep[gk[q[mf]]], gs[p[mf]])
        g = h
    return n_out


@njit(cache=True, nogil=True)
def _settle(
    mf: int,
    ml: int,
    p: I64,
    q: I64,
    d: F64,
    gk: I64,
    gs: I64,
    gv: F64,
    glat: F64,
    glon: F64,
    pv: F64,
    step_us: int,
    lag_us: int,
    now_us: int,
    prev_now_us: int,
    max_kn: float,
    max_silent: int,
    oi: I64,
    of: F64,
    n_out: int,
) -> int:  # pragma: no cover
    end = (gs[p[ml]] + 1) * step_us + lag_us
    closed = end < now_us
    if closed and prev_now_us > end:
        return n_out  # closed by an earlier call
    return _emit(
        mf, ml, p, q, d, gk, gs, gv, glat, glon, pv, closed, max_kn, max_silent, oi, of, n_out
    )


@njit(cache=True, nogil=True)
def _silence(x: int, p: I64, q: I64, gs: I64, max_silent: int) -> bool:  # pragma: no cover
    """Whether close pairs ``x`` and ``x + 1`` (of one pair of tracks) are the two ends of a
    shared silence: more than one step apart, at most ``max_silent``, and neither track has a
    grid point between them (both unheard for longer than the interpolation limit)."""
    gap = gs[p[x + 1]] - gs[p[x]]
    return bool(1 < gap <= max_silent and p[x + 1] == p[x] + 1 and q[x + 1] == q[x] + 1)


def wrapped(glat: F64, glon: F64, cell_m: float) -> I64:
    """Grid points within two cells west of +180° (in the cells' x metres): copied 360° west
    so that the cell search meets their neighbours east of -180°."""
    x_m = (180.0 - glon) * M_PER_DEG * np.cos(np.radians(glat))
    out: I64 = np.flatnonzero(x_m < 2 * cell_m).astype(np.int64)
    return out
