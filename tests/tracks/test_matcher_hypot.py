"""The matcher's own ``hypot`` (:func:`seawatch.tracks._matcher._hypot`) gives the bits of
libm's ``hypot`` (what numba's ``math.hypot`` calls, and what the matcher called before):
for any two floats (zeros of either sign, subnormals, the scaling thresholds, infinities,
NaNs) and for millions of pairs at the magnitudes the matcher meets (nautical miles,
hours)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from seawatch.tracks import _matcher as mk


@njit(cache=False)
def _pairs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pair: the matcher's hypot and libm's."""
    got, want = np.empty(x.shape[0]), np.empty(x.shape[0])
    for i in range(x.shape[0]):
        got[i] = mk._hypot(x[i], y[i])
        want[i] = math.hypot(x[i], y[i])
    return got, want


def _mismatches(x: np.ndarray, y: np.ndarray) -> int:
    got, want = _pairs(np.ascontiguousarray(x, np.float64), np.ascontiguousarray(y, np.float64))
    both_nan = np.isnan(got) & np.isnan(want)
    return int(np.count_nonzero((got.view(np.int64) != want.view(np.int64)) & ~both_nan))


EDGES = [
    0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, mk.HYPOT_TINY,
    np.nextafter(mk.HYPOT_TINY, 0.0), np.nextafter(mk.HYPOT_TINY, 1.0), mk.HYPOT_LARGE,
    np.nextafter(mk.HYPOT_LARGE, 0.0), np.nextafter(mk.HYPOT_LARGE, np.inf), 1.7976931348623157e308,
    math.inf, -math.inf, math.nan, 0.25, 1.0, 3.0, 4.0, 60.0, -60.0, 1e-300, 1e300,
]  # fmt: skip


def test_edges_are_libms() -> None:
    x, y = np.meshgrid(np.array(EDGES), np.array(EDGES))
    assert _mismatches(x.ravel(), y.ravel()) == 0


def test_the_matchers_magnitudes_are_libms() -> None:
    """4 M pairs: discrepancies in nautical miles (one side often far smaller: a point that
    barely moved), hours against the buffer of 0.25 h, and whole 64-bit patterns."""
    rng = np.random.default_rng(17)
    n = 500_000
    for scale in (1e-4, 1.0, 60.0, 1e5):
        x = rng.normal(0.0, scale, n)
        y = rng.normal(0.0, scale, n) * rng.choice([1.0, 0.5, 1e-3, 1e-9, 0.0], n)
        assert _mismatches(x, y) == 0, scale
    hours = rng.integers(0, 60 * 3_600_000_000, n) / 3.6e9
    assert _mismatches(hours, np.full(n, 0.25)) == 0
    bits = rng.integers(0, 2**63, (2, n), dtype=np.int64)
    assert _mismatches(bits[0].view(np.float64), -bits[1].view(np.float64)) == 0


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True))
def test_any_two_floats_are_libms(x: float, y: float) -> None:
    assert _mismatches(np.array([x, y, -x]), np.array([y, x, y])) == 0
