"""``/live``: real WebSocket clients of a real uvicorn server while two Ingest sessions
store two feeds under two labels (A ``CONFIDENTIAL//REL TO IND, USA``, B ``SECRET//REL TO
IND``), as ``seawatch serve --tcp`` does. Each client receives only what its reader may
read, inside its bbox, in batched frames carrying their marking; a bad subscription and a
missing or bad token are refused with the reason and close code 1008."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pytest
from apiclient import LABELS, Served, readable
from test_serve_live import IND, _free_port, _seawatch, held_feed_server  # noqa: F401
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from seawatch.engine.ingest import Ingest
from seawatch.labels import Reader, parse_label
from seawatch.serve.accounts import create_user
from seawatch.serve.app import create_app
from seawatch.serve.live_client import LIMITS, Client
from seawatch.serve.live_frames import Chunk
from seawatch.serve.live_render import Rendered
from seawatch.serve.subscription import TYPES, Subscription
from seawatch.settings import load_settings
from seawatch.sim.synth import write_sample
from seawatch.store import Store, open_store

# the demo sample's vessels transmit for minutes: events are its 5-minute gaps
SHORT_GAPS = {"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DETECTORS__GAP__MIN_GAP_S": "300"}

READERS = ("IND:SECRET", "USA:SECRET")
WEST = [80.0, 2.0, 87.0, 20.0]
WORLD = [-180.0, -90.0, 180.0, 90.0]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Store, str, dict]]:
    tmp = tmp_path_factory.mktemp("live")
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    store = open_store(tmp / "node.duckdb", settings)
    tokens = {r: create_user(store, f"u{i}", r)[1] for i, r in enumerate(READERS)}
    app = create_app(store, settings)
    with Served(app) as url:
        yield app, store, url.replace("http://", "ws://"), tokens
    store.close()


def _connect(url: str, token: str | None) -> ClientConnection:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return connect(f"{url}/live", additional_headers=headers, open_timeout=10)


def _subscribe(ws: ClientConnection, sub: dict[str, Any]) -> dict[str, Any]:
    ws.send(json.dumps(sub))
    ack: dict[str, Any] = json.loads(ws.recv(timeout=5))
    return ack


def _ingest(app: Any, store: Store, tmp: Path) -> None:
    """Two sessions, one per label, each told to the app's subscribers, as serve --tcp."""
    settings = load_settings(env=SHORT_GAPS)
    lock = app.state.seawatch.lock
    for seed, marking in enumerate(LABELS, start=1):
        feed = tmp / f"feed{seed}.nmea"
        write_sample(feed, vessels=15, minutes=20, seed=seed)
        with lock:
            session = Ingest(
                store,
                settings,
                detect=True,
                label=parse_label(marking, store.policy),
                sinks=[app.state.subscribers],
            )
            session.add([feed])
            session.finish()


def _drain(ws: ClientConnection, quiet_s: float = 1.5) -> list[dict[str, Any]]:
    frames = []
    while True:
        try:
            frames.append(json.loads(ws.recv(timeout=quiet_s)))
        except TimeoutError:
            return frames


