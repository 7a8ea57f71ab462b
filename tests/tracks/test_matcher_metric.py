"""The matcher's score of a point against a window point gives the bits GFW's formulas give
computed in full (every hypot, the reckoning hours always): the shortcuts (a hypot reused
for two points that stayed put, the path distance's hypot skipped when its lower bound
already exceeds the dead-reckoning discrepancy, no reckoning hours when neither point
moves) change no result."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from seawatch.tracks import _matcher as mk
from seawatch.tracks.segment import SegmentParams


@njit(cache=False)
def _full_discrepancy(
    lon1: float, lat1: float, sp1: float, sin1: float, cos1: float, coslat1: float,
    lon2: float, lat2: float, sp2: float, sin2: float, cos2: float, coslat2: float,
    hours: float, shape: float,
) -> float:  # fmt: skip
    """GFW's three discrepancies, every one computed (the matcher's formula before its
    shortcuts)."""
    r1 = sp1 * hours / 60.0
    r2 = -sp2 * hours / 60.0
    x2p = lon1 + sin1 * r1 / (coslat1 + 1e-3)
    y2p = lat1 + cos1 * r1
    x1p = lon2 + sin2 * r2 / (coslat2 + 1e-3)
    y1p = lat2 + cos2 * r2
    nm_lon = 60.0 * math.cos(math.radians(0.5 * (lat1 + lat2)))
    d1 = 0.5 * (
        math.hypot(nm_lon * mk._wrap(x1p - lon1), 60.0 * (y1p - lat1))
        + math.hypot(nm_lon * mk._wrap(x2p - lon2), 60.0 * (y2p - lat2))
    )
    dy = 60.0 * (lat2 - lat1)
    dx = nm_lon * mk._wrap(lon2 - lon1)
    d2 = math.hypot(dy, dx) * shape
    t21 = sin1 * dx + cos1 * dy
    n21 = abs(cos1 * dx - sin1 * dy) if 0.0 < t21 <= sp1 * hours else math.inf
    t12 = sin2 * dx + cos2 * dy
    n12 = abs(cos2 * dx - sin2 * dy) if 0.0 < t12 <= sp2 * hours else math.inf
    d3 = 0.5 * (n12 + n21) * shape
    return min(d1, d2, d3)


@njit(cache=False)
def _both(p: np.ndarray, pts: np.ndarray, hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row (window point lat, lon, speed, course; point lat, lon, speed, course): the
    matcher's metric and the metric of the full formulas."""
    n = pts.shape[0]
    got, want = np.empty(n), np.empty(n)
    wf = np.zeros((1, 1, mk.N_FIELDS))
    for i in range(n):
        lat1, lon1, sp1, co1, lat2, lon2, sp2, co2 = pts[i]
        wf[0, 0, mk.F_LAT], wf[0, 0, mk.F_LON], wf[0, 0, mk.F_SPEED] = lat1, lon1, sp1
        wf[0, 0, mk.F_SIN] = math.sin(math.radians(co1))
        wf[0, 0, mk.F_COS] = math.cos(math.radians(co1))
        wf[0, 0, mk.F_COSLAT] = math.cos(math.radians(lat1))
        sn, cs = math.sin(math.radians(co2)), math.cos(math.radians(co2))
        cl = math.cos(math.radians(lat2))
        h = hours[i]
        got[i] = mk._point_metric(p, 0, 0, h, lat2, lon2, sp2, sn, cs, cl, wf)
        d = _full_discrepancy(
            lon1, lat1, sp1, wf[0, 0, mk.F_SIN], wf[0, 0, mk.F_COS], wf[0, 0, mk.F_COSLAT],
            lon2, lat2, sp2, sn, cs, cl, mk._reckoning_hours(p, h), p[mk.P_SHAPE_FACTOR],
        )  # fmt: skip
        want[i] = mk.match_metric(p, h, d)
    return got, want


_lat = st.one_of(st.floats(-90.0, 90.0), st.sampled_from([0.0, -0.0, 90.0, -90.0, 45.5]))
_lon = st.one_of(st.floats(-180.0, 180.0), st.sampled_from([0.0, -0.0, 180.0, -180.0, 179.99]))
_speed = st.one_of(st.sampled_from([0.0, -0.0, 0.0, 0.1]), st.floats(0.0, 60.0))
_course = st.one_of(st.sampled_from([0.0, 90.0, 359.9]), st.floats(0.0, 359.9))
_hours = st.one_of(st.sampled_from([0.0, 1 / 60, 0.25, 4.0, -0.5]), st.floats(0.0, 30.0))
_near = st.floats(-0.01, 0.01)


@st.composite
def _pair(draw: st.DrawFn) -> tuple[list[float], float]:
    lat1, lon1 = draw(_lat), draw(_lon)
    if draw(st.booleans()):  # the second point next to the first (or on it)
        lat2 = min(90.0, max(-90.0, lat1 + draw(_near)))
        lon2 = lon1 + draw(_near)
    else:
        lat2, lon2 = draw(_lat), draw(_lon)
    row = [lat1, lon1, draw(_speed), draw(_course), lat2, lon2, draw(_speed), draw(_course)]
    return row, draw(_hours)


_PARAMS = [
    SegmentParams().vector(),
    SegmentParams.gpsdio_2019().vector(),
    SegmentParams(penalty_hours=0.5, hours_exp=0.25, shape_factor=0.0).vector(),
]


@settings(max_examples=150, deadline=None)
@given(st.lists(_pair(), min_size=1, max_size=40), st.sampled_from(range(len(_PARAMS))))
def test_metric_is_the_full_formulas(pairs: list[tuple[list[float], float]], which: int) -> None:
    pts = np.array([row for row, _ in pairs], dtype=np.float64)
    hours = np.array([h for _, h in pairs], dtype=np.float64)
    got, want = _both(_PARAMS[which], pts, hours)
    assert got.tobytes() == want.tobytes()


def test_metric_on_random_pairs() -> None:
    """Random pairs, half of them of two points that stayed put, half close together."""
    rng = np.random.default_rng(3)
    n = 200_000
    lat1, lon1 = rng.uniform(-80, 80, n), rng.uniform(-180, 180, n)
    near = rng.random(n) < 0.5
    lat2 = np.where(near, lat1 + rng.normal(0, 1e-3, n), rng.uniform(-80, 80, n))
    lon2 = np.where(near, lon1 + rng.normal(0, 1e-3, n), rng.uniform(-180, 180, n))
    still = rng.random(n) < 0.5
    sp1 = np.where(still, 0.0, rng.uniform(0, 25, n))
    sp2 = np.where(still, 0.0, rng.uniform(0, 25, n))
    co1 = np.round(rng.uniform(0, 360, n), 1) % 360
    co2 = np.round(rng.uniform(0, 360, n), 1) % 360
    pts = np.column_stack([lat1, lon1, sp1, co1, lat2, lon2, sp2, co2])
    hours = rng.exponential(0.3, n)
    for p in _PARAMS[:2]:
        got, want = _both(p, pts, hours)
        assert got.tobytes() == want.tobytes()
        assert (got > 0).mean() > 0.05  # matches among them: the metric's branch is reached
