"""CoT markers of events and fired alerts (serve/cot_markers.py): type by kind, the marking
in ``access``, ``caveat``/``releasableTo`` and ``<remarks>``, times, escaping, and no
marker without a position."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from seawatch.labels import parse_label
from seawatch.serve.cot_markers import ALERT_TYPES, alert_line, event_line
from seawatch.settings import load_settings
from seawatch.store import open_store

TS = datetime(2025, 6, 1, 2, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Any:
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with open_store(tmp_path_factory.mktemp("p") / "n.duckdb", settings) as store:
        return store.policy


def _alert(kind: str, **more: Any) -> dict[str, Any]:
    row = {"alert_id": "a1", "rule_name": 'Port <Blair> & "east"', "kind": kind}
    return row | {"mmsi": 419000001, "other_mmsi": None, "lat": 11.5, "lon": 92.75, "ts": TS} | more


@pytest.mark.parametrize(
    ("kind", "cot_type", "emergency"),
    [
        ("zone_entry", "b-a-g", "Geo-fence Breached"),
        ("zone_exit", "b-a-g", "Geo-fence Breached"),
        ("gap", "b-a-o-c", "Custom"),
        ("encounter", "b-a-o-c", "Custom"),
        ("loitering", "b-a-o-c", "Custom"),
        ("watchlist", "b-a-o-c", "Custom"),
    ],
)
def test_an_alert_is_an_alarm_marker(kind: str, cot_type: str, emergency: str, policy: Any) -> None:
    label = parse_label("SECRET//LIMDIS//REL TO IND, USA", policy)
    line = alert_line(_alert(kind), label, "node1", 600)
    assert line is not None
    assert line.endswith("\n")
    assert line.count("\n") == 1  # one event a line
    e = ET.fromstring(line)
    assert e.get("type") == cot_type != "b-a-o-tbl"  # never ATAK's 911 alert
    assert e.get("uid") == "seawatch.node1.alert.a1"
    assert e.get("time") == e.get("start") == "2025-06-01T02:30:00.000Z"
    assert e.get("stale") == "2025-06-01T02:40:00.000Z"
    assert e.get("access") == label.marking
    assert e.get("caveat") == "LIMDIS"
    assert e.get("releasableTo") == "IND USA"
    assert e.findtext("detail/emergency") == 'Port <Blair> & "east"'
    detail_emergency = e.find("detail/emergency")
    assert detail_emergency is not None
    assert detail_emergency.get("type") == emergency
    remarks = e.findtext("detail/remarks") or ""
    assert remarks.startswith(f"{label.marking} Port <Blair>")
    assert f"{kind} MMSI 419000001" in remarks
    point = e.find("point")
    assert point is not None
    assert (point.get("lat"), point.get("lon")) == ("11.5", "92.75")
    if kind in ALERT_TYPES:
        assert ALERT_TYPES[kind][0] == cot_type


@pytest.mark.parametrize(
    "where", [{"lat": None}, {"lon": None}, {"lat": 91.0}, {"lon": float("nan")}]
)
def test_no_marker_without_a_position(where: dict[str, Any], policy: Any) -> None:
    label = parse_label("SECRET", policy)
    assert alert_line(_alert("watchlist", **where), label, "n", 60) is None
    event = {"event_id": "e1", "event_type": "gap", "mmsi": 1, "start_ts": TS, "end_ts": None}
    assert event_line(event | {"lat": 1.0, "lon": 2.0} | where, label, "n", 60) is None


def test_an_event_marker(policy: Any) -> None:
    label = parse_label("SECRET", policy)
    row = {"event_id": "e1", "event_type": "encounter", "mmsi": 1, "other_mmsi": 2}
    row |= {
        "start_ts": TS,
        "end_ts": datetime(2025, 6, 1, 3, 0, tzinfo=UTC),
        "lat": 1.0,
        "lon": 2.0,
    }
    line = event_line(row, label, "n", 60)
    assert line is not None
    e = ET.fromstring(line)
    assert (e.get("type"), e.get("uid"), e.get("how")) == (
        "b-m-p-s-m",
        "seawatch.n.event.e1",
        "m-f",
    )
    assert e.get("stale") == "2025-06-01T03:01:00.000Z"
    assert e.get("caveat") is None
    assert e.get("releasableTo") is None
    assert e.findtext("detail/remarks") == f"{label.marking} encounter MMSI 1 and MMSI 2"
