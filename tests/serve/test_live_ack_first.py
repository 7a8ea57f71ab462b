"""A new subscription's answer overtakes the frames queued for its client and not yet
written (:mod:`seawatch.serve.live_ws`): a real uvicorn server with
:class:`~seawatch.serve.live_wire.FramedWebSockets` (tiny socket buffers), real WebSocket
clients while live ingest stores two feeds under two labels. A client that does not read
has a backlog; it sends a new subscription (the other form) and then reads: before the
answer come only the frames its connection already held (in the old form), after it the
rest, all in the new form; together the same items, in the same order, as a client that
reads at once, and only what its reader may read."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from pathlib import Path
from typing import Any

from apiclient import Served, readable
from test_live_push import SMALL, SmallBuffers
from test_live_ws import WORLD, _drain, _ingest, _items_of, _subscribe
from websockets.sync.client import connect

from seawatch.labels import Reader
from seawatch.serve.accounts import create_user
from seawatch.serve.app import create_app
from seawatch.settings import load_settings
from seawatch.store import open_store


def test_a_new_subscriptions_answer_overtakes_the_frames_not_yet_written(
    tmp_path: Path,
) -> None:
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    store = open_store(tmp_path / "node.duckdb", settings)
    token = create_user(store, "u", "IND:SECRET")[1]
    app = create_app(store, settings)
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
        assert _subscribe(fast, {"bbox": [WORLD]})["type"] == "subscribed"
        assert _subscribe(slow, {"bbox": [WORLD]})["type"] == "subscribed"
        _ingest(app, store, tmp_path)
        got = _drain(fast)  # the hub has queued every batch for both by now
        slow.send(json.dumps({"bbox": [WORLD], "form": "columns"}))
        time.sleep(0.3)
        before: list[dict[str, Any]] = []
        while (msg := slow.recv(timeout=5)) and json.loads(msg)["type"] != "subscribed":
            before.append(json.loads(msg))
        after = _drain(slow, quiet_s=1.0)
    store.close()
    data = [f for f in before + after if f["type"] != "missed"]
    assert not [f for f in before + after if f["type"] == "missed"]  # all within bounds
    assert after, "the answer came after every frame queued"
    assert all("items" in f for f in before)  # the old form: written before the answer
    assert all("columns" in f for f in after)  # the new form: rendered after it
    items = [i for f in data for i in _items_of(f)]
    assert items == [i for f in got for i in _items_of(f)]
    assert len(items) > 1_000
    readable(items, Reader.parse("IND:SECRET", store.policy), store.policy)
