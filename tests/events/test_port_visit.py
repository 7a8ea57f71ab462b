"""Port visits at the edges of every GFW threshold (hand-built tracks), chunked runs, docs."""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

import pyarrow as pa
import pytest
from evtools import MIN, T0, chunks, details, positions

from seawatch.events import port_visit
from seawatch.events.port_visit import PortVisitParams, detect, levels
from seawatch.events.schema import EVENTS_SCHEMA, combine, sort_events

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"
ALL = PortVisitParams(min_confidence=1)


def track(dist: list[float], speed: list[float] | None = None, step_min: list[int] | None = None):
    """A track with one position every 30 min (or after ``step_min``), at the given distances."""
    n = len(dist)
    steps = step_min or [30] * (n - 1)
    ts = [T0]
    for s in steps:
        ts.append(ts[-1] + s * MIN)
    sp = speed or [5.0] * n
    return positions(
        ts,
        [10.0 + i * 1e-3 for i in range(n)],
        [20.0] * n,
        distance_to_port_km=dist,
        speed_kn=sp,
        port_id=["NLRTM"] * n,
        port_name=["Rotterdam"] * n,
    )


def test_entry_within_3_km_not_at_3_1() -> None:
    ev, _ = detect(track([10.0, 2.9, 2.9, 10.0]), ALL)
    assert ev.num_rows == 1
    assert ev["start_ts"][0].value == T0 + 30 * MIN
    (d,) = details(ev)
    assert d["entry"]
    assert d["exit"]
    assert d["confidence_level"] == 1
    assert d["port_id"] == "NLRTM"
    assert d["port_name"] == "Rotterdam"
    assert ev["confidence"][0].as_py() == 0.25
    none, _ = detect(track([10.0, 3.1, 3.1, 10.0]), ALL)
    assert none.num_rows == 0


def test_exit_beyond_4_km_not_at_3_9() -> None:
    ev, _ = detect(track([10.0, 2.0, 3.9, 2.0, 4.1, 3.5]), ALL)
    assert ev.num_rows == 1  # 3.9 km keeps it in port (hysteresis), 4.1 km ends the visit
    assert ev["end_ts"][0].value == T0 + 4 * 30 * MIN
    (d,) = details(ev)
    assert d["n_positions"] == 3
    assert d["exit_distance_to_port_km"] == 4.1
    stay, _ = detect(track([10.0, 2.0, 3.9, 3.9]), ALL)
    assert stay.num_rows == 1
    assert stay["end_ts"][0].as_py() is None


def test_stop_begins_below_0_2_and_ends_above_0_5_kn() -> None:
    dist = [10.0, 2.0, 2.0, 2.0, 2.0, 2.0, 10.0]
    ev, _ = detect(track(dist, [8.0, 1.0, 0.19, 0.5, 0.51, 0.19, 8.0]), ALL)
    (d,) = details(ev)
    assert d["n_stops"] == 2
    assert d["confidence_level"] == 4
    assert d["stop_duration_s"] == 3600.0 + 1800.0  # 0.19 → 0.51 kn (0.5 does not end it); → exit
    ev, _ = detect(track(dist, [8.0, 1.0, 0.21, 0.2, 0.3, 0.21, 8.0]), ALL)
    (d,) = details(ev)
    assert d["n_stops"] == 0
    assert d["confidence_level"] == 1


def test_gap_longer_than_4_h_in_port() -> None:
    dist = [10.0, 2.0, 2.0, 10.0]
    ev, _ = detect(track(dist, step_min=[30, 250, 30]), ALL)  # 4 h 10 min in port
    (d,) = details(ev)
    assert d["n_gaps"] == 1
    assert d["max_gap_s"] == 250 * 60
    assert d["confidence_level"] == 4
    ev, _ = detect(track(dist, step_min=[30, 230, 30]), ALL)  # 3 h 50 min
    (d,) = details(ev)
    assert d["n_gaps"] == 0
    assert d["confidence_level"] == 1
    ev, _ = detect(track(dist, step_min=[30, 240, 30]), ALL)  # exactly 4 h is not longer
    assert details(ev)[0]["n_gaps"] == 0


def test_a_gap_outside_the_port_is_not_a_port_gap() -> None:
    ev, _ = detect(track([10.0, 10.0, 2.0, 10.0], step_min=[300, 30, 30]), ALL)
    (d,) = details(ev)
    assert d["n_gaps"] == 0
    assert d["entry"]


