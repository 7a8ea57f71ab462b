"""Identity-change detector over statics."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from evtools import MIN, T0, TS, chunks, details
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.events import combine, identity_change
from seawatch.events.identity_change import IdentityParams, _values, detect
from seawatch.events.identity_walk import chunk_keys
from seawatch.events.schema import EVENTS_SCHEMA


def _statics(rows: list[tuple[int, int, str | None, int, float]]) -> pa.Table:
    return pa.table(
        {
            "ts": pa.array([r[0] for r in rows], pa.int64()).cast(TS),
            "mmsi": pa.array([r[1] for r in rows], pa.int32()),
            "name": pa.array([r[2] for r in rows], pa.string()),
            "imo": pa.array([r[3] for r in rows], pa.int32()),
            "draught_m": pa.array([r[4] for r in rows], pa.float64()),
        }
    )


def test_each_change_once_with_before_and_after() -> None:
    t = _statics(
        [
            (T0, 1, "SEA STAR", 9074729, 7.5),
            (T0 + MIN, 2, "OTHER", 0, 0.0),
            (T0 + 2 * MIN, 1, None, 0, 0.0),  # type 24 part B / not available: no change
            (T0 + 3 * MIN, 1, "SEA STAR  ", 9074729, 7.5),  # padding only
            (T0 + 4 * MIN, 1, "OCEAN STAR", 9074729, 9.1),
            (T0 + 5 * MIN, 1, "OCEAN STAR", 9999999, 9.1),
        ]
    )
    ev, _ = detect(t)
    assert ev.schema == EVENTS_SCHEMA
    got = sorted((d["field"], d["before"], d["after"]) for d in details(ev))
    assert got == [
        ("draught_m", 7.5, 9.1),
        ("imo", 9074729, 9999999),
        ("name", "SEA STAR", "OCEAN STAR"),
    ]
    assert set(ev["mmsi"].to_pylist()) == {1}
    assert len(set(ev["event_id"].to_pylist())) == 3


def test_only_chosen_fields() -> None:
    t = _statics([(T0, 1, "A", 1, 1.0), (T0 + MIN, 1, "B", 2, 2.0)])
    ev, _ = detect(t, IdentityParams(fields=("imo",)))
    assert [d["field"] for d in details(ev)] == ["imo"]


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(1, 3),
            st.sampled_from(["A", "B", None, ""]),
            st.sampled_from([0, 1, 2]),
            st.sampled_from([0.0, 1.5, 2.5]),
        ),
        max_size=40,
    ),
    cuts=st.lists(st.integers(0, 40), max_size=5),
)
def test_chunking_gives_the_same_events(
    rows: list[tuple[int, str | None, int, float]], cuts: list[int]
) -> None:
    t = _statics([(T0 + (i // 2) * MIN, *r) for i, r in enumerate(rows)])
    whole, _ = detect(t)
    outs, state = [], None
    for part in chunks(t, cuts):
        ev, state = detect(part, state=state)
        outs.append(ev)
    assert combine(outs).equals(combine([whole]))


def test_flag_change_is_seen_by_imo() -> None:
    """A reflagged ship keeps its IMO and gets a new MMSI: India (MID 419) to the Marshall
    Islands (538); the event is on the new MMSI. Statics without an IMO, with an MMSI of no
    flag, or of another IMO change nothing."""
    t = _statics(
        [
            (T0, 419_000_001, "SEA STAR", 9_074_729, 7.5),
            (T0 + MIN, 419_000_001, "SEA STAR", 0, 7.5),  # IMO not available
            (T0 + 2 * MIN, 538_000_001, "SEA STAR", 9_074_729, 7.5),
            (T0 + 3 * MIN, 538_000_001, "SEA STAR", 9_074_729, 7.5),  # same flag again
            (T0 + 4 * MIN, 366_000_001, "OTHER", 9_111_111, 5.0),
        ]
    )
    ev, state = detect(t, IdentityParams(fields=("flag",)))
    assert [(d["before"], d["after"], d["before_mmsi"]) for d in details(ev)] == [
        ("IND", "MHL", 419_000_001)
    ]
    assert ev["mmsi"].to_pylist() == [538_000_001]
    back = _statics([(T0 + 5 * MIN, 419_000_002, "SEA STAR", 9_074_729, 7.5)])
    ev2, _ = detect(back, IdentityParams(fields=("flag",)), state)  # flagged back, next chunk
    assert [(d["before"], d["after"]) for d in details(ev2)] == [("MHL", "IND")]
    # two transponders alternating on one IMO: each (IMO, MMSI) pair reported once only
    flip = [419_000_002, 538_000_001, 419_000_002, 538_000_001, 636_000_001, 419_000_002]
    again = _statics([(T0 + (6 + i) * MIN, m, "X", 9_074_729, 7.5) for i, m in enumerate(flip)])
    ev3, _ = detect(again, IdentityParams(fields=("flag",)), state)
    assert [(d["before"], d["after"]) for d in details(ev3)] == [("MHL", "IND"), ("MHL", "LBR")]


TEXTS = st.lists(
    st.one_of(st.none(), st.text(alphabet="AB @\t\u00a0é\u3000", max_size=5)),
    min_size=0,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(texts=TEXTS, large=st.booleans(), cut=st.integers(0, 3))
def test_texts_kept_as_they_are_only_when_no_trim_changes_them(
    texts: list[str | None], large: bool, cut: int
) -> None:
    """The values compared are the texts trimmed ('@' at the end, then white space) and
    not empty, whether the trims run or are skipped because they change nothing (any
    text, sliced or in chunks, string or large_string)."""
    kind = pa.large_string() if large else pa.string()
    arr = pa.array(["x", *texts], kind).slice(1)  # an offset into the buffers
    col = pa.chunked_array([arr[:cut], arr[cut:]], kind)
    n = len(texts)
    t = pa.table(
        {"ts": pa.array(range(n), pa.int64()).cast(TS), "mmsi": pa.array([1] * n), "name": col}
    )
    trimmed = [None if s is None else s.rstrip("@") for s in texts]
    want = pc.utf8_trim_whitespace(pa.array(trimmed, kind)).to_pylist()
    got = _values(t, "name")["value"]
    assert got.type == kind
    assert got.to_pylist() == [s for s in want if s]


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 3),  # time step back or forward: out of order, ties
            st.integers(1, 4),
            st.sampled_from(["A", "B", "B@", " A", None, "", "AB", "BA"]),
            st.sampled_from([0, 1, 2, None]),
            st.sampled_from([0.0, 1.5, 2.5, None]),
        ),
        max_size=40,
    ),
    cuts=st.lists(st.integers(0, 40), max_size=4),
    ordered=st.booleans(),
    large=st.booleans(),
)
def test_one_pass_finds_what_the_grouping_finds(
    rows: list[tuple[int, int, str | None, int | None, float | None]],
    cuts: list[int],
    ordered: bool,
    large: bool,
) -> None:
    """Chunks whose rows are in time order per vessel go through one compiled pass
    (:mod:`seawatch.events.identity_walk`); the events, their order and the state are
    those of the grouped path (out of order: the grouped path itself)."""
    ts, times = T0, []
    for step, *_ in rows:
        ts += (step if ordered else step - 1) * MIN
        times.append(ts)
    kind = pa.large_string() if large else pa.string()
    t = pa.table(
        {
            "ts": pa.array(times, pa.int64()).cast(TS),
            "mmsi": pa.array([r[1] for r in rows], pa.int32()),
            "name": pa.array([r[2] for r in rows], kind),
            "imo": pa.array([r[3] for r in rows], pa.int32()),
            "draught_m": pa.array([r[4] for r in rows], pa.float64()),
        }
    )

    def run() -> tuple[list[pa.Table], dict[str, pa.Table]]:
        outs, state = [], None
        for part in chunks(t, cuts):
            ev, state = detect(part, state=state)
            outs.append(ev)
        assert state is not None
        return outs, state.last

    got, got_state = run()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(identity_change, "walk", lambda *a, **k: None)
        want, want_state = run()
    assert [g.equals(w) for g, w in zip(got, want, strict=True)] == [True] * len(want)
    assert sorted(got_state) == sorted(want_state)
    for name, table in want_state.items():
        assert got_state[name].combine_chunks().equals(table.combine_chunks()), name


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(-5, 5) | st.integers(1, 10**9), max_size=300),
    st.integers(1, 3),
    st.booleans(),
)
def test_chunk_keys_are_arrows_dictionary(keys: list[int], n_chunks: int, null: bool) -> None:
    """A chunk's keys are coded as Arrow's ``dictionary_encode`` codes them (the compiled
    table without nulls, Arrow with them), from one or several chunks."""
    rows: list[int | None] = [*keys, None] if null else list(keys)
    cut = len(rows) // n_chunks
    parts = [rows[:cut], rows[cut:]] if n_chunks > 1 else [rows]
    key = pa.chunked_array([pa.array(p, pa.int32()) for p in parts], pa.int32())
    ts = pa.chunked_array([pa.array(range(len(p)), pa.int64()) for p in parts], pa.int64())
    got = chunk_keys(key, ts)
    enc = pc.dictionary_encode(key.cast(pa.int64()).combine_chunks())
    want = [0 if c is None else c for c in enc.indices.to_pylist()]
    assert got.codes.tolist() == want
    assert got.dictionary.equals(enc.dictionary)
    assert got.key.tolist() == [0 if k is None else k for k in rows]
    assert got.valid.tolist() == [k is not None for k in rows]
