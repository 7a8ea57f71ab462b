"""numba options shared by the compiled kernels of tracks and events.

:data:`HELPER` is for the small functions a kernel calls per row, point or candidate:
compiled without reference counting (numba's ``_nrt=False``), so a call passing arrays
costs no atomic operations. With reference counting each array argument is counted up and
down at every call (~4 ns each, ~17 ns for a call passing four arrays: more than the
helper's own work), and ``inline="always"`` does not remove it. Such a helper must not
allocate (no new array, no ``np.median`` of a slice): numba refuses to compile it then.
"""

from __future__ import annotations

from typing import Any

import numpy as np

HELPER: dict[str, Any] = {"cache": True, "nogil": True, "_nrt": False}
"""``@njit(**HELPER)``: a helper that allocates nothing, called from a compiled loop."""


def read_only(a: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """A read-only view of ``a``. numba compiles a kernel once per combination of its
    arrays' writability (arrays from Arrow are read-only, NumPy's own are not), so a
    kernel's inputs that come from either are given read-only: one specialization to
    compile (~1-3 CPU-s each) and cache, not one per combination the data happens to take."""
    view = a.view()
    view.flags.writeable = False
    return view
