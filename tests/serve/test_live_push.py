"""The hub's own writes of ``/live`` frames (:mod:`seawatch.serve.live_push`), through a real
uvicorn server with :class:`~seawatch.serve.live_wire.FramedWebSockets` and real WebSocket
clients while live ingest stores two feeds under two labels: the frames a socket takes only
in part (tiny socket buffers, a client that does not read) reach it whole and in order,
the same as a client that reads at once, and only what its reader may read.
:func:`~seawatch.serve.live_send.send_each` on real sockets: whole, in part, or not at all."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from apiclient import Served, readable
from test_live_ws import WORLD, _drain, _ingest, _items_of, _subscribe
from websockets.sync.client import connect

from seawatch.labels import Reader
from seawatch.serve import live_send
from seawatch.serve.accounts import create_user
from seawatch.serve.app import create_app
from seawatch.serve.live_wire import FramedWebSockets
from seawatch.settings import load_settings
from seawatch.store import open_store

SMALL = 4_096


class SmallBuffers(FramedWebSockets):
    """The server's side of each connection with a tiny send buffer."""

    def connection_made(self, transport: Any) -> None:
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL)
        super().connection_made(transport)


def test_frames_a_socket_takes_in_part_reach_the_client_whole_and_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[tuple[int, list[int]]] = []  # each pushed frame's length, what each took
    send = live_send.send_each
    assert send is not None

    def counted(fds: Any, frame: bytes) -> Any:
        out = send(fds, frame)
        taken.append((len(frame), out.tolist()))
        return out

    monkeypatch.setattr(live_send, "send_each", counted)
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    store = open_store(tmp_path / "node.duckdb", settings)
    token = create_user(store, "u", "IND:SECRET")[1]
    app = create_app(store, settings)
    sub = {"bbox": [WORLD], "form": "columns"}
    headers = {"Authorization": f"Bearer {token}"}
    served = Served(app, ws=SmallBuffers, ws_per_message_deflate=False)
    with served as url, contextlib.ExitStack() as stack:
        address = url.removeprefix("http://")
        fast = stack.enter_context(connect(f"ws://{address}/live", additional_headers=headers))
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL)
        host, port = address.split(":")
        sock.connect((host, int(port)))
        slow = stack.enter_context(
            connect(f"ws://{address}/live", sock=sock, additional_headers=headers, max_queue=1)
        )
        for ws in (fast, slow):
            assert _subscribe(ws, sub)["type"] == "subscribed"
        _ingest(app, store, tmp_path)
        got = {"fast": _drain(fast)}
        got["slow"] = _drain(slow, quiet_s=0.5)
    store.close()
    assert any(min(took) < length for length, took in taken)  # some taken in part
    assert sum(len(took) for _, took in taken) >= 2  # pushed to both
    items = {k: [i for f in frames for i in _items_of(f)] for k, frames in got.items()}
    assert items["fast"]
    assert items["slow"] == items["fast"]
    readable(items["slow"], Reader.parse("IND:SECRET", store.policy), store.policy)


def test_send_each_writes_whole_in_part_or_not_at_all() -> None:
    send = live_send.send_each
    assert send is not None
    pairs = [socket.socketpair() for _ in range(3)]
    try:
        pairs[1][0].setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL)
        pairs[2][1].close()  # nobody at the other end
        fds = np.array([a.fileno() for a, _ in pairs], np.int32)
        frame = bytes(range(256)) * 4_000  # 1 MB: more than a small buffer holds
        out = send(fds, frame).tolist()
        assert out[2] == -1
        assert 0 < out[1] < len(frame)
        whole = b""
        pairs[0][1].setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while chunk := pairs[0][1].recv(1 << 20):
                whole += chunk
        assert whole == frame[: out[0]]
        assert out[0] > 0
        assert send(fds[:0], frame).tolist() == []
    finally:
        for a, b in pairs:
            a.close()
            b.close()
