"""Message keys: a deterministic identity for each decoded message.

In: decoded ``positions`` or ``statics`` rows. Out: ``msg_key`` (int64), a hash of what
identifies the message (MMSI, time, type, and position or part and IMO), the same from two
receivers or two runs. The store deduplicates on it; the engine breaks ties between rows of
equal time with it, so the order of the pipeline's input never depends on how the inputs
were split into files.

The hash is one compiled pass over the rows (:func:`_mixed`); a partitioned run's loader
keys a day of every bucket alone after the tasks (bench/task_stream.py's serial tail):
~62 → ~30 ms on sim2's 967,484 positions, most of it now the columns' Arrow casts
(bench/RESULTS.md, 2026-12-07 session 5 (h-mem)).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

__all__ = ["message_keys"]

_U64 = np.uint64
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_GOLDEN = _U64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def _mixed(h0: Any, columns: Any) -> Any:  # pragma: no cover - compiled
    """Each row's hash: from ``h0``, for each column's value ``v`` in turn the splitmix64
    finaliser of ``(h ^ v) + golden``: a stable 64-bit hash, the same on every platform."""
    h = np.full(columns.shape[1], h0, np.uint64)
    for c in range(columns.shape[0]):
        v = columns[c]
        for i in range(len(h)):
            z = (h[i] ^ v[i]) + _GOLDEN
            z = (z ^ (z >> np.uint64(30))) * _M1
            z = (z ^ (z >> np.uint64(27))) * _M2
            h[i] = z ^ (z >> np.uint64(31))
    return h


@njit(cache=True, nogil=True)
def _scaled(values: Any, scale: float, out: Any) -> bool:  # pragma: no cover - compiled
    """``rint(values * scale)`` (halves to even, as Arrow's ``round``) as int64 in ``out``;
    False, ``out`` unfinished, at a value not finite or beyond int64 (Arrow's cast then
    says what it says of it)."""
    for i in range(len(values)):
        v = np.rint(values[i] * scale)
        if not -9.2e18 < v < 9.2e18:  # NaN fails too
            return False
        out[i] = np.int64(v)
    return True


def _ints(table: pa.Table, name: str, scale: float | None = None) -> np.ndarray[Any, Any]:
    col: Any = table.column(name)
    if scale is not None and col.null_count == 0 and col.type == pa.float64():
        out = np.empty(len(col), np.int64)
        if _scaled(np.ascontiguousarray(col.to_numpy(), np.float64), scale, out):
            return out.view(_U64)
    if scale is not None:
        col = pc.round(pc.multiply(col.cast(pa.float64()), scale))
    filled: Any = pc.fill_null(col.cast(pa.int64()), -(2**62))
    return np.asarray(filled.to_numpy(), dtype=np.int64).view(_U64)


def message_keys(table: pa.Table, kind: str) -> pa.Array[Any]:
    """``msg_key`` of each row: hash of mmsi, ts (us), msg_type and lat, lon at 1e-6 degree
    (positions) or part_num and imo (statics)."""
    parts: list[tuple[str, float | None]] = [("mmsi", None), ("ts", None), ("msg_type", None)]
    if kind == "positions":
        parts += [("lat", 1e6), ("lon", 1e6)]
    else:
        parts += [("part_num", None), ("imo", None)]
    columns = np.empty((len(parts), table.num_rows), dtype=_U64)
    for k, (name, scale) in enumerate(parts):
        columns[k] = _ints(table, name, scale)
    h = _mixed(_U64(0x5EA3A7C4), columns)
    return pa.array(h.view(np.int64), pa.int64())
