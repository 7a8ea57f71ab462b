"""The API answers exactly what :class:`~seawatch.store.query.Query` answers for the same
reader, on every route, and never a record the reader's label denies: a hypothesis
property over readers x routes x parameters, against the live server. A route under
``/api/v1`` that this file does not check fails :func:`test_every_api_route_is_checked`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from apiclient import LABELS, READERS, Node, fetch_all, readable
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.labels import Reader, may_read, parse_label
from seawatch.serve.app import API_PREFIX
from seawatch.store.query import Query

BBOXES = (None, "80,5,95,22", "88,12,89,13", "0,0,1,1")
WINDOWS = (
    None,
    "2025-06-01T00:05:00Z/..",
    "../2025-06-01T00:10:00Z",
    "2025-06-01T00:03:00Z/2025-06-01T00:04:00Z",
)


def _window(text: str | None) -> tuple[datetime | None, datetime | None]:
    if text is None:
        return None, None
    a, _, b = text.partition("/")
    return (
        None if a == ".." else datetime.fromisoformat(a),
        None if b == ".." else datetime.fromisoformat(b),
    )


def _params(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v is not None}


def _box(text: str | None) -> tuple[float, ...] | None:
    return None if text is None else tuple(float(v) for v in text.split(","))


def _all_mmsis(node: Node) -> list[int]:
    with node.store.read_session() as s:
        q = Query(s, Reader.node_admin("test: vessels to ask for"))
        return [*sorted(set(q.latest().column("mmsi").to_pylist())), 123456789]


Check = Callable[[Node, str, Query, st.DataObject], None]


def check_positions(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    bbox, window = data.draw(st.sampled_from(BBOXES)), data.draw(st.sampled_from(WINDOWS))
    start, end = _window(window)
    with node.client(reader) as c:
        got = fetch_all(c, "/api/v1/positions", _params(bbox=bbox, datetime=window, limit=300))
    readable(got, q.reader, q.store.policy)
    want = q.positions(bbox=_box(bbox), start=start, end=end)  # type: ignore[arg-type]
    assert [r["msg_key"] for r in got] == want.column("msg_key").to_pylist()


def check_latest(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    bbox = data.draw(st.sampled_from(BBOXES))
    with node.client(reader) as c:
        got = fetch_all(c, "/api/v1/latest", _params(bbox=bbox, limit=7))
    readable(got, q.reader, q.store.policy)
    want = q.latest(bbox=_box(bbox))  # type: ignore[arg-type]
    assert [(r["mmsi"], r["msg_key"]) for r in got] == list(
        zip(want.column("mmsi").to_pylist(), want.column("msg_key").to_pylist(), strict=True)
    )


def check_events(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    bbox, window = data.draw(st.sampled_from(BBOXES)), data.draw(st.sampled_from(WINDOWS))
    start, end = _window(window)
    with node.client(reader) as c:
        got = fetch_all(c, "/api/v1/events", _params(bbox=bbox, datetime=window, limit=2))
    readable(got, q.reader, q.store.policy)
    want = q.events(bbox=_box(bbox), start=start, end=end)  # type: ignore[arg-type]
    assert [r["event_id"] for r in got] == want.column("event_id").to_pylist()


def check_zones(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    with node.client(reader) as c:
        got = fetch_all(c, "/api/v1/zones", {})
    readable(got, q.reader, q.store.policy)
    assert [r["zone_id"] for r in got] == q.zones().column("zone_id").to_pylist()


def check_vessels(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    with node.store.read_session() as s:
        admin = Query(s, Reader.node_admin("test: names to search for"))
        names = [n for n in admin.identities().column("name").to_pylist() if n]
    word = data.draw(st.sampled_from(names))
    text = data.draw(st.sampled_from([word, word[:3].lower(), word[-4:]]))
    with node.client(reader) as c:
        got = fetch_all(c, "/api/v1/vessels", {"q": text, "limit": 3})
    readable(got, q.reader, q.store.policy)
    want = set(q.vessels(name=text, limit=None).column("mmsi").to_pylist())
    want |= set(q.vessels(callsign=text, limit=None).column("mmsi").to_pylist())
    assert [r["mmsi"] for r in got] == sorted(want)


def check_identities(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    limit = data.draw(st.integers(1, 40))
    with node.client(reader) as c:
        got = fetch_all(c, "/api/v1/identities", {"limit": limit})
    readable(got, q.reader, q.store.policy)
    named = q.identities()
    assert sorted({r["mmsi"] for r in got}) == named.column("mmsi").to_pylist()
    untyped = [r["mmsi"] for r in named.to_pylist() if r["ship_type"] is None]
    typed = q.identities(untyped, typed=True).to_pylist() if untyped else []
    want = sorted(
        [(r["mmsi"], r["name"], r["ship_type"]) for r in named.to_pylist() + typed],
        key=str,
    )
    assert sorted([(r["mmsi"], r["name"], r["ship_type"]) for r in got], key=str) == want


def check_profile(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    mmsi = data.draw(st.sampled_from(_all_mmsis(node)))
    with node.client(reader) as c:
        r = c.get(f"/api/v1/vessels/{mmsi}")
    latest, events = q.latest(mmsi=mmsi), q.events(mmsi=mmsi)
    if latest.num_rows == 0 and events.num_rows == 0 and q.reports(mmsi).num_rows == 0:
        assert r.status_code == 404, r.text
        return
    assert r.status_code == 200, r.text
    body = r.json()
    readable([i for i in (body["latest"],) if i] + body["events"], q.reader, q.store.policy)
    readable(body["identities"], q.reader, q.store.policy)
    assert (body["latest"] or {}).get("msg_key") == (
        latest.column("msg_key")[0].as_py() if latest.num_rows else None
    )
    assert [e["event_id"] for e in body["events"]] == events.column("event_id").to_pylist()
    markings = {lb.marking for lb in q.labels().values()}
    assert {o["marking"] for o in body["origins"]} <= markings


def check_track(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    mmsi = data.draw(st.sampled_from(_all_mmsis(node)))
    with node.client(reader) as c:
        r = c.get(f"/api/v1/vessels/{mmsi}/track")
        if q.latest(mmsi=mmsi).num_rows == 0:
            assert r.status_code == 404, r.text
            return
        got = fetch_all(c, f"/api/v1/vessels/{mmsi}/track", {"limit": 50})
    readable(got, q.reader, q.store.policy)
    assert [p["msg_key"] for p in got] == q.track(mmsi).column("msg_key").to_pylist()


def check_situation(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    window = data.draw(st.sampled_from(WINDOWS))
    start, end = _window(window)
    with node.client(reader) as c:
        r = c.get("/api/v1/situation", params=_params(datetime=window))
    assert r.status_code == 200, r.text
    assert r.json()["total"] == q.events(start=start, end=end).num_rows


def check_me(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    with node.client(reader) as c:
        body = c.get("/api/v1/me").json()
    assert body["reader"] == str(q.reader)
    assert body["labels"] == [lb.marking for lb in q.labels().values()]


def _ids(node: Node, listing: str, column: str) -> list[str]:
    """Every id of ``listing`` (whatever its label), and one that does not exist."""
    with node.store.read_session() as s:
        got = getattr(Query(s, Reader.node_admin("test: ids to ask for")), listing)()
        return [*got.column(column).to_pylist(), "no-such-id"]


def check_alerts(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    bbox, window = data.draw(st.sampled_from(BBOXES)), data.draw(st.sampled_from(WINDOWS))
    acked = data.draw(st.sampled_from([None, True, False]))
    start, end = _window(window)
    params = _params(bbox=bbox, datetime=window, limit=40, acked=acked)
    with node.client(reader) as c:
        got = fetch_all(c, "/api/v1/alerts", params)
    readable(got, q.reader, q.store.policy)
    want = q.alerts(bbox=_box(bbox), start=start, end=end, acked=acked)  # type: ignore[arg-type]
    assert [a["alert_id"] for a in got] == want.column("alert_id").to_pylist()


def check_ack(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    alert_id = data.draw(st.sampled_from(_ids(node, "alerts", "alert_id")))
    with node.client(reader) as c:
        r = c.post(f"/api/v1/alerts/{alert_id}/ack")
    if q.alerts(alert_id=alert_id).num_rows == 0:
        assert r.status_code == 404, r.text
        return
    assert r.status_code == 200, r.text
    readable([r.json()["item"]], q.reader, q.store.policy)


def check_rules(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    with node.client(reader) as c:
        got = fetch_all(c, "/api/v1/alert-rules", {"limit": 2})
        readable(got, q.reader, q.store.policy)
        assert [r["rule_id"] for r in got] == q.alert_rules().column("rule_id").to_pylist()
        marking = data.draw(st.sampled_from(LABELS))
        r = c.post("/api/v1/alert-rules", json={"name": "p", "kind": "gap", "marking": marking})
        if not may_read(q.reader, parse_label(marking, q.store.policy), q.store.policy):
            assert r.status_code == 400, r.text
            return
        assert r.status_code == 201, r.text
        assert c.delete(f"/api/v1/alert-rules/{r.json()['item']['rule_id']}").status_code == 204


def check_rule(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    rule_id = data.draw(st.sampled_from(_ids(node, "alert_rules", "rule_id")))
    readable_rule = q.alert_rules(rule_id=rule_id).num_rows > 0
    with node.client(reader) as c:
        r = c.get(f"/api/v1/alert-rules/{rule_id}")
        assert r.status_code == (200 if readable_rule else 404), r.text
        if readable_rule:
            readable([r.json()["item"]], q.reader, q.store.policy)
        else:  # deleting what it cannot read: 404, and the rule stays
            assert c.delete(f"/api/v1/alert-rules/{rule_id}").status_code == 404


def check_areas(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    with node.client(reader) as c:
        got = fetch_all(c, "/api/v1/areas", {})
    readable(got, q.reader, q.store.policy)
    assert [a["zone_id"] for a in got] == q.zones(kind="area").column("zone_id").to_pylist()


def check_area(node: Node, reader: str, q: Query, data: st.DataObject) -> None:
    zone_id = data.draw(st.sampled_from(_ids(node, "zones", "zone_id")))
    visible = zone_id in q.zones().column("zone_id").to_pylist()
    with node.client(reader) as c:
        r = c.delete(f"/api/v1/areas/{zone_id}")
    assert r.status_code == (400 if visible else 404), r.text  # imported zones stay


CHECKS: dict[str, Check] = {
    "/api/v1/alerts": check_alerts,
    "/api/v1/alerts/{alert_id}/ack": check_ack,
    "/api/v1/alert-rules": check_rules,
    "/api/v1/alert-rules/{rule_id}": check_rule,
    "/api/v1/areas": check_areas,
    "/api/v1/areas/{zone_id}": check_area,
    "/api/v1/positions": check_positions,
    "/api/v1/latest": check_latest,
    "/api/v1/events": check_events,
    "/api/v1/zones": check_zones,
    "/api/v1/vessels": check_vessels,
    "/api/v1/identities": check_identities,
    "/api/v1/vessels/{mmsi}": check_profile,
    "/api/v1/vessels/{mmsi}/track": check_track,
    "/api/v1/situation": check_situation,
    "/api/v1/me": check_me,
}


def _api_paths(routes: Any, prefix: str = "") -> set[str]:
    """Paths of the API routes, through included routers (FastAPI >= 0.120 keeps them as
    routers with ``original_router``, mounted under :data:`API_PREFIX`)."""
    out: set[str] = set()
    for r in routes:
        if isinstance(r, APIRoute):
            out.add(prefix + r.path)
        elif getattr(r, "original_router", None) is not None:
            if r.original_router.prefix:  # /ogc (tests/serve/test_ogc.py), not the API
                continue
            out |= _api_paths(r.original_router.routes, API_PREFIX)
    return out


def test_every_api_route_is_checked(node: Node) -> None:
    no_records = {"/healthz", "/metrics"}  # operations: they hold no records
    # the web map's page, sign-in and banner marking: no records (checked in tests/web)
    no_records |= {"/", "/api/v1/session", "/api/v1/marking"}
    streams = {"/live/sse"}  # checked in test_live_ws.py
    api = {p for p in _api_paths(node.app.routes) if p not in no_records | streams}
    assert api - set(CHECKS) == set(), "add a check of these routes to CHECKS"
    assert set(CHECKS) - api == set()
    documented = {p for p in node.app.openapi()["paths"] if p.startswith(API_PREFIX)}
    assert documented - no_records == set(CHECKS)


@pytest.mark.slow
@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(reader=st.sampled_from(READERS), route=st.sampled_from(sorted(CHECKS)), data=st.data())
def test_route_answers_what_query_answers(node: Node, reader: str, route: str, data: Any) -> None:
    with node.store.read_session() as s:
        CHECKS[route](node, reader, Query(s, Reader.parse(reader, s.policy)), data)
