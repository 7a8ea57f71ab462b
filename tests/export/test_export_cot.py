"""Cursor-on-Target export: one event per vessel at its latest position, valid against the
packaged CoT 2.0 subset XSD, uid/type/how/time/stale/point/track/contact/remarks, round trip."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pytest
from exportdata import LABELS, POLICY, T0, events, positions
from lxml import etree

from seawatch.errors import InputError
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


def test_events_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="carries vessels"):
        _write(tmp_path, events(), "events")


def test_latest_per_vessel() -> None:
    latest = latest_per_vessel(positions())
    assert latest["mmsi"].to_pylist() == [12345, 366123456, 419000001]
    assert latest["label_id"].to_pylist() == [0, 1, 3]


def test_callsign_is_escaped(tmp_path: Path) -> None:
    table = positions().slice(0, 1).set_column(11, "name", pa.array(['A&B <"C">\x1f']))
    out = _write(tmp_path, table, "latest")
    assert schema().validate(etree.fromstring(out.read_bytes()))
    assert read_cot(out)["callsign"].to_pylist() == ['A&B <"C">']
