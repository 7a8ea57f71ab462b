"""The decoder's scratch arrays (:class:`seawatch.decode.workspace.Workspace`): views of the
asked shape, reused while they fit, and never contiguous in two or more dimensions, so its
numba kernels see one array layout whatever the input's size (a one-line input gave the
scanner a contiguous message array: a second compilation of it, ~12 CPU-s)."""

from __future__ import annotations

import numpy as np

from seawatch.decode.workspace import Workspace


def test_views_of_two_dimensions_are_never_contiguous() -> None:
    ws = Workspace()
    for shape in [(12, 1), (12, 2), (12, 3), (12, 4), (5, 1), (12, 2), (30, 9), (30, 10)]:
        view = ws.get("msg", shape, np.int64)
        assert view.shape == shape
        assert not view.flags.c_contiguous, shape
        assert not view.flags.f_contiguous, shape


def test_views_are_reused_while_they_fit() -> None:
    ws = Workspace()
    first = ws.get("rej", (100, 4), np.int64)
    again = ws.get("rej", (80, 4), np.int64)
    assert np.shares_memory(first, again)
    line = ws.get("raw", (1000,), np.uint8)
    assert line.flags.c_contiguous  # one dimension: a prefix, contiguous
    assert np.shares_memory(line, ws.get("raw", (1000,), np.uint8))  # no spare needed
