"""The compiled matcher: walks each MMSI's time-ordered points and assigns segment ids.

Implements the scoring of GlobalFishingWatch/gpsdio-segment (``matcher.py``,
``discrepancy.py``): for each open segment of the MMSI and each of its last ``lookback``
points, the discrepancy between the new point and that point dead-reckoned forward (and the
new point backward), a match only when it is within the allowed distance, a score
``exp(-alpha²) / padded_hours``; a match to an older point skips the newer ones (they leave
the matching), ambiguous or unmatched points open a new segment.
Everything here is numba over flat arrays; :mod:`seawatch.tracks.segment` is the API.
Kept whole: numba's cache is keyed on the source file of each function, so a helper kept
elsewhere could be edited without the caller recompiling; the kernels stay in this file.

The state's MMSIs without a point in the chunk are copied to the new state as they are
(their windows are not unpacked and repacked): a live batch of 100 points costs its points,
not a pass over every open segment's trigonometry.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from seawatch.tracks.compiled import HELPER

# Indices into the float64 parameter vector built by SegmentParams.vector().
(
    P_MAX_GAP_H, P_MAX_SPEED_KN, P_BUFFER_H, P_PENALTY_H, P_HOURS_EXP, P_PENALTY_SPEED_KN,
    P_SHAPE_FACTOR, P_AMBIGUITY, P_SHORT_SEG, P_MISMATCH_W, P_MAX_OPEN, P_MIN_T27_H,
    P_LOOKBACK, P_LOOKBACK_FACTOR, P_SCORING,  # scoring: 0 GFW develop, 1 SCORING_2019
) = range(15)  # fmt: skip
N_PARAMS = 15
SCORING_2019 = 1.0

# Per-point float fields of a segment's window of last points (newest first). The helpers
# taking the windows are compiled without reference counting (`_nrt=False`: they allocate
# nothing): a call passing arrays otherwise costs two atomic operations per array, and
# `inline="always"` does not remove them.
F_LAT, F_LON, F_SPEED, F_COURSE, F_METRIC, F_SIN, F_COS, F_COSLAT = range(8)
N_FIELDS = 8

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
    """(x + 180) % 360 - 180 as Python computes it; ``%`` only outside [0, 360), where it
    is not ``y`` itself (numba's float ``%`` is a call per use)."""
    y = x + 180.0
    if not 0.0 <= y < 360.0:
        y = y % 360.0
    return y - 180.0


HYPOT_TINY = 2.0**-459  # below this (zero too) the smaller magnitude goes to libm
HYPOT_LARGE = 2.0**511  # above this the larger one does (and inf, NaN)


@njit(**HELPER, inline="always")
def _hypot(x: float, y: float) -> float:
    """``math.hypot(x, y)``, the same bits, without a call into libm in the usual range.

    C. F. Borges, "An Improved Algorithm for hypot(a, b)" (arXiv:1904.09481, 2019): the
    square root of the sum of squares, then one correction step (without fused
    multiply-adds). glibc computes its ``hypot`` this way since 2.35 (x86-64's build has no
    FMA variant) when neither input needs scaling; any other input (a zero, subnormal, huge,
    infinite or NaN magnitude) is libm's own call. ``tests/tracks/test_matcher_hypot.py``
    checks the bits against libm's.
    """
    ax, ay = abs(x), abs(y)
    if ax < ay:
        ax, ay = ay, ax
    if not (ay >= HYPOT_TINY and ax <= HYPOT_LARGE):
        return math.hypot(x, y)
    h = math.sqrt(ax * ax + ay * ay)
    if h <= 2.0 * ay:
        delta = h - ay
        t1 = ax * (2.0 * delta - ax)
        t2 = (delta - 2.0 * (ax - ay)) * delta
    else:
        delta = h - ax
        t1 = 2.0 * delta * (ax - 2.0 * ay)
        t2 = (4.0 * delta - ay) * ay + delta * delta
    return h - (t1 + t2) / (2.0 * h)


@njit(cache=True, inline="always")
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
    a1, b1 = nm_lon * _wrap(x1p - lon1), 60.0 * (y1p - lat1)
    a2, b2 = nm_lon * _wrap(x2p - lon2), 60.0 * (y2p - lat2)
    h1: float = _hypot(a1, b1)
    # hypot is a function of its arguments' magnitudes: two points that both stayed put
    # (no dead reckoning) give the same pair twice, and the same value
    h2: float = h1 if abs(a2) == abs(a1) and abs(b2) == abs(b1) else _hypot(a2, b2)
    d1 = 0.5 * (h1 + h2)
    dy = 60.0 * (lat2 - lat1)
    dx = nm_lon * _wrap(lon2 - lon1)
    t21 = sin1 * dx + cos1 * dy
    n21 = abs(cos1 * dx - sin1 * dy) if 0.0 < t21 <= sp1 * hours else math.inf
    t12 = sin2 * dx + cos2 * dy
    n12 = abs(cos2 * dx - sin2 * dy) if 0.0 < t12 <= sp2 * hours else math.inf
    d3 = 0.5 * (n12 + n21) * shape
    # d2 = hypot(dy, dx) × shape is at least max(|dy|, |dx|) × shape (rounding is monotone):
    # when that bound is already ≥ d1, d2 cannot be the smallest and its hypot is not needed
    if shape >= 0.0 and d1 <= max(abs(dy), abs(dx)) * shape and d3 == d3:
        return min(d1, d3)
    d2: float = _hypot(dy, dx) * shape
    return min(d1, d2, d3)


@njit(**HELPER)
def _effective_hours(p: np.ndarray, hours: float) -> float:
    """Hours the allowed distance and the score scale with (see SegmentParams.scoring)."""
    if p[P_SCORING] == SCORING_2019:
        ratio = max(hours, 0.0) / float(p[P_PENALTY_H])
        return (hours + float(p[P_BUFFER_H])) / (1.0 + math.pow(ratio, 1.0 - p[P_HOURS_EXP]))
    padded: float = _hypot(hours, p[P_BUFFER_H])
    return padded


@njit(**HELPER)
def match_metric(p: np.ndarray, hours: float, disc_nm: float) -> float:
    """GFW's score of a match: 0 when the discrepancy exceeds the allowed distance."""
    eff = _effective_hours(p, hours)
    max_disc = eff * p[P_MAX_SPEED_KN]
    if disc_nm > max_disc:
        return 0.0
    alpha = (p[P_MAX_SPEED_KN] / p[P_PENALTY_SPEED_KN]) * disc_nm / max_disc
    if p[P_SCORING] == SCORING_2019:
        return float(math.exp(-(alpha**2)) / (eff * eff))
    return float(math.exp(-(alpha**2)) / eff)


@njit(**HELPER)
def _reckoning_hours(p: np.ndarray, hours: float) -> float:
    """Hours to dead-reckon over: develop shortens them (ships rarely go straight)."""
    if p[P_SCORING] == SCORING_2019:
        return hours
    ratio = max(hours, 0.0) / float(p[P_PENALTY_H])
    return hours / (1.0 + math.pow(ratio, 1.0 - float(p[P_HOURS_EXP])))


@njit(**HELPER)
def _finite_reckoning(p: np.ndarray) -> bool:
    """Whether :func:`_reckoning_hours` is finite and ≥ 0 for every hours ≥ 0 (a positive
    penalty time and a finite exponent: always, with sane parameters)."""
    return p[P_SCORING] == SCORING_2019 or (p[P_PENALTY_H] > 0.0 and math.isfinite(p[P_HOURS_EXP]))


@njit(**HELPER)
def _copy_segment(
    dst: int, src: int, seg: np.ndarray, n: np.ndarray, depth: np.ndarray,
    head: np.ndarray, wts: np.ndarray, wf: np.ndarray, wtc: np.ndarray,
) -> None:  # fmt: skip
    if dst != src:
        seg[dst] = seg[src]
        n[dst] = n[src]
        depth[dst] = depth[src]
        head[dst] = head[src]
        for k in range(wts.shape[1]):  # element by element: no temporary copies
            wts[dst, k] = wts[src, k]
            wtc[dst, k] = wtc[src, k]
            for f in range(N_FIELDS):
                wf[dst, k, f] = wf[src, k, f]


@njit(**HELPER)
def _score_segment(
    p: np.ndarray, q: int, t: int, lat: float, lon: float, sp: float, sn: float, cs: float,
    coslat: float, tclass: int, depth: np.ndarray, head: np.ndarray, wts: np.ndarray,
    wf: np.ndarray, wtc: np.ndarray,
) -> tuple[float, float, int]:  # fmt: skip
    """GFW's match of a point to segment ``q``: (metric, hours, newer points skipped).

    Each of the window's points is a candidate; the k-th newest scores ``metric / max(1,
    k × lookback_factor)`` and must beat the metric with which the point after it joined
    (a match may not make the segment worse). A candidate's best possible metric (no
    discrepancy) is checked first, so most older points cost no dead reckoning; with
    develop's scoring that bound falls as k grows, so the first that cannot win ends it.
    """
    lb = wts.shape[1]
    x = head[q]  # the newest point first, then the older ones (ring buffer slots)
    hours = (t - wts[q, x]) / 3.6e9
    if hours > p[P_MAX_GAP_H]:
        return 0.0, 0.0, -1
    weight = 1.0
    if tclass != 0:  # no class of the window's points is the point's: down-weighted
        union = 0
        for r in range(depth[q]):
            union |= wtc[q, x + r if x + r < lb else x + r - lb]
        if union != 0 and (union & tclass) == 0:
            weight = p[P_MISMATCH_W]
    best_metric = _point_metric(p, q, x, hours, lat, lon, sp, sn, cs, coslat, wf) * weight
    best_lb = best_metric
    best_hours = hours
    best_k = 0 if best_metric > 0.0 else -1
    develop = p[P_SCORING] != SCORING_2019
    for k in range(1, depth[q]):
        existing = wf[q, x, F_METRIC]  # the metric with which the point after joined
        x = x + 1 if x + 1 < lb else 0
        hours = (t - wts[q, x]) / 3.6e9
        if hours > p[P_MAX_GAP_H]:
            break
        divisor = max(1.0, k * p[P_LOOKBACK_FACTOR])
        if develop:  # the best it could score (no discrepancy) falls with k
            rough = max(hours, p[P_BUFFER_H]) * divisor  # ≤ hypot(...) × divisor
            if best_lb * rough >= 1.0:
                break
            if existing * rough >= 1.0:
                continue
            bound = 1.0 / (_hypot(hours, p[P_BUFFER_H]) * divisor)
            if bound <= best_lb:
                break
        else:
            eff = _effective_hours(p, hours)
            bound = 1.0 / (eff * eff * divisor)
        if bound <= existing or bound <= best_lb:
            continue
        m = _point_metric(p, q, x, hours, lat, lon, sp, sn, cs, coslat, wf) * weight
        if m / divisor > existing and m / divisor > best_lb:
            best_lb = m / divisor
            best_metric = m
            best_hours = hours
            best_k = k
    return best_metric, best_hours, best_k


@njit(**HELPER, inline="always")
def _point_metric(
    p: np.ndarray, q: int, x: int, hours: float, lat: float, lon: float, sp: float,
    sn: float, cs: float, coslat: float, wf: np.ndarray,
) -> float:  # fmt: skip
    sp_w = wf[q, x, F_SPEED]
    if sp_w == 0.0 and sp == 0.0 and hours >= 0.0 and _finite_reckoning(p):
        reckon = 0.0  # neither point moves: speed × any finite hours ≥ 0 is the same zero
    else:
        reckon = _reckoning_hours(p, hours)
    d = discrepancy_nm(
        wf[q, x, F_LON], wf[q, x, F_LAT], sp_w, wf[q, x, F_SIN],
        wf[q, x, F_COS], wf[q, x, F_COSLAT], lon, lat, sp, sn, cs, coslat,
        reckon, p[P_SHAPE_FACTOR],
    )  # fmt: skip
    metric: float = match_metric(p, hours, d)
    return metric


TENTHS = 3600  # courses are reported in tenths of a degree: 0.0 ... 359.9 (360: unknown)


@njit(cache=True)
def course_sin_cos(course: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.sin(np.radians(course))`` and ``np.cos(...)``, each computed once per distinct
    course in tenths of a degree and reused for the rows with exactly that course (the
    same function of the same value: the same bits); other values (-0.0 too, whose sine
    is -0.0) computed as they come."""
    n = course.shape[0]
    p_sin = np.empty(n)
    p_cos = np.empty(n)
    seen = np.full(TENTHS + 1, np.nan)  # the course whose sine and cosine a slot holds
    t_sin = np.empty(TENTHS + 1)
    t_cos = np.empty(TENTHS + 1)
    one = np.empty(1)
    for i in range(n):
        c = course[i]
        positive = c > 0.0 or (c == 0.0 and math.copysign(1.0, c) > 0.0)  # not -0.0
        k = round(c * 10.0) if positive and c <= 360.0 else -1
        if k >= 0 and seen[k] == c:
            p_sin[i] = t_sin[k]
            p_cos[i] = t_cos[k]
            continue
        one[0] = c
        s = np.sin(np.radians(one))[0]
        co = np.cos(np.radians(one))[0]
        p_sin[i] = s
        p_cos[i] = co
        if k >= 0:
            seen[k], t_sin[k], t_cos[k] = c, s, co
    return p_sin, p_cos


@njit(cache=True)
def segment_kernel(
    mmsi: np.ndarray, ts: np.ndarray, lat: np.ndarray, lon: np.ndarray,
    speed: np.ndarray, course: np.ndarray, tclass: np.ndarray,
    s_mmsi: np.ndarray, s_seg: np.ndarray, s_n: np.ndarray, s_depth: np.ndarray,
    s_ts: np.ndarray, s_pt: np.ndarray, s_tclass: np.ndarray, p: np.ndarray,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Assign a segment id to every point; points sorted by (mmsi, ts), state by mmsi.

    Speeds and courses are already sanitised (no NaN). The state holds per open segment
    its MMSI, id, point count, and a window of its last ``lookback`` points (newest first,
    ``depth`` of them valid): times ``s_ts`` and ``s_pt[..., :5]`` = lat, lon, speed,
    course, metric. Returns the ids and the new state in the same layout (sorted by MMSI,
    then by age).
    """
    n = mmsi.shape[0]
    ns = s_mmsi.shape[0]
    lb = int(p[P_LOOKBACK])
    seg_out = np.empty(n, np.int64)
    cap_out = ns + 64
    o_mmsi = np.empty(cap_out, np.int32)
    o_seg = np.empty(cap_out, np.int64)
    o_n = np.empty(cap_out, np.int64)
    o_depth = np.empty(cap_out, np.int64)
    o_ts = np.empty((cap_out, lb), np.int64)
    o_pt = np.empty((cap_out, lb, 5), np.float64)
    o_tc = np.empty((cap_out, lb), np.int8)
    max_open = int(p[P_MAX_OPEN])
    cap = max_open + 1
    c_seg = np.empty(cap, np.int64)
    c_n = np.empty(cap, np.int64)
    c_depth = np.empty(cap, np.int64)
    c_head = np.empty(cap, np.int64)  # slot of the newest point in the window's ring
    wts = np.empty((cap, lb), np.int64)
    wf = np.empty((cap, lb, N_FIELDS), np.float64)
    wtc = np.empty((cap, lb), np.int8)
    p_sin, p_cos = course_sin_cos(course)
    p_coslat = np.cos(np.radians(lat))
    score, raw, hrs = np.empty(cap), np.empty(cap), np.empty(cap)
    skip = np.empty(cap, np.int64)
    max_gap_us = p[P_MAX_GAP_H] * 3.6e9
    i = j = k = 0  # next point, next state row, output state length
    while i < n or j < ns:
        if i >= n or (j < ns and s_mmsi[j] < mmsi[i]):  # no point of this MMSI: as it was
            m = s_mmsi[j]
            while j < ns and s_mmsi[j] == m:
                if k >= o_mmsi.shape[0]:
                    o_mmsi, o_seg, o_n, o_depth, o_ts, o_pt, o_tc = _grown_all(
                        o_mmsi, o_seg, o_n, o_depth, o_ts, o_pt, o_tc, k + 1
                    )
                o_mmsi[k], o_seg[k], o_n[k], o_depth[k] = m, s_seg[j], s_n[j], s_depth[j]
                for w in range(lb):
                    valid = w < s_depth[j]
                    o_ts[k, w] = s_ts[j, w] if valid else 0
                    o_tc[k, w] = s_tclass[j, w] if valid else 0
                    for f in range(5):
                        o_pt[k, w, f] = s_pt[j, w, f] if valid else 0.0
                k += 1
                j += 1
            continue
        m = mmsi[i]
        n_open = 0
        while j < ns and s_mmsi[j] == m:  # this MMSI's open segments, from the state
            c_seg[n_open] = s_seg[j]
            c_n[n_open] = s_n[j]
            c_depth[n_open] = s_depth[j]
            c_head[n_open] = 0
            for w in range(s_depth[j]):
                wts[n_open, w] = s_ts[j, w]
                wtc[n_open, w] = s_tclass[j, w]
                for f in range(5):
                    wf[n_open, w, f] = s_pt[j, w, f]
                wf[n_open, w, F_SIN] = math.sin(math.radians(s_pt[j, w, F_COURSE]))
                wf[n_open, w, F_COS] = math.cos(math.radians(s_pt[j, w, F_COURSE]))
                wf[n_open, w, F_COSLAT] = math.cos(math.radians(s_pt[j, w, F_LAT]))
            n_open += 1
            j += 1
        while i < n and mmsi[i] == m:
            t = ts[i]
            # close segments silent for more than max_gap_h (keep the order: oldest first)
            w = 0
            for q in range(n_open):
                if t - wts[q, c_head[q]] <= max_gap_us:
                    if w != q:  # the usual case moves nothing: no call
                        _copy_segment(w, q, c_seg, c_n, c_depth, c_head, wts, wf, wtc)
                    w += 1
            n_open = w
            n_match = 0
            for q in range(n_open):
                raw[q], hrs[q], skip[q] = _score_segment(
                    p, q, t, lat[i], lon[i], speed[i], p_sin[i], p_cos[i], p_coslat[i],
                    tclass[i], c_depth, c_head, wts, wf, wtc,
                )  # fmt: skip
                score[q] = raw[q]
                if skip[q] >= 0:
                    n_match += 1
            if n_match > 1:  # GFW: short segments are down-weighted among several
                for q in range(n_open):
                    a = c_n[q] / p[P_SHORT_SEG]
                    score[q] = score[q] * a / math.sqrt(1.0 + a * a)
            best = -1
            for q in range(n_open):
                if skip[q] >= 0 and (best < 0 or score[q] > score[best]):
                    best = q
            ambiguous = False
            min_h = hrs[best] if best >= 0 else math.inf
            for q in range(n_open):
                if q != best and skip[q] >= 0 and score[q] * p[P_AMBIGUITY] >= score[best]:
                    ambiguous = True
                    min_h = min(min_h, hrs[q])
            if best >= 0 and tclass[i] == CLASS_LONG_RANGE and min_h < p[P_MIN_T27_H]:
                seg_out[i] = NOISE
                i += 1
                continue
            if ambiguous:  # GFW: close every close candidate, start afresh
                w = 0
                for q in range(n_open):
                    close = skip[q] >= 0 and score[q] * p[P_AMBIGUITY] >= score[best]
                    if not close:
                        _copy_segment(w, q, c_seg, c_n, c_depth, c_head, wts, wf, wtc)
                        w += 1
                n_open = w
                best = -1
            if best < 0:
                if n_open == max_open:  # drop the segment silent for longest
                    oldest = 0
                    for q in range(1, n_open):
                        if wts[q, c_head[q]] < wts[oldest, c_head[oldest]]:
                            oldest = q
                    for q in range(oldest, n_open - 1):
                        _copy_segment(q, q + 1, c_seg, c_n, c_depth, c_head, wts, wf, wtc)
                    n_open -= 1
                best = n_open
                n_open += 1
                c_seg[best] = segment_hash(m, t, lat[i], lon[i])
                c_n[best] = 0
                c_depth[best] = 0
                c_head[best] = 0
                raw[best] = 0.0
                skip[best] = 0
            # the newer points a lookback match skipped leave the window; the point enters
            x = c_head[best] + skip[best] - 1  # the ring's new head
            x = x - lb if x >= lb else (x + lb if x < 0 else x)
            c_head[best] = x
            c_depth[best] = min(c_depth[best] - skip[best] + 1, lb)
            wts[best, x] = t
            wtc[best, x] = tclass[i]
            wf[best, x, F_LAT] = lat[i]
            wf[best, x, F_LON] = lon[i]
            wf[best, x, F_SPEED] = speed[i]
            wf[best, x, F_COURSE] = course[i]
            wf[best, x, F_METRIC] = raw[best]
            wf[best, x, F_SIN] = p_sin[i]
            wf[best, x, F_COS] = p_cos[i]
            wf[best, x, F_COSLAT] = p_coslat[i]
            c_n[best] += 1
            seg_out[i] = c_seg[best]
            i += 1
        if k + n_open > o_mmsi.shape[0]:  # grow the output state
            o_mmsi, o_seg, o_n, o_depth, o_ts, o_pt, o_tc = _grown_all(
                o_mmsi, o_seg, o_n, o_depth, o_ts, o_pt, o_tc, k + n_open
            )
        for q in range(n_open):
            o_mmsi[k] = m
            o_seg[k] = c_seg[q]
            o_n[k] = c_n[q]
            o_depth[k] = c_depth[q]
            for w in range(lb):  # newest first, from the ring's head
                valid = w < c_depth[q]
                x = (c_head[q] + w) % lb
                o_ts[k, w] = wts[q, x] if valid else 0
                o_tc[k, w] = wtc[q, x] if valid else 0
                for f in range(5):
                    o_pt[k, w, f] = wf[q, x, f] if valid else 0.0
            k += 1
    return (
        seg_out, o_mmsi[:k], o_seg[:k], o_n[:k], o_depth[:k], o_ts[:k], o_pt[:k], o_tc[:k],
    )  # fmt: skip


@njit(cache=True)
def _grown_all(
    o_mmsi: np.ndarray, o_seg: np.ndarray, o_n: np.ndarray, o_depth: np.ndarray,
    o_ts: np.ndarray, o_pt: np.ndarray, o_tc: np.ndarray, rows: int,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """The output state's arrays with room for ``rows`` at least (twice as many)."""
    grow = max(2 * o_mmsi.shape[0], rows)
    return (
        _grown(o_mmsi, grow), _grown(o_seg, grow), _grown(o_n, grow), _grown(o_depth, grow),
        _grown(o_ts, grow), _grown(o_pt, grow), _grown(o_tc, grow),
    )  # fmt: skip


@njit(cache=True)
def _grown(a: np.ndarray, rows: int) -> np.ndarray:
    out = np.zeros((rows,) + a.shape[1:], a.dtype)  # noqa: RUF005 (numba: no * here)
    out[: a.shape[0]] = a
    return out
