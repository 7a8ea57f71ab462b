"""The compiled matcher: walks each MMSI's time-ordered points and assigns segment ids.

Implements the scoring of GlobalFishingWatch/gpsdio-segment (``matcher.py``,
``discrepancy.py``): for each open segment of the MMSI, the discrepancy between the new
point and the segment's last point dead-reckoned forward (and the new point backward), a
match only when it is within ``hypot(hours, buffer_hours) × max_speed_kn``, a score
``exp(-alpha²) / padded_hours``; ambiguous or unmatched points open a new segment.
Everything here is numba over flat arrays; :mod:`seawatch.tracks.segment` is the API.
The kernels stay in this one file: numba's cache is keyed on the source file of each
function, so a helper kept elsewhere could be edited without the caller recompiling.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Indices into the float64 parameter vector built by SegmentParams.vector().
P_MAX_GAP_H = 0
P_MAX_SPEED_KN = 1
P_BUFFER_H = 2
P_PENALTY_H = 3
P_HOURS_EXP = 4
P_PENALTY_SPEED_KN = 5
P_SHAPE_FACTOR = 6
P_AMBIGUITY = 7
P_SHORT_SEG = 8
P_MISMATCH_W = 9
P_MAX_OPEN = 10
P_MIN_T27_H = 11
N_PARAMS = 12

# Transponder classes (bit mask): 0 unknown, 1 Class A, 2 Class B, 3 either (type 27).
CLASS_A = 1
CLASS_B = 2
CLASS_LONG_RANGE = 3

NOISE = -1  # segment id of points the matcher rejects (type 27 too close to other positions)
_MASK63 = np.uint64(0x7FFFFFFFFFFFFFFF)


@njit(cache=True)
def _mix(x: np.uint64) -> np.uint64:
    """splitmix64 finaliser."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True)
def segment_hash(mmsi: int, ts_us: int, lat: float, lon: float) -> int:
    """Stable positive int64 id of the segment whose first point is (mmsi, ts, lat, lon)."""
    h = _mix(np.uint64(mmsi) + np.uint64(0x9E3779B97F4A7C15))
    h = _mix(h ^ np.uint64(ts_us))
    h = _mix(h ^ np.uint64(np.int64(round(lat * 1e7)) & np.int64(0xFFFFFFFF)))
    h = _mix(h ^ np.uint64(np.int64(round(lon * 1e7)) & np.int64(0xFFFFFFFF)))
    return int(np.int64(h & _MASK63))


@njit(cache=True)
def _wrap(x: float) -> float:
    return (x + 180.0) % 360.0 - 180.0


@njit(cache=True)
def discrepancy_nm(
    lon1: float, lat1: float, sp1: float, sin1: float, cos1: float, coslat1: float,
    lon2: float, lat2: float, sp2: float, sin2: float, cos2: float, coslat2: float,
    hours: float, shape: float,
) -> float:  # fmt: skip
    """Smallest of GFW's three discrepancies (dead reckoning, stayed put, off the path).

    ``sin``/``cos`` are of each point's course (0 = north, clockwise), ``coslat`` the
    cosine of its latitude: precomputed so that no trigonometry runs per candidate pair
    but one cosine. The formulas are GFW's (``discrepancy.py``) with the angle
    differences expanded: cos(90° - course - atan2(dy, dx)) · dist = sin·dx + cos·dy.
    """
    # forward from point 1 and backward from point 2 (dead reckoning, nm → degrees)
    r1 = sp1 * hours / 60.0
    r2 = -sp2 * hours / 60.0
    x2p = lon1 + sin1 * r1 / (coslat1 + 1e-3)
    y2p = lat1 + cos1 * r1
    x1p = lon2 + sin2 * r2 / (coslat2 + 1e-3)
    y1p = lat2 + cos2 * r2
    nm_lon = 60.0 * math.cos(math.radians(0.5 * (lat1 + lat2)))
    d1 = 0.5 * (
        math.hypot(nm_lon * _wrap(x1p - lon1), 60.0 * (y1p - lat1))
        + math.hypot(nm_lon * _wrap(x2p - lon2), 60.0 * (y2p - lat2))
    )
    dy = 60.0 * (lat2 - lat1)
    dx = nm_lon * _wrap(lon2 - lon1)
    dist = math.hypot(dy, dx)
    d2 = dist * shape
    t21 = sin1 * dx + cos1 * dy
    n21 = abs(cos1 * dx - sin1 * dy) if 0.0 < t21 <= sp1 * hours else math.inf
    t12 = sin2 * dx + cos2 * dy
    n12 = abs(cos2 * dx - sin2 * dy) if 0.0 < t12 <= sp2 * hours else math.inf
    d3 = 0.5 * (n12 + n21) * shape
    return min(d1, d2, d3)


