"""``/live`` through :class:`~seawatch.serve.live_wire.FramedWebSockets` (as ``seawatch serve``
runs uvicorn): frames framed once and written as bytes to every client. Real WebSocket
clients of a real uvicorn server on loopback, with and without permessage-deflate (then
each connection compresses its own): each client receives only what its reader may read
inside its bbox, the columnar frames hold the items of the default ones, and the bytes
path was the one taken. A framed message parses back to its text at every header size."""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from pathlib import Path

import pytest
from apiclient import LABELS, Served, readable
from test_live_ws import WEST, _connect, _drain, _ingest, _items_of, _subscribe
from websockets.frames import Frame, Opcode

from seawatch.labels import Reader, parse_label
from seawatch.serve import live_send
from seawatch.serve.accounts import create_user
from seawatch.serve.app import create_app
from seawatch.serve.live_wire import FramedWebSockets, framed
from seawatch.serve.subscription import TYPES
from seawatch.settings import load_settings
from seawatch.store import Store, open_store

READERS = ("IND:SECRET", "USA:SECRET")


class Counted(FramedWebSockets):
    """Counts the frames written as bytes (the path under test), then writes them."""

    written = 0

    async def write_frame(self, frame: bytes, text: str) -> None:
        type(self).written += 1
        await super().write_frame(frame, text)


@pytest.mark.parametrize("deflate", [False, True])
def test_frames_written_as_bytes_hold_what_each_reader_may_read(
    tmp_path: Path, deflate: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    pushed = []  # frames the hub wrote itself (seawatch.serve.live_push), one per client
    send = live_send.send_each
    assert send is not None
    monkeypatch.setattr(live_send, "send_each", lambda fds, b: pushed.extend(fds) or send(fds, b))
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    store: Store = open_store(tmp_path / "node.duckdb", settings)
    tokens = {r: create_user(store, f"u{i}", r)[1] for i, r in enumerate(READERS)}
    app = create_app(store, settings)
    subs = {
        "items": ("IND:SECRET", {"bbox": [WEST]}),
        "columns": ("IND:SECRET", {"bbox": [WEST], "form": "columns"}),
        "usa": ("USA:SECRET", {"form": "columns"}),
    }
    Counted.written = 0
    served = Served(app, ws=Counted, ws_per_message_deflate=deflate)
    with served as http, contextlib.ExitStack() as stack:
        url = http.replace("http://", "ws://", 1)
        clients = {}
        for name, (reader, sub) in subs.items():
            ws = stack.enter_context(_connect(url, tokens[reader]))
            assert _subscribe(ws, sub)["type"] == "subscribed"
            clients[name] = ws
        _ingest(app, store, tmp_path)
        first, *rest = clients
        got = {first: _drain(clients[first])}  # then the others' frames are there already
        got |= {name: _drain(clients[name], quiet_s=0.3) for name in rest}
    store.close()
    written = Counted.written + len(pushed)
    assert written >= sum(len(f) for f in got.values())  # every frame as bytes
    policy = store.policy
    by_kind = {}
    for name, frames in got.items():
        assert frames, name
        items = [i for f in frames for i in _items_of(f)]
        readable(items, Reader.parse(subs[name][0], policy), policy)
        by_kind[name] = {
            k: [i for f in frames if f["type"] == k for i in _items_of(f)] for k in TYPES
        }
    assert by_kind["columns"] == by_kind["items"]
    assert by_kind["items"]["positions"]
    assert all(WEST[0] <= p["lon"] <= WEST[2] for p in by_kind["items"]["positions"])
    usa = {i["label"] for i in by_kind["usa"]["positions"]}
    assert usa == {parse_label(LABELS[0], policy).marking}  # only A


@pytest.mark.parametrize("size", [0, 125, 126, 65_535, 65_536, 300_000])
def test_a_framed_message_parses_back_to_its_text(size: int) -> None:
    text = ("é" + "x" * size)[:size] if size else ""
    data = framed(text)
    pos = 0

    def read_exact(n: int) -> Generator[None, None, bytes]:
        nonlocal pos
        out, pos = data[pos : pos + n], pos + n
        return out
        yield  # a generator, as websockets' parser reads

    gen = Frame.parse(read_exact, mask=False)
    with pytest.raises(StopIteration) as done:
        next(gen)
    frame = done.value.value
    assert frame.opcode is Opcode.TEXT
    assert frame.fin
    assert bytes(frame.data).decode() == text
    assert pos == len(data)
