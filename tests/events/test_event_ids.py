"""Event ids built column-wise (compiled BLAKE2b) are ``schema.event_id``'s, byte for byte."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from seawatch.events.event_ids import event_ids
from seawatch.events.schema import build_events, event_id

INT64 = st.integers(-(2**63), 2**63 - 1)
TEXT = st.text(max_size=300)  # past one 128-byte block, any code point


@settings(deadline=None)  # numba compiles on the first example
@given(
    st.lists(st.tuples(INT64, st.one_of(st.none(), INT64), INT64, TEXT), min_size=0, max_size=40),
    st.sampled_from(["gap", "encounter", "identity_change", ""]),
)
@example([(1, None, 0, "x" * 128), (2, 3, 4, "x" * 127), (5, 6, 7, "é" * 64)], "gap")
def test_column_ids_are_event_id_of_each_event(
    rows: list[tuple[int, int | None, int, str]], kind: str
) -> None:
    mmsi = [r[0] for r in rows]
    other = [r[1] for r in rows]
    start = [r[2] for r in rows]
    disc = [r[3] for r in rows]
    got = event_ids(kind, mmsi, other, start, disc).to_pylist()
    assert got == [event_id(kind, *r) for r in rows]


def test_build_events_ids_from_arrays_lists_and_floats() -> None:
    """numpy integer arrays and lists go through the column-wise path; floats (truncated by
    ``int``) through ``event_id`` per event: the same ids either way."""
    n = 5
    mmsi = np.arange(219_000_000, 219_000_000 + n, dtype=np.int64)
    start = np.arange(n, dtype=np.int64) * 3_600_000_000 + 1_700_000_000_000_000
    kw = {"end_us": None, "lat": None, "lon": None, "confidence": [1.0] * n}
    a = build_events("gap", start_us=start, mmsi=mmsi, details=[{}] * n, **kw)
    b = build_events("gap", start_us=start.tolist(), mmsi=mmsi.tolist(), details=[{}] * n, **kw)
    c = build_events("gap", start_us=start.astype(float), mmsi=mmsi, details=[{}] * n, **kw)
    want = [event_id("gap", int(m), None, int(s)) for m, s in zip(mmsi, start, strict=True)]
    for t in (a, b, c):
        assert t["event_id"].to_pylist() == want
        assert t["event_id"].type == pa.string()
