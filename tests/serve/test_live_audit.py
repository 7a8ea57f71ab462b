"""Stream subscriptions in the audit trail: a real uvicorn server, real WebSocket and SSE
clients; each subscription is one audit row (who, route, the subscription as the query,
rows sent, their combined marking) written when the client leaves, and more rows while it
stays when records flow (every ``AUDIT_EVERY_S``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from test_live_ws import WEST, _connect, _drain, _ingest, _subscribe, live  # noqa: F401

from seawatch.export.common import marking_of
from seawatch.serve import live as live_module
from seawatch.serve.audit import audit_rows
from seawatch.store import Store


def _audit(app: Any, store: Store, route: str, user: str) -> list[dict[str, Any]]:
    with app.state.seawatch.lock:
        rows = audit_rows(store).to_pylist()
    return [r for r in rows if r["route"] == route and r["user_name"] == user]


def _wait_for(fn: Any, timeout_s: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (got := fn()):
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)
    return got


def test_a_websocket_subscription_is_audited_when_it_ends(
    live: tuple[Any, Store, str, dict],  # noqa: F811
    tmp_path: Path,
) -> None:
    app, store, url, tokens = live
    before = len(_audit(app, store, "/live", "u0"))
    with _connect(url, tokens["IND:SECRET"]) as ws:
        assert _subscribe(ws, {"bbox": [WEST]})["type"] == "subscribed"
        _ingest(app, store, tmp_path)
        frames = _drain(ws)
        assert len(_audit(app, store, "/live", "u0")) == before  # not yet: every 60 s
    got = [i for f in frames if f["type"] in ("positions", "events") for i in f["items"]]
    assert got
    rows = _wait_for(lambda: _audit(app, store, "/live", "u0")[before:])
    assert len(rows) == 1
    (row,) = rows
    assert json.loads(row["query"])["bbox"] == [WEST]
    assert row["rows"] == len(got)
    with app.state.seawatch.lock, store.read_session() as s:
        labels = s.labels()
    ids = [i for i, lb in labels.items() if lb.marking in {g["label"] for g in got}]
    want = marking_of(pa.table({"label_id": pa.array(ids, pa.int32())}), labels, store.policy)
    assert row["markings"] == want.overall.marking


def test_a_subscription_that_stays_is_audited_while_records_flow(
    live: tuple[Any, Store, str, dict],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, store, url, tokens = live
    monkeypatch.setattr(live_module, "AUDIT_EVERY_S", 0.0)
    before = len(_audit(app, store, "/live", "u1"))
    with _connect(url, tokens["USA:SECRET"]) as ws:
        assert _subscribe(ws, {"types": ["positions"]})["type"] == "subscribed"
        _ingest(app, store, tmp_path)
        frames = _drain(ws)
        sent = sum(len(f["items"]) for f in frames if f["type"] == "positions")
        assert sent
        rows = _wait_for(lambda: _audit(app, store, "/live", "u1")[before:])
        assert all(r["rows"] > 0 for r in rows)  # while connected: only when rows went out
    rows = _wait_for(lambda: len(_audit(app, store, "/live", "u1")) > len(rows) + before)
    rows = _audit(app, store, "/live", "u1")[before:]
    assert sum(r["rows"] for r in rows) == sent
    assert rows[-1]["rows"] == 0  # the row written when it left: nothing more sent


def test_an_sse_subscription_is_audited_when_it_ends(
    live: tuple[Any, Store, str, dict],  # noqa: F811
    tmp_path: Path,
) -> None:
    app, store, url, tokens = live
    base = url.replace("ws://", "http://")
    auth = {"Authorization": f"Bearer {tokens['USA:SECRET']}"}
    before = len(_audit(app, store, "/live/sse", "u1"))
    params = {"bbox": ",".join(map(str, WEST)), "types": "positions"}
    with (
        httpx.Client(base_url=base, headers=auth, timeout=httpx.Timeout(10, read=1.0)) as http,
        http.stream("GET", "/live/sse", params=params) as r,
    ):
        assert r.status_code == 200
        _ingest(app, store, tmp_path)
        text = ""
        try:
            for chunk in r.iter_text():
                text += chunk
        except httpx.ReadTimeout:
            pass
    items = [
        i
        for line in text.splitlines()
        if line.startswith("data: ") and '"positions"' in line[:40]
        for i in json.loads(line[6:])["items"]
    ]
    assert items
    rows = _wait_for(lambda: _audit(app, store, "/live/sse", "u1")[before:])
    assert len(rows) == 1
    assert rows[0]["rows"] == len(items)
    assert json.loads(rows[0]["query"])["types"] == ["positions"]
