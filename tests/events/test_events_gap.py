"""Gap detector: thresholds, open gaps, segments, chunk invariance."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from evtools import MIN, T0, H, chunks, details, positions
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.events import combine
from seawatch.events.gap import GapParams, detect
from seawatch.events.schema import EVENTS_SCHEMA


def _track(gap_us: int, tail_us: int = 0) -> pa.Table:
    ts = [T0, T0 + 10 * MIN, T0 + 10 * MIN + gap_us]
    if tail_us:
        ts.append(ts[-1] + tail_us)
    n = len(ts)
    return positions(ts, [10.0] * n, [70.0 + 0.01 * i for i in range(n)])


@pytest.mark.parametrize(("gap_us", "found"), [(6 * H - MIN, 0), (6 * H - 1, 0), (6 * H, 1)])
def test_gap_threshold(gap_us: int, found: int) -> None:
    ev, _ = detect(_track(gap_us))
    assert ev.schema == EVENTS_SCHEMA
    closed = ev.filter(pc.is_valid(ev["end_ts"]))
    assert closed.num_rows == found
    if found:
        row = closed.to_pylist()[0]
        assert row["event_type"] == "gap"
        assert row["confidence"] == 1.0
        assert (row["end_ts"] - row["start_ts"]).total_seconds() == 6 * 3600
        d = details(closed)[0]
        assert d["duration_s"] == 6 * 3600
        assert d["params"]["min_gap_s"] == 6 * 3600
        assert d["distance_m"] == pytest.approx(1094, abs=2)  # 0.01° of longitude at 10°N


def test_open_gap_at_end_of_data() -> None:
    quiet = _track(10 * MIN)
    other = positions([T0 + 7 * H], [0.0], [0.0], mmsi=367_000_001)
    ev, state = detect(pa.concat_tables([quiet, other]))
    open_ = ev.filter(pc.is_null(ev["end_ts"]))
    assert open_["mmsi"].to_pylist() == [366_123_456]
    assert open_["confidence"].to_pylist() == [0.5]
    assert details(open_)[0]["silent_s"] == pytest.approx(7 * 3600 - 20 * 60)
    # the vessel reappears: the gap closes with the same id
    back = positions([T0 + 8 * H], [10.0], [70.1])
    ev2, _ = detect(back, state=state)
    assert ev2["event_id"].to_pylist() == open_["event_id"].to_pylist()
    assert ev2["end_ts"].null_count == 0


def test_custom_threshold_and_segments() -> None:
    t = _track(2 * H).append_column("segment_id", pa.array(["a", "a", "b"]))
    ev, _ = detect(t, GapParams(min_gap_s=3600))
    # gaps are per MMSI: the silence between segments a and b is one closed gap naming both
    assert ev["end_ts"].null_count == 0
    assert ev["segment_ids"].to_pylist() == [["a", "b"]]
    t = _track(2 * H).append_column("segment_id", pa.array(["a"] * 3))
    ev, _ = detect(t, GapParams(min_gap_s=3600))
    assert ev["segment_ids"].to_pylist() == [["a"]]


def test_rows_without_time_or_position_are_ignored() -> None:
    t = positions([T0, T0 + H, T0 + 7 * H], [10.0, 95.0, 10.0], [70.0, 70.0, 70.0])
    ev, _ = detect(t)
    assert details(ev)[0]["duration_s"] == 7 * 3600


@st.composite
def _fleet(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(1, 60))
    steps = draw(st.lists(st.integers(0, 9 * H), min_size=n, max_size=n))
    ships = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    ts, t = [], T0
    for step in steps:
        t += step // 4
        ts.append(t)
    lat = [float(s) + i * 1e-3 for i, s in enumerate(ships)]
    t = positions(ts, lat, [50.0] * n, mmsi=[366_000_000 + s % 2 for s in ships])
    if draw(st.booleans()):  # segments of the tracks stage: two per MMSI, some noise
        seg = [None if s == 3 else s for s in ships]
        t = t.append_column("segment_id", pa.array(seg, pa.int64()))
    return t


@settings(max_examples=60, deadline=None)
@given(table=_fleet(), cuts=st.lists(st.integers(0, 60), max_size=6))
def test_chunking_gives_the_same_events(table: pa.Table, cuts: list[int]) -> None:
    whole, _ = detect(table)
    outs, state = [], None
    for part in chunks(table, cuts):
        ev, state = detect(part, state=state)
        outs.append(ev)
    assert combine(outs).equals(combine([whole]))


def test_noise_rows_without_segment_are_not_a_track() -> None:
    t = _track(7 * H).append_column("segment_id", pa.array([5, None, 5], pa.int64()))
    ev, _ = detect(t)
    assert details(ev)[0]["duration_s"] == 7 * 3600 + 10 * 60
    assert ev["segment_ids"].to_pylist() == [["5"]]


def test_gap_longer_than_a_segment_lives_is_found() -> None:
    """A 29 h silence starts a new segment (tracks max_gap_hours 24 h); the gap is one event."""
    from seawatch import tracks

    ts = [T0, T0 + 10 * MIN, T0 + 20 * MIN, T0 + 29 * H, T0 + 29 * H + 10 * MIN]
    t = positions(ts, [10.0, 10.01, 10.02, 10.5, 10.51], [80.0] * 5, speed_kn=[5.0] * 5)
    segmented, _ = tracks.segment(tracks.clean(t).positions)
    segs = segmented["segment_id"].to_pylist()
    assert segs[0] != segs[-1]
    ev, state = detect(segmented)
    assert ev["end_ts"].null_count == 0
    assert details(ev)[0]["duration_s"] == 29 * 3600 - 20 * 60
    assert ev["segment_ids"].to_pylist() == [[str(segs[0]), str(segs[-1])]]
    later = positions([T0 + 40 * H], [10.6], [80.0], speed_kn=[5.0], segment_id=[segs[-1]])
    ev2, _ = detect(later, state=state)  # the next chunk closes a further gap, same segment
    assert ev2["segment_ids"].to_pylist() == [[str(segs[-1])]]


def test_open_events_can_be_left_for_the_last_call() -> None:
    quiet = _track(10 * MIN)
    other = positions([T0 + 7 * H], [0.0], [0.0], mmsi=367_000_001)
    ev, state = detect(pa.concat_tables([quiet, other]), open_events=False)
    assert ev.num_rows == 0
    flushed, _ = detect(quiet.schema.empty_table(), state=state)
    assert flushed["end_ts"].to_pylist() == [None]