@njit(cache=True)
def match_metric(p: np.ndarray, hours: float, disc_nm: float) -> float:
    """GFW's score of a match: 0 when the discrepancy exceeds the allowed distance."""
    padded = math.hypot(hours, p[P_BUFFER_H])
    max_disc = padded * p[P_MAX_SPEED_KN]
    if disc_nm > max_disc:
        return 0.0
    alpha = (p[P_MAX_SPEED_KN] / p[P_PENALTY_SPEED_KN]) * disc_nm / max_disc
    return float(math.exp(-(alpha**2)) / padded)


@njit(cache=True)
def _penalized_hours(p: np.ndarray, hours: float) -> float:
    ratio = max(hours, 0.0) / float(p[P_PENALTY_H])
    return hours / (1.0 + math.pow(ratio, 1.0 - float(p[P_HOURS_EXP])))


@njit(cache=True)
def _move(
    dst: int, src: int, seg: np.ndarray, ts: np.ndarray, lat: np.ndarray, lon: np.ndarray,
    speed: np.ndarray, course: np.ndarray, tclass: np.ndarray, n: np.ndarray,
    trig: np.ndarray,
) -> None:  # fmt: skip
    if dst != src:
        trig[dst, 0] = trig[src, 0]
        trig[dst, 1] = trig[src, 1]
        trig[dst, 2] = trig[src, 2]
        seg[dst] = seg[src]
        ts[dst] = ts[src]
        lat[dst] = lat[src]
        lon[dst] = lon[src]
        speed[dst] = speed[src]
        course[dst] = course[src]
        tclass[dst] = tclass[src]
        n[dst] = n[src]


