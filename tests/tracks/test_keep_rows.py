"""keep_rows against Arrow's filter: the same columns, and the same IPC bytes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.tracks.keep_rows import keep_rows
from seawatch.tracks.order import filter_rows

TEXTS = st.one_of(st.none(), st.text(max_size=6))


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


@st.composite
def tables(draw: st.DrawFn) -> tuple[pa.Table, np.ndarray]:
    n = draw(st.integers(0, 90))
    skip = draw(st.integers(0, 11))  # arrays that start inside their buffers (a slice)
    m = n + skip
    shared = draw(st.lists(st.booleans(), min_size=m, max_size=m))  # nulls of 2 columns
    texts = draw(st.lists(TEXTS, min_size=m, max_size=m))
    ints = draw(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=m, max_size=m))
    floats = draw(st.lists(st.one_of(st.none(), st.floats()), min_size=m, max_size=m))
    flags = draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=m, max_size=m))
    cols = {
        "ts": pa.array(range(m), pa.timestamp("us", tz="UTC")),
        "name": pa.array([t if ok else None for t, ok in zip(texts, shared, strict=True)]),
        "imo": pa.array(
            [i if ok else None for i, ok in zip(ints, shared, strict=True)], pa.int32()
        ),
        "speed_kn": pa.array(floats, pa.float64()),
        "flag": pa.array(flags, pa.bool_()),
        "kind": pa.array([t or "" for t in texts]).dictionary_encode(),
        "blob": pa.array([None if t is None else t.encode() for t in texts], pa.binary()),
        "msg_type": pa.array([i % 27 for i in ints], pa.int8()),
    }
    table = pa.table({k: v.slice(skip) for k, v in cols.items()})
    keep = draw(
        st.one_of(
            st.lists(st.booleans(), min_size=n, max_size=n),
            st.lists(st.sampled_from([True] * 9 + [False]), min_size=n, max_size=n),
        )
    )
    return table, np.array(keep, dtype=bool)


@settings(max_examples=40, deadline=None)
@given(tables())
def test_keep_rows_is_arrows_filter(case: tuple[pa.Table, np.ndarray]) -> None:
    table, keep = case
    want = table.filter(pa.array(keep, pa.bool_()))
    got = keep_rows(table, keep)
    assert got.schema == want.schema
    assert _ipc(got) == _ipc(want)  # every buffer (equals() would fail on NaN)
    for a, b in zip(got.columns, want.columns, strict=True):
        assert a.null_count == b.null_count
        a.validate(full=True)
    assert _ipc(filter_rows(table, keep)) == _ipc(want)


def test_keep_rows_shares_a_bitmap_and_keeps_runs() -> None:
    n = 100_003
    rng = np.random.default_rng(7)
    valid = rng.random(n) < 0.4
    names = pa.array([f"v{i}" if v else None for i, v in enumerate(valid)])
    imos = pa.array(np.where(valid, np.arange(n), 0), pa.int32(), mask=~valid)
    table = pa.table({"name": names, "imo": imos, "x": np.arange(n, dtype=np.float64)})
    keep = rng.random(n) > 0.004  # a few hundred rows dropped, as clean drops duplicates
    want = table.filter(pa.array(keep))
    got = keep_rows(table, keep)
    assert got.equals(want)
    assert _ipc(got) == _ipc(want)
    name_bits = got.column("name").chunk(0).buffers()[0]
    assert name_bits.address == got.column("imo").chunk(0).buffers()[0].address


def test_keep_rows_wrong_length_is_arrows_error() -> None:
    table = pa.table({"name": ["a", None, "b"]})
    try:
        keep_rows(table, np.array([True, False]))
    except pa.ArrowInvalid:
        return
    raise AssertionError("a mask of the wrong length was accepted")
