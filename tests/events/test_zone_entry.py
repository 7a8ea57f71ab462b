"""Zone entries and exits: transitions per layer, rule filters at their edges, chunking, docs."""

from __future__ import annotations

import dataclasses
import itertools
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pytest
from evtools import MIN, T0, chunks, details, positions

from seawatch.errors import ConfigError
from seawatch.events.schema import EVENTS_SCHEMA, combine, sort_events
from seawatch.events.zone_entry import ZoneParams, ZoneRule, detect

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"
NORWAY, USA = 257_000_001, 366_123_456


def track(zones: list[int | None], mmsi: int = USA, **extra: list[Any]) -> pa.Table:
    n = len(zones)
    ts = [T0 + i * 30 * MIN for i in range(n)]
    t = positions(ts, [60.0 + i * 0.01 for i in range(n)], [5.0] * n, mmsi=mmsi, **extra)
    return t.append_column("zone_eez", pa.array(zones, pa.int32()))


def kinds(ev: pa.Table) -> list[tuple[str, int, int | None]]:
    ev = sort_events(ev)
    return [
        (e, (t.value - T0) // (30 * MIN), d["zone"])
        for e, t, d in zip(ev["event_type"].to_pylist(), ev["start_ts"], details(ev), strict=True)
    ]


def test_entry_exit_and_switch_between_polygons() -> None:
    ev, _ = detect(track([None, None, 3, 3, 5, -1]))
    assert kinds(ev) == [
        ("zone_entry", 2, 3),
        ("zone_entry", 4, 5),
        ("zone_exit", 4, 3),
        ("zone_exit", 5, 5),
    ]
    assert ev["start_ts"].equals(ev["end_ts"])
    d = {(x["zone"], "next_zone" in x): x for x in details(ev)}
    assert d[(5, False)]["previous_zone"] == 3
    assert d[(3, True)]["next_zone"] == 5
    assert d[(3, False)]["flag"] == "USA"
    assert set(ev["confidence"].to_pylist()) == {1.0}


def test_inside_at_the_track_start_is_present_not_entered() -> None:
    ev, _ = detect(track([4, 4, None]))
    assert kinds(ev) == [("zone_present", 0, 4), ("zone_exit", 2, 4)]
    present = sort_events(ev).slice(0, 1)
    assert "previous_zone" not in details(present)[0]
    assert present["confidence"][0].as_py() == 1.0
    # an entry needs a position of the track outside before it
    ev, _ = detect(track([None, 4, 4]))
    assert kinds(ev) == [("zone_entry", 1, 4)]
    # a null speed inside decides nothing: the first decided position is the start
    fast = ZoneParams((ZoneRule("fast", min_speed_kn=12.0),))
    ev, _ = detect(track([4, 4, 4], speed_kn=[None, 13.0, 13.0]), fast)
    assert kinds(ev) == [("zone_present", 1, 4)]
    # inside, too slow at the start, then faster: outside the rule before, so an entry
    ev, _ = detect(track([4, 4, 4], speed_kn=[5.0, 13.0, 13.0]), fast)
    assert kinds(ev) == [("zone_entry", 1, 4)]


def test_a_new_segment_starts_a_new_track() -> None:
    # the tracks stage starts a new segment after 24 h of silence (or a position that
    # cannot join): already inside at its first position, the vessel is present
    seg = track([None, 3, 3, 3], segment_id=["a", "a", "b", "b"])
    assert kinds(detect(seg)[0]) == [("zone_entry", 1, 3), ("zone_present", 2, 3)]
    # keyed by MMSI nothing expires: back inside after a long silence outside is an entry
    ev, _ = detect(track([None, None, None, None, 3]).take([0, 4]))
    assert kinds(ev) == [("zone_entry", 4, 3)]


def test_speed_above_x_inside_an_area() -> None:
    rule = ZoneRule("fast", layers=("eez",), zones=(3,), min_speed_kn=12.0)
    speeds = [20.0, 12.1, 12.0, 11.9, None, 12.1, 20.0]
    ev, _ = detect(track([None, 3, 3, 3, 3, 3, None], speed_kn=speeds), ZoneParams((rule,)))
    # 12.0 is not above 12; a null speed inside decides nothing; leaving at any speed exits
    assert kinds(ev) == [
        ("zone_entry", 1, 3),
        ("zone_exit", 2, 3),
        ("zone_entry", 5, 3),
        ("zone_exit", 6, 3),
    ]
    assert details(ev)[0]["rule"] == "fast"
    other_zone, _ = detect(track([None, 4, 4], speed_kn=[20.0] * 3), ZoneParams((rule,)))
    assert other_zone.num_rows == 0


def test_fishing_vessel_of_another_flag_inside_this_eez() -> None:
    rule = ZoneRule("foreign_fishing", zones=(3,), ship_types=(30,), exclude_flags=("NOR",))
    p = ZoneParams((rule,))
    ship = [None, 30, None, None]  # class B report gives the type; carried forward per track
    foreign, _ = detect(track([None, None, 3, None], ship_type=ship), p)
    assert kinds(foreign) == [("zone_entry", 2, 3), ("zone_exit", 3, 3)]
    assert details(foreign)[0]["ship_type"] == 30
    national, _ = detect(track([None, None, 3, None], NORWAY, ship_type=ship), p)
    assert national.num_rows == 0
    cargo, _ = detect(track([None, None, 3, None], ship_type=[None, 70, None, None]), p)
    assert cargo.num_rows == 0
    unknown_type, _ = detect(track([None, None, 3, None]), p)
    assert unknown_type.num_rows == 0


def test_rules_and_layers_are_independent() -> None:
    t = track([None, 1, 1, None]).append_column(
        "zone_aoi", pa.array([0, 0, None, None], pa.int32())
    )
    p = ZoneParams((ZoneRule("eez_only", layers=("eez",)), ZoneRule("all")))
    ev, _ = detect(t, p)
    got = sorted(
        (d["rule"], d["layer"], e)
        for d, e in zip(details(ev), ev["event_type"].to_pylist(), strict=True)
    )
    assert got == [
        ("all", "aoi", "zone_exit"),
        ("all", "aoi", "zone_present"),  # inside the aoi at the first position
        ("all", "eez", "zone_entry"),
        ("all", "eez", "zone_exit"),
        ("eez_only", "eez", "zone_entry"),
        ("eez_only", "eez", "zone_exit"),
    ]
    assert len(set(ev["event_id"].to_pylist())) == ev.num_rows
    with pytest.raises(ConfigError, match="unique"):
        ZoneParams((ZoneRule("a"), ZoneRule("a")))


def test_no_zone_columns_no_events() -> None:
    ev, _ = detect(track([1, None]).drop_columns(["zone_eez"]))
    assert ev.num_rows == 0
    assert ev.schema.equals(EVENTS_SCHEMA, check_metadata=True)


def _mixed() -> pa.Table:
    a = track([None, 2, 2, None, 7, 7, 2, None], speed_kn=[13.0, 13, 11, 13, 13, None, 13, 13])
    b = track([5, 5, None, None, 5, 6, 6, None], NORWAY, speed_kn=[13.0] * 8)
    return pa.concat_tables([a, b]).sort_by([("ts", "ascending")])


@pytest.mark.parametrize(
    "params", [ZoneParams(), ZoneParams((ZoneRule("fast", min_speed_kn=12.0),))]
)
def test_chunked_runs_give_the_events_of_the_whole_input(params: ZoneParams) -> None:
    t = _mixed()
    whole, _ = detect(t, params)
    assert whole.num_rows > 6
    for cut in range(1, t.num_rows):
        for cuts in ([cut], [cut, cut + 5]):
            state = None
            outs = []
            for part in chunks(t, cuts):
                out, state = detect(part, params, state)
                outs.append(out)
            assert combine(outs).equals(sort_events(whole)), cuts


def test_schema_and_documentation() -> None:
    ev, _ = detect(_mixed())
    assert ev.schema.equals(EVENTS_SCHEMA, check_metadata=True)
    doc = DOC.read_text(encoding="utf-8")
    for event_type in ("zone_entry", "zone_present", "zone_exit"):
        assert event_type in set(ev["event_type"].to_pylist())
        assert re.search(rf"^## {event_type}\b", doc, re.M), event_type
    for cls in (ZoneParams, ZoneRule):
        for f in dataclasses.fields(cls):
            assert f"`{f.name}`" in doc, (cls.__name__, f.name)


def test_gibraltar_vessels_in_the_moroccan_eez(shared_data: Path, tmp_path: Path) -> None:
    """Real tracks in a real EEZ: Strait of Gibraltar, 1 June 2016 (Argenni sample, 19,999
    positions of 524 MMSIs) against the Marine Regions extract (which has Morocco's EEZ, not
    Spain's). A vessel whose first position is inside is present; each entry follows a
    position of the same vessel outside."""
    from seawatch.geo.zones import import_zones

    csv = (
        shared_data / "ais" / "argenni_ais_reconstruction"
        / "decoded_traffic_Gibraltar_Straight_all_ships_2016A_micro_20k_sample_ais_data.csv"
    )  # fmt: skip
    eez = shared_data / "geo" / "eez_marineregions_v11_partial_rezoning"
    layer = import_zones(eez / "eez_v11_rezoning_regions_merged.geojson", "eez", tmp_path)
    t = pcsv.read_csv(
        csv,
        parse_options=pcsv.ParseOptions(delimiter=";"),
        convert_options=pcsv.ConvertOptions(
            null_values=["NULL"], timestamp_parsers=["%Y-%m-%d %H:%M:%S"]
        ),
    )
    zone = layer.locate(t["LAT"].to_numpy(), t["LON"].to_numpy())
    pos = pa.table(
        {
            "ts": t["TIMESTAMP_UTC"].cast(pa.timestamp("us", tz="UTC")),
            "mmsi": t["MMSI"].cast(pa.int64()),
            "lat": t["LAT"],
            "lon": t["LON"],
            "zone_eez": pa.array(zone, pa.int32()),
        }
    ).sort_by([("mmsi", "ascending"), ("ts", "ascending")])
    inside: dict[int, list[bool]] = {}
    for m, z in zip(pos["mmsi"].to_pylist(), pos["zone_eez"].to_pylist(), strict=True):
        inside.setdefault(m, []).append(z >= 0)
    present = sorted(m for m, seq in inside.items() if seq[0])
    entries = sum(a < b for seq in inside.values() for a, b in itertools.pairwise(seq))
    ev, _ = detect(pos.sort_by("ts"))
    by_type = {e: ev.filter(pc.equal(ev["event_type"], e)) for e in ("zone_present", "zone_entry")}
    assert sorted(by_type["zone_present"]["mmsi"].to_pylist()) == present
    assert by_type["zone_entry"].num_rows == entries
    assert len(present) > 50  # measured: 85 present
    assert entries > 20  # measured: 66
    assert {layer.names()[d["zone"]].as_py() for d in details(ev)} == {
        "Moroccan Exclusive Economic Zone"
    }
