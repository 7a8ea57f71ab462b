"""Which slot of a detector's state each track key of a chunk has, without hashing the state
for a small chunk.

In: the state's track keys (an Arrow array that only grows between chunks: the keys of new
tracks are appended) and a chunk's distinct keys. Out: the slot of each chunk key in the
state (-1: a new track), and, once the new keys are appended, the index carried over to the
new state's keys.

Looking the chunk's keys up in the state with ``pc.index_in`` hashes every state key each
time: with 100,000 tracks that is ~10 ms per detector per chunk, whatever the chunk's size,
which is most of a live batch's cost (bench/RESULTS.md, 2026-12-06). Instead each state's
keys get a ``{key: slot}`` dict once, shared with the states that extend it (their keys are
the same ones plus new ones at the end), so a chunk costs a lookup per chunk key. A chunk
with many keys (at least a sixteenth as many as the state: a file chunk of ~1 M rows has
tens of thousands of tracks) is looked up with ``pc.index_in`` instead, which hashes both in
C: 30,000 keys in a state of 100,000 take 6.8 ms that way, 12.8 ms by Python lookups (and
no dict is built for states only such chunks reach); the same lookup made again (another
detector's state with equal keys, the same chunk keys) is a copy of the last answer. Either
way a chunk's cost is bounded by a multiple of its own keys. A dict is
shared along one line of states only: extending a state that was already extended (a caller
that runs a detector twice on the same state) builds a dict of its own. Nothing here changes
a state: slots at or past a state's length are not its own and are ignored.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["extend", "slots"]


@dataclass
class _Index:
    slots: dict[Any, int]
    size: int  # keys the dict holds: the length of the newest state that shares it


_INDEXES: dict[int, tuple[weakref.ref[Any], _Index]] = {}
"""id(keys) → (a weak reference to keys, its index); an entry goes with its keys."""


def _remember(keys: pa.Array[Any], index: _Index) -> None:
    key = id(keys)
    ref = weakref.ref(keys, lambda _: _INDEXES.pop(key, None))
    _INDEXES[key] = (ref, index)


def _index(keys: pa.Array[Any]) -> _Index:
    found = _INDEXES.get(id(keys))
    if found is not None and found[0]() is keys:
        return found[1]
    index = _Index({k: i for i, k in enumerate(keys.to_pylist())}, len(keys))
    _remember(keys, index)
    return index


BULK = 16
"""A chunk with at least ``len(keys) / BULK`` keys is looked up by hashing (``pc.index_in``)."""


_LAST: list[tuple[pa.Array[Any], pa.Array[Any], npt.NDArray[np.int64]]] = []
"""The last bulk lookups (state keys, chunk keys, slots), newest last: the detectors of one
chunk look the same chunk keys up in states whose keys are often equal (those keyed alike
and pruned alike), and an equal lookup is answered by a copy, not hashed again."""
_LAST_N = 2


def _bulk(keys: pa.Array[Any], chunk_keys: pa.Array[Any]) -> npt.NDArray[np.int64]:
    for k, c, found in _LAST:
        if c is chunk_keys and k.equals(keys):  # equal values, one compare pass
            return found.copy()
    got = pc.index_in(chunk_keys, value_set=keys).fill_null(-1)
    out = np.asarray(got.to_numpy(zero_copy_only=False), dtype=np.int64)
    _LAST.append((keys, chunk_keys, out.copy()))
    del _LAST[:-_LAST_N]
    return out


def slots(keys: pa.Array[Any], chunk_keys: pa.Array[Any]) -> npt.NDArray[np.int64]:
    """The slot in ``keys`` of each of ``chunk_keys`` (same type), -1 where absent."""
    if len(chunk_keys) * BULK >= len(keys):
        return _bulk(keys, chunk_keys)
    index = _index(keys)
    got = index.slots.get
    out = np.fromiter((got(k, -1) for k in chunk_keys.to_pylist()), np.int64, len(chunk_keys))
    if index.size > len(keys):
        out[out >= len(keys)] = -1  # appended by a later state: not in this one
    return out


def extend(keys: pa.Array[Any], new_keys: pa.Array[Any], added: pa.Array[Any]) -> None:
    """``new_keys`` is ``keys`` with ``added`` appended: give it ``keys``' index, extended,
    when no other state has extended that index already."""
    found = _INDEXES.get(id(keys))
    if found is None or found[0]() is not keys or found[1].size != len(keys):
        return
    index = found[1]
    for i, k in enumerate(added.to_pylist(), start=len(keys)):
        index.slots[k] = i
    index.size = len(new_keys)
    _remember(new_keys, index)
