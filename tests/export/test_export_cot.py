"""Cursor-on-Target export: one event per vessel at its latest position or a marker per
event (suspect where the rule says so), valid against the packaged CoT 2.0 subset XSD,
uid/type/how/time/stale/point/track/contact/remarks, stale from the export's time, round
trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pytest
from exportdata import LABELS, POLICY, T0, events, positions
from lxml import etree

from seawatch.export.cot import KNOT_M_S, UNKNOWN, latest_per_vessel, read_cot, write_cot


def schema() -> etree.XMLSchema:
    path = resources.files("seawatch.export").joinpath("schemas/cot-event-seawatch.xsd")
    return etree.XMLSchema(etree.parse(str(path)))


def _write(tmp_path: Path, table: pa.Table, kind: str = "positions") -> Path:
    out = tmp_path / "vessels.cot"
    write_cot(table, LABELS, out, kind=kind, policy=POLICY, node_id="ifc-ior", stale_s=600)  # type: ignore[arg-type]
    return out


def test_one_valid_event_per_vessel(tmp_path: Path) -> None:
    out = _write(tmp_path, positions())
    lines = out.read_bytes().splitlines()
    assert len(lines) == 3
    xsd = schema()
    for line in lines:
        event = etree.fromstring(line)
        assert xsd.validate(event), xsd.error_log
    uids = [etree.fromstring(x).get("uid") for x in lines]
    assert uids == [
        "seawatch.ifc-ior.12345",
        "seawatch.ifc-ior.366123456",
        "seawatch.ifc-ior.419000001",
    ]


def test_event_contents(tmp_path: Path) -> None:
    back = read_cot(_write(tmp_path, positions())).to_pylist()
    by_uid = {r["uid"].rsplit(".", 1)[1]: r for r in back}
    ship = by_uid["366123456"]  # latest: the second report, 60 s later
    assert ship["type"] == "a-n-S"
    assert ship["how"] == "m-g"
    assert ship["time"] == ship["start"] == T0 + timedelta(seconds=60, microseconds=-456)
    assert ship["stale"] - ship["time"] == timedelta(seconds=600)
    assert (ship["lat"], ship["lon"]) == (18.91, 72.81)
    assert (ship["hae"], ship["ce"], ship["le"]) == (UNKNOWN, 10.0, UNKNOWN)
    assert ship["course_deg"] == 46.5
    assert ship["speed_m_s"] == pytest.approx(12.4 * 0.514444)
    assert ship["speed_kn"] == pytest.approx(12.4)
    assert ship["callsign"] == "EVER GIVEN"
    assert ship["label"] == ship["access"] == "SECRET//REL TO IND, USA"
    odd = by_uid["12345"]  # not a ship station's MMSI: unknown
    assert odd["type"] == "a-u-S"
    assert odd["label"] == "UNCLASSIFIED"
    indian = by_uid["419000001"]
    assert indian["callsign"] == "419000001"  # no name, no call sign: the MMSI
    assert indian["ce"] == UNKNOWN  # accuracy flag not set
    assert indian["label"] == "TOP SECRET//NOFORN"


def test_speed_conversion_constant() -> None:
    assert pytest.approx(1852 / 3600, abs=1e-6) == KNOT_M_S


def test_track_left_out_when_unknown(tmp_path: Path) -> None:
    table = positions().slice(4, 1)  # no speed, no course
    line = _write(tmp_path, table, "latest").read_bytes()
    event = etree.fromstring(line)
    assert event.find("detail/track") is None
    assert event.findtext("detail/remarks") == "SECRET//REL TO IND, USA"
    assert schema().validate(event)


def test_vessels_without_usable_position_left_out(tmp_path: Path) -> None:
    table = positions().slice(0, 2)
    table = table.set_column(3, "lat", pa.array([float("nan"), None], pa.float64()))
    assert _write(tmp_path, table).read_bytes() == b""


def test_call_sign_when_no_name(tmp_path: Path) -> None:
    table = positions().slice(2, 1).drop_columns(["name"])
    table = table.append_column("callsign", pa.array(["VWXY"]))
    assert read_cot(_write(tmp_path, table, "latest"))["callsign"].to_pylist() == ["VWXY"]


def test_events_as_markers_suspect_where_the_rule_says(tmp_path: Path) -> None:
    table = events()  # an encounter, an open gap without position, a loitering
    kinds = ["encounter", "gap", "spoofing"]
    table = table.set_column(1, "event_type", pa.array(kinds))
    table = table.append_column("name", pa.array(["EVER GIVEN", None, None]))
    out = _write(tmp_path, table, "events")
    lines = out.read_bytes().splitlines()
    assert len(lines) == 2  # the gap has no position: no marker
    xsd = schema()
    parsed = [etree.fromstring(x) for x in lines]
    for event in parsed:
        assert xsd.validate(event), xsd.error_log
    assert [e.get("uid") for e in parsed] == [
        f"seawatch.ifc-ior.event.{'a' * 32}",
        f"seawatch.ifc-ior.event.{'c' * 32}",
    ]
    # an encounter is a spot marker; spoofing's rule states a suspicion: a suspect track
    assert [e.get("type") for e in parsed] == ["b-m-p-s-m", "a-s-S"]
    back = read_cot(out).to_pylist()
    assert back[0]["callsign"] == "encounter EVER GIVEN (MMSI 366123456) and MMSI 419000001"
    t0 = T0.replace(microsecond=123000)  # CoT times: milliseconds
    assert back[0]["start"] == t0
    assert back[0]["stale"] == t0 + timedelta(hours=2, minutes=10)  # end + 600 s
    assert back[0]["label"].startswith("SECRET//REL TO IND, USA ")
    assert parsed[0].get("releasableTo") == "IND USA"
    assert back[1]["callsign"] == "spoofing MMSI 12345"


@pytest.mark.parametrize("kind", ["latest", "events"])
def test_stale_from_the_time_of_export(tmp_path: Path, kind: str) -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    table = positions() if kind == "latest" else events()
    out = tmp_path / "x.cot"
    write_cot(table, LABELS, out, kind=kind, policy=POLICY, node_id="n", stale_s=60, now=now)  # type: ignore[arg-type]
    back = read_cot(out).to_pylist()
    assert back
    for row in back:
        assert row["time"] == now
        assert row["stale"] == now + timedelta(seconds=60)
        assert row["start"] < now  # the data's own time
    for line in out.read_bytes().splitlines():
        assert schema().validate(etree.fromstring(line))


def test_latest_per_vessel() -> None:
    latest = latest_per_vessel(positions())
    assert latest["mmsi"].to_pylist() == [12345, 366123456, 419000001]
    assert latest["label_id"].to_pylist() == [0, 1, 3]


def test_callsign_is_escaped(tmp_path: Path) -> None:
    table = positions().slice(0, 1).set_column(11, "name", pa.array(['A&B <"C">\x1f']))
    out = _write(tmp_path, table, "latest")
    assert schema().validate(etree.fromstring(out.read_bytes()))
    assert read_cot(out)["callsign"].to_pylist() == ['A&B <"C">']
