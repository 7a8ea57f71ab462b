"""Cursor-on-Target incident markers: one per incident of the events a reader may read,
under the combined label of exactly those events (nothing denied leaks: not its label, not
its count), typed suspect where the rule says so, summary and confidence in remarks."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from importlib import resources
from typing import Any

import pyarrow as pa
from exportdata import LABELS, POLICY, T0, TS
from lxml import etree

from seawatch.events.incidents import incidents, members
from seawatch.events.schema import EVENTS_SCHEMA
from seawatch.events.triage import classify
from seawatch.export import export
from seawatch.export.cot_markers import incident_summary
from seawatch.labels import Reader, combine

SPOOFED = 366123456


def _events() -> pa.Table:
    """Three position jumps of one MMSI (labels 0, 1 and 3: TOP SECRET//NOFORN, which
    IND may not read) and an encounter (label 0)."""
    rows: list[dict[str, Any]] = []
    for i, (label, conf) in enumerate([(0, 0.6), (1, 0.8), (3, 1.0)]):
        rows.append(
            {
                "event_id": f"{i:032x}",
                "event_type": "spoofing",
                "start_ts": T0 + timedelta(hours=i),
                "end_ts": T0 + timedelta(hours=i, minutes=1),
                "mmsi": SPOOFED,
                "lat": 10.0 + i,
                "lon": 70.0 + i,
                "confidence": conf,
                "details": json.dumps({"rule": "jump", "max_distance_m": 90000.0}),
                "label_id": label,
            }
        )
    rows.append(
        {
            "event_id": "e" * 32,
            "event_type": "encounter",
            "start_ts": T0,
            "end_ts": T0 + timedelta(hours=3),
            "mmsi": 419000001,
            "other_mmsi": 563000001,
            "lat": 5.0,
            "lon": 80.0,
            "confidence": 0.9,
            "details": json.dumps({"distance_m": 120.0}),
            "label_id": 0,
        }
    )
    schema = EVENTS_SCHEMA.append(pa.field("label_id", pa.int32()))
    return pa.Table.from_pylist(rows, schema=schema.set(2, pa.field("start_ts", TS)))


def _markers(reader: str, incidents: bool = True) -> list[Any]:
    buf = io.BytesIO()
    export(
        _events().cast(EVENTS_SCHEMA.append(pa.field("label_id", pa.int32()))),
        LABELS,
        buf,
        fmt="cot",
        kind="events",
        reader=Reader.parse(reader, POLICY),
        policy=POLICY,
        node_id="n",
        cot_incidents=incidents,
    )
    return [etree.fromstring(line) for line in buf.getvalue().splitlines()]


def _incidents(markers: list[Any]) -> dict[str, Any]:
    return {e.get("uid").split(".incident.")[1]: e for e in markers if ".incident." in e.get("uid")}


def test_incident_markers_carry_the_combined_label_of_what_the_reader_may_read() -> None:
    xsd_path = resources.files("seawatch.export").joinpath("schemas/cot-event-seawatch.xsd")
    xsd = etree.XMLSchema(etree.parse(str(xsd_path)))
    seen = _markers("IND:SECRET")
    found = _incidents(seen)
    assert len(found) == 2  # the spoofed MMSI's jumps, the encounter
    for e in seen:
        assert xsd.validate(e), xsd.error_log
    by_callsign = {e.find("detail/contact").get("callsign"): e for e in found.values()}
    spoof = by_callsign[f"spoofing (jump) MMSI {SPOOFED}"]
    expected = combine([LABELS[0], LABELS[1]], POLICY)  # not 3: IND may not read it
    assert spoof.get("access") == expected.marking
    assert spoof.get("type") == "a-s-S"  # the spoofing rule states a suspicion
    remarks = spoof.findtext("detail/remarks")
    assert remarks.startswith(expected.marking + " spoofing (jump) MMSI 366123456: 2 events")
    assert remarks.endswith("confidence 0.80")  # the strongest of the two it may read
    assert "TOP SECRET" not in etree.tostring(spoof).decode()
    meet = by_callsign["encounter MMSI 419000001 and MMSI 563000001"]
    assert meet.get("type") == "b-m-p-s-m"
    assert meet.get("access") == LABELS[0].marking
    assert "and MMSI 563000001" in meet.findtext("detail/remarks")
    # a reader cleared for all three sees all three, under their combination
    top = _incidents(_markers("USA:TS"))
    spoof_all = next(e for e in top.values() if "spoofing" in e.findtext("detail/remarks"))
    assert spoof_all.get("access") == combine([LABELS[0], LABELS[1], LABELS[3]], POLICY).marking
    assert ": 3 events" in spoof_all.findtext("detail/remarks")
    assert set(top) == set(found)  # the same incidents (ids from kind and vessel)


def test_incidents_only_on_request() -> None:
    assert not _incidents(_markers("IND:SECRET", incidents=False))


def test_a_reader_of_one_label_gets_incidents_of_that_label_only() -> None:
    seen = _incidents(_markers("JPN:U"))  # only label 0 (UNCLASSIFIED)
    assert len(seen) == 2
    assert all(e.get("access") == LABELS[0].marking for e in seen.values())
    remarks = [e.findtext("detail/remarks") for e in seen.values()]
    assert any(f"spoofing (jump) MMSI {SPOOFED}: 1 event (spoofing 1)" in r for r in remarks)


def test_summary_of_a_shared_mmsi() -> None:
    row = {
        "incident": "shared_mmsi",
        "mmsi": 412000001,
        "other_mmsi": None,
        "events": 3341,
        "vessels": 1,
        "by_type": json.dumps({"identity_change": 1866, "spoofing": 1475}),
        "details": json.dumps({"apart_m": 300_400.0}),
        "confidence": 1.0,
    }
    assert incident_summary(row) == (
        "shared_mmsi MMSI 412000001: 3341 events (identity_change 1866, spoofing 1475),"
        " 1 vessel, 300 km apart; confidence 1.00"
    )


def test_members_give_the_incidents_ids() -> None:
    table = _events()
    classified = classify(table)
    found = members(classified)
    assert set(found["incident_id"].to_pylist()) == set(
        incidents(table, classified=classified)["incident_id"].to_pylist()
    )
    by_event = {r["event_id"]: r["incident_id"] for r in found.to_pylist()}
    assert len({by_event[f"{i:032x}"] for i in range(3)}) == 1  # the three jumps: one
    assert by_event["e" * 32] != by_event[f"{0:032x}"]
    assert members(classified.slice(0, 0)).num_rows == 0
