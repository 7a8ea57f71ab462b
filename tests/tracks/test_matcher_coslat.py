"""A point at speed ±0 enters the matcher with 1.0 for its latitude's cosine (the cosine is
not computed): the discrepancy is the same, bit for bit, as with its true cosine, whatever
the other point, the hours (reckoning hours of either sign, zero, NaN, infinite) and the
shape factor — the cosine only divides a dead-reckoning shift of ±0 (or a NaN)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from seawatch.tracks import _matcher as mk


@njit(cache=False)
def _both(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row (lat1, lon1, sp1, course1, lat2, lon2, sp2, course2, hours, shape): the
    discrepancy with the true cosines, and with 1.0 for each point at speed ±0."""
    got, want = np.empty(rows.shape[0]), np.empty(rows.shape[0])
    for i in range(rows.shape[0]):
        la1, lo1, sp1, co1, la2, lo2, sp2, co2, hours, shape = rows[i]
        s1, c1 = math.sin(math.radians(co1)), math.cos(math.radians(co1))
        s2, c2 = math.sin(math.radians(co2)), math.cos(math.radians(co2))
        k1, k2 = math.cos(math.radians(la1)), math.cos(math.radians(la2))
        want[i] = mk.discrepancy_nm(
            lo1, la1, sp1, s1, c1, k1, lo2, la2, sp2, s2, c2, k2, hours, shape
        )  # fmt: skip
        k1 = 1.0 if sp1 == 0.0 else k1
        k2 = 1.0 if sp2 == 0.0 else k2
        got[i] = mk.discrepancy_nm(
            lo1, la1, sp1, s1, c1, k1, lo2, la2, sp2, s2, c2, k2, hours, shape
        )  # fmt: skip
    return got, want


def _same(rows: np.ndarray) -> bool:
    got, want = _both(np.ascontiguousarray(rows, np.float64))
    nan = np.isnan(got) & np.isnan(want)
    return bool(np.all((got.view(np.int64) == want.view(np.int64)) | nan))


lats = st.floats(-90.0, 90.0)
lons = st.floats(-180.0, 180.0)
speeds = st.sampled_from([0.0, -0.0, 0.1, 12.5, 30.0])
courses = st.floats(0.0, 359.9)
hours = st.one_of(
    st.floats(-5.0, 60.0), st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan])
)


@settings(max_examples=400, deadline=None)
@given(
    st.tuples(
        lats, lons, speeds, courses, lats, lons, speeds, courses, hours,
        st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    )
)  # fmt: skip
def test_a_still_points_cosine_changes_no_discrepancy(row: tuple[float, ...]) -> None:
    assert _same(np.array([row]))


def test_a_million_pairs_half_of_them_still() -> None:
    rng = np.random.default_rng(27)
    n = 1_000_000
    rows = np.empty((n, 10))
    rows[:, 0], rows[:, 4] = rng.uniform(-90, 90, n), rng.uniform(-90, 90, n)
    rows[:, 4] = np.where(rng.random(n) < 0.5, rows[:, 0] + rng.normal(0, 0.01, n), rows[:, 4])
    rows[:, 4] = np.clip(rows[:, 4], -90, 90)
    rows[:, 1], rows[:, 5] = rng.uniform(-180, 180, n), rng.uniform(-180, 180, n)
    for c in (2, 6):
        rows[:, c] = np.where(rng.random(n) < 0.55, 0.0, rng.uniform(0, 25, n))
    rows[:, 3], rows[:, 7] = rng.uniform(0, 360, n), rng.uniform(0, 360, n)
    rows[:, 8] = rng.integers(0, 48 * 3600, n) / 3600 / (1 + np.sqrt(rng.uniform(0, 12, n)))
    rows[:, 9] = 1.0
    assert _same(rows)
