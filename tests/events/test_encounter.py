"""Encounters: hand-built pairs at each threshold's edge, merging, chunk invariance."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pytest
from evtools import MIN, T0, chunks, details, positions
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.events.encounter import THIN_ROWS, EncounterParams, detect
from seawatch.events.schema import EVENTS_SCHEMA, combine
from seawatch.events.tracks_in import EARTH_RADIUS_M

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"
M_PER_DEG = EARTH_RADIUS_M * math.pi / 180  # haversine's metres per degree of latitude
A, B = 412_000_001, 563_000_002
SUEZ_TS = "%d/%m/%Y %H:%M"


def _pair(
    minutes_a: list[float],
    minutes_b: list[float] | None = None,
    *,
    apart_m: float = 100.0,
    speed_kn: float = 0.0,
    lat0: float = 0.0,
    **extra: Any,
) -> pa.Table:
    """Vessel A on the equator and B ``apart_m`` north of it, both heading east at ``speed_kn``."""
    minutes_b = minutes_a if minutes_b is None else minutes_b
    rows: list[tuple[int, float, float, int]] = []
    for mmsi, mins, dlat in ((A, minutes_a, 0.0), (B, minutes_b, apart_m / M_PER_DEG)):
        for m in mins:
            lon = speed_kn * 1852.0 * (m / 60.0) / M_PER_DEG
            rows.append((T0 + round(m * MIN), lat0 + dlat, lon, mmsi))
    rows.sort()
    cols = [list(c) for c in zip(*rows, strict=True)]
    n = len(rows)
    return positions(
        cols[0], cols[1], cols[2], mmsi=cols[3], **{k: [v] * n for k, v in extra.items()}
    )


def _every10(start: float, end: float) -> list[float]:
    return [float(m) for m in range(int(start), int(end) + 1, 10)]


def _n(table: pa.Table) -> int:
    ev, _ = detect(table)
    return ev.num_rows


def test_a_three_hour_encounter() -> None:
    ev, _ = detect(_pair(_every10(0, 180)))
    assert ev.num_rows == 1
    assert ev.schema.equals(EVENTS_SCHEMA, check_metadata=True)
    row = ev.to_pylist()[0]
    assert (row["mmsi"], row["other_mmsi"]) == (A, B)
    assert row["start_ts"].timestamp() * 1e6 == T0
    assert row["end_ts"] is None  # the data ends now: it could still go on
    d = details(ev)[0]
    assert d["duration_s"] == 3 * 3600
    assert d["median_distance_m"] == pytest.approx(100.0, abs=0.01)
    assert d["median_speed_kn"] == d["other_median_speed_kn"] == 0.0
    assert d["params"] == dataclasses.asdict(EncounterParams())
    assert row["lat"] == pytest.approx(50.0 / M_PER_DEG)


def test_closed_once_nothing_can_extend_it() -> None:
    far = positions([T0 + 12 * 60 * MIN], [10.0], [10.0], mmsi=999_000_001)
    ev, _ = detect(pa.concat_tables([_pair(_every10(0, 180)), far]))
    assert ev["end_ts"][0].as_py().timestamp() * 1e6 == T0 + 180 * MIN
    assert ev["confidence"].to_pylist() == [1.0]


@pytest.mark.parametrize(("apart_m", "n"), [(499.0, 1), (501.0, 0)])
def test_distance_edge(apart_m: float, n: int) -> None:
    assert _n(_pair(_every10(0, 180), apart_m=apart_m)) == n


@pytest.mark.parametrize(("minutes", "n"), [(110, 0), (120, 1)])
def test_duration_edge(minutes: int, n: int) -> None:
    assert _n(_pair(_every10(0, minutes))) == n


@pytest.mark.parametrize(("speed_kn", "n"), [(1.9, 1), (2.1, 0)])
def test_speed_edge(speed_kn: float, n: int) -> None:
    assert _n(_pair(_every10(0, 180), speed_kn=speed_kn)) == n


@pytest.mark.parametrize(("gap_min", "n"), [(59, 1), (61, 0)])
def test_interpolation_gap_edge(gap_min: int, n: int) -> None:
    b = _every10(0, 60) + [60.0 + gap_min + 10 * k for k in range(13)]
    b = [m for m in b if m <= 240]
    assert _n(_pair(_every10(0, 240), b)) == n


@pytest.mark.parametrize(("gap_min", "n"), [(230, 1), (250, 2)])
def test_merge_edge(gap_min: int, n: int) -> None:
    b = _every10(0, 120) + _every10(120 + gap_min, 240 + gap_min)
    ev, _ = detect(_pair(_every10(0, 240 + gap_min), b))
    assert ev.num_rows == n
    if n == 1:
        assert details(ev)[0]["duration_s"] == (240 + gap_min) * 60


@pytest.mark.parametrize(("port_km", "n"), [(9.9, 0), (10.1, 1)])
def test_port_edge(port_km: float, n: int) -> None:
    assert _n(_pair(_every10(0, 180), distance_to_port_km=port_km)) == n


@pytest.mark.parametrize(("on_land", "n"), [(True, 0), (False, 1)])
def test_on_land(on_land: bool, n: int) -> None:
    assert _n(_pair(_every10(0, 180), on_land=on_land)) == n


def test_no_encounter_with_itself() -> None:
    t = _pair(_every10(0, 180))
    same = t.set_column(1, "mmsi", pa.array([A] * t.num_rows, pa.int32()))
    assert _n(same) == 0
    segs = same.append_column("segment_id", pa.array([i % 2 for i in range(t.num_rows)]))
    assert _n(segs) == 0


def test_segments_are_named() -> None:
    t = _pair(_every10(0, 180))
    seg = [f"s{m}" for m in t["mmsi"].to_pylist()]
    ev, _ = detect(t.append_column("segment_id", pa.array(seg)))
    assert ev["segment_ids"].to_pylist() == [[f"s{A}", f"s{B}"]]


def test_high_latitude_neighbour_cells() -> None:
    # at 80° N a 1 km cell spans ~0.05° of longitude; the pair is offset in longitude here
    t = _pair(_every10(0, 180), lat0=80.0)
    lon_off = 450.0 / (M_PER_DEG * math.cos(math.radians(80.0)))
    b = _shift_lon(t, B, lon_off)
    assert _n(b) == 1


def _shift_lon(t: pa.Table, mmsi: int, off: float) -> pa.Table:
    rows = t.to_pylist()
    for r in rows:
        if r["mmsi"] == mmsi:
            r["lat"] -= 100.0 / M_PER_DEG
            r["lon"] += off
    return pa.Table.from_pylist(rows, schema=t.schema)


def test_empty_and_documented() -> None:
    ev, state = detect(_pair(_every10(0, 180)).slice(0, 0))
    assert ev.num_rows == 0
    assert ev.schema.equals(EVENTS_SCHEMA, check_metadata=True)
    ev, _ = detect(_pair(_every10(0, 180)), state=state)
    assert ev.num_rows == 1
    doc = DOC.read_text(encoding="utf-8")
    assert re.search(r"^## encounter\b", doc, re.M)
    for f in dataclasses.fields(EncounterParams):
        assert f"`{f.name}`" in doc, f.name


SUEZ = Path(__file__).resolve().parents[3] / "shared/data/ais/movingpandas_evergiven"


def test_suez_anchorages() -> None:
    """Real data without ``distance_to_port_km``: encounters are ships anchored side by side."""
    csv = SUEZ / "boat-positions.csv"
    if not csv.is_file():
        pytest.skip("../shared/data/ais/movingpandas_evergiven not present")
    t = pcsv.read_csv(csv, convert_options=pcsv.ConvertOptions(timestamp_parsers=[SUEZ_TS]))
    ts = t["ais_pos_timestamp"].cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
    cols = {"ts": ts, "mmsi": t["ID"].cast(pa.int32()), "lat": t["latitude"]}
    table = pa.table({**cols, "lon": t["longitude"]}).sort_by("ts")
    whole, _ = detect(table)
    assert whole.num_rows == 27
    assert pc.sum(pc.is_valid(whole["end_ts"])).as_py() == 24
    south = [29.70 <= a <= 29.97 for a in whole["lat"].to_pylist()]
    port_said = [31.15 <= a <= 31.65 for a in whole["lat"].to_pylist()]
    assert (sum(south), sum(port_said)) == (17, 9)
    assert pc.all(pc.less(whole["mmsi"], whole["other_mmsi"])).as_py()
    outs, state = [], None
    for part in chunks(table, list(range(2000, table.num_rows, 2000))):
        ev, state = detect(part, state=state)
        outs.append(ev)
    assert combine(outs).equals(combine([whole]))


@st.composite
def _fleet(draw: st.DrawFn) -> pa.Table:
    """Three vessels drifting near one point with random silences and excursions."""
    step = st.tuples(
        st.sampled_from([10.0, 5.0, 10.0, 17.0, 30.0, 70.0, 400.0, 1.0, 2.5, 0.5]),
        st.sampled_from([0.0, 50.0, 0.0, 100.0, 900.0]),
    )
    rows = []
    for v in range(3):
        t = 0.0
        for dt, off in draw(st.lists(step, min_size=30, max_size=150)):
            t += dt
            rows.append((T0 + round(t * MIN), off / M_PER_DEG, v * 150.0 / M_PER_DEG, v))
    if not rows:
        return positions([], [], [])
    rows.sort()
    cols = [list(c) for c in zip(*rows, strict=True)]
    return positions(cols[0], cols[1], cols[2], mmsi=[A + int(x) for x in cols[3]])


@settings(max_examples=60, deadline=None)
@given(table=_fleet(), cuts=st.lists(st.integers(0, 600), max_size=6))
def test_chunking_gives_the_same_events(table: pa.Table, cuts: list[int]) -> None:
    params = EncounterParams(min_duration_s=3600.0, merge_gap_s=2 * 3600.0)
    whole, _ = detect(table, params)
    outs, state = [], None
    for part in chunks(table, cuts):
        ev, state = detect(part, params, state)
        outs.append(ev)
    assert combine(outs).equals(combine([whole]))


@settings(max_examples=60, deadline=None)
@given(table=_fleet(), cuts=st.lists(st.integers(0, 600), max_size=40))
def test_chunks_without_open_events_give_the_same_events(table: pa.Table, cuts: list[int]) -> None:
    """As the engine calls it: closed events per chunk (a chunk inside the step the last one
    ended in only waits in the state), the open ones by a last call without rows."""
    params = EncounterParams(min_duration_s=3600.0, merge_gap_s=2 * 3600.0)
    whole, _ = detect(table, params)
    outs, state = [], None
    for part in chunks(table, cuts):
        ev, state = detect(part, params, state, open_events=False)
        outs.append(ev)
    ev, _ = detect(table.slice(0, 0), params, state)
    outs.append(ev)
    assert combine(outs).equals(combine([whole]))


def test_a_chunk_inside_the_last_step_only_waits() -> None:
    table = _pair([*_every10(0, 180), 183.0, 184.0, 186.0])  # 180 starts a step; ≤ 189 in it
    first, rest = table.slice(0, 38), table.slice(38)
    _, state = detect(first, open_events=False)
    ev, later = detect(rest, state=state, open_events=False)
    assert ev.num_rows == 0
    assert later.now_us == state.now_us  # not worked on: the rows wait in the state
    assert later.buffer is not None
    assert state.buffer is not None
    assert later.buffer.num_rows == state.buffer.num_rows + rest.num_rows
    ev, _ = detect(table.slice(0, 0), state=later)
    assert ev.equals(detect(table)[0])


def test_the_state_keeps_rows_per_track_and_step_not_per_row() -> None:
    """A vessel heard every minute: the state holds the row on the grid and the first and
    last row inside each of its 10-minute steps (what resampling reads), not every row (a
    live feed's rate), and the events are those of the whole run."""
    minutes = [float(m) for m in range(0, 8 * 60, 1)]  # 8 h, a row a minute, both vessels
    table = _pair(minutes)
    _, state = detect(table)
    assert state.buffer is not None
    steps = {int(m) // 10 for m in minutes}
    assert state.buffer.num_rows == 2 * 3 * len(steps)  # 2 vessels, minutes 0, 1 and 9
    outs, state = [], None
    for part in chunks(table, list(range(37, table.num_rows, 37))):
        ev, state = detect(part, state=state)
        outs.append(ev)
    assert combine(outs).equals(combine([detect(table)[0]]))


def test_rows_added_inside_a_step_are_thinned_once_they_pile_up() -> None:
    """As a live feed gives them: a pair meeting for 3 h, and 3,000 vessels heard every
    5 s for one grid step (360,000 rows), in chunks of 5,000 rows, closed events per chunk.
    Chunks inside one grid step only wait in the state, but once they pile up beyond
    ``THIN_ROWS`` the state keeps a few rows per vessel, and the events are those of the
    whole run."""
    rows: list[tuple[int, float, float, int]] = []
    for m in range(0, 180 * 2):  # the pair, every 30 s for 3 h, 100 m apart
        for mmsi, dlat in ((A, 0.0), (B, 100.0 / M_PER_DEG)):
            rows.append((T0 + m * 30 * 1_000_000, dlat, 0.0, mmsi))
    for v in range(3_000):  # the crowd, 2 km apart, for the first 10 min
        for k in range(120):
            rows.append((T0 + k * 5 * 1_000_000 + v, 1.0 + v * 0.02, 10.0, 200_000_000 + v))
    rows.sort()
    cols = [list(c) for c in zip(*rows, strict=True)]
    table = positions(cols[0], cols[1], cols[2], mmsi=cols[3])
    first_step = sum(1 for r in rows if r[0] < T0 + 10 * MIN)
    assert first_step > THIN_ROWS
    outs, state, biggest = [], None, 0
    for part in chunks(table, list(range(5_000, table.num_rows, 5_000))):
        ev, state = detect(part, state=state, open_events=False)
        outs.append(ev)
        assert state.buffer is not None
        biggest = max(biggest, state.buffer.num_rows)
    ev, _ = detect(table.slice(0, 0), state=state)
    outs.append(ev)
    assert combine(outs).equals(combine([detect(table)[0]]))
    assert combine(outs).num_rows == 1
    assert biggest < 2 * THIN_ROWS  # not the step's 360,000
