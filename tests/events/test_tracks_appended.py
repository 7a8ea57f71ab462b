"""A buffer and a chunk keyed together (seawatch.events.tracks_appended) against prepare of
their concatenation: the same Keyed, whatever the order of times and keys."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.events.tracks_appended import prepare_appended
from seawatch.events.tracks_in import Keyed, prepare

TS = pa.timestamp("us", tz="UTC")


def _table(rows: list[tuple[int, int, int]], *, segments: bool) -> pa.Table:
    """(ts in s, mmsi, segment) rows; lat/lon derived from the row number."""
    n = len(rows)
    cols: dict[str, pa.Array] = {
        "ts": pa.array([t * 1_000_000 for t, _, _ in rows], pa.int64()).cast(TS),
        "mmsi": pa.array([m for _, m, _ in rows], pa.int32()),
        "lat": pa.array(np.linspace(10.0, 11.0, n) if n else [], pa.float64()),
        "lon": pa.array(np.linspace(20.0, 21.0, n) if n else [], pa.float64()),
    }
    if segments:
        cols["segment_id"] = pa.array([s for _, _, s in rows], pa.int64())
    return pa.table(cols)


def _same(a: Keyed, b: Keyed) -> None:
    assert a.keys.equals(b.keys)
    for name in ("track", "ts_us", "lat", "lon", "mmsi", "order"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.rows.equals(b.rows)
    assert (a.now_us, a.by_segment, a.cols) == (b.now_us, b.by_segment, b.cols)


rows_st = st.lists(
    st.tuples(st.integers(0, 30), st.sampled_from([201_000_001, 201_000_002, 303_000_003]),
              st.integers(1, 4)),
    max_size=25,
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(rows_st, rows_st, st.booleans(), st.sampled_from([None, 10_000_000, 99_000_000]))
def test_the_same_as_prepare_of_the_concatenation(
    buffer_rows: list[tuple[int, int, int]],
    chunk_rows: list[tuple[int, int, int]],
    segments: bool,
    watermark_us: int | None,
) -> None:
    """Times out of order within and across the parts, equal times, keys old and new."""
    buffer = prepare(_table(buffer_rows, segments=segments), None, {}).rows  # kept rows
    chunk = _table(chunk_rows, segments=segments)
    got = prepare_appended(buffer, chunk, watermark_us)
    if not buffer_rows:
        assert got is None
        return
    assert got is not None
    want = prepare(pa.concat_tables([buffer, chunk]), None, {}, watermark_us=watermark_us)
    _same(got, want)


@pytest.mark.parametrize("segments", [True, False])
def test_another_key_kind_falls_back_more_columns_do_not(segments: bool) -> None:
    buffer = _table([(1, 201_000_001, 1)], segments=segments)
    chunk = _table([(2, 201_000_001, 1)], segments=not segments)
    assert prepare_appended(buffer, chunk) is None
    chunk = _table([(2, 201_000_001, 1)], segments=segments)
    chunk = chunk.append_column("speed_kn", pa.array([1.0]))
    got = prepare_appended(buffer, chunk)  # more columns in the chunk: the buffer's kept
    assert got is not None
    assert got.rows.column_names == buffer.column_names
