"""The per-segment identity state (tracks.segment_state.Carry): whatever the merge size,
each segment's row is the one it was last given."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.tracks import segment_state
from seawatch.tracks.identity import merge_sorted
from seawatch.tracks.segment_state import Carry

SCHEMA = pa.schema([("segment_id", pa.int64()), ("version", pa.int64())])


@settings(max_examples=100, deadline=None)
@given(
    updates=st.lists(st.lists(st.integers(0, 12), max_size=6, unique=True), max_size=12),
    merge_rows=st.sampled_from([0, 3, 1 << 16]),
    kept=st.one_of(st.none(), st.lists(st.integers(0, 12), max_size=8, unique=True)),
)
def test_each_segment_keeps_its_latest_row(
    updates: list[list[int]], merge_rows: int, kept: list[int] | None
) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(segment_state, "MERGE_ROWS", merge_rows)
        carry, want = Carry(SCHEMA.empty_table()), {}
        for version, segments in enumerate(updates):
            carry.update(pa.table({"segment_id": segments, "version": [version] * len(segments)},
                                  schema=SCHEMA))  # fmt: skip
            want |= dict.fromkeys(segments, version)
        if kept is not None:
            carry.keep(pa.array(kept, pa.int64()))
            want = {s: v for s, v in want.items() if s in kept}
        got = carry.prior(pa.array(np.arange(13), pa.int64()))
        assert (
            dict(zip(got["segment_id"].to_pylist(), got["version"].to_pylist(), strict=True))
            == want
        )
        assert got["segment_id"].to_pylist() == sorted(want)


@settings(max_examples=200, deadline=None)
@given(
    tail=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 6)), max_size=12),
    new=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 6)), max_size=12),
    one_per_mmsi=st.booleans(),
)
def test_merge_sorted_is_the_stable_lexsort(
    tail: list[tuple[int, int]], new: list[tuple[int, int]], one_per_mmsi: bool
) -> None:
    if one_per_mmsi:  # the identity state's tail: each vessel's last position
        tail = list(dict(tail).items())

    def arrays(rows: list[tuple[int, int]], first: int) -> tuple[np.ndarray, ...]:
        rows = sorted(rows)
        seg = np.arange(first, first + len(rows), dtype=np.int64)  # tells the rows apart
        return (np.array([m for m, _ in rows], np.int64).reshape(-1),
                np.array([t for _, t in rows], np.int64).reshape(-1), seg)  # fmt: skip

    a, b = arrays(tail, 0), arrays(new, 100)
    both = tuple(np.concatenate([x, y]) for x, y in zip(a, b, strict=True))
    order = np.lexsort((both[1], both[0]))
    got = merge_sorted(a, b)
    for g, w in zip(got, both, strict=True):
        assert g.tolist() == w[order].tolist()