@pytest.mark.parametrize(
    ("entry", "exit_", "stop_or_gap", "level"),
    [
        (1, 1, 0, 1),
        (1, 0, 0, 1),
        (0, 1, 0, 1),
        (0, 0, 1, 2),
        (1, 0, 1, 3),
        (0, 1, 1, 3),
        (1, 1, 1, 4),
        (0, 0, 0, 0),
    ],
)
def test_gfw_confidence_levels(entry: int, exit_: int, stop_or_gap: int, level: int) -> None:
    out = levels(pa.array([entry]).to_numpy() == 1, pa.array([exit_]).to_numpy() == 1,
                 pa.array([stop_or_gap]).to_numpy() == 1)  # fmt: skip
    assert out.tolist() == [level]


def test_levels_on_tracks_and_min_confidence() -> None:
    starts_in_port = track([2.0, 2.0, 2.0, 10.0], [0.1, 0.1, 0.1, 8.0])  # no entry seen
    ev, _ = detect(starts_in_port)
    (d,) = details(ev)
    assert not d["entry"]
    assert d["exit"]
    assert d["confidence_level"] == 3
    assert ev["confidence"][0].as_py() == 0.75
    stop_only, _ = detect(track([2.0, 2.0, 2.0], [0.1, 0.1, 0.1]))
    assert details(stop_only)[0]["confidence_level"] == 2
    assert stop_only["end_ts"][0].as_py() is None
    passing, _ = detect(track([10.0, 2.0, 10.0]))  # entry and exit only: level 1 < default 2
    assert passing.num_rows == 0
    nothing, _ = detect(track([2.0, 2.0, 2.0]), ALL)  # no entry, exit, stop or gap: no evidence
    assert nothing.num_rows == 0


def test_unknown_speed_or_distance_changes_nothing() -> None:
    ev, _ = detect(track([10.0, 2.0, None, 2.0, 10.0], [8.0, None, 0.1, None, 8.0]), ALL)
    (d,) = details(ev)  # a null distance keeps the track in port; a null speed ends no stop
    assert d["n_stops"] == 1
    assert d["n_positions"] == 3
    assert d["stop_duration_s"] == 3600.0
    assert ev["end_ts"][0].value == T0 + 4 * 30 * MIN


def test_without_distance_to_port_nothing_is_emitted(caplog: pytest.LogCaptureFixture) -> None:
    t = track([10.0, 2.0, 10.0]).drop_columns(["distance_to_port_km"])
    with caplog.at_level(logging.INFO, logger="seawatch.events.port_visit"):
        ev, _ = detect(t, ALL)
    assert ev.num_rows == 0
    assert "distance_to_port_km" in caplog.text


def test_port_and_position_are_those_of_the_first_in_port_row() -> None:
    t = track([10.0, 2.5, 1.0, 10.0], [8.0, 0.1, 0.1, 8.0])
    t = t.set_column(t.schema.get_field_index("port_id"), "port_id", pa.array(["X", "A", "B", "Y"]))
    ev, _ = detect(t)
    (d,) = details(ev)
    assert d["port_id"] == "A"
    assert d["min_distance_to_port_km"] == 1.0
    assert ev["lat"][0].as_py() == pytest.approx(10.001)


def _two_vessels() -> pa.Table:
    a = track([10.0, 2.0, 2.0, 2.0, 5.0, 2.5, 2.5, 9.0], [8, 0.1, 0.1, 1, 8, 0.1, 0.1, 8])
    b = track(
        [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0], [0.1] * 8, step_min=[30, 300, 30, 30, 30, 30, 30]
    )
    b = b.set_column(1, "mmsi", pa.array([257_000_001] * 8, pa.int32()))
    both = pa.concat_tables([a, b])
    return both.sort_by([("ts", "ascending")])


def test_chunked_runs_give_the_events_of_the_whole_input() -> None:
    t = _two_vessels()
    whole, _ = detect(t, ALL)
    assert whole.num_rows == 3
    for cut in range(1, t.num_rows):
        for cuts in ([cut], [cut, cut + 3]):
            state = None
            outs = []
            for part in chunks(t, cuts):
                out, state = detect(part, ALL, state)
                outs.append(out)
            assert combine(outs).equals(sort_events(whole)), cuts


def test_schema_and_documentation() -> None:
    ev, _ = detect(_two_vessels(), ALL)
    assert ev.schema.equals(EVENTS_SCHEMA, check_metadata=True)
    empty, _ = detect(_two_vessels().slice(0, 0))
    assert empty.num_rows == 0
    assert empty.schema.equals(EVENTS_SCHEMA, check_metadata=True)
    doc = DOC.read_text(encoding="utf-8")
    assert re.search(r"^## port_visit\b", doc, re.M)
    for f in dataclasses.fields(port_visit.PortVisitParams):
        assert f"`{f.name}`" in doc, f.name
