"""Reusable scratch buffers for the decoder.

Fresh memory costs a page fault per 4 KiB on first touch, which on virtual machines is
slower than decoding the data in it. The decoder therefore keeps its scratch arrays from
one chunk to the next and only grows them. Nothing that leaves the decoder (Arrow
columns) ever points into a workspace buffer.
"""

from __future__ import annotations

import numpy as np


class Workspace:
    """Named scratch arrays, grown on demand and reused."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: type | np.dtype) -> np.ndarray:
        """An uninitialised array of at least ``shape`` (a view of exactly ``shape``).

        A view of two or more dimensions never spans a whole dimension (the array has room
        to spare in each), so it is never contiguous: numba compiles a kernel once per
        array layout, and a small first chunk (fewer than four sentences: no growth
        margin) made the scanner's message array contiguous, a second compilation of the
        scanner (~12 CPU-s) that nothing else needs."""
        spare = 1 if len(shape) > 1 else 0
        have = self._arrays.get(name)
        if (
            have is None
            or have.dtype != np.dtype(dtype)
            or have.ndim != len(shape)
            or any(h < s + spare for h, s in zip(have.shape, shape, strict=True))
        ):
            old = have.shape if have is not None and have.ndim == len(shape) else shape
            grown = tuple(max(n + n // 4 + spare, h) for n, h in zip(shape, old, strict=True))
            have = np.empty(grown, dtype)
            self._arrays[name] = have
        return have[tuple(slice(0, s) for s in shape)]
