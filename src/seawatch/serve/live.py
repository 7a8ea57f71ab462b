"""``/live``: a WebSocket stream of positions and events as live ingest stores them.

In: the rows the store sink tells ``app.state.subscribers`` after each commit (with their
``label_id``; called from the ingest thread, which only enqueues here), and clients that
connect with ``Authorization: Bearer <token>`` (or, from the web map, its session cookie)
and send a subscription. Out: to each client, every :data:`TICK_S` at most, a
``positions`` and an ``events`` frame of what its reader may read inside its filters,
each with the combined marking of its items. A slow client never slows ingest: its queue
is bounded; positions are coalesced to the latest per vessel (then the oldest dropped)
and the client told ``{"type": "missed", ...}``. See docs/serve.md.

Subscription (:mod:`seawatch.serve.subscription`; a JSON object, every key optional;
longitude first, like the REST ``bbox``)::

    {"bbox": [[min_lon, min_lat, max_lon, max_lat], ...], "mmsi": [int, ...],
     "types": ["positions", "events"], "event_types": ["gap", ...]}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from seawatch.errors import SeawatchError
from seawatch.export.common import marking_of
from seawatch.labels import Label, Reader, label_mask
from seawatch.serve.accounts import authenticate
from seawatch.serve.deps import ServeState
from seawatch.serve.render import items
from seawatch.serve.sessions import COOKIE
from seawatch.serve.subscription import TYPES, Subscription, SubscriptionError

__all__ = [
    "FRAME_ITEMS",
    "MAX_EVENTS",
    "MAX_POSITIONS",
    "TICK_S",
    "TYPES",
    "Client",
    "LiveHub",
    "Subscription",
    "install_live",
]

log = logging.getLogger(__name__)

TICK_S = 0.15
"""Frames are batched: at most one of each type per client per tick (the cost is per frame)."""
MAX_POSITIONS = 5_000
"""Positions a client's queue holds (about 1 MB of JSON); beyond, latest per vessel only."""
MAX_EVENTS = 1_000
FRAME_ITEMS = 1_000
"""Items per frame at most (a frame stays well under the 1 MiB clients accept by default)."""
MAX_INBOX_ROWS = 500_000
"""Rows waiting for the next tick; beyond, the oldest tables are dropped (and counted)."""
HISTORY_ROWS = 200_000
"""Rows of the latest batches kept for SSE clients resuming with ``Last-Event-ID``."""
"""Rows waiting for the next tick; beyond, the oldest tables are dropped (and counted)."""
SUBSCRIBE_TIMEOUT_S = 10.0
POLICY_VIOLATION = 1008


@dataclass(eq=False)
class Client:
    """One connection: its reader, filters and bounded queue (filled by the hub's tick)."""

    reader: Reader
    sub: Subscription
    positions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    missed_positions: int = 0
    missed_events: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    sending: asyncio.Lock = field(default_factory=asyncio.Lock)  # one message at a time
    allowed: tuple[int, frozenset[int]] = (-1, frozenset())

    def put(self, kind: str, new: list[dict[str, Any]]) -> None:
        if kind == "positions":
            self.positions += new
            if len(self.positions) > MAX_POSITIONS:  # latest per vessel, then the newest
                latest = list({p["mmsi"]: p for p in self.positions}.values())[-MAX_POSITIONS:]
                self.missed_positions += len(self.positions) - len(latest)
                self.positions = latest
        else:
            self.events += new
            if len(self.events) > MAX_EVENTS:
                self.missed_events += len(self.events) - MAX_EVENTS
                self.events = self.events[-MAX_EVENTS:]
        self.ready.set()


