"""The API's contract over HTTP, against the live server: who may call it, the problems it
answers with, markings, formats, pages, audit, and tokens kept out of logs."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta

import httpx
import pyarrow as pa
import pyarrow.ipc
import pytest
from apiclient import MARKING, Node

from seawatch.labels import Reader
from seawatch.serve.accounts import create_user, revoke_user
from seawatch.serve.audit import audit_rows
from seawatch.store.query import Query

PROBLEM = "application/problem+json"


def _problem(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "instance"} <= set(body)
    detail: str = body["detail"]
    return detail


def test_health_is_anonymous_and_the_api_is_not(node: Node) -> None:
    with node.client() as c:
        assert c.get("/healthz").json()["status"] == "ok"
        assert "/api/v1/positions" in c.get("/openapi.json").json()["paths"]
        for path in ("/api/v1/me", "/api/v1/positions", "/api/v1/vessels?q=x", "/api/v1/zones"):
            r = c.get(path)
            assert "missing token" in _problem(r, 401)
            assert r.headers["www-authenticate"].startswith("Bearer")


def test_bad_unknown_revoked_and_expired_tokens_say_why(node: Node) -> None:
    lock = node.app.state.seawatch.lock
    with lock:
        _, revoked = create_user(node.store, "gone", "IND:SECRET")
        revoke_user(node.store, "gone")
        _, expired = create_user(
            node.store, "late", "IND:SECRET", expires_at=datetime.now(UTC) + timedelta(hours=1)
        )
        node.store.backend.execute(
            "UPDATE users SET expires_at = ? WHERE name = 'late'",
            (datetime.now(UTC) - timedelta(minutes=1),),
        )
    cases = {
        "garbage": "malformed token",
        "sw_0123456789abcdef_" + "A" * 43: "unknown token",
        revoked: "token revoked at",
        expired: "token expired at",
    }
    with node.client() as c:
        for token, reason in cases.items():
            r = c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert reason in _problem(r, 401)


def test_unknown_parameter_is_named(node: Node) -> None:
    with node.client("IND:SECRET") as c:
        detail = _problem(c.get("/api/v1/positions", params={"bbox": "80,5,95,22", "bobx": 1}), 400)
        assert "unknown query parameter bobx" in detail
        assert "bbox" in detail
        assert "unknown event type teleport" in _problem(
            c.get("/api/v1/events", params={"type": "teleport"}), 400
        )


@pytest.mark.parametrize(
    ("bbox", "rule"),
    [
        ("1,2,3", "give four numbers"),
        ("a,b,c,d", "give four numbers"),
        ("0,95,1,96", "min_lat 95 is above 90; did you swap"),
        ("10,20,5,30", "min_lon 10 > max_lon 5"),
        ("0,30,1,20", "min_lat 30 > max_lat 20"),
    ],
)
def test_bad_bbox_names_the_rule(node: Node, bbox: str, rule: str) -> None:
    with node.client("IND:SECRET") as c:
        assert rule in _problem(c.get("/api/v1/latest", params={"bbox": bbox}), 400)


def test_other_problems(node: Node) -> None:
    with node.client("IND:SECRET") as c:
        assert "no vessel with MMSI 1 " in _problem(c.get("/api/v1/vessels/1"), 404)
        r = c.post("/api/v1/positions")
        _problem(r, 405)
        assert r.headers["allow"] == "GET"
        assert "limit" in _problem(c.get("/api/v1/positions", params={"limit": 10_001}), 400)
        assert "datetime" in _problem(c.get("/api/v1/positions", params={"datetime": "x"}), 400)
        assert "time zone" in _problem(
            c.get("/api/v1/positions", params={"datetime": "2025-06-01T00:00:00/.."}), 400
        )
        assert "cursor" in _problem(c.get("/api/v1/positions", params={"cursor": "zz"}), 400)
        assert "only in json" in _problem(c.get("/api/v1/zones", params={"f": "csv"}), 400)
        assert "unknown export format" in _problem(
            c.get("/api/v1/positions", params={"f": "xls"}), 400
        )
        _problem(c.get("/api/v1/positions", headers={"Accept": "image/png"}), 406)
        _problem(c.get("/api/v1/nothing"), 404)


def test_marking_of_what_the_answer_holds(node: Node) -> None:
    with node.client("IND:SECRET") as c:
        both = c.get("/api/v1/positions", params={"limit": 10_000})
    with node.client("USA:SECRET") as c:
        one = c.get("/api/v1/positions", params={"limit": 10_000})
    with node.client("USA:UNCLASSIFIED") as c:
        none = c.get("/api/v1/positions")
    assert both.headers[MARKING].startswith("SECRET")
    assert one.headers[MARKING] == "CONFIDENTIAL//REL TO IND, USA"
    assert {i["label"] for i in one.json()["items"]} == {"CONFIDENTIAL//REL TO IND, USA"}
    assert none.json()["items"] == []
    assert none.headers[MARKING] == none.json()["marking"]


def test_formats_by_f_and_accept(node: Node) -> None:
    with node.client("USA:SECRET") as c:
        geo = c.get("/api/v1/latest", params={"f": "geojson"})
        assert geo.headers["content-type"].startswith("application/geo+json")
        assert geo.json()["type"] == "FeatureCollection"
        assert geo.headers[MARKING] == "CONFIDENTIAL//REL TO IND, USA"
        csv = c.get("/api/v1/positions", params={"limit": 5}, headers={"Accept": "text/csv"})
        assert csv.headers["content-type"].startswith("text/csv")
        assert len(csv.text.strip().splitlines()) == 6
        arrow = c.get("/api/v1/events", params={"f": "arrow"})
        table = pa.ipc.open_file(io.BytesIO(arrow.content)).read_all()
        kml = c.get("/api/v1/latest", headers={"Accept": "application/vnd.google-earth.kml+xml"})
        assert b"<kml" in kml.content
        parquet = c.get("/api/v1/vessels", params={"q": "a", "f": "parquet"})
        assert parquet.content[:4] == b"PAR1"
        as_json = c.get("/api/v1/events", params={"limit": 10_000}).json()["items"]
    assert table.num_rows == len(as_json)


def test_pages_and_audit(node: Node) -> None:
    with node.client("IND:CONFIDENTIAL") as c:
        first = c.get("/api/v1/positions", params={"limit": 10, "bbox": "80,5,95,22"})
        assert first.json()["next"] is not None
        second = c.get(first.json()["next"])
        assert second.status_code == 200
    with node.store.read_session() as s:
        audit = audit_rows(s).to_pylist()
    mine = [a for a in audit if a["user_name"] == "u2" and a["route"] == "/api/v1/positions"]
    assert mine[-2]["query"] == "limit=10&bbox=80%2C5%2C95%2C22"
    assert [a["rows"] for a in mine[-2:]] == [10, 10]
    assert mine[-1]["markings"] == "CONFIDENTIAL//REL TO IND, USA"
    assert "cursor=" in mine[-1]["query"]


def test_tokens_never_in_logs_or_reprs(node: Node, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = node.tokens["IND:SECRET"]
    with node.client("IND:SECRET") as c:
        c.get("/api/v1/me")
        c.get("/api/v1/positions", params={"bbox": "1,2,3"})
    with node.client() as c:
        c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}x"})
    secret = token.split("_", 2)[2]
    assert secret not in caplog.text
    with node.store.read_session() as s:
        q = Query(s, Reader.parse("IND:S", s.policy))
        assert secret not in repr(q)
        assert secret not in str(audit_rows(s).to_pylist())


def test_nan_and_infinities_are_json_null() -> None:
    from seawatch.serve.render import jsonable

    assert jsonable({"a": float("nan"), "b": [float("inf"), 1.5], "c": -float("inf")}) == {
        "a": None,
        "b": [None, 1.5],
        "c": None,
    }
