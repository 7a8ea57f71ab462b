"""Live ingest writes on a session of its own: while a request holds the app's lock (the
one guarding the store's own connection: audit writes, opening read sessions) for as long
as it likes, the server's live ingest (``seawatch serve --tcp``'s ``_Live``, a real TCP
feed on loopback) goes on storing and telling the streams; and the write sessions of both
backends' :meth:`Store.write_session` write beside the store's own connection."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from seawatch.cli.serve import _Live
from seawatch.labels import Reader, parse_label
from seawatch.serve.app import create_app
from seawatch.serve.audit import audit_rows, record_stream
from seawatch.settings import load_settings
from seawatch.sim.synth import write_sample
from seawatch.sources.feed import Feed
from seawatch.store import open_store
from seawatch.store.query import Query

IND = {"SEAWATCH_NODE_NATION": "IND"}


def test_a_request_holding_the_app_lock_does_not_stall_live_ingest(tmp_path: Path) -> None:
    path = tmp_path / "feed.nmea"
    write_sample(path, vessels=20, minutes=30)
    lines = path.read_bytes().splitlines(keepends=True)
    server = socket.create_server(("127.0.0.1", 0))
    go, done = threading.Event(), threading.Event()

    def send() -> None:
        conn, _ = server.accept()
        with conn:
            go.wait(30)
            for k in range(0, len(lines), 200):
                conn.sendall(b"".join(lines[k : k + 200]))
                time.sleep(0.05)
            done.wait(60)

    threading.Thread(target=send, daemon=True).start()
    settings = load_settings(env={**IND, "SEAWATCH_DATA_DIR": str(tmp_path / "data")})
    store = open_store(tmp_path / "node.duckdb", settings)
    app = create_app(store, settings)
    told: list[int] = []
    app.state.subscribers.positions.append(lambda t: told.append(t.num_rows))
    live = _Live([Feed("tcp", server.getsockname()[:2])], store, settings, app)
    live.start(0.2, 0.1)
    try:
        with app.state.seawatch.lock:  # a slow request
            go.set()
            deadline = time.monotonic() + 60
            while sum(told) < 1000:
                assert time.monotonic() < deadline, f"{sum(told)} positions stored meanwhile"
                assert live.error is None, live.error
                time.sleep(0.05)
        # and the app's own connection still writes (an audit row) while ingest goes on
        record_stream(app.state.seawatch, "ana", "/live", "{}", 0, "")
        with app.state.seawatch.lock:
            assert audit_rows(store).num_rows == 1
    finally:
        done.set()
        live.end()
        server.close()
    assert live.error is None
    with store.read_session() as s:
        stored = Query(s, Reader.node_admin("test")).positions().num_rows
    assert stored >= sum(told) >= 1000
    store.close()


def test_a_write_session_writes_beside_the_stores_own_connection(tmp_path: Path) -> None:
    settings = load_settings(env=IND)
    with open_store(tmp_path / "node.duckdb", settings) as store:
        state = create_app(store, settings).state.seawatch
        label = parse_label("SECRET//REL TO IND", store.policy)
        first = store.label_id(store.policy.default_label)  # the store's cache is built
        with store.write_session() as writer:
            with writer.transaction():  # open while the store's own connection writes
                new = writer.label_id(label)
                record_stream(state, "ana", "/live", "{}", 0, "")
            # the store's cache has not seen it: looked up again, not given a new id
            assert store.label_id(label) == new
            assert new != first
        assert store.labels()[new].marking == label.marking
        assert audit_rows(store).num_rows == 1