def test_each_client_receives_what_its_reader_may_read_in_its_bbox(
    live: tuple[Any, Store, str, dict], tmp_path: Path
) -> None:
    app, store, url, tokens = live
    subs = {
        "ind-west": ("IND:SECRET", {"bbox": [WEST]}),
        "ind-all": ("IND:SECRET", {}),
        "usa-all": ("USA:SECRET", {"bbox": [WORLD], "types": ["positions", "events"]}),
        "ind-events": ("IND:SECRET", {"types": ["events"], "event_types": ["gap"]}),
    }
    clients = {}
    stack = contextlib.ExitStack()
    for name, (reader, sub) in subs.items():
        ws = stack.enter_context(_connect(url, tokens[reader]))
        t0 = time.monotonic()
        ack = _subscribe(ws, sub)
        assert time.monotonic() - t0 < 1.0  # 100 ms on an idle machine
        assert ack["type"] == "subscribed", ack
        clients[name] = ws
    auth = {"Authorization": f"Bearer {tokens['IND:SECRET']}"}
    metrics = httpx.get(url.replace("ws://", "http://") + "/metrics", headers=auth).text
    assert "seawatch_live_subscribers 4.0" in metrics
    _ingest(app, store, tmp_path)
    got = {name: _drain(ws) for name, ws in clients.items()}
    stack.close()
    policy = store.policy
    markings = {}
    for name, frames in got.items():
        reader = Reader.parse(subs[name][0], policy)
        kinds = {f["type"] for f in frames}
        assert kinds <= {"positions", "events"}, kinds  # nothing missed at this rate
        items = [i for f in frames for i in f["items"]]
        readable(items, reader, policy)
        assert not [i for i in items if "_label_id" in i]  # internal, never sent
        for f in frames:
            assert f["marking"]
            assert f["items"]
        markings[name] = {i["label"] for i in items if "msg_type" in i}
        positions = [i for f in frames if f["type"] == "positions" for i in f["items"]]
        if name == "ind-west":
            assert positions
            assert all(WEST[0] <= p["lon"] <= WEST[2] for p in positions)
        if name == "ind-events":
            assert kinds <= {"events"}
            assert all(i["event_type"] == "gap" for i in items)
    want = {parse_label(m, policy).marking for m in LABELS}
    assert markings["ind-all"] == want  # IND:SECRET reads both feeds
    assert markings["usa-all"] == {parse_label(LABELS[0], policy).marking}  # only A
    ind = [i for f in got["ind-all"] if f["type"] == "positions" for i in f["items"]]
    west = [i for f in got["ind-west"] for i in f["items"]]
    assert len(west) < len(ind)
    assert any(f["type"] == "events" for f in got["ind-all"])
    deadline = time.monotonic() + 5
    while (
        "seawatch_live_subscribers 0.0"
        not in httpx.get(url.replace("ws://", "http://") + "/metrics", headers=auth).text
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _items_of(frame: dict[str, Any]) -> list[dict[str, Any]]:
    """The items of a frame in either form (``columns``: rebuilt item by item)."""
    if "items" in frame:
        return list(frame["items"])
    cols, labels = frame["columns"], frame["labels"]
    assert all(len(v) == frame["count"] for v in cols.values())
    names = [k for k in cols if k != "label"]
    return [
        {**{k: cols[k][i] for k in names}, "label": labels[cols["label"][i]]}
        for i in range(frame["count"])
    ]


def test_the_columnar_form_holds_the_same_items_as_the_default(
    live: tuple[Any, Store, str, dict], tmp_path: Path
) -> None:
    """Clients of one reader and bbox, one asking for each form (and one of another
    reader): the columnar frames hold exactly the items of the default frames, with the
    same markings, and only what each reader may read."""
    app, store, url, tokens = live
    subs = {
        "items": ("IND:SECRET", {"bbox": [WEST]}),
        "columns": ("IND:SECRET", {"bbox": [WEST], "form": "columns"}),
        "usa-columns": ("USA:SECRET", {"form": "columns"}),
    }
    stack = contextlib.ExitStack()
    clients = {}
    for name, (reader, sub) in subs.items():
        ws = stack.enter_context(_connect(url, tokens[reader]))
        ack = _subscribe(ws, sub)
        assert ack["type"] == "subscribed", ack
        assert ack["form"] == sub.get("form", "items")
        clients[name] = ws
    _ingest(app, store, tmp_path)
    got = {name: _drain(ws) for name, ws in clients.items()}
    stack.close()
    auth = {"Authorization": f"Bearer {tokens['IND:SECRET']}"}
    metrics = httpx.get(url.replace("ws://", "http://") + "/metrics", headers=auth).text
    for stage in ("ingest", "hub", "client"):  # where rows waited
        assert f'seawatch_live_delay_seconds_count{{stage="{stage}"}}' in metrics
    for name, frames in got.items():
        assert frames, name
        assert all(("columns" in f) == (name != "items") for f in frames), name
        for f in frames:
            items = _items_of(f)
            assert items
            assert f["marking"]
            readable(items, Reader.parse(subs[name][0], store.policy), store.policy)
    by_kind = {
        name: {k: [i for f in frames if f["type"] == k for i in _items_of(f)] for k in TYPES}
        for name, frames in got.items()
    }
    assert by_kind["columns"] == by_kind["items"]
    assert by_kind["columns"]["positions"]
    usa = {i["label"] for i in by_kind["usa-columns"]["positions"]}
    assert usa == {parse_label(LABELS[0], store.policy).marking}  # only A


@pytest.mark.parametrize(
    ("sub", "detail"),
    [
        ("not json", "not JSON"),
        ({"bbox": [[1, 2, 3]]}, "bbox"),
        ({"bbox": [[10, 50, 5, 40]]}, "bbox"),
        ({"mmsi": ["x"]}, "mmsi"),
        ({"types": ["tracks"]}, "types"),
        ({"event_types": ["nope"]}, "event_types"),
        ({"BoundingBoxes": []}, "unknown key"),
        ({"form": "arrow"}, "form"),
    ],
)
def test_a_bad_subscription_is_refused_with_the_reason(
    live: tuple[Any, Store, str, dict], sub: Any, detail: str
) -> None:
    _, _, url, tokens = live
    with _connect(url, tokens["IND:SECRET"]) as ws:
        ws.send(sub if isinstance(sub, str) else json.dumps(sub))
        msg = json.loads(ws.recv(timeout=5))
        assert msg["type"] == "error", msg
        assert detail in msg["detail"], msg
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_no_or_a_bad_token_is_refused(live: tuple[Any, Store, str, dict], token: str) -> None:
    _, _, url, _ = live
    with _connect(url, token) as ws:
        msg = json.loads(ws.recv(timeout=5))
        assert msg["type"] == "error", msg
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert closed.value.rcvd.reason


def _chunks(kind: str, keys: list[int], size: int = 1_000) -> list[Chunk]:
    """Items "0", "1", ... of the vessels ``keys``, in chunks of ``size``."""
    n = len(keys)
    rows = pa.table({"label_id": pa.array([1] * n, pa.int32())})
    texts = np.array([str(k) for k in range(n)], object)
    r = Rendered(kind, rows, texts, np.ones(n, np.int32), np.asarray(keys, np.int64))
    return [Chunk(r, np.arange(k, min(n, k + size))) for k in range(0, n, size)]


def _queued(client: Client, kind: str) -> tuple[list[str], list[int]]:
    chunks = client.queues[kind].chunks
    texts = [t for c in chunks for t in c.r.texts[c.idx].tolist()]
    return texts, [k for c in chunks for k in c.keys.tolist()]


def test_a_slow_client_keeps_the_latest_position_per_vessel(
    live: tuple[Any, Store, str, dict],
) -> None:
    reader = Reader.parse("IND:SECRET", live[1].policy)
    client = Client(reader, Subscription())
    n = LIMITS["positions"] + 1
    client.put("positions", _chunks("positions", [k % 10 for k in range(n)], size=700))
    assert len(client.queues["positions"]) == 10
    assert client.missed == {"positions": n - 10}
    texts, keys = _queued(client, "positions")
    latest = {k: int(t) for k, t in zip(keys, texts, strict=True)}
    assert latest == {m: max(k for k in range(n) if k % 10 == m) for m in range(10)}
    assert [int(t) for t in texts] == sorted(int(t) for t in texts)  # still in order
    assert client.ready.is_set()
    client.put("events", _chunks("events", [0] * 1_001, size=300))
    assert _queued(client, "events")[0][0] == "1"  # the oldest dropped
    assert len(client.queues["events"]) == 1_000
    assert client.take_missed() == {"positions": n - 10, "events": 1}
    assert client.take_missed() is None


def test_serve_tcp_streams_the_feed_to_a_websocket_client(
    held_feed_server: tuple[int, Path, threading.Event, threading.Event],  # noqa: F811
    tmp_path: Path,
) -> None:
    """End to end as a user runs it: ``seawatch serve --tcp`` (a real process) stores a
    loopback feed and a WebSocket client receives its positions as they are stored."""
    feed_port, _, sent, go = held_feed_server
    env = {**os.environ, **IND, "SEAWATCH_DATA_DIR": str(tmp_path / "data")}
    db = str(tmp_path / "node.duckdb")
    token = _seawatch("users", "add", "ana", "--reader", "IND:SECRET", "--db", db, env=env)
    headers = {"Authorization": f"Bearer {token.stdout.strip().splitlines()[-1]}"}
    port = _free_port()
    cmd = [sys.executable, "-m", "seawatch.cli.main", "serve", "--port", str(port)]
    cmd += ["--tcp", f"127.0.0.1:{feed_port}", "--db", db, "--batch-s", "0.3"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120  # a loaded machine: imports and compiled kernels
        while True:
            try:
                ws = connect(f"ws://127.0.0.1:{port}/live", additional_headers=headers)
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        with ws:
            # the client offers permessage-deflate; the server compresses only if told to
            assert ws.response is not None
            assert "sec-websocket-extensions" not in ws.response.headers
            assert _subscribe(ws, {"types": ["positions"]})["type"] == "subscribed"
            go.set()  # the feed begins once the client is subscribed
            frame = json.loads(ws.recv(timeout=30))
        assert frame["type"] == "positions", frame
        assert frame["items"]
        assert frame["marking"]
        assert all("label" in i and "mmsi" in i for i in frame["items"])
        assert sent.wait(30)  # the whole feed sent before the stop
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


def _sse(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The events of an SSE response (``event``, ``id``, ``data`` decoded) until quiet."""
    event: dict[str, Any] = {}
    lines = response.iter_lines()
    while True:
        try:
            line = next(lines)
        except (httpx.ReadTimeout, StopIteration):
            return
        if not line:
            if "data" in event:
                yield event
            event = {}
        elif line.startswith("data: "):
            event["data"] = json.loads(line[6:])
        elif line.startswith(("event: ", "id: ")):
            key, _, value = line.partition(": ")
            event[key] = value


def test_sse_streams_what_the_reader_may_read_and_resumes(
    live: tuple[Any, Store, str, dict], tmp_path: Path
) -> None:
    app, store, url, tokens = live
    base = url.replace("ws://", "http://")
    auth = {"Authorization": f"Bearer {tokens['USA:SECRET']}"}
    timeout = httpx.Timeout(10, read=2.0)
    params = {"bbox": ",".join(map(str, WEST)), "types": "positions"}
    with httpx.Client(base_url=base, headers=auth, timeout=timeout) as http:
        assert http.get("/live/sse", params={"bbox": "1,2"}).status_code == 400
        assert httpx.get(f"{base}/live/sse").status_code == 401
        with http.stream("GET", "/live/sse", params=params) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            events = _sse(r)
            first = next(events)
            assert first["event"] == "subscribed"
            _ingest(app, store, tmp_path)
            got = list(events)
        policy = store.policy
        reader = Reader.parse("USA:SECRET", policy)
        items = [i for e in got if e["event"] == "positions" for i in e["data"]["items"]]
        assert items
        readable(items, reader, policy)
        assert not [i for i in items if "_label_id" in i]
        assert all(WEST[0] <= i["lon"] <= WEST[2] for i in items)
        assert {i["label"] for i in items} == {parse_label(LABELS[0], policy).marking}
        ids = [int(e["id"]) for e in got if "id" in e]
        assert ids
        assert ids == sorted(ids)
        # resuming from the start of this test: every batch since, again, no "missed"
        resume = {"Last-Event-ID": first["id"]}
        with http.stream("GET", "/live/sse", params=params, headers=resume) as r:
            again = list(_sse(r))
        assert again[0]["event"] == "subscribed"
        assert not [e for e in again if e["event"] == "missed"]
        replayed = [i for e in again if e["event"] == "positions" for i in e["data"]["items"]]
        assert {(i["mmsi"], i["ts"]) for i in replayed} == {(i["mmsi"], i["ts"]) for i in items}
        # (a batch with nothing for this client is not announced; the resumed stream's id
        # is the newest batch)
        assert [int(e["id"]) for e in again[1:] if "id" in e][-1] >= ids[-1]
        # the same again in the columnar form: the same items (from the kept batches)
        columnar = {**params, "form": "columns"}
        with http.stream("GET", "/live/sse", params=columnar, headers=resume) as r:
            cols = list(_sse(r))
        assert cols[0]["data"]["form"] == "columns"
        rebuilt = [i for e in cols if e["event"] == "positions" for i in _items_of(e["data"])]
        assert sorted(rebuilt, key=json.dumps) == sorted(replayed, key=json.dumps)
        # resuming after a batch the server does not know: told it missed data
        with http.stream(
            "GET", "/live/sse", params=params, headers={"Last-Event-ID": "99999"}
        ) as r:
            events = _sse(r)
            assert next(events)["event"] == "subscribed"
            assert next(events)["event"] == "missed"
