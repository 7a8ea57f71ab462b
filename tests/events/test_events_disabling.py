"""Suspected disabling: gap length, distance from shore, reception before, chunk invariance."""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from evtools import MIN, T0, H, chunks, details, positions
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.events import combine
from seawatch.events.schema import EVENTS_SCHEMA
from seawatch.events.suspected_disabling import DisablingParams, detect


def _track(
    n_before: int = 80, gap_us: int = 12 * H, shore_start: float = 100.0, shore_end: float = 100.0
) -> pa.Table:
    """``n_before`` positions evenly over the 48 h before the gap, the gap, one position after."""
    step = 48 * H // n_before
    start = T0 + 48 * H
    ts = [start - (n_before - 1 - i) * step for i in range(n_before)] + [start + gap_us]
    shore = [shore_start] * n_before + [shore_end]
    n = len(ts)
    return positions(ts, [1.0] * n, [60.0] * n, distance_to_shore_km=shore)


@pytest.mark.parametrize(
    ("kwargs", "found"),
    [
        ({}, 1),
        ({"gap_us": 12 * H - MIN}, 0),
        ({"shore_start": 92.5}, 0),
        ({"shore_end": 92.5}, 0),
        ({"shore_start": 92.61, "shore_end": 92.61}, 1),
        ({"n_before": 79}, 0),
    ],
)
def test_thresholds(kwargs: dict[str, float], found: int) -> None:
    ev, _ = detect(_track(**kwargs))  # type: ignore[arg-type]
    assert ev.schema == EVENTS_SCHEMA
    closed = ev.filter(pc.is_valid(ev["end_ts"]))
    assert closed.num_rows == found
    if found:
        d = details(closed)[0]
        assert d["duration_s"] == 12 * 3600
        assert d["params"]["min_positions"] == 80


def test_needs_distance_to_shore(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="seawatch.events.suspected_disabling"):
        ev, _ = detect(_track().drop_columns(["distance_to_shore_km"]))
    assert ev.num_rows == 0
    assert "needs distance_to_shore_km" in caplog.text


def test_open_when_silent_at_the_end() -> None:
    t = _track()
    silent = t.slice(0, 80)
    other = positions([T0 + 61 * H], [0.0], [0.0], mmsi=1, distance_to_shore_km=[5.0])
    ev, _ = detect(pa.concat_tables([silent, other]), DisablingParams())
    assert ev["end_ts"].to_pylist() == [None]
    assert ev["confidence"].to_pylist() == [0.5]


@st.composite
def _fleet(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(1, 100))
    ts, mm, shore, t = [], [], [], T0
    for _ in range(n):
        t += draw(st.sampled_from([0, 10 * MIN, 3 * H, 13 * H]))
        ts.append(t)
        mm.append(draw(st.sampled_from([366_000_001, 366_000_002])))
        shore.append(draw(st.sampled_from([10.0, 100.0])))
    return positions(ts, [0.0] * n, [0.0] * n, mmsi=mm, distance_to_shore_km=shore)


@settings(max_examples=60, deadline=None)
@given(table=_fleet(), cuts=st.lists(st.integers(0, 100), max_size=6))
def test_chunking_gives_the_same_events(table: pa.Table, cuts: list[int]) -> None:
    params = DisablingParams(min_positions_per_12h=1.0)  # 4 positions in 48 h
    whole, _ = detect(table, params)
    outs, state = [], None
    for part in chunks(table, cuts):
        ev, state = detect(part, params, state)
        outs.append(ev)
    assert combine(outs).equals(combine([whole]))
