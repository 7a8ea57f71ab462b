"""The detectors' key → slot index (seawatch.events.track_slots) against pc.index_in."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.events import track_slots


def _expected(keys: pa.Array, chunk: pa.Array) -> list[int]:
    return np.asarray(pc.index_in(chunk, value_set=keys).fill_null(-1)).tolist()


def _grown(keys: pa.Array, chunk: pa.Array) -> pa.Array:
    """``keys`` with the keys of ``chunk`` it lacks appended, as prepare does."""
    new = track_slots.slots(keys, chunk) < 0
    if not new.any():
        return keys
    added = chunk.filter(pa.array(new))
    out = pa.concat_arrays([keys, added])
    track_slots.extend(keys, out, added)
    return out


def test_a_line_of_states_shares_one_index() -> None:
    keys = pa.array([5, 3, 9], pa.int64())
    for chunk in ([3, 7], [7, 8, 5], [1, 9, 2]):
        c = pa.array(chunk, pa.int64())
        assert track_slots.slots(keys, c).tolist() == _expected(keys, c)
        keys = _grown(keys, c)
    assert keys.to_pylist() == [5, 3, 9, 7, 8, 1, 2]


def test_a_state_extended_twice_keeps_each_line_right() -> None:
    base = pa.array([10, 20, 30], pa.int64())
    a = _grown(base, pa.array([40, 10], pa.int64()))  # base + [40]
    b = _grown(base, pa.array([50, 40], pa.int64()))  # base + [50, 40]: another line
    probe = pa.array([10, 40, 50, 60], pa.int64())
    for keys in (base, a, b):
        assert track_slots.slots(keys, probe).tolist() == _expected(keys, probe)
    a2 = _grown(a, pa.array([60], pa.int64()))
    b2 = _grown(b, pa.array([60, 10], pa.int64()))
    for keys in (base, a, b, a2, b2):
        assert track_slots.slots(keys, probe).tolist() == _expected(keys, probe)


def test_filtered_keys_get_an_index_of_their_own() -> None:
    keys = _grown(pa.array([1, 2, 3, 4], pa.int64()), pa.array([5], pa.int64()))
    kept = keys.filter(pa.array([True, False, True, False, True]))  # tracks that ended
    probe = pa.array([1, 2, 3, 5], pa.int64())
    assert track_slots.slots(kept, probe).tolist() == [0, -1, 1, 2]
    assert track_slots.slots(keys, probe).tolist() == [0, 1, 2, 4]


def test_small_and_bulk_chunks_agree_along_a_line_of_states() -> None:
    """Few keys against a large state take the dict; many keys take pc.index_in; a line of
    states mixing both stays right (the dict is extended past a bulk chunk's new keys)."""
    keys = pa.array(np.arange(0, 2000, 2), pa.int64())  # 1,000 tracks
    small = len(keys) // track_slots.BULK - 1
    chunks = [
        np.arange(1, 2 * small, 2),  # small: new odd keys
        np.arange(0, 3000, 3),  # bulk: old and new keys
        np.array([3001, 4, 2997, 5000]),  # small again, after the bulk chunk's keys
        np.arange(5000, 5000 + small),
    ]
    for chunk in chunks:
        c = pa.array(chunk, pa.int64())
        assert track_slots.slots(keys, c).tolist() == _expected(keys, c)
        keys = _grown(keys, c)
    probe = pa.array([0, 1, 2997, 3001, 5000, 5001, 7777], pa.int64())
    assert track_slots.slots(keys, probe).tolist() == _expected(keys, probe)
