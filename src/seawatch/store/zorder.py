"""Positions' storage order: day, then the 1-degree Z-order (Morton) cell, in one pass.

In: positions (``ts``, ``lat``, ``lon``). Out: each row's sort key (:func:`storage_order`)
and the stable order of such keys (:func:`stable_order`). The DuckDB store appends
positions in this order (:mod:`seawatch.store.duck`), the archive writes closed days in
it; a partitioned run's loader sorts a day of every bucket by it, alone after the tasks
(bench/task_stream.py's serial tail), so both are one compiled pass over the rows, not
numpy's dozen temporaries: ~37 ms → ~4 ms for the key, ~57 → ~11 ms for the order on
sim2's 967,484 positions (bench/RESULTS.md, 2026-12-07 session 5 (h-mem)).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

__all__ = ["stable_order", "storage_order"]

_US_PER_DAY = 86_400_000_000
_RADIX_SPAN = 1 << 16  # keys spanning fewer values sort by numpy's radix sort (uint16)


@njit(cache=True, nogil=True)
def _spread(v: Any) -> Any:  # pragma: no cover - compiled
    """Bits of ``v`` (< 2**16) moved to the even positions (Morton interleave)."""
    v = v & np.uint64(0xFFFF)
    v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
    v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
    v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
    return (v | (v << np.uint64(1))) & np.uint64(0x55555555)


@njit(cache=True, nogil=True)
def _cell(deg: float, shift: float, top: float) -> Any:  # pragma: no cover - compiled
    """``clip(floor(nan_to_num(deg) + shift), 0, top)`` as uint64 (NaN counts as 0)."""
    if np.isnan(deg):
        deg = 0.0
    f = np.floor(deg + shift)
    if f < 0.0:
        f = 0.0
    elif f > top:
        f = top
    return np.uint64(f)


@njit(cache=True, nogil=True)
def _keys(ts: Any, lon: Any, lat: Any) -> Any:  # pragma: no cover - compiled
    out = np.empty(len(ts), np.int64)
    for i in range(len(ts)):
        x = _cell(lon[i], 180.0, 359.0)
        y = _cell(lat[i], 90.0, 179.0)
        cell = np.int64(_spread(x) | (_spread(y) << np.uint64(1)))
        out[i] = ((ts[i] // _US_PER_DAY) << 20) | cell
    return out


def storage_order(rows: pa.Table) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Sort key of positions: day since 1970 (high bits), then the Z-order (Morton) code of
    the row's 1-degree cell, so rows near in time and space sit together. A null or NaN
    ``lat``/``lon`` counts as 0; every row needs a ``ts``."""
    ts: Any = pc.cast(rows.column("ts"), pa.int64())
    if ts.null_count:
        raise ValueError("storage_order: positions without a time")
    t = np.ascontiguousarray(ts.to_numpy(), dtype=np.int64)
    lon = np.ascontiguousarray(rows.column("lon").to_numpy(zero_copy_only=False), np.float64)
    lat = np.ascontiguousarray(rows.column("lat").to_numpy(zero_copy_only=False), np.float64)
    return np.asarray(_keys(t, lon, lat), dtype=np.int64)


def stable_order(keys: np.ndarray[Any, np.dtype[np.int64]]) -> np.ndarray[Any, np.dtype[Any]]:
    """``np.argsort(keys, kind="stable")``; keys spanning fewer than 65,536 values (a day's
    cells: ~54,000 on sim2) are sorted as uint16 offsets, which numpy radix-sorts in
    linear time instead of its timsort's n log n (the same order: the offsets keep it)."""
    if len(keys) > 1:
        lo, hi = int(keys.min()), int(keys.max())
        if hi - lo < _RADIX_SPAN:
            return np.argsort((keys - lo).astype(np.uint16), kind="stable")
    return np.argsort(keys, kind="stable")