class LiveHub:
    """What the ingest thread tells (:meth:`offer`), fanned out to the clients each tick."""

    def __init__(self, state: ServeState, gauge: Any) -> None:
        self.state = state
        self.gauge = gauge
        self.clients: set[Client] = set()
        self._inbox: deque[tuple[str, pa.Table]] = deque()
        self._inbox_rows = 0
        self._lock = threading.Lock()
        self._labels: dict[int, Label] = {}
        self._labels_version = 0
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.seq = 0
        """Number of the last batch fanned out (the SSE event ids)."""
        self.history: deque[tuple[int, dict[str, pa.Table]]] = deque()
        self._history_rows = 0
        self._discarded = False  # rows told while nobody listened: a gap in the history

    # --- the ingest thread: enqueue only -----------------------------------------------
    def offer(self, kind: str, table: pa.Table) -> None:
        if not self.clients:
            self._discarded = True
            return
        with self._lock:
            self._inbox.append((kind, table))
            self._inbox_rows += table.num_rows
            while self._inbox_rows > MAX_INBOX_ROWS and len(self._inbox) > 1:
                _, old = self._inbox.popleft()
                self._inbox_rows -= old.num_rows
                self.dropped += old.num_rows

    def offer_positions(self, table: pa.Table) -> None:
        self.offer("positions", table)

    def offer_events(self, table: pa.Table) -> None:
        self.offer("events", table)

    # --- the event loop -----------------------------------------------------------------
    def add(self, client: Client) -> None:
        self.clients.add(client)
        self.gauge.set(len(self.clients))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._pump())

    def remove(self, client: Client) -> None:
        self.clients.discard(client)
        self.gauge.set(len(self.clients))

    async def _pump(self) -> None:
        while self.clients:
            await asyncio.sleep(TICK_S)
            with self._lock:
                taken, self._inbox, self._inbox_rows = list(self._inbox), deque(), 0
            if not taken:
                continue
            try:
                await self._fan_out(taken)
            except Exception:  # a bad batch must not end the stream for everyone
                log.exception("live: could not fan out a batch")

    async def _fan_out(self, taken: list[tuple[str, pa.Table]]) -> None:
        by_kind = {
            kind: pa.concat_tables([t for k, t in taken if k == kind], promote_options="default")
            for kind in TYPES
            if any(k == kind for k, _ in taken)
        }
        ids = set()
        for rows in by_kind.values():
            ids |= set(pc.unique(rows.column("label_id")).drop_null().to_pylist())
        if not ids <= set(self._labels):
            self._labels = await asyncio.to_thread(self._read_labels)
            self._labels_version += 1
        # no await from here on: a client added meanwhile gets this batch once
        self._settle()
        self.seq += 1
        self.history.append((self.seq, by_kind))
        self._history_rows += sum(t.num_rows for t in by_kind.values())
        while self._history_rows > HISTORY_ROWS and len(self.history) > 1:
            _, old = self.history.popleft()
            self._history_rows -= sum(t.num_rows for t in old.values())
        for client in list(self.clients):
            self._put(client, by_kind)

    def _settle(self) -> None:
        """A batch number for what nobody was told (no client): resuming across it misses."""
        if self._discarded:
            self._discarded = False
            self.seq += 1
            self.history.clear()
            self._history_rows = 0

    def _put(self, client: Client, by_kind: dict[str, pa.Table]) -> None:
        policy = self.state.store.policy
        for kind, rows in by_kind.items():
            if kind not in client.sub.types:
                continue
            mask = label_mask(rows.column("label_id"), client.reader, self._labels, policy)
            rows = rows.filter(mask)
            where = client.sub.mask(rows, kind) if rows.num_rows else None
            if where is not None:
                rows = rows.filter(where)
            if rows.num_rows:
                client.put(kind, _items(rows, self._labels))

    def replay(self, client: Client, after: int) -> bool:
        """Queue for ``client`` the kept batches after number ``after``; False when some
        between are no longer kept (or ``after`` is not a batch this hub numbered)."""
        self._settle()
        kept = self.history[0][0] if self.history else self.seq + 1
        for seq, by_kind in self.history:
            if seq > after:
                self._put(client, by_kind)
        return after <= self.seq and after >= kept - 1

    def _read_labels(self) -> dict[int, Label]:
        with self.state.lock:
            cm = self.state.store.read_session()
            store = cm.__enter__()
        try:
            return dict(store.labels())
        finally:
            cm.__exit__(None, None, None)

    def frames(self, kind: str, got: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``got`` as frames of at most :data:`FRAME_ITEMS` items with their marking; a part
        whose marking cannot be computed is not sent (logged)."""
        out = []
        for k in range(0, len(got), FRAME_ITEMS):
            part = got[k : k + FRAME_ITEMS]
            try:
                marking = self.marking(part)
            except SeawatchError as exc:
                log.error("live: %d %s not sent, no marking: %s", len(part), kind, exc)
                continue
            out.append({"type": kind, "marking": marking, "items": part})
        return out

    def marking(self, got: list[dict[str, Any]]) -> str:
        """The combined marking of ``got`` (whose ``_label_id`` it removes: not sent)."""
        ids = pa.table({"label_id": pa.array([g.pop("_label_id") for g in got], pa.int32())})
        return marking_of(ids, self._labels, self.state.store.policy).overall.marking


def _items(rows: pa.Table, labels: Mapping[int, Label]) -> list[dict[str, Any]]:
    ids = rows.column("label_id").to_pylist()
    drop = [c for c in ("msg_key",) if c in rows.column_names]
    out = items(rows.drop_columns(drop), labels)
    for item, label_id in zip(out, ids, strict=True):
        item["_label_id"] = label_id  # for the frame's marking; not sent
    return out


def _authenticate(state: ServeState, token: str, cookie: str | None = None) -> Reader:
    """The reader of a bearer token, or (no token) of the web map's session cookie."""
    with state.lock:
        cm = state.store.read_session()
        store = cm.__enter__()
    try:
        if cookie is not None:
            return state.sessions.principal(store, cookie)[1]
        return authenticate(store, token)[1]
    finally:
        cm.__exit__(None, None, None)


def _same_origin(ws: WebSocket) -> bool:
    """A browser's handshake comes from a page of this node (the cookie is SameSite=Strict
    too; this refuses cross-site WebSocket hijacking outright)."""
    origin = ws.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == ws.headers.get("host")


async def _refuse(ws: WebSocket, detail: str) -> None:
    await ws.send_json({"type": "error", "detail": detail})
    await ws.close(POLICY_VIOLATION, reason=detail[:120])


async def _send(ws: WebSocket, hub: LiveHub, client: Client) -> None:
    while True:
        await client.ready.wait()
        client.ready.clear()
        async with client.sending:
            if client.missed_positions or client.missed_events:
                missed = {"positions": client.missed_positions, "events": client.missed_events}
                client.missed_positions = client.missed_events = 0
                await ws.send_json({"type": "missed", **missed})
            for kind in TYPES:
                got: list[dict[str, Any]] = getattr(client, kind)
                if not got:
                    continue
                setattr(client, kind, [])
                for frame in hub.frames(kind, got):
                    await ws.send_text(json.dumps(frame, default=str))


async def live(ws: WebSocket) -> None:
    """The ``/live`` WebSocket (see the module docstring and docs/serve.md)."""
    app = ws.app
    hub: LiveHub = app.state.live
    await ws.accept()
    auth = ws.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    cookie = None if auth else ws.cookies.get(COOKIE)
    if cookie and not _same_origin(ws):
        await _refuse(ws, "session cookie from another site's page: refused")
        return
    if not cookie and (scheme.lower() != "bearer" or not token.strip()):
        await _refuse(ws, "missing token: send 'Authorization: Bearer <token>'")
        return
    try:
        reader = await asyncio.to_thread(_authenticate, hub.state, token.strip(), cookie)
    except SeawatchError as exc:
        await _refuse(ws, str(exc))
        return
    try:
        text = await asyncio.wait_for(ws.receive_text(), SUBSCRIBE_TIMEOUT_S)
        sub = Subscription.parse(text)
    except TimeoutError:
        await _refuse(ws, f"no subscription within {SUBSCRIBE_TIMEOUT_S:g} s")
        return
    except SubscriptionError as exc:
        await _refuse(ws, str(exc))
        return
    except WebSocketDisconnect:
        return
    client = Client(reader, sub)
    await ws.send_json({"type": "subscribed", **sub.describe()})
    hub.add(client)
    sender = asyncio.create_task(_send(ws, hub, client))
    try:
        while True:  # a new subscription replaces the filters
            text = await ws.receive_text()
            async with client.sending:
                try:
                    client.sub = Subscription.parse(text)
                except SubscriptionError as exc:
                    await _refuse(ws, str(exc))
                    return
                await ws.send_json({"type": "subscribed", **client.sub.describe()})
    except WebSocketDisconnect:
        pass
    finally:
        hub.remove(client)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


def install_live(app: FastAPI) -> None:
    """``/live`` on ``app``, told of what ``app.state.subscribers`` is told."""
    hub = LiveHub(app.state.seawatch, app.state.metrics.subscribers)
    app.state.live = hub
    app.state.subscribers.positions.append(hub.offer_positions)
    app.state.subscribers.events.append(hub.offer_events)
    app.add_api_websocket_route("/live", live, name="live")
