"""What a long-lived object holds in Arrow and NumPy memory (for the server's metrics).

In: an object (the live pipeline's state, a hub's kept batches, ...). Out: the bytes of the
Arrow tables and arrays and of the NumPy arrays reachable from it through attributes,
dicts, lists, tuples, sets and deques, each counted once (Arrow buffers shared between
tables, and Python objects an object array points to, are not told apart: an estimate of
the order of what is held, to see which part grows).

Read while another thread may change the object: each container is copied before it is
walked (one step under the GIL); one that changes meanwhile is left out.
"""

from __future__ import annotations

import sys
from collections import deque
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["held_bytes"]

_ARROW = (pa.Table, pa.RecordBatch, pa.Array, pa.ChunkedArray)
_LEAVES = (str, bytes, int, float, bool, type, type(None))


def held_bytes(root: Any, limit: int = 1_000_000) -> int:
    """The Arrow and NumPy bytes reachable from ``root`` (at most ``limit`` objects walked;
    a view counts its base, whole: a state's arrays are often views of a larger buffer;
    an object array counts the objects it points to)."""
    seen: set[int] = set()
    stack = [root]
    total = 0
    while stack and len(seen) < limit:
        o = stack.pop()
        if isinstance(o, _LEAVES) or id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, _ARROW):
            total += o.get_total_buffer_size()
        elif isinstance(o, np.ndarray):
            if isinstance(o.base, np.ndarray):  # a view: what it holds is its base's
                stack.append(o.base)
                continue
            total += o.nbytes if o.base is None else 0  # else Arrow's or a file's memory
            if o.dtype == object:
                total += sum(map(sys.getsizeof, o.ravel().tolist()))
        else:
            try:
                stack.extend(_inside(o))
            except RuntimeError:  # changed while copied: left out
                continue
    return total


def _inside(o: Any) -> list[Any]:
    if isinstance(o, dict):
        return list(o.values())
    if isinstance(o, list | tuple | set | frozenset | deque):
        return list(o)
    out = list(getattr(o, "__dict__", {}).values())
    return out + [getattr(o, s) for s in getattr(type(o), "__slots__", ()) if hasattr(o, s)]
