"""VesselLabels: the label ids of each MMSI's records, whatever the batches repeat."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.store import records
from seawatch.store.records import VesselLabels

_ROW = st.tuples(
    st.one_of(st.none(), st.integers(0, 2**30 - 1), st.sampled_from([1, 2, 999_999_999])),
    st.one_of(st.none(), st.integers(1, 2**31 - 1), st.sampled_from([1, 2, 3])),
)


@given(st.lists(st.lists(_ROW, max_size=30), max_size=6), st.sampled_from([1, 7, 65_536]))
@settings(max_examples=60, deadline=None)
def test_labels_by_mmsi_are_every_pair_added(
    batches: list[list[tuple[int | None, ...]]], pending: int
) -> None:
    """Whenever read (between batches too), and however many pairs wait to be folded in."""
    bound, records.PENDING_PAIRS = records.PENDING_PAIRS, pending
    try:
        got = VesselLabels()
        want: dict[int, set[int]] = {}
        for rows in batches:
            table = pa.table(
                {
                    "mmsi": pa.array([m for m, _ in rows], pa.int64()),
                    "label_id": pa.array([lid for _, lid in rows], pa.int32()),
                }
            )
            got.add(table)
            for mmsi, lid in rows:
                if mmsi is not None and lid is not None:
                    want.setdefault(mmsi, set()).add(lid)
            if len(rows) % 2:  # read between batches (folded, then more pairs merged in)
                assert got.of([None, *want]) == set().union(*want.values())
        assert got.by_mmsi == want
        assert got.of([None, *want]) == set().union(*want.values())
        asked = [-1, 5, *want]
        inverse, sets = got.codes(np.array(asked, np.int64))
        for m, k in zip(asked, inverse.tolist(), strict=True):
            assert sets[k] == tuple(sorted(want.get(m, ())))
    finally:
        records.PENDING_PAIRS = bound


@given(
    st.dictionaries(st.integers(0, 2**30 - 1), st.sets(st.integers(1, 2**31 - 1), max_size=3)),
    st.lists(_ROW, max_size=30),
)
@settings(max_examples=30, deadline=None)
def test_labels_set_then_added(
    start: dict[int, set[int]], rows: list[tuple[int | None, int | None]]
) -> None:
    """Labels given as a mapping, then records added: the union of both, per MMSI."""
    got = VesselLabels()
    got.by_mmsi = start
    want = {m: set(ids) for m, ids in start.items() if ids}

    def nonempty() -> dict[int, set[int]]:  # an MMSI given no label id has none
        return {m: ids for m, ids in got.by_mmsi.items() if ids}

    assert nonempty() == want
    got.add(pa.table({"mmsi": pa.array([m for m, _ in rows], pa.int64()),
                      "label_id": pa.array([i for _, i in rows], pa.int32())}))  # fmt: skip
    for mmsi, lid in rows:
        if mmsi is not None and lid is not None:
            want.setdefault(mmsi, set()).add(lid)
    assert nonempty() == want
    assert got.of([None, *start, *want]) == set().union(*want.values())
