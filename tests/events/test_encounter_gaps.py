"""Encounters where the plain grid search fails: across the antimeridian, and across a
silence both vessels keep together (issue 16)."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest
from evtools import MIN, T0, chunks, details, positions
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.events.encounter import EncounterParams, detect
from seawatch.events.schema import combine
from seawatch.events.tracks_in import EARTH_RADIUS_M

M_PER_DEG = EARTH_RADIUS_M * math.pi / 180
A, B, C = 412_000_001, 563_000_002, 657_000_003


def _wrap(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


def _drift(
    tracks: dict[int, list[tuple[float, float, float]]],
) -> pa.Table:
    """Positions from ``{mmsi: [(minute, lat, lon), ...]}``, longitudes wrapped to [-180, 180)."""
    rows = sorted(
        (T0 + round(m * MIN), lat, _wrap(lon), mmsi)
        for mmsi, fixes in tracks.items()
        for m, lat, lon in fixes
    )
    cols = [list(c) for c in zip(*rows, strict=True)]
    return positions(cols[0], cols[1], cols[2], mmsi=cols[3])


def _every10(start: int, end: int) -> list[float]:
    return [float(m) for m in range(start, end + 1, 10)]


def test_pacific_pair_either_side_of_the_antimeridian() -> None:
    """Two ships 190 m apart off Taveuni (Fiji, 16.8° S), one each side of ±180°."""
    lat = -16.8
    half = 95.0 / (M_PER_DEG * math.cos(math.radians(lat)))
    t = _drift(
        {
            A: [(m, lat, 180.0 - half) for m in _every10(0, 180)],
            B: [(m, lat, -180.0 + half) for m in _every10(0, 180)],
        }
    )
    ev, _ = detect(t)
    assert ev.num_rows == 1
    d = details(ev)[0]
    assert d["median_distance_m"] == pytest.approx(190.0, abs=0.5)
    assert abs(ev["lon"][0].as_py()) == pytest.approx(180.0, abs=1e-3)  # not 0: a circular mean


def test_pair_drifting_across_the_antimeridian() -> None:
    """Both drift east at 1.5 kn over ±180°: interpolation must not cut through Greenwich."""
    lat = 52.0  # the Aleutians
    deg_per_min = 1.5 * 1852.0 / 60.0 / (M_PER_DEG * math.cos(math.radians(lat)))
    apart = 150.0 / M_PER_DEG
    t = _drift(
        {
            A: [(m, lat, 179.95 + m * deg_per_min) for m in _every10(0, 180)],
            B: [(m + 3, lat + apart, 179.95 + m * deg_per_min) for m in _every10(0, 180)],
        }
    )
    ev, _ = detect(t)
    assert ev.num_rows == 1
    row = ev.to_pylist()[0]
    assert abs(row["lon"]) > 179.9
    assert details(ev)[0]["n_close_steps"] >= 18


@st.composite
def _fleet(draw: st.DrawFn) -> pa.Table:
    """Three vessels near lon 0 (150 m apart east-west), slow, with silences and excursions."""
    step = st.tuples(
        st.sampled_from([10.0, 5.0, 10.0, 17.0, 30.0, 70.0, 400.0]),
        st.sampled_from([0.0, 50.0, 0.0, 100.0, 900.0]),
    )
    tracks = {}
    for v in range(3):
        t, fixes = 0.0, []
        for dt, off in draw(st.lists(step, min_size=20, max_size=80)):
            t += dt
            fixes.append((t, off / M_PER_DEG, v * 150.0 / M_PER_DEG))
        tracks[A + v] = fixes
    return _drift(tracks)


def _key(ev: pa.Table) -> list[tuple[object, ...]]:
    cols = ("mmsi", "other_mmsi", "start_ts", "end_ts")
    pairs = zip(ev.to_pylist(), details(ev), strict=True)
    return sorted((*(r[c] for c in cols), d["n_close_steps"]) for r, d in pairs)


@settings(max_examples=40, deadline=None)
@given(table=_fleet(), east_m=st.sampled_from([75.0, 150.0, 225.0, 300.0, 0.0]))
def test_shifting_across_the_antimeridian_changes_no_pair(table: pa.Table, east_m: float) -> None:
    params = EncounterParams(min_duration_s=3600.0)
    here, _ = detect(table, params)
    shift = 180.0 - east_m / M_PER_DEG  # the dateline falls between or on the vessels
    lon = [_wrap(x + shift) for x in table["lon"].to_pylist()]
    there, _ = detect(table.set_column(3, "lon", pa.array(lon, pa.float64())), params)
    assert _key(there) == _key(here)


def _silent(gap: tuple[int, int], *, b_reports: bool = False, b_far: bool = False) -> pa.Table:
    """A and B 100 m apart, every 10 min from 0 to 280 min, both silent in ``gap`` (minutes)
    unless ``b_reports`` (B keeps reporting, ``b_far``: 5 km away)."""
    apart = 100.0 / M_PER_DEG
    mins = [m for m in _every10(0, 280) if not gap[0] < m < gap[1]]
    b = [(m, apart, 0.0) for m in mins]
    if b_reports:
        b = [(m, apart + (5000.0 / M_PER_DEG if b_far and gap[0] < m < gap[1] else 0.0), 0.0)
             for m in _every10(0, 280)]  # fmt: skip
    return _drift({A: [(m, 0.0, 0.0) for m in mins], B: b})


def test_a_shared_silence_continues_the_encounter() -> None:
    """Close for an hour, both silent 2.5 h (a transshipment with AIS off), close 70 min."""
    ev, _ = detect(_silent((60, 210)))
    assert ev.num_rows == 1
    row, d = ev.to_pylist()[0], details(ev)[0]
    assert row["start_ts"].timestamp() * 1e6 == T0
    assert d["duration_s"] == 280 * 60
    assert d["silent_s"] == 150 * 60
    assert d["n_close_steps"] == 7 + 8


@pytest.mark.parametrize(
    ("kw", "why"),
    [
        ({"b_reports": True, "b_far": True}, "B sails away while A is silent"),
        ({"b_reports": True}, "only A is silent: B is heard alone"),
    ],
)
def test_a_one_sided_silence_does_not(kw: dict[str, bool], why: str) -> None:
    assert detect(_silent((60, 210), **kw))[0].num_rows == 0, why


@pytest.mark.parametrize(("silent_h", "n"), [(3.9, 1), (4.1, 0)])
def test_shared_silence_edge(silent_h: float, n: int) -> None:
    p = EncounterParams(max_shared_silence_s=4 * 3600.0)
    close = [(m, 0.0) for m in _every10(0, 60)]
    after = 60 + round(silent_h * 60)
    fixes = [m for m, _ in close] + [after + m for m in _every10(0, 60)]
    t = _drift({A: [(m, 0.0, 0.0) for m in fixes], B: [(m, 100 / M_PER_DEG, 0.0) for m in fixes]})
    assert detect(t, p)[0].num_rows == n


@settings(max_examples=40, deadline=None)
@given(
    gap=st.tuples(st.integers(30, 120), st.integers(61, 300)),
    cuts=st.lists(st.integers(0, 60), max_size=4),
)
def test_chunking_across_a_silence(gap: tuple[int, int], cuts: list[int]) -> None:
    table = _silent((gap[0], gap[0] + gap[1]))
    table = pa.concat_tables([table, _drift({C: [(900.0, 10.0, 10.0)]})])
    whole, _ = detect(table)
    outs, state = [], None
    for part in chunks(table, cuts):
        ev, state = detect(part, state=state)
        outs.append(ev)
    assert combine(outs).equals(combine([whole]))


def test_near_the_pole_a_pair_is_counted_once() -> None:
    """At 89.999° N the whole parallel is a few hundred metres: the copies of the points
    west of +180° meet the same neighbours as the originals; each pair counts once."""
    lat = 89.999
    t = _drift(
        {
            A: [(m, lat, 179.0) for m in _every10(0, 180)],
            B: [(m, lat, -179.0) for m in _every10(0, 180)],
        }
    )
    ev, _ = detect(t)
    assert ev.num_rows == 1
    assert details(ev)[0]["n_close_steps"] == 19
