"""The situation summary's rules (serve/situation.py) and live feed stamping (sources/feed.py)
on hand-built inputs whose answers are known."""

from __future__ import annotations

import datetime as dt
import json
import re

from eventrows import NEAR_KOCHI, T0, VESSELS, events
from seawatch.decode import decode
from seawatch.serve.situation import event_counts, format_situation, incidents, situation
from seawatch.sources.feed import stamp_lines


def test_counts_per_type_with_zeros() -> None:
    t = events(
        [
            {"type": "gap", "mmsi": 419000001, "h1": 7},
            {"type": "gap", "mmsi": 419000001, "h0": 10, "h1": 17},
            {"type": "port_visit", "mmsi": 538000002, "h1": 1},
        ]
    )
    counts = {c.event_type: (c.events, c.vessels) for c in event_counts(t, ["encounter"])}
    assert counts == {"gap": (2, 1), "port_visit": (1, 1), "encounter": (0, 0)}


def test_incidents_group_repeats_and_leave_routine_out() -> None:
    jumps = {"rule": "jump", "max_distance_m": 300_000}
    t = events(
        [
            *(
                {"type": "spoofing", "mmsi": 636000003, "h0": h, "h1": h, "details": jumps}
                for h in range(5)
            ),
            {
                "type": "spoofing",
                "mmsi": 636000003,
                "h0": 6,
                "h1": 6,
                "details": {"rule": "on_land"},
            },
            {"type": "port_visit", "mmsi": 538000002, "h1": 2},
            {"type": "identity_change", "mmsi": 538000002, "details": {"field": "destination"}},
            {"type": "identity_change", "mmsi": 538000002, "details": {"field": "name"}},
        ]
    )
    inc = incidents(t).sort_by("kind").to_pylist()
    assert [(r["event_type"], r["kind"], r["events"]) for r in inc] == [
        ("spoofing", "jump", 5),
        ("identity_change", "name", 1),
        ("spoofing", "on_land", 1),
    ]
    jump = inc[0]
    assert jump["start_ts"] == T0
    assert jump["end_ts"] == T0 + dt.timedelta(hours=4)


def test_ranking_type_then_offshore_one_per_vessel() -> None:
    t = events(
        [
            {"type": "gap", "mmsi": 419000001, "h1": 8},  # lowest type
            {"type": "spoofing", "mmsi": 538000002, "at": NEAR_KOCHI, "details": {"rule": "jump"}},
            {"type": "spoofing", "mmsi": 636000003, "details": {"rule": "jump"}},  # farther out
            {"type": "suspected_disabling", "mmsi": 419000001, "h0": 1, "h1": 15},
        ]
    )
    s = situation(t, VESSELS, top=8, per_type=2)
    order = [(n.event_type, n.vessel.mmsi) for n in s.notable]
    # disabling first; its vessel's gap is not repeated; spoofing far offshore before near
    assert order == [
        ("suspected_disabling", 419000001),
        ("spoofing", 636000003),
        ("spoofing", 538000002),
    ]
    first = s.notable[0]
    assert first.vessel.name == "A"
    assert first.vessel.flag == "India"
    assert first.what.startswith("AIS went silent")
    assert "14.0 h" in first.what
    assert first.offshore_km is not None
    assert first.offshore_km > 300
    near = s.notable[2]
    assert "of Cochin (INCOK)" in near.place
    assert situation(t, VESSELS, top=2).notable[1].vessel.mmsi == 636000003
    assert len(situation(t, VESSELS, per_type=1).notable) == 2


def test_zone_entries_of_fishing_vessels_rank_first() -> None:
    """A fishing vessel entering a zone near shore outranks a cargo ship far out."""
    zone = {"layer": "eez", "zone": 0}
    t = events(
        [
            {"type": "zone_entry", "mmsi": 538000002, "details": {**zone, "ship_type": 70}},
            {
                "type": "zone_entry",
                "mmsi": 419000001,
                "at": NEAR_KOCHI,
                "details": {**zone, "ship_type": 30},
            },
        ]
    )
    notable = situation(t, VESSELS, top=8, per_type=2).notable
    assert [n.vessel.mmsi for n in notable] == [419000001, 538000002]
    assert notable[0].what.startswith("a fishing vessel, entered zone eez:0")
    assert notable[1].what.startswith("entered zone eez:0")