@njit(cache=True)
def segment_kernel(
    mmsi: np.ndarray, ts: np.ndarray, lat: np.ndarray, lon: np.ndarray,
    speed: np.ndarray, course: np.ndarray, tclass: np.ndarray,
    s_mmsi: np.ndarray, s_seg: np.ndarray, s_ts: np.ndarray, s_lat: np.ndarray,
    s_lon: np.ndarray, s_speed: np.ndarray, s_course: np.ndarray, s_tclass: np.ndarray,
    s_n: np.ndarray, p: np.ndarray,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Assign a segment id to every point; points sorted by (mmsi, ts), state by mmsi.

    Speeds and courses are already sanitised (no NaN). Returns the ids and the new
    state arrays (open segments of every MMSI, sorted by MMSI, then by age).
    """
    n = mmsi.shape[0]
    ns = s_mmsi.shape[0]
    seg_out = np.empty(n, np.int64)
    cap_out = ns + n
    o_mmsi = np.empty(cap_out, np.int32)
    o_seg = np.empty(cap_out, np.int64)
    o_ts = np.empty(cap_out, np.int64)
    o_lat = np.empty(cap_out, np.float64)
    o_lon = np.empty(cap_out, np.float64)
    o_speed = np.empty(cap_out, np.float64)
    o_course = np.empty(cap_out, np.float64)
    o_tclass = np.empty(cap_out, np.int8)
    o_n = np.empty(cap_out, np.int64)
    max_open = int(p[P_MAX_OPEN])
    cap = max_open + 1
    c_seg = np.empty(cap, np.int64)
    c_ts = np.empty(cap, np.int64)
    c_lat = np.empty(cap, np.float64)
    c_lon = np.empty(cap, np.float64)
    c_speed = np.empty(cap, np.float64)
    c_course = np.empty(cap, np.float64)
    c_tclass = np.empty(cap, np.int8)
    c_n = np.empty(cap, np.int64)
    c_trig = np.empty((cap, 3), np.float64)  # sin(course), cos(course), cos(lat)
    p_sin = np.sin(np.radians(course))
    p_cos = np.cos(np.radians(course))
    p_coslat = np.cos(np.radians(lat))
    score = np.empty(cap, np.float64)
    hrs = np.empty(cap, np.float64)
    max_gap_us = p[P_MAX_GAP_H] * 3.6e9
    i = 0
    j = 0
    k = 0  # output state length
    while i < n or j < ns:
        if i >= n or (j < ns and s_mmsi[j] < mmsi[i]):
            # an MMSI with open segments but no points in this chunk: carried unchanged
            o_mmsi[k] = s_mmsi[j]
            o_seg[k] = s_seg[j]
            o_ts[k] = s_ts[j]
            o_lat[k] = s_lat[j]
            o_lon[k] = s_lon[j]
            o_speed[k] = s_speed[j]
            o_course[k] = s_course[j]
            o_tclass[k] = s_tclass[j]
            o_n[k] = s_n[j]
            k += 1
            j += 1
            continue
        m = mmsi[i]
        n_open = 0
        while j < ns and s_mmsi[j] == m:
            c_seg[n_open] = s_seg[j]
            c_ts[n_open] = s_ts[j]
            c_lat[n_open] = s_lat[j]
            c_lon[n_open] = s_lon[j]
            c_speed[n_open] = s_speed[j]
            c_course[n_open] = s_course[j]
            c_tclass[n_open] = s_tclass[j]
            c_n[n_open] = s_n[j]
            c_trig[n_open, 0] = math.sin(math.radians(s_course[j]))
            c_trig[n_open, 1] = math.cos(math.radians(s_course[j]))
            c_trig[n_open, 2] = math.cos(math.radians(s_lat[j]))
            n_open += 1
            j += 1
        while i < n and mmsi[i] == m:
            t = ts[i]
            # close segments silent for more than max_gap_h (keep the order: oldest first)
            w = 0
            for q in range(n_open):
                if t - c_ts[q] <= max_gap_us:
                    _move(w, q, c_seg, c_ts, c_lat, c_lon, c_speed, c_course, c_tclass, c_n, c_trig)
                    w += 1
            n_open = w
            best = -1
            best_score = 0.0
            second_score = 0.0
            n_match = 0
            for q in range(n_open):
                hours = (t - c_ts[q]) / 3.6e9
                ph = _penalized_hours(p, hours)
                d = discrepancy_nm(
                    c_lon[q], c_lat[q], c_speed[q], c_trig[q, 0], c_trig[q, 1], c_trig[q, 2],
                    lon[i], lat[i], speed[i], p_sin[i], p_cos[i], p_coslat[i],
                    ph, p[P_SHAPE_FACTOR],
                )  # fmt: skip
                s = match_metric(p, hours, d)
                hrs[q] = hours
                if s > 0.0:
                    if c_tclass[q] != 0 and tclass[i] != 0 and (c_tclass[q] & tclass[i]) == 0:
                        s *= p[P_MISMATCH_W]
                    n_match += 1
                score[q] = s
            if n_match > 1:
                for q in range(n_open):
                    if score[q] > 0.0:
                        a = c_n[q] / p[P_SHORT_SEG]
                        score[q] = score[q] * a / math.sqrt(1.0 + a * a)
            for q in range(n_open):
                if score[q] > 0.0:
                    if score[q] > best_score:
                        second_score = best_score
                        best_score = score[q]
                        best = q
                    elif score[q] > second_score:
                        second_score = score[q]
            ambiguous = n_match > 1 and second_score * p[P_AMBIGUITY] >= best_score
            min_h = math.inf
            for q in range(n_open):
                if score[q] > 0.0 and hrs[q] < min_h:
                    min_h = hrs[q]
            if best >= 0 and tclass[i] == CLASS_LONG_RANGE and min_h < p[P_MIN_T27_H]:
                seg_out[i] = NOISE
                i += 1
                continue
            if ambiguous:  # GFW: close every close candidate, start afresh
                w = 0
                for q in range(n_open):
                    if not (score[q] > 0.0 and score[q] * p[P_AMBIGUITY] >= best_score):
                        _move(
                            w,
                            q,
                            c_seg,
                            c_ts,
                            c_lat,
                            c_lon,
                            c_speed,
                            c_course,
                            c_tclass,
                            c_n,
                            c_trig,
                        )
                        w += 1
                n_open = w
                best = -1
            if best < 0:
                if n_open == max_open:  # drop the segment silent for longest
                    oldest = 0
                    for q in range(1, n_open):
                        if c_ts[q] < c_ts[oldest]:
                            oldest = q
                    for q in range(oldest, n_open - 1):
                        _move(
                            q,
                            q + 1,
                            c_seg,
                            c_ts,
                            c_lat,
                            c_lon,
                            c_speed,
                            c_course,
                            c_tclass,
                            c_n,
                            c_trig,
                        )
                    n_open -= 1
                best = n_open
                n_open += 1
                c_seg[best] = segment_hash(m, t, lat[i], lon[i])
                c_n[best] = 0
            c_ts[best] = t
            c_lat[best] = lat[i]
            c_lon[best] = lon[i]
            c_speed[best] = speed[i]
            c_course[best] = course[i]
            c_trig[best, 0] = p_sin[i]
            c_trig[best, 1] = p_cos[i]
            c_trig[best, 2] = p_coslat[i]
            c_tclass[best] = tclass[i]
            c_n[best] += 1
            seg_out[i] = c_seg[best]
            i += 1
        for q in range(n_open):
            o_mmsi[k] = m
            o_seg[k] = c_seg[q]
            o_ts[k] = c_ts[q]
            o_lat[k] = c_lat[q]
            o_lon[k] = c_lon[q]
            o_speed[k] = c_speed[q]
            o_course[k] = c_course[q]
            o_tclass[k] = c_tclass[q]
            o_n[k] = c_n[q]
            k += 1
    return (
        seg_out, o_mmsi[:k], o_seg[:k], o_ts[:k], o_lat[:k], o_lon[:k],
        o_speed[:k], o_course[:k], o_tclass[:k], o_n[:k],
    )  # fmt: skip
