"""engine/held: the Arrow and NumPy bytes an object holds, each array counted once."""

from __future__ import annotations

import sys
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from seawatch.engine.held import held_bytes


@dataclass
class _State:
    table: pa.Table
    parts: deque[Any] = field(default_factory=deque)
    cols: dict[str, Any] = field(default_factory=dict)


def test_held_bytes_counts_each_array_once_and_what_object_arrays_point_to() -> None:
    table = pa.table({"x": pa.array(range(1000), pa.int64())})
    ints = np.zeros(500, np.int64)
    texts = np.array(["a" * 100, "b" * 200], dtype=object)
    state = _State(table, deque([ints, ints[10:], (table, "name")]), {"t": texts, "n": 3})
    want = table.get_total_buffer_size() + ints.nbytes + texts.nbytes
    want += sys.getsizeof("a" * 100) + sys.getsizeof("b" * 200)
    assert held_bytes(state) == want  # the view of ints and the table's second mention: once
    capacity = np.zeros(1000, np.float64)  # a state's array: a view of a larger buffer
    assert held_bytes({"lat": capacity[:10]}) == capacity.nbytes
    assert held_bytes(None) == held_bytes("text") == 0
