"""Alerts on the live stream: rules made through the API fire as two feeds are ingested
(as ``seawatch serve --tcp`` does), and each WebSocket client receives exactly the alerts
its reader may read (those ``Query`` gives it), inside the areas it subscribed to; an area
it may not read, or that does not exist, is refused with the reason."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import shapely
from apiclient import LABELS, Served, readable
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import ClientConnection, connect

from seawatch.engine.ingest import Ingest, ingest
from seawatch.labels import Reader, parse_label
from seawatch.serve.accounts import create_user
from seawatch.serve.app import create_app
from seawatch.settings import load_settings
from seawatch.sim.synth import write_sample
from seawatch.store import Store, open_store
from seawatch.store.query import Query

READERS = ("IND:SECRET", "USA:SECRET")
ENV = {"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_API_RATE_PER_S": "1e6"}
WEST = [[80.0, 2.0], [87.0, 2.0], [87.0, 20.0], [80.0, 20.0], [80.0, 2.0]]


@pytest.fixture(scope="module", params=[False, True], ids=["in-process", "child-process"])
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Store, str, dict]]:
    """A node serving; its live ingest's detectors in process, or in a child process
    (``live_detect_process``: the param, which the ingest of the test reads)."""
    tmp = tmp_path_factory.mktemp("live-alerts")
    store = open_store(tmp / "node.duckdb", load_settings(env=ENV))
    tokens = {r: create_user(store, f"u{i}", r)[1] for i, r in enumerate(READERS)}
    app = create_app(store, load_settings(env=ENV))
    with Served(app) as url:
        yield app, store, url, tokens
    store.close()


def _connect(url: str, token: str) -> ClientConnection:
    ws_url = url.replace("http://", "ws://") + "/live"
    return connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"})


def _client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})


def _area(name: str, marking: str) -> dict[str, Any]:
    return {
        "name": name,
        "marking": marking,
        "geometry": {"type": "Polygon", "coordinates": [WEST]},
    }


def _drain(ws: ClientConnection, quiet_s: float = 1.5) -> list[dict[str, Any]]:
    frames = []
    with contextlib.suppress(TimeoutError):
        while True:
            frames.append(json.loads(ws.recv(timeout=quiet_s)))
    return frames


def _feeds(tmp: Path) -> tuple[list[Path], list[int]]:
    """Two feeds and the MMSIs they hold (ingested into a scratch store to see)."""
    feeds = [tmp / f"feed{seed}.nmea" for seed in (5, 6)]
    for seed, feed in zip((5, 6), feeds, strict=True):
        write_sample(feed, vessels=12, minutes=20, seed=seed)
    scout = open_store(tmp / "scout.duckdb", load_settings(env=ENV))
    ingest(scout, feeds, load_settings(env=ENV))
    mmsis = Query(scout, Reader.node_admin("test: vessels to watch")).latest()["mmsi"]
    scout.close()
    return feeds, sorted(set(mmsis.to_pylist()))


def test_alerts_reach_the_clients_allowed_inside_their_areas(
    served: tuple[Any, Store, str, dict], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    app, store, url, tokens = served
    elsewhere = request.node.callspec.params["served"]  # the detectors in a child process
    feeds, mmsis = _feeds(tmp_path)
    with _client(url, tokens["IND:SECRET"]) as c:
        area = c.post("/api/v1/areas", json=_area("west", LABELS[0]))
        assert area.status_code == 201, area.text
        area_id = area.json()["item"]["zone_id"]
        for marking in LABELS:  # the same watchlist under each label
            body = {"name": marking, "kind": "watchlist", "mmsi": mmsis, "rearm_h": 0.05,
                    "marking": marking}  # fmt: skip
            assert c.post("/api/v1/alert-rules", json=body).status_code == 201
    subs = {
        "ind": ("IND:SECRET", {"types": ["alerts"]}),
        "usa": ("USA:SECRET", {"types": ["alerts", "positions"]}),
        "ind-west": ("IND:SECRET", {"types": ["alerts"], "areas": [area_id]}),
    }
    clients = {}
    with contextlib.ExitStack() as stack:
        for name, (reader, sub) in subs.items():
            ws = stack.enter_context(_connect(url, tokens[reader]))
            ws.send(json.dumps(sub))
            ack = json.loads(ws.recv(timeout=5))
            assert ack["type"] == "subscribed", ack
            clients[name] = ws
        settings = load_settings(env=ENV)
        for feed, marking in zip(feeds, LABELS, strict=True):
            label = parse_label(marking, store.policy)
            with app.state.seawatch.lock:
                session = Ingest(store, settings, detect=True, label=label,
                                 sinks=[app.state.subscribers],
                                 detect_process=elsewhere)  # fmt: skip
                session.add([feed])
                session.finish()
        got = {name: _drain(ws) for name, ws in clients.items()}
    west = shapely.Polygon(WEST)
    for name, (reader_text, sub) in subs.items():
        reader = Reader.parse(reader_text, store.policy)
        alerts = [i for f in got[name] if f["type"] == "alerts" for i in f["items"]]
        readable(alerts, reader, store.policy)
        with app.state.seawatch.lock:  # the server writes audit rows on the store meanwhile
            want = Query(store, reader).alerts().to_pylist()
        if "areas" in sub:
            want = [a for a in want if west.intersects(shapely.Point(a["lon"], a["lat"]))]
        assert sorted(a["alert_id"] for a in alerts) == sorted(a["alert_id"] for a in want), name
        assert want, name
    with _client(url, tokens["IND:SECRET"]) as c:  # the operations view of the same
        metrics = {
            s.name: s.value
            for family in text_string_to_metric_families(c.get("/metrics").text)
            for s in family.samples
        }
    with app.state.seawatch.lock:
        fired = Query(store, Reader.node_admin("test: every alert")).alerts().num_rows
    assert metrics["seawatch_alerts_fired_total"] == fired
    assert metrics["seawatch_ingest_lag_seconds"] > 0  # the sample's times are in the past
    usa_ids = {a["alert_id"] for f in got["usa"] if f["type"] == "alerts" for a in f["items"]}
    ind_ids = {a["alert_id"] for f in got["ind"] for a in f["items"]}
    assert usa_ids < ind_ids  # the SECRET//NOFORN rule's and feed's alerts are IND's only


@pytest.mark.parametrize("areas", [["no-such-area"], [""], "west"])
def test_an_area_the_reader_cannot_use_is_refused(
    served: tuple[Any, Store, str, dict], areas: Any
) -> None:
    _, _, url, tokens = served
    with _client(url, tokens["IND:SECRET"]) as c:
        secret = c.post("/api/v1/areas", json=_area("secret", "SECRET//REL TO IND"))
    for ask in (areas, [secret.json()["item"]["zone_id"]]):
        with _connect(url, tokens["USA:SECRET"]) as ws:
            ws.send(json.dumps({"areas": ask}))
            msg = json.loads(ws.recv(timeout=5))
            assert msg["type"] == "error", msg
            assert "areas" in msg["detail"], msg
