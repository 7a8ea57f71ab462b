"""VesselLabels.codes: the label ids of many rows' MMSIs at once, as :meth:`of` gives them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.store.records import VesselLabels

_MMSI = st.one_of(st.integers(0, 2**30 - 1), st.sampled_from([1, 2, 999_999_999]))
_PAIR = st.tuples(_MMSI, st.one_of(st.integers(1, 2**31 - 1), st.sampled_from([1, 2, 3])))


@given(st.lists(_PAIR, max_size=40), st.lists(st.one_of(st.just(-1), _MMSI), max_size=40))
@settings(max_examples=30, deadline=None)
def test_codes_give_each_rows_sorted_labels(pairs: list[tuple[int, int]], rows: list[int]) -> None:
    """Rows of MMSIs with one label, several, none (-1, or never added), in any order."""
    labels = VesselLabels()
    labels.add(pa.table({"mmsi": pa.array([m for m, _ in pairs], pa.int64()),
                         "label_id": pa.array([i for _, i in pairs], pa.int32())}))  # fmt: skip
    asked = [*rows, *(m for m, _ in pairs[:5])]
    inverse, sets = labels.codes(np.array(asked, np.int64))
    assert len(inverse) == len(asked)
    assert len(set(sets)) == len(sets)  # each distinct set once
    for m, k in zip(asked, inverse.tolist(), strict=True):
        assert sets[k] == tuple(sorted(labels.of([None if m < 0 else m])))


def test_codes_of_no_labels_and_no_rows() -> None:
    inverse, sets = VesselLabels().codes(np.array([5, -1], np.int64))
    assert [sets[k] for k in inverse.tolist()] == [(), ()]
    inverse, sets = VesselLabels().codes(np.array([], np.int64))
    assert len(inverse) == 0
