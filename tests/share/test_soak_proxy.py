"""The fault proxy itself (tests/faultproxy.py): bytes pass both ways; a cut resets a
connection mid-transfer and refuses new ones; a heal lets them through again; a delay
holds each chunk."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from faultproxy import Link, network


@pytest.fixture
def echo() -> Iterator[int]:
    """A loopback server echoing what each client sends."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=_echo, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def _echo(conn: socket.socket) -> None:
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            return


def _roundtrip(link: Link, data: bytes) -> bytes | None:
    """What comes back through ``link`` for ``data``; None if the connection is reset or
    closed before all of it."""
    try:
        with socket.create_connection(("127.0.0.1", link.port), timeout=5) as s:
            s.sendall(data)
            got = b""
            while len(got) < len(data):
                chunk = s.recv(65536)
                if not chunk:
                    return None
                got += chunk
            return got
    except OSError:
        return None


def _dropped(s: socket.socket) -> bool:
    """Whether the open connection ``s`` is reset or closed within 2.5 s."""
    try:
        for _ in range(50):
            s.sendall(b"more")
            if not s.recv(4):
                return True
            time.sleep(0.05)
    except OSError:
        return True
    return False


def test_cut_heal_and_delay(echo: int) -> None:
    with network() as net:
        link = net.link("test", echo)
        assert _roundtrip(link, b"x" * 200_000) == b"x" * 200_000
        with socket.create_connection(("127.0.0.1", link.port), timeout=5) as s:
            s.sendall(b"hello")
            assert s.recv(5) == b"hello"
            link.cut()
            assert _dropped(s)  # reset mid-connection
        assert _roundtrip(link, b"ping") is None  # refused while cut
        assert link.stats.reset >= 1
        assert link.stats.refused >= 1
        link.heal()
        time.sleep(0.05)
        assert _roundtrip(link, b"again") == b"again"
        link.delay_s = 0.3
        t = time.monotonic()
        assert _roundtrip(link, b"slow") == b"slow"
        assert time.monotonic() - t >= 0.5  # held each way
