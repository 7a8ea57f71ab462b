"""The matcher's course sines and cosines, reused per tenth of a degree, are the bits the
array expression gives (``np.sin(np.radians(course))`` compiled, as the matcher had)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from seawatch.tracks._matcher import TENTHS, course_sin_cos


@njit(cache=False)
def _reference(course: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.sin(np.radians(course)), np.cos(np.radians(course))


def _same_bits(course: np.ndarray) -> None:
    got, want = course_sin_cos(course), _reference(course)
    for g, w in zip(got, want, strict=True):
        assert g.tobytes() == w.tobytes()


def test_every_tenth_in_each_of_its_float_forms() -> None:
    k = np.arange(TENTHS + 1)
    forms = [k / 10.0, k * 0.1, np.array([float(f"{x / 10:.1f}") for x in k])]
    rng = np.random.default_rng(7)
    course = np.concatenate([*forms, *(rng.permutation(f) for f in forms)])
    _same_bits(course)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(-1.0, 361.0),
            st.sampled_from([0.0, -0.0, 360.0, 359.95, 0.05]),
            st.integers(0, TENTHS).map(lambda k: k / 10.0),
            st.integers(0, TENTHS).map(lambda k: k / 10.0 + 1e-13),
        ),
        max_size=60,
    )
)
def test_any_course_gives_the_same_bits(values: list[float]) -> None:
    _same_bits(np.array(values, dtype=np.float64))
