"""Message keys: a deterministic identity for each decoded message.

In: decoded ``positions`` or ``statics`` rows. Out: ``msg_key`` (int64), a hash of what
identifies the message (MMSI, time, type, and position or part and IMO), the same from two
receivers or two runs. The store deduplicates on it; the engine breaks ties between rows of
equal time with it, so the order of the pipeline's input never depends on how the inputs
were split into files.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["message_keys"]

_U64 = np.uint64
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_GOLDEN = _U64(0x9E3779B97F4A7C15)


def _mix(h: np.ndarray[Any, Any], v: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """splitmix64 finaliser of ``h ^ v``: a stable 64-bit hash, the same on every platform."""
    z = (h ^ v.astype(_U64)) + _GOLDEN
    z = (z ^ (z >> _U64(30))) * _M1
    z = (z ^ (z >> _U64(27))) * _M2
    out: np.ndarray[Any, Any] = z ^ (z >> _U64(31))
    return out


def _ints(table: pa.Table, name: str, scale: float | None = None) -> np.ndarray[Any, Any]:
    col: Any = table.column(name)
    if scale is not None:
        col = pc.round(pc.multiply(col.cast(pa.float64()), scale))
    filled: Any = pc.fill_null(col.cast(pa.int64()), -(2**62))
    return np.asarray(filled.to_numpy(), dtype=np.int64).view(_U64)


def message_keys(table: pa.Table, kind: str) -> pa.Array[Any]:
    """``msg_key`` of each row: hash of mmsi, ts (us), msg_type and lat, lon at 1e-6 degree
    (positions) or part_num and imo (statics)."""
    h = np.full(table.num_rows, _U64(0x5EA3A7C4), dtype=_U64)
    parts: list[tuple[str, float | None]] = [("mmsi", None), ("ts", None), ("msg_type", None)]
    if kind == "positions":
        parts += [("lat", 1e6), ("lon", 1e6)]
    else:
        parts += [("part_num", None), ("imo", None)]
    with np.errstate(over="ignore"):
        for name, scale in parts:
            h = _mix(h, _ints(table, name, scale))
    return pa.array(h.view(np.int64), pa.int64())
