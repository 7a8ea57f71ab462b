"""``?f=cot`` of the HTTP API with ``?stale_from=data|export``, through a real uvicorn
server (the ``node`` fixture): the CoT parsed, stale from the data's time or from the time
of the answer, suspect events typed as the export types them, nothing the reader may not
read, and an unknown value a 400 problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import pyarrow as pa
import pytest
from apiclient import LABELS, MARKING, READERS, Node

from seawatch.export.cot_markers import SUSPECT_EVENTS, event_cot_type
from seawatch.labels import Reader, combine, may_read, parse_label
from seawatch.store.tables import TABLES

STALE_S = 600.0  # the node's cot_stale_s (the default)
ROUTES = ("/api/v1/latest", "/api/v1/positions", "/api/v1/events")
T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def _events(node: Node) -> None:
    """Events under both labels (the simulated 20 minutes have none): a spoofed MMSI's jumps
    (one under each label), an encounter and a loitering."""
    a, b = (node.store.label_id(parse_label(m, node.store.policy)) for m in LABELS)
    rows = [
        ("s1", "spoofing", 0, 211000001, None, a),
        ("s2", "spoofing", 30, 211000001, None, b),
        ("m1", "encounter", 10, 211000002, 211000003, a),
        ("l1", "loitering", 20, 211000004, None, b),
    ]
    e = [
        {
            "event_id": i,
            "event_type": kind,
            "start_ts": T0 + timedelta(minutes=m),
            "end_ts": T0 + timedelta(minutes=m + 5),
            "mmsi": mmsi,
            "other_mmsi": other,
            "lat": 12.0,
            "lon": 80.0 + m / 10,
            "confidence": 1.0,
            "details": '{"rule": "jump"}' if kind == "spoofing" else "{}",
            "label_id": lb,
        }
        for i, kind, m, mmsi, other, lb in rows
    ]
    with node.app.state.seawatch.lock:
        node.store.write("events", pa.Table.from_pylist(e, TABLES["events"].arrow_schema()))


def _when(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _cot(node: Node, reader: str, path: str, **params: str) -> list[ET.Element]:
    with node.client(reader) as c:
        got = c.get(path, params={"f": "cot", "limit": "1000", **params})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/xml")
    assert got.headers[MARKING]
    return [ET.fromstring(line) for line in got.content.splitlines() if line.strip()]


@pytest.mark.parametrize("path", ROUTES)
def test_stale_from_the_data(node: Node, path: str) -> None:
    for stale_from in ({}, {"stale_from": "data"}):
        found = _cot(node, "IND:SECRET", path, **stale_from)
        assert found
        for e in found:
            assert _when(e.get("time")) == _when(e.get("start"))
            stale = _when(e.get("stale"))
            if path != "/api/v1/events":  # an event's stale: its end + cot_stale_s
                assert stale == _when(e.get("start")) + timedelta(seconds=STALE_S)


@pytest.mark.parametrize("path", ROUTES)
def test_stale_from_the_time_of_the_answer(node: Node, path: str) -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    found = _cot(node, "IND:SECRET", path, stale_from="export")
    after = datetime.now(UTC) + timedelta(milliseconds=1)
    assert found
    for e in found:
        now = _when(e.get("time"))
        assert before <= now <= after
        assert _when(e.get("stale")) == now + timedelta(seconds=STALE_S)
        assert _when(e.get("start")) <= now  # the data's own time, as it was


def test_a_vessel_track_too(node: Node) -> None:
    latest = _cot(node, "USA:SECRET", "/api/v1/latest")
    mmsi = latest[0].get("uid", "").rsplit(".", 1)[1]
    found = _cot(node, "USA:SECRET", f"/api/v1/vessels/{mmsi}/track", stale_from="export")
    assert [e.get("uid", "").rsplit(".", 1)[1] for e in found] == [mmsi]
    assert _when(found[0].get("time")) > _when(found[0].get("start"))


@pytest.mark.parametrize("reader", ["IND:SECRET", "USA:SECRET", "USA:UNCLASSIFIED"])
def test_event_markers_typed_and_readable(node: Node, reader: str) -> None:
    policy = node.store.policy
    who = Reader.parse(reader, policy)
    found = _cot(node, reader, "/api/v1/events", stale_from="export")
    with node.client(reader) as c:
        listed = c.get("/api/v1/events", params={"limit": "1000"}).json()["items"]
    by_id = {str(e["event_id"]): e for e in listed}
    assert len(found) == {"IND:SECRET": 4, "USA:SECRET": 2, "USA:UNCLASSIFIED": 0}[reader]
    for e in found:
        assert ".event." in e.get("uid", "")
        row = by_id[e.get("uid", "").split(".event.")[1]]
        assert e.get("type") == event_cot_type(row)
        assert (e.get("type") == "a-s-S") == (row["event_type"] in SUSPECT_EVENTS)
        marking = e.get("access")
        assert marking is not None
        assert may_read(who, parse_label(marking, policy), policy), marking


@pytest.mark.parametrize("value", ["now", "", "EXPORT"])
def test_an_unknown_stale_from_is_a_400_problem(node: Node, value: str) -> None:
    with node.client("IND:SECRET") as c:
        got = c.get("/api/v1/latest", params={"f": "cot", "stale_from": value})
    assert got.status_code == 400
    assert got.headers["content-type"].startswith("application/problem+json")
    assert "stale_from" in got.json()["detail"]


def test_situation_as_incident_markers_of_what_the_reader_may_read(node: Node) -> None:
    policy = node.store.policy
    a, b = (parse_label(m, policy) for m in LABELS)
    seen = {}
    for reader in ("IND:SECRET", "USA:SECRET"):
        with node.client(reader) as c:
            got = c.get("/api/v1/situation", params={"f": "cot", "stale_from": "export"})
        assert got.status_code == 200, got.text
        assert got.headers["content-type"].startswith("application/xml")
        found = [ET.fromstring(line) for line in got.content.splitlines()]
        assert all(".incident." in e.get("uid", "") for e in found)
        seen[reader] = {e.find("detail/contact").get("callsign"): e for e in found}  # type: ignore[union-attr]
    ind, usa = seen["IND:SECRET"], seen["USA:SECRET"]
    spoof = "spoofing (jump) MMSI 211000001"
    assert set(ind) == {
        spoof,
        "encounter MMSI 211000002 and MMSI 211000003",
        "loitering MMSI 211000004",
    }
    assert set(usa) == {spoof, "encounter MMSI 211000002 and MMSI 211000003"}
    both = combine([a, b], policy).marking
    assert ind[spoof].get("access") == both
    assert ind[spoof].get("type") == usa[spoof].get("type") == "a-s-S"
    assert ": 2 events" in (ind[spoof].findtext("detail/remarks") or "")
    # USA may read only the jump under A: the incident says so, and nothing of B
    assert usa[spoof].get("access") == a.marking
    assert (usa[spoof].findtext("detail/remarks") or "").startswith(
        f"{a.marking} {spoof}: 1 event (spoofing 1)"
    )
    for e in usa.values():
        assert b.marking not in ET.tostring(e).decode()
        assert e.get("type") in ("a-s-S", "b-m-p-s-m")
    assert usa["encounter MMSI 211000002 and MMSI 211000003"].get("type") == "b-m-p-s-m"
    with node.client("USA:SECRET") as c:
        assert c.get("/api/v1/situation").json()["marking"]  # json stays the default
        bad = c.get("/api/v1/situation", params={"f": "kml"})
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("reader", READERS)
def test_every_incident_marker_is_readable_by_its_reader(node: Node, reader: str) -> None:
    """Each incident marker's label may be read by the reader, and counts no more events
    than the reader may read of its vessel."""
    policy = node.store.policy
    who = Reader.parse(reader, policy)
    with node.client(reader) as c:
        got = c.get("/api/v1/situation", params={"f": "cot"})
        listed = c.get("/api/v1/events", params={"limit": "1000"}).json()["items"]
    assert got.status_code == 200, got.text
    for line in got.content.splitlines():
        e = ET.fromstring(line)
        marking = e.get("access") or ""
        assert may_read(who, parse_label(marking, policy), policy), marking
        remarks = e.findtext("detail/remarks") or ""
        mmsi = int(remarks.split(" MMSI ")[1].split()[0].rstrip(":"))
        count = int(remarks.split(": ")[1].split(" event")[0])
        assert count <= sum(1 for x in listed if x["mmsi"] == mmsi)
