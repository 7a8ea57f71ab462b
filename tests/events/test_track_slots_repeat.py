"""A bulk lookup made again (the same chunk keys against state keys of equal values, as the
detectors of one chunk make it) is answered from the last lookups: always what
``pc.index_in`` answers, and a caller writing into its answer changes no later one."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.events import track_slots


def _expected(keys: pa.Array, chunk: pa.Array) -> list[int]:
    return np.asarray(pc.index_in(chunk, value_set=keys).fill_null(-1)).tolist()


def test_equal_state_keys_get_the_same_answer_and_their_own_copy() -> None:
    chunk = pa.array([4, 1, 9, 7], pa.int64())
    a = pa.array([1, 2, 3, 4], pa.int64())
    b = pa.array([1, 2, 3, 4], pa.int64())  # another state's keys, equal values
    first = track_slots.slots(a, chunk)
    assert first.tolist() == [3, 0, -1, -1]
    first[:] = 99  # prepare writes the new tracks' slots into its answer
    assert track_slots.slots(b, chunk).tolist() == [3, 0, -1, -1]
    c = pa.array([4, 2, 3, 1], pa.int64())  # same length, other order: looked up anew
    assert track_slots.slots(c, chunk).tolist() == [0, 3, -1, -1]
    d = pa.array([1, 2, 3, 4], pa.int32())  # equal numbers of another type: anew
    assert track_slots.slots(d, chunk.cast(pa.int32())).tolist() == [3, 0, -1, -1]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 40), min_size=1, max_size=12, unique=True), min_size=1, max_size=4
    ),
    st.lists(st.lists(st.integers(0, 40), max_size=30, unique=True), min_size=1, max_size=3),
    st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7), st.booleans()), max_size=25),
)
def test_a_sequence_of_lookups_answers_as_index_in(
    states: list[list[int]], chunks: list[list[int]], calls: list[tuple[int, int, bool]]
) -> None:
    """Lookups in any order over a few state keys (each present as two equal arrays) and a
    few chunk key arrays, every answer written over afterwards."""
    keys = [pa.array(s, pa.int64()) for s in states for _ in range(2)]
    chunk_keys = [pa.array(c, pa.int64()) for c in chunks]  # a key of 12: bulk when not empty
    for k, c, scribble in calls:
        state, chunk = keys[k % len(keys)], chunk_keys[c % len(chunk_keys)]
        got = track_slots.slots(state, chunk)
        assert got.tolist() == _expected(state, chunk)
        if scribble and len(got):
            got[:] = -7