def test_present_at_the_start_is_not_an_entry() -> None:
    """A vessel inside a zone at its track's first position is worded apart from one that
    entered, names from the store's zones (the layer's name field), entries ranked first."""
    eez = {"layer": "eez", "zone": 3}
    t = events(
        [
            {"type": "zone_present", "mmsi": 636000003, "details": {**eez, "ship_type": 70}},
            {"type": "zone_present", "mmsi": 419000001, "details": {**eez, "ship_type": 30}},
            {"type": "zone_entry", "mmsi": 538000002, "h0": 5, "details": eez},
        ]
    )
    names = {"eez:3": "Kenyan Exclusive Economic Zone"}
    s = situation(t, VESSELS, zone_names=names)
    assert [(n.event_type, n.vessel.mmsi, n.what) for n in s.notable] == [
        ("zone_entry", 538000002, "entered Kenyan Exclusive Economic Zone"),
        (
            "zone_present",
            419000001,
            "a fishing vessel, present at the start in Kenyan Exclusive Economic Zone",
        ),
        ("zone_present", 636000003, "present at the start in Kenyan Exclusive Economic Zone"),
    ]
    text = format_situation(s)
    assert "     present at the start in Kenyan Exclusive Economic Zone; confidence 1.00\n" in text
    assert re.search(r"^  zone_present +2  2 vessels  2 incidents$", text, re.M)
    unnamed = situation(t, VESSELS).notable
    assert unnamed[2].what == "present at the start in zone eez:3"


def test_text_lists_counts_and_notables() -> None:
    t = events(
        [
            {"type": "encounter", "mmsi": 419000001, "other": 538000002, "h0": 2, "h1": 5},
            {"type": "port_visit", "mmsi": 636000003, "h1": 3},
        ]
    )
    text = format_situation(situation(t, VESSELS, types=["gap"]))
    assert "Events: 2 in 1 incident (0 minor); not incidents: 1 routine, 0 gaps open at" in text
    assert re.search(r"^  encounter +1  1 vessel  1 incident$", text, re.M)
    assert re.search(r"^  port_visit +1  1 vessel  routine$", text, re.M)
    assert re.search(r"^  gap +0  0 vessels$", text, re.M)
    assert "  1. encounter: A (India, MMSI 419000001)\n" in text
    assert "alongside B (Marshall Islands, MMSI 538000002) for 3.0 h" in text
    assert "2025-06-01 02:00 -> 05:00 UTC" in text
    assert "10.00°N 65.00°E" in text
    assert "Campden Park" not in text  # searoute puts it at 61.14°E (it is at 61.14°W)
    assert "port_visit:" not in text  # routine: counted, not ranked


def test_stamped_lines_decode_with_their_receive_time() -> None:
    raw = [b"!AIVDM,1,1,,B,16?p<k7P0cUKJIN5WQMPghV81:qa,0*09", b"", b"\\c:1748736004*5C\\!AIVDM,x"]
    data = stamp_lines(raw, "feed-1", 1_760_000_000.7)
    lines = data.decode().splitlines()
    assert lines[1] == raw[2].decode()  # a line with a tag block is left as it came
    tables, stats = decode([lines[0]])
    assert stats.rejects == {}
    pos = tables["positions"]
    assert pos.column("ts")[0].as_py() == dt.datetime.fromtimestamp(1_760_000_000, dt.UTC)
    assert pos.column("station")[0].as_py() == "feed-1"


def test_ranking_reads_the_registry() -> None:
    from seawatch.events import registry
    from seawatch.serve.situation import PRIORITY, ROUTINE

    assert registry.priority() == PRIORITY
    assert registry.routine() == ROUTINE == ("port_visit", "zone_exit")
    assert set(PRIORITY) | set(ROUTINE) == set(registry.event_types())


def test_the_summary_as_json_data() -> None:
    t = events([{"type": "encounter", "mmsi": 419000001, "other": 538000002, "h0": 2, "h1": 5}])
    data = situation(t, VESSELS, types=["gap"]).as_dict()
    assert json.loads(json.dumps(data)) == data  # JSON-able as it is
    assert data["total"] == 1
    gap = {"event_type": "gap", "events": 0, "vessels": 0, "incidents": 0, "minor": 0}
    assert {**gap, "routine": 0, "open_at_end": 0} in data["counts"]
    assert (data["incidents"], data["minor"], data["routine"], data["open_at_end"]) == (1, 0, 0, 0)
    (first,) = data["notable"]
    assert first["rank"] == 1
    assert (first["incident"], first["events"], first["confidence"]) == ("encounter", 1, 1.0)
    assert first["by_type"] == {"encounter": 1}
    assert re.fullmatch(r"[0-9a-f]{32}", first["incident_id"])
    assert first["vessel"] == {"mmsi": 419000001, "name": "A", "flag": "India"}
    assert first["other"]["mmsi"] == 538000002
    assert first["start"] == "2025-06-01T02:00:00Z"
