"""Alert rules (seawatch.events.alerts): what fires, what does not, and that any split of the
data into batches fires the same alerts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.errors import InputError
from seawatch.events.alerts import RULE_KINDS, AlertState, Rule, VesselFacts, evaluate

T0 = datetime(2024, 3, 1, tzinfo=UTC)
BOX = shapely.box(80.0, 10.0, 81.0, 11.0)  # lon 80..81, lat 10..11
INDIA = 419000001  # MID 419: India
USA = 366000001  # MID 366: United States


def positions(rows: list[tuple[int, int, float, float, float | None]]) -> pa.Table:
    """(mmsi, minute, lon, lat, speed_kn) rows, label 1."""
    return pa.table(
        {
            "mmsi": pa.array([r[0] for r in rows], pa.int32()),
            "ts": pa.array([T0 + timedelta(minutes=r[1]) for r in rows], pa.timestamp("us", "UTC")),
            "lon": pa.array([r[2] for r in rows], pa.float64()),
            "lat": pa.array([r[3] for r in rows], pa.float64()),
            "speed_kn": pa.array([r[4] for r in rows], pa.float64()),
            "label_id": pa.array([1] * len(rows), pa.int32()),
        }
    )


def events(rows: list[tuple[str, str, int, float, float]]) -> pa.Table:
    """(event_id, event_type, mmsi, lon, lat) rows, label 2."""
    n = len(rows)
    return pa.table(
        {
            "event_id": [r[0] for r in rows],
            "event_type": [r[1] for r in rows],
            "start_ts": pa.array([T0] * n, pa.timestamp("us", "UTC")),
            "mmsi": pa.array([r[2] for r in rows], pa.int32()),
            "other_mmsi": pa.nulls(n, pa.int32()),
            "lon": pa.array([r[3] for r in rows], pa.float64()),
            "lat": pa.array([r[4] for r in rows], pa.float64()),
            "label_id": pa.array([2] * n, pa.int32()),
        }
    )


NO_EVENTS = events([])


def rule(kind: str, **kw: object) -> Rule:
    obj = {"name": f"{kind} rule", "kind": kind, **kw}
    if RULE_KINDS[kind].zone == "required":
        obj.setdefault("zone_id", "z1")
    return Rule.from_obj(obj, rule_id=f"r-{kind}", label_id=7)


def fire(rules: list[Rule], pos: pa.Table, ev: pa.Table = NO_EVENTS, **kw: object) -> pa.Table:
    state = kw.pop("state", None) or AlertState()
    facts = kw.pop("facts", None) or VesselFacts()
    return evaluate(rules, {"z1": BOX}, pos, ev, facts, state)  # type: ignore[arg-type]


def test_entry_and_exit_fire_at_the_crossing_position() -> None:
    pos = positions([(INDIA, 0, 79.5, 10.5, 10), (INDIA, 10, 80.5, 10.5, 10),
                     (INDIA, 20, 80.6, 10.5, 9), (INDIA, 30, 81.5, 10.5, 8)])  # fmt: skip
    got = fire([rule("zone_entry"), rule("zone_exit")], pos)
    assert sorted(zip(got["kind"].to_pylist(), got["ts"].to_pylist(), strict=True)) == [
        ("zone_entry", T0 + timedelta(minutes=10)),
        ("zone_exit", T0 + timedelta(minutes=30)),
    ]
    assert set(got["record_label_id"].to_pylist()) == {1}
    assert got["details"][0].as_py().startswith('{"speed_kn"')


def test_first_seen_inside_is_not_an_entry() -> None:
    pos = positions([(INDIA, 0, 80.5, 10.5, 10), (INDIA, 10, 80.6, 10.5, 10)])
    assert fire([rule("zone_entry")], pos).num_rows == 0


def test_state_carries_across_batches() -> None:
    state = AlertState()
    r = [rule("zone_entry")]
    assert fire(r, positions([(INDIA, 0, 79.0, 10.5, 5)]), state=state).num_rows == 0
    got = fire(r, positions([(INDIA, 5, 80.2, 10.5, 5)]), state=state)
    assert got["ts"].to_pylist() == [T0 + timedelta(minutes=5)]


def test_filters_flag_speed_and_ship_type() -> None:
    pos = positions([(INDIA, 0, 79.0, 10.5, 5), (INDIA, 1, 80.5, 10.5, 5),
                     (USA, 0, 79.0, 10.5, 20), (USA, 1, 80.5, 10.5, 20)])  # fmt: skip
    assert fire([rule("zone_entry", flags=["USA"])], pos)["mmsi"].to_pylist() == [USA]
    assert fire([rule("zone_entry", speed_min_kn=10)], pos)["mmsi"].to_pylist() == [USA]
    assert fire([rule("zone_entry", speed_max_kn=10)], pos)["mmsi"].to_pylist() == [INDIA]
    facts = VesselFacts()
    facts.update(
        pa.table(
            {
                "mmsi": pa.array([INDIA], pa.int32()),
                "ts": [T0],
                "ship_type": [30],
                "imo": [None],
                "name": ["  sea   hawk "],
            }
        )
    )
    got = fire([rule("zone_entry", ship_types=[30])], pos, facts=facts)
    assert got["mmsi"].to_pylist() == [INDIA]  # USA's ship type unknown: no match
    assert facts.name[INDIA] == "SEA HAWK"


def test_event_rules_fire_once_per_event_inside_the_zone() -> None:
    ev = events([("e1", "gap", INDIA, 80.5, 10.5), ("e2", "suspected_disabling", USA, 80.5, 10.5),
                 ("e3", "gap", USA, 70.0, 10.5), ("e4", "encounter", USA, 80.5, 10.5)])  # fmt: skip
    state = AlertState()
    r = [rule("gap", zone_id="z1")]
    got = fire(r, positions([]), ev, state=state)
    assert sorted(got["event_id"].to_pylist()) == ["e1", "e2"]
    assert set(got["record_label_id"].to_pylist()) == {2}
    assert fire(r, positions([]), ev, state=state).num_rows == 0  # the event grew: no repeat
    anywhere = fire([rule("gap")], positions([]), ev)
    assert sorted(anywhere["event_id"].to_pylist()) == ["e1", "e2", "e3"]
    assert fire([rule("encounter", mmsi=[USA])], positions([]), ev)["event_id"].to_pylist() == [
        "e4"
    ]


def test_watchlist_rearms_after_its_hours() -> None:
    pos = positions([(USA, m, 60.0, 5.0, 3) for m in (0, 30, 200, 350)] + [(INDIA, 0, 60, 5, 3)])
    got = fire([rule("watchlist", mmsi=[USA], rearm_h=3)], pos)
    assert got["ts"].to_pylist() == [T0, T0 + timedelta(minutes=200)]
    facts = VesselFacts()
    facts.update(pa.table({"mmsi": pa.array([INDIA], pa.int32()), "ts": [T0], "ship_type": [70],
                           "imo": [9074729], "name": ["X"]}))  # fmt: skip
    by_imo = fire([rule("watchlist", imo=[9074729])], pos, facts=facts)
    assert by_imo["mmsi"].to_pylist() == [INDIA]


def test_missing_zone_fires_nothing() -> None:
    pos = positions([(INDIA, 0, 79.0, 10.5, 5), (INDIA, 1, 80.5, 10.5, 5)])
    assert fire([rule("zone_entry", zone_id="nowhere")], pos).num_rows == 0


@pytest.mark.parametrize(
    ("obj", "says"),
    [
        ({"name": "x", "kind": "teleport"}, "kind 'teleport'"),
        ({"name": "x", "kind": "zone_entry"}, "give zone_id"),
        ({"name": "", "kind": "gap"}, "name"),
        ({"name": "x", "kind": "gap", "speed_min_kn": 3}, "position kinds only"),
        ({"name": "x", "kind": "watchlist"}, "give the vessels"),
        ({"name": "x", "kind": "gap", "flags": ["india"]}, "alpha-3"),
        ({"name": "x", "kind": "gap", "colour": "red"}, "unknown rule key(s) colour"),
        (
            {"name": "x", "kind": "watchlist", "mmsi": [1], "speed_min_kn": 9, "speed_max_kn": 3},
            "above",
        ),
        ({"name": "x", "kind": "watchlist", "mmsi": [True]}, "mmsi"),
        ([], "JSON object"),
    ],
)
def test_bad_rules_say_what_is_wrong(obj: object, says: str) -> None:
    with pytest.raises(InputError, match=None) as info:
        Rule.from_obj(obj)
    assert says in str(info.value)


def test_rule_round_trips_through_its_stored_form() -> None:
    import json

    r = rule("zone_entry", flags=["IND"], speed_max_kn=12, ship_types=[30, 31])
    row = {"rule_id": r.rule_id, "name": r.name, "kind": r.kind, "zone_id": r.zone_id,
           "filters": json.dumps(r.filters()), "label_id": 7}  # fmt: skip
    assert Rule.from_row(row) == r


track = st.lists(
    st.tuples(
        st.sampled_from([INDIA, USA, 419000002]),
        st.floats(79.0, 82.0, allow_nan=False),
        st.floats(9.5, 11.5, allow_nan=False),
        st.floats(0, 30, allow_nan=False),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(track, st.lists(st.integers(1, 39), max_size=5))
def test_any_split_into_batches_fires_the_same(
    rows: list[tuple[int, float, float, float]], cuts: list[int]
) -> None:
    """Batches in time order (as the engine stores them) fire what one batch fires."""
    pos = positions([(m, k, lon, lat, v) for k, (m, lon, lat, v) in enumerate(rows)])
    rules = [rule("zone_entry"), rule("zone_exit", speed_min_kn=5),
             rule("watchlist", mmsi=[USA], rearm_h=0.2)]  # fmt: skip
    whole = fire(rules, pos)
    state = AlertState()
    bounds = [0, *sorted({c for c in cuts if c < len(rows)}), len(rows)]
    parts = [fire(rules, pos.slice(a, b - a), state=state) for a, b in itertools.pairwise(bounds)]
    split = pa.concat_tables(parts)
    assert sorted(split["alert_id"].to_pylist()) == sorted(whole["alert_id"].to_pylist())


def test_docs_hold_the_kinds_table() -> None:
    from pathlib import Path

    from seawatch.events.alert_rules import kinds_markdown

    doc = Path(__file__).parents[2] / "docs" / "alerts.md"
    assert kinds_markdown() in doc.read_text(encoding="utf-8"), (
        "docs/alerts.md is out of date: paste seawatch.events.alert_rules.kinds_markdown()"
    )
