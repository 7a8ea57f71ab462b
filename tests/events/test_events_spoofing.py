"""Spoofing detector: jump bound, two places at once, on land, invalid MMSI."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyarrow as pa
import pytest
from evtools import MIN, T0, S, chunks, details, positions
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.events import combine
from seawatch.events.mmsi_check import mmsi_problem
from seawatch.events.schema import EVENTS_SCHEMA
from seawatch.events.spoofing import PATH_OVER, SpoofingParams, _path_m, detect
from seawatch.events.tracks_in import haversine_m

DEG_LAT_NM = 6_371_008.8 * math.pi / 180 / 1852  # nautical miles per degree of latitude


def _pair(dt_s: float, dist_nm: float) -> pa.Table:
    ts = [T0, T0 + round(dt_s * S), T0 + round(dt_s * S) + 30 * MIN]
    lat = [0.0, dist_nm / DEG_LAT_NM, dist_nm / DEG_LAT_NM]
    return positions(ts, lat, [0.0] * 3)


@pytest.mark.parametrize(
    ("dt_s", "dist_nm", "found"),
    [
        (3600, math.hypot(1, 0.25) * 50 * 0.999, 0),
        (3600, math.hypot(1, 0.25) * 50 * 1.001, 1),
        (0, 12.5 * 0.999, 0),
        (0, 12.5 * 1.001, 1),
    ],
)
def test_jump_bound(dt_s: float, dist_nm: float, found: int) -> None:
    ev, _ = detect(_pair(dt_s, dist_nm))
    assert ev.schema == EVENTS_SCHEMA
    assert ev.num_rows == found
    if found:
        d = details(ev)[0]
        assert d["rule"] == "jump"
        assert d["n_jumps"] == 1
        assert d["n_two_places"] == (1 if dt_s == 0 else 0)
        assert d["max_distance_m"] == pytest.approx(dist_nm * 1852, rel=1e-6)
        assert ev["confidence"].to_pylist() == [1.0 if dt_s == 0 else 0.5]


def test_two_ships_on_one_mmsi_make_one_event() -> None:
    n = 20
    ts = [T0 + i * 30 * S for i in range(n)]
    lat = [0.0 if i % 2 else 1.0 for i in range(n)]
    ts.append(ts[-1] + 30 * S)
    lat.append(0.0)
    ev, _ = detect(positions(ts, lat, [0.0] * (n + 1)))
    assert ev.num_rows == 1
    d = details(ev)[0]
    assert d["n_jumps"] == n - 1
    assert d["n_two_places"] == n - 1
    assert ev["end_ts"][0].as_py() is not None


def test_on_land_runs_only_with_the_column() -> None:
    ts = [T0 + i * 10 * MIN for i in range(5)]
    lat = [0.0, 1.0, 1.0, 0.0, 1.0]  # leaps of 60 nm in 10 min onto the land and back
    t = positions(ts, lat, [0.0] * 5, on_land=[False, True, True, False, True])
    ev, _ = detect(t, SpoofingParams())
    land = [i for i, d in enumerate(details(ev)) if d["rule"] == "on_land"]
    ev = ev.take(land)
    rules = [(d["rule"], d["n_positions"], d["jump_in"], d["jump_out"]) for d in details(ev)]
    assert rules == [("on_land", 2, True, True), ("on_land", 1, True, False)]
    assert ev["end_ts"].to_pylist()[1] is None  # still on land at the end of the data
    ev, _ = detect(t.drop_columns(["on_land"]))
    assert [d["rule"] for d in details(ev)] == ["jump", "jump"]


def _canal(land: list[bool], lat: list[float]) -> pa.Table:
    ts = [T0 + i * 10 * MIN for i in range(len(land))]
    return positions(ts, lat, [0.0] * len(land), on_land=land)


def test_sailing_through_a_waterway_the_mask_lacks_is_not_spoofing() -> None:
    """Kiel Canal, Suez, fjords, the Hooghly: narrower than the mask's cells, so on land in
    it, but reached at sailing speed (here 10 kn) from the sea and left the same way."""
    n, step = 12, 10 * 10 / 60 / DEG_LAT_NM  # 10 kn for 10 min, in degrees
    land = [False] * 2 + [True] * (n - 4) + [False] * 2
    ev, _ = detect(_canal(land, [i * step for i in range(n)]))
    assert ev.num_rows == 0
    ev, _ = detect(_canal(land[:-2], [i * step for i in range(n - 2)]))  # still in it
    assert ev.num_rows == 0
    ev, _ = detect(_canal([True] * 3, [0.0, 0.01, 0.02]))  # first heard in it
    assert ev.num_rows == 0


def test_leaping_off_the_land_reveals_a_run_heard_from_the_start() -> None:
    ev, _ = detect(_canal([True, True, False], [1.0, 1.0, 0.0]))
    land = [d for d in details(ev) if d["rule"] == "on_land"]
    assert [(d["n_positions"], d["jump_in"], d["jump_out"]) for d in land] == [(2, False, True)]


def test_state_saved_before_the_jump_column() -> None:
    t = _canal([False, True, True], [0.0, 1.0, 1.0])
    _, state = detect(t.slice(0, 1))
    old = dataclasses.replace(state, cols={**state.cols, "i": state.cols["i"][:, :10]})
    ev, _ = detect(t.slice(1), state=old)
    assert [d["rule"] for d in details(ev)] == ["jump", "on_land"]


def test_invalid_mmsi_once() -> None:
    t = positions([T0, T0 + MIN, T0 + 2 * MIN], [0.0] * 3, [0.0] * 3, mmsi=[12345, 12345, 1])
    ev, state = detect(t.slice(0, 2))
    assert [d["reason"] for d in details(ev)] == ["not_9_digits"]
    ev, _ = detect(t.slice(2), state=state)
    assert ev["mmsi"].to_pylist() == [1]


def test_mmsi_check() -> None:
    mmsi = [366123456, 419000001, 200000000, 776000000, 12345, 2190000, 41912345, 111419123]
    assert mmsi_problem(np.array(mmsi)).tolist() == [0, 0, 2, 2, 1, 0, 0, 0]
    assert mmsi_problem(np.array([992191234, 970123456, 123456789, 801123456])).tolist() == [
        0,
        0,
        3,
        2,
    ]


def test_a_row_closing_two_runs_per_vessel_fits_the_output() -> None:
    """Regression: one row can close a jump run and an on-land run at once. With the runs
    opened in the previous chunk, a chunk of one row per vessel closes two events per row;
    the compiled loop had room for one per row and wrote past its buffer (heap corruption,
    seen as an abort in a hypothesis run)."""
    vessels = [366_000_000 + k for k in range(1, 101)]
    n = len(vessels)
    opened = positions(  # a normal position, then a jump onto land: both runs open
        [T0] * n + [T0 + MIN] * n,
        [0.0] * n + [5.0] * n,
        [0.0] * (2 * n),
        mmsi=vessels + vessels,
        on_land=[False] * n + [True] * n,
    )
    ev, state = detect(opened, open_events=False)
    assert ev.num_rows == 0
    closing = positions(  # a short move at sea: the jump run and the land run both end
        [T0 + 2 * MIN] * n, [5.0001] * n, [0.0] * n, mmsi=vessels, on_land=[False] * n
    )
    ev, _ = detect(closing, state=state, open_events=False)
    assert sorted(d["rule"] for d in details(ev)) == ["jump"] * n + ["on_land"] * n


@st.composite
def _fleet(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(1, 80))
    ts, lat, mm, land, t = [], [], [], [], T0
    for _ in range(n):
        t += draw(st.sampled_from([0, 10 * S, 5 * MIN, 60 * MIN]))
        ts.append(t)
        lat.append(draw(st.sampled_from([0.0, 0.01, 0.5])))
        mm.append(draw(st.sampled_from([366_000_001, 366_000_002, 12345])))
        land.append(draw(st.booleans()))
    return positions(ts, lat, [0.0] * n, mmsi=mm, on_land=land)


@settings(max_examples=60, deadline=None)
@given(table=_fleet(), cuts=st.lists(st.integers(0, 80), max_size=6))
def test_chunking_gives_the_same_events(table: pa.Table, cuts: list[int]) -> None:
    whole, _ = detect(table)
    outs, state = [], None
    for part in chunks(table, cuts):
        ev, state = detect(part, state=state)
        outs.append(ev)
    assert combine(outs).equals(combine([whole]))


@settings(max_examples=300, deadline=None)
@given(
    st.floats(-90, 90),
    st.floats(-180, 180),
    st.floats(-90, 90),
    st.floats(-180, 180),
    st.floats(0, 1e-3),
)
def test_the_cheap_path_bounds_the_haversine(
    lat1: float, lon1: float, lat2: float, lon2: float, step: float
) -> None:
    """The kernel skips the haversine when this bound plus 1 mm is shorter than the allowed
    distance: the haversine must never exceed it (far points, near ones, across ±180°;
    along a parallel they are equal but for rounding, which near antipodal points reaches
    ~0.1 m: hence the relative margin)."""
    for b_lat, b_lon in ((lat2, lon2), (lat1 + step, lon1 - step)):
        b_lat = max(-90.0, min(90.0, b_lat))
        bound = _path_m(lat1, lon1, b_lat, b_lon) * PATH_OVER + 1e-3
        assert haversine_m(lat1, lon1, b_lat, b_lon) <= bound
