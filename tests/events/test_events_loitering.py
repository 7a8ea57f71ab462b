"""Loitering detector: hourly speed and duration thresholds, shore filter, chunk invariance."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from evtools import MIN, T0, chunks, details, positions
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.events import combine
from seawatch.events.loitering import LoiteringParams, detect
from seawatch.events.schema import EVENTS_SCHEMA

DEG_LAT_M = 111_195.0  # metres per degree of latitude on the 6371 km sphere


def _drift(speed_kn: float, hours: float, then_fast: bool = True, **extra: list[float]) -> pa.Table:
    """A vessel moving north at ``speed_kn``, one report every 10 min, then steaming at 12 kn."""
    step = 10 * MIN
    n = round(hours * 6) + 1
    ts = [T0 + i * step for i in range(n)]
    lat = [i * speed_kn * 1852 / 6 / DEG_LAT_M for i in range(n)]
    if then_fast:
        for _j in range(1, 13):
            ts.append(ts[-1] + step)
            lat.append(lat[-1] + 12 * 1852 / 6 / DEG_LAT_M)
    return positions(ts, lat, [0.0] * len(ts), **extra)


@pytest.mark.parametrize(("speed_kn", "found"), [(1.99, 1), (2.01, 0)])
def test_speed_threshold(speed_kn: float, found: int) -> None:
    ev, _ = detect(_drift(speed_kn, 6))
    assert ev.schema == EVENTS_SCHEMA
    assert ev.num_rows == found
    if found:
        d = details(ev)[0]
        assert d["mean_speed_kn"] == pytest.approx(1.99, abs=1e-3)
        assert d["hours"] == 6  # hours 0-5; the 7th hour is mostly fast
        assert ev["end_ts"].null_count == 0


def test_exact_duration_edges() -> None:
    # 5 h of drifting (reports at :00 ... :50): run ends at 04:50 (4 h 50) — kept;
    # with min_duration 4 h 51 min it is dropped
    t = _drift(0.5, 5 - 1 / 6)
    ev, _ = detect(t)
    assert details(ev)[0]["duration_s"] == 4 * 3600 + 50 * 60
    ev, _ = detect(t, LoiteringParams(min_duration_s=4 * 3600 + 50 * 60 + 1))
    assert ev.num_rows == 0


def test_distance_to_shore_filter_only_when_column_present() -> None:
    base = _drift(0.5, 6)
    n = base.num_rows
    for shore_km, found in [(37.03, 0), (37.05, 1), (100.0, 1)]:  # 20 nm = 37.04 km
        t = base.append_column("distance_to_shore_km", pa.array([shore_km] * n))
        ev, _ = detect(t)
        assert ev.num_rows == found, shore_km
        if found:
            assert details(ev)[0]["mean_distance_to_shore_km"] == pytest.approx(shore_km)
    ev, _ = detect(base)
    assert "mean_distance_to_shore_km" not in details(ev)[0]


def test_distance_to_port_filter_only_when_column_present() -> None:
    """Waiting at a port or anchorage (built-in, imported or derived) is not loitering."""
    base = _drift(0.5, 6)
    n = base.num_rows
    for port_km, found in [(9.9, 0), (10.1, 1), (float("nan"), 1)]:
        t = base.append_column("distance_to_port_km", pa.array([port_km] * n))
        ev, _ = detect(t)
        assert ev.num_rows == found, port_km
        if found and port_km == port_km:
            assert details(ev)[0]["mean_distance_to_port_km"] == pytest.approx(port_km)
    t = base.append_column("distance_to_port_km", pa.array([1.0] * n))
    assert detect(t, LoiteringParams(min_distance_to_port_km=0.0))[0].num_rows == 1


def test_open_loitering_at_end_of_data() -> None:
    ev, _ = detect(_drift(0.5, 8, then_fast=False))
    assert ev["end_ts"].to_pylist() == [None]
    d = details(ev)[0]
    assert d["last_slow_ts"].startswith("2021-03-20T08:00")
    assert ev["lat"][0].as_py() == pytest.approx(0.5 * 1852 * 4 / DEG_LAT_M, rel=1e-6)
    assert not math.isnan(ev["lon"][0].as_py())


def test_empty_hour_breaks_the_run() -> None:
    a = _drift(0.1, 5, then_fast=False)
    b = positions([T0 + (7 * 60 + 5 + 10 * i) * MIN for i in range(30)], [0.0] * 30, [0.0] * 30)
    ev, _ = detect(pa.concat_tables([a, b]))
    assert ev.num_rows == 2
    assert pc.sum(pc.is_null(ev["end_ts"])).as_py() == 1


@st.composite
def _fleet(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(1, 120))
    ts, lat, mm, t = [], [], [], T0
    pos = [0.0, 1.0, 2.0]
    for _ in range(n):
        t += draw(st.integers(0, 90)) * MIN
        s = draw(st.integers(0, 2))
        pos[s] += draw(st.sampled_from([0.0, 1e-4, 1e-3, 0.05]))
        ts.append(t)
        lat.append(pos[s])
        mm.append(366_000_000 + s)
    t = positions(ts, lat, [0.0] * n, mmsi=mm)
    if draw(st.booleans()):  # the tracks stage's segments, as text here
        return t.append_column("segment_id", pa.array([f"seg-{m % 2}" for m in mm]))
    return t


@settings(max_examples=60, deadline=None)
@given(
    table=_fleet(),
    cuts=st.lists(st.integers(0, 120), max_size=6),
    min_h=st.sampled_from([0.0, 1.0, 4.0]),
)
def test_chunking_gives_the_same_events(table: pa.Table, cuts: list[int], min_h: float) -> None:
    params = LoiteringParams(min_duration_s=min_h * 3600)
    whole, _ = detect(table, params)
    outs, state = [], None
    for part in chunks(table, cuts):
        ev, state = detect(part, params, state)
        outs.append(ev)
    assert combine(outs).equals(combine([whole]))
