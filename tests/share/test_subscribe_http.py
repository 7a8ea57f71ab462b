"""Standing subscriptions between two real `seawatch serve` processes on loopback: USA
subscribes to IND (logged by both); IND ingests a live TCP feed and, while it serves,
pushes what it stores to USA without USA asking; at IND's stop the last of it goes too, so
USA then holds exactly what IND stored; USA unsubscribes (logged by both). A subscriber IND
has no URL for is refused."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from seawatch.labels import Reader
from seawatch.sim.synth import write_sample
from seawatch.store.query import Query

from .conftest import NodeDir
from .test_bundles import pin, store_of
from .test_sync_http import Server, _with_url

MakeNode = Callable[[str, str], NodeDir]


@pytest.fixture
def feed(tmp_path: Path) -> Iterator[tuple[int, int, threading.Event]]:
    """A loopback server sending a simulated file's lines to its first client over about
    two seconds; (port, lines, sent)."""
    path = tmp_path / "feed.nmea"
    write_sample(path, vessels=20, minutes=40)
    lines = path.read_bytes().splitlines(keepends=True)
    server = socket.create_server(("127.0.0.1", 0))
    sent, done = threading.Event(), threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            for k in range(0, len(lines), 300):
                conn.sendall(b"".join(lines[k : k + 300]))
                time.sleep(0.2)
            sent.set()
            done.wait(120)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], len(lines), sent
    done.set()
    thread.join(5)
    server.close()


def _entries(node: NodeDir, kind: str) -> list[dict[str, object]]:
    entries = [json.loads(e) for e in node.node().log().entries]
    return [e for e in entries if e["kind"] == kind]


def _imported_rows(node: NodeDir) -> int:
    return sum(
        int(p["rows"])  # type: ignore[call-overload]
        for e in _entries(node, "import")
        for p in e["parts"]  # type: ignore[attr-defined]
    )


def _held(node: NodeDir, originator: str) -> dict[str, int]:
    with store_of(node) as store:
        q = Query(store, Reader.node_admin("test: subscriptions"))
        labels = store.labels()
        out = {}
        for table, rows in (("positions", q.positions()), ("statics", q.statics()),
                            ("events", q.events())):  # fmt: skip
            ids = rows.column("label_id").to_pylist()
            out[table] = sum(1 for i in ids if labels[i].originator == originator)
        return out


def _wait(what: str, ok: Callable[[], bool], *servers: Server, limit_s: float = 90) -> None:
    deadline = time.monotonic() + limit_s
    while not ok():
        for s in servers:
            assert s.proc.poll() is None, (s.node.root / "serve.err").read_text()
        assert time.monotonic() < deadline, f"not within {limit_s} s: {what}"
        time.sleep(0.2)


def test_a_subscriber_gets_what_is_stored_without_asking(
    make_node: MakeNode, feed: tuple[int, int, threading.Event]
) -> None:
    feed_port, lines, sent = feed
    ind, usa = make_node("IND", "ifc-ior"), make_node("USA", "usa-c2")
    for node in (ind, usa):
        node.run("db", "migrate")
    pin(ind, usa)  # no URL yet: IND cannot push to USA
    ind.run("share", "allow", "usa-c2")
    usa_srv = Server(usa)
    ind_srv = Server(ind, "--tcp", f"127.0.0.1:{feed_port}", "--batch-s", "0.5")
    servers = [usa_srv, ind_srv]
    try:
        _with_url(usa, ind, ind_srv.url)
        for s in servers:
            s.wait()
        out = usa.run("share", "subscribe", "ifc-ior", ok=False)
        assert "no URL pinned for usa-c2" in out
        _with_url(ind, usa, usa_srv.url)
        out = usa.run("share", "subscribe", "ifc-ior")
        assert "subscribed: ifc-ior logged it as entry" in out
        (theirs,) = _entries(ind, "subscription")
        (mine,) = _entries(usa, "subscription")
        assert theirs["action"] == mine["action"] == "subscribe"
        assert theirs["subscriber"] == "usa-c2"
        assert mine["publisher"] == "ifc-ior"
        assert mine["publisher_entry"] == ind.node().log().entries.index(
            next(e for e in ind.node().log().entries if b'"subscription"' in e)
        )
        # USA never asks: what IND stores arrives while both serve
        _wait("a push while serving", lambda: _imported_rows(usa) > 0, *servers)
        assert sent.wait(60)
        live = ind.root / "data" / "live"
        _wait(
            "every line received by IND",
            lambda: sum(p.read_bytes().count(b"\n") for p in live.glob("*/1/*.nmea")) >= lines,
            *servers,
        )
        ind_srv.stop()  # the feed's last batches are stored, then pushed at the stop
        assert not _entries(usa, "pull")
        stored = _held(ind, "IND")
        assert stored["positions"] > 1000
        assert _imported_rows(usa) >= sum(stored.values())  # repeats count again
        # then IND again, without the feed: USA unsubscribes
        ind_srv = Server(ind, port=ind_srv.port)
        servers = [usa_srv, ind_srv]
        ind_srv.wait()
        out = usa.run("share", "unsubscribe", "ifc-ior")
        assert "unsubscribed" in out
        assert [e["action"] for e in _entries(ind, "subscription")] == [
            "subscribe", "unsubscribe",
        ]  # fmt: skip
        assert [e["action"] for e in _entries(usa, "subscription")] == [
            "subscribe", "unsubscribe",
        ]  # fmt: skip
        listed = json.loads(ind.run("share", "subscriptions", "--json"))
        assert listed == {"publishers": {}, "subscribers": {}}
        for s in servers:
            s.stop()
        assert _held(usa, "IND") == stored  # exactly what IND stored, nothing twice
    finally:
        for s in servers:
            if s.proc.poll() is None:
                s.stop()
