"""Compiled loops of the encounter rule: resampling and runs of close steps.

In: positions as :func:`~seawatch.events.tracks_in.prepare` sorts them (track, time, lat, lon,
a land/port flag), the grid step and thresholds of :class:`~.encounter.EncounterParams`.
Out: grid points and encounter rows as arrays (the close pairs per grid step are found by
:mod:`.encounter_cells`), which
:mod:`.encounter` turns into events. See :mod:`.encounter` for the rule and its sources.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from seawatch.events.tracks_in import F64, I64, M_PER_NM, haversine_m
from seawatch.tracks.compiled import HELPER

__all__ = ["M_PER_DEG", "grid", "needed_rows", "resample", "runs", "speeds", "wrapped"]

M_PER_DEG = 111_195.0


@njit(cache=True, nogil=True, inline="always")
def _wrap180(x: float) -> float:  # pragma: no cover
    """(x + 180) % 360 - 180 as Python computes it; ``%`` only outside [0, 360), where it
    is not ``y`` itself (numba's float ``%`` is a call per use)."""
    y = x + 180.0
    if not 0.0 <= y < 360.0:
        y = y % 360.0
    return y - 180.0


@njit(cache=True, nogil=True)
def grid(
    track: I64, ts: I64, lat: F64, lon: F64, aux: F64, step_us: int, max_gap_us: int
) -> tuple[I64, I64, F64, F64, I64, F64]:  # pragma: no cover
    """Grid points of every track: (track, step, lat, lon, row, flags of the pair); ``row``:
    the later of the two rows the point lies between (its speed: :func:`speeds`)."""
    n = 0
    for i in range(1, len(ts)):
        if track[i] == track[i - 1] and ts[i] - ts[i - 1] <= max_gap_us:
            n += (ts[i] - ts[i - 1]) // step_us + 2
    gk = np.empty(n, np.int64)
    gs = np.empty(n, np.int64)
    glat = np.empty(n)
    glon = np.empty(n)
    grow = np.empty(n, np.int64)
    ga = np.empty(n)
    m = 0
    for i in range(1, len(ts)):
        a, b = ts[i - 1], ts[i]
        if track[i] != track[i - 1] or b - a > max_gap_us:
            continue
        linked = i >= 2 and track[i - 2] == track[i] and a - ts[i - 2] <= max_gap_us
        first = a // step_us if (a % step_us == 0 and not linked) else a // step_us + 1
        last = b // step_us
        if first > last:  # no grid time between the two (most pairs: reports every minute)
            continue
        dlon = _wrap180(lon[i] - lon[i - 1])  # the short way round ±180°
        for s in range(first, last + 1):
            t = s * step_us
            f = (t - a) / (b - a) if b > a else 0.0
            gk[m] = track[i]
            gs[m] = s
            glat[m] = lat[i - 1] + f * (lat[i] - lat[i - 1])
            glon[m] = _wrap180(lon[i - 1] + f * dlon)
            grow[m] = i
            ga[m] = max(aux[i - 1], aux[i])  # 1: on land or near port at either end
            m += 1
    return gk[:m], gs[:m], glat[:m], glon[:m], grow[:m], ga[:m]


@njit(**HELPER)
def _speed(i: int, ts: I64, lat: F64, lon: F64) -> float:  # pragma: no cover
    """The implied speed (knots) of rows ``i - 1`` and ``i``: a grid point's between them."""
    a, b = ts[i - 1], ts[i]
    d = haversine_m(lat[i - 1], lon[i - 1], lat[i], lon[i])
    return (d / M_PER_NM) / ((b - a) / 3.6e9) if b > a else 0.0


@njit(cache=True, nogil=True)
def speeds(grow: I64, ts: I64, lat: F64, lon: F64, p: I64, q: I64) -> F64:  # pragma: no cover
    """The speed of the grid points ``p`` and ``q`` name (:func:`grid`'s ``row``); NaN at
    the others, which :func:`runs` never reads (it reads the speeds of close pairs): most
    grid points are in no close pair, and a haversine per point was half of resampling."""
    need = np.zeros(len(grow), np.bool_)
    for x in range(len(p)):
        need[p[x]] = True
        need[q[x]] = True
    gv = np.full(len(grow), np.nan)
    row, v = -1, np.nan  # the last row whose speed was computed, and that speed
    for g in range(len(grow)):  # in order: the rows are read in sequence
        if need[g]:
            if grow[g] != row:  # grid points between the same two rows: the same speed
                row, v = grow[g], _speed(grow[g], ts, lat, lon)
            gv[g] = v
    return gv


@njit(cache=True, nogil=True)
def resample(
    track: I64, ts: I64, lat: F64, lon: F64, aux: F64, step_us: int, max_gap_us: int
) -> tuple[I64, I64, F64, F64, F64, F64]:  # pragma: no cover
    """Grid points of every track: (track, step, lat, lon, speed_kn, flags of the pair)."""
    gk, gs, glat, glon, grow, ga = grid(track, ts, lat, lon, aux, step_us, max_gap_us)
    gv = np.empty(len(grow))
    for g in range(len(grow)):
        gv[g] = _speed(grow[g], ts, lat, lon)
    return gk, gs, glat, glon, gv, ga


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


@njit(**HELPER)
def _silence(x: int, p: I64, q: I64, gs: I64, max_silent: int) -> bool:  # pragma: no cover
    """Whether close pairs ``x`` and ``x + 1`` (of one pair of tracks) are the two ends of a
    shared silence: more than one step apart, at most ``max_silent``, and neither track has a
    grid point between them (both unheard for longer than the interpolation limit)."""
    gap = gs[p[x + 1]] - gs[p[x]]
    return bool(1 < gap <= max_silent and p[x + 1] == p[x] + 1 and q[x + 1] == q[x] + 1)


@njit(cache=True, nogil=True)
def needed_rows(
    track: I64, ts_us: I64, order: I64, keep_from: I64, step_us: int
) -> Any:  # pragma: no cover
    """Per row (rows in (track, ts) order, put back by ``order``) whether a later call
    needs it: at or after its track's ``keep_from``, and not *between*: strictly inside a
    grid step with the track's previous and next rows strictly inside the same step.
    Resampling gives the same grid points without those (a pair of rows inside one step has
    no grid point, and whether a row on the grid links to its predecessor reads only rows
    on the grid and their neighbours), so the state keeps at most three rows of each
    track's step (the one on the grid, the first and the last inside): bounded per track
    and hour, not by the feed's rate. One pass, each time divided once."""
    n = len(ts_us)
    out = np.empty(n, np.bool_)
    if n == 0:
        return out
    q1 = ts_us[0] // step_us  # row i: step, on the grid; row i - 1: on0
    on1 = ts_us[0] - q1 * step_us == 0
    on0 = on1
    inside = False  # row i and i - 1: same track and step, row i inside it
    for i in range(n):
        q2, on2, inside_next = q1, False, False
        if i + 1 < n:
            q2 = ts_us[i + 1] // step_us
            on2 = ts_us[i + 1] - q2 * step_us == 0
            inside_next = not on2 and track[i + 1] == track[i] and q2 == q1
        between = i > 0 and inside and inside_next and not on0
        out[order[i]] = ts_us[i] >= keep_from[track[i]] and not between
        on0, q1, on1, inside = on1, q2, on2, inside_next
    return out


WRAP_LAT = 88.0  # beyond this latitude every grid point is a candidate copy (cos → 0)


def wrapped(glat: F64, glon: F64, cell_m: float) -> I64:
    """Grid points within two cells west of +180° (in the cells' x metres): copied 360° west
    so that the cell search meets their neighbours east of -180°.

    Only the points east of a longitude bound or beyond ±88° are measured: elsewhere the
    distance to +180° is at least two cells (cos(lat) ≥ cos(88°)), whatever the latitude.
    """
    reach_deg = 2 * cell_m / (M_PER_DEG * math.cos(math.radians(WRAP_LAT))) * 1.01
    near = np.flatnonzero((glon > 180.0 - reach_deg) | (np.abs(glat) > WRAP_LAT))
    x_m = (180.0 - glon[near]) * M_PER_DEG * np.cos(np.radians(glat[near]))
    out: I64 = near[x_m < 2 * cell_m].astype(np.int64)
    return out
