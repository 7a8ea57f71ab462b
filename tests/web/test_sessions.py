"""Signing in to the web map: a token or a one-time link becomes an HttpOnly, SameSite=Strict
session cookie, which the API and /live accept as they accept a bearer token."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from webnode import WebNode
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from seawatch.cli.main import cli
from seawatch.errors import Unauthorized
from seawatch.serve.accounts import create_user, revoke_user
from seawatch.serve.sessions import COOKIE, create_link, redeem_link
from seawatch.settings import load_settings
from seawatch.store import open_store
from seawatch.store.tables import TABLES


def _sign_in(node: WebNode, body: dict[str, str]) -> httpx.Response:
    with httpx.Client(base_url=node.url, timeout=30) as c:
        return c.post("/api/v1/session", json=body)


def _cookie(resp: httpx.Response) -> str:
    assert resp.status_code == 204, resp.text
    header = resp.headers["set-cookie"]
    parts = {p.strip().split("=")[0].lower() for p in header.split(";")}
    assert {"httponly", "samesite", "path", "max-age"} <= parts
    assert "samesite=strict" in header.lower()
    return resp.cookies[COOKIE]


def test_a_token_signs_in_and_the_cookie_reads_as_its_reader(webnode: WebNode) -> None:
    sid = _cookie(_sign_in(webnode, {"token": webnode.tokens["JPN:SECRET"]}))
    assert webnode.tokens["JPN:SECRET"] not in sid
    with httpx.Client(base_url=webnode.url, cookies={COOKIE: sid}, timeout=30) as c:
        me = c.get("/api/v1/me").json()
        assert (me["nation"], me["clearance"]) == ("JPN", "SECRET")
        latest = c.get("/api/v1/latest", params={"limit": 10000}).json()
    with webnode.client("JPN:SECRET") as c:
        assert c.get("/api/v1/latest", params={"limit": 10000}).json() == latest
    assert {i["label"] for i in latest["items"]} == {"CONFIDENTIAL//REL TO IND, JPN"}


def test_a_bad_sign_in_is_a_401_with_the_reason(webnode: WebNode) -> None:
    r = _sign_in(webnode, {"token": "sw_0123456789abcdef_" + "A" * 43})
    assert r.status_code == 401
    assert r.json()["detail"] == "unknown token"
    assert "set-cookie" not in r.headers
    r = _sign_in(webnode, {"token": "x", "link": "y"})
    assert r.status_code == 400
    assert "exactly one" in r.json()["detail"]
    with httpx.Client(base_url=webnode.url, cookies={COOKIE: "forged"}, timeout=30) as c:
        r = c.get("/api/v1/me")
    assert r.status_code == 401
    assert "sign in again" in r.json()["detail"]


def test_sign_out_ends_the_session(webnode: WebNode) -> None:
    sid = _cookie(_sign_in(webnode, {"token": webnode.tokens["IND:SECRET"]}))
    with httpx.Client(base_url=webnode.url, cookies={COOKIE: sid}, timeout=30) as c:
        assert c.get("/api/v1/me").status_code == 200
        out = c.delete("/api/v1/session")
        assert out.status_code == 204
        assert COOKIE in out.headers["set-cookie"]
        c.cookies.set(COOKIE, sid)
        assert c.get("/api/v1/me").status_code == 401


def test_users_link_prints_a_one_time_link_alone_on_the_last_line(webnode: WebNode) -> None:
    res = CliRunner().invoke(
        cli,
        [
            "users",
            "link",
            webnode.users["JPN:SECRET"],
            "--base-url",
            webnode.url,
            "--db",
            str(webnode.db),
        ],
        env={"SEAWATCH_NODE_NATION": "IND"},
    )
    assert res.exit_code == 0, res.output
    link = res.output.strip().splitlines()[-1]
    assert link.startswith(f"{webnode.url}/#signin=swl_")
    code = link.split("#signin=", 1)[1]
    with webnode.app.state.seawatch.lock:  # the served node's connection: take its lock
        stored = webnode.store.backend.fetch(
            "SELECT * FROM signin_links", [], TABLES["signin_links"].arrow_schema()
        ).to_pylist()
    assert stored
    assert code.split("_", 2)[2] not in json.dumps(stored, default=str)  # only its hash
    sid = _cookie(_sign_in(webnode, {"link": code}))
    with httpx.Client(base_url=webnode.url, cookies={COOKIE: sid}, timeout=30) as c:
        assert c.get("/api/v1/me").json()["nation"] == "JPN"
    again = _sign_in(webnode, {"link": code})
    assert again.status_code == 401
    assert "already used" in again.json()["detail"]


def test_a_link_expires_after_ten_minutes_and_dies_with_its_user(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.duckdb", load_settings(env={"SEAWATCH_NODE_NATION": "IND"}))
    lock = threading.Lock()
    create_user(store, "ana", "IND:SECRET")
    old, expires = create_link(store, "ana", now=datetime.now(UTC) - timedelta(minutes=11))
    assert expires < datetime.now(UTC)
    with pytest.raises(Unauthorized, match="expired"):
        redeem_link(store, old, lock)
    fresh, _ = create_link(store, "ana")
    revoke_user(store, "ana")
    with pytest.raises(Unauthorized, match="revoked"):
        redeem_link(store, fresh, lock)
    with pytest.raises(Unauthorized, match="malformed"):
        redeem_link(store, "swl_nope", lock)
    store.close()


def test_live_accepts_the_session_cookie_from_the_node_s_own_pages(webnode: WebNode) -> None:
    sid = _cookie(_sign_in(webnode, {"token": webnode.tokens["IND:SECRET"]}))
    ws_url = webnode.url.replace("http://", "ws://") + "/live"
    headers = {"Cookie": f"{COOKIE}={sid}", "Origin": webnode.url}
    with connect(ws_url, additional_headers=headers, open_timeout=10) as ws:
        ws.send(json.dumps({"types": ["positions"]}))
        assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
    headers["Origin"] = "http://evil.example"
    with connect(ws_url, additional_headers=headers, open_timeout=10) as ws:
        answer = json.loads(ws.recv(timeout=10))
        assert answer["type"] == "error"
        assert "another site" in answer["detail"]
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    bad = {"Cookie": f"{COOKIE}=forged", "Origin": webnode.url}
    with connect(ws_url, additional_headers=bad, open_timeout=10) as ws:
        assert "sign in again" in json.loads(ws.recv(timeout=10))["detail"]


def test_a_cookie_s_change_from_another_site_s_page_is_refused(webnode: WebNode) -> None:
    sid = _cookie(_sign_in(webnode, {"token": webnode.tokens["IND:SECRET"]}))
    area = {
        "name": "csrf",
        "geometry": {"type": "Polygon", "coordinates": [[[80, 10], [81, 10], [81, 11], [80, 10]]]},
    }
    with httpx.Client(base_url=webnode.url, cookies={COOKIE: sid}, timeout=30) as c:
        evil = c.post("/api/v1/areas", json=area, headers={"Origin": "http://evil.example"})
        assert evil.status_code == 403
        assert "another site" in evil.json()["detail"]
        fetched = c.post("/api/v1/areas", json=area, headers={"Sec-Fetch-Site": "cross-site"})
        assert fetched.status_code == 403
        assert c.get("/api/v1/me", headers={"Origin": "http://evil.example"}).status_code == 200
        own = c.post("/api/v1/areas", json=area, headers={"Origin": webnode.url})
        assert own.status_code == 201, own.text
        c.delete(f"/api/v1/areas/{own.json()['item']['zone_id']}", headers={"Origin": webnode.url})
