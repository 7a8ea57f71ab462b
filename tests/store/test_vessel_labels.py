"""VesselLabels: the label ids of each MMSI's records, whatever the batches repeat."""

from __future__ import annotations

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
            if len(rows) % 2:  # read between batches
                assert got.of([None, *want]) == set().union(*want.values())
        assert got.by_mmsi == want
        assert got.of([None, *want]) == set().union(*want.values())
    finally:
        records.PENDING_PAIRS = bound
