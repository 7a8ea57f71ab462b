"""``/live``: a WebSocket stream of the records live ingest stores (positions, events, ...).

In: the rows the store sink tells ``app.state.subscribers`` (a batch's positions once
labelled, before their commit; events and alerts after theirs), one list of
callables per record kind of :data:`~seawatch.serve.subscription.TYPES` (with their
``label_id``; called from the ingest thread, which only enqueues here), and clients that
connect with ``Authorization: Bearer <token>`` (or, from the web map, its session cookie)
and send a subscription (the connection itself: :mod:`seawatch.serve.live_ws`). Out: to
each client, a frame per kind of what its reader may read inside its filters, each with
the combined marking of its items, as soon as the rows are told (:data:`TICK_S`: at most
ten frames a second per kind; a batch's positions, told as soon as they are labelled, go
out before its detectors have run, and its events after them). A slow client never slows
ingest: its queue is bounded (:mod:`seawatch.serve.live_client`); positions are coalesced
to the latest per vessel (then the oldest dropped) and the client told
``{"type": "missed", ...}``. Each subscription is written to the audit trail
(:func:`seawatch.serve.audit.record_stream`). See docs/serve.md.

The cost is per frame and per row rendered, not per client: each fan-out, each kind's rows
are rendered to JSON once (:class:`Rendered`; large fan-outs off the event loop); a
client's rows are chosen by its reader's label mask (:func:`seawatch.labels.label_mask`,
once per reader and batch: the one check every row sent goes through) and its filters
(NumPy over the batch's columns); clients given the same rows share their chunks and so
their frame texts (:mod:`seawatch.serve.live_frames`, in the form each asked for), which
the hub writes to the clients that can take them at once (:mod:`seawatch.serve.live_push`).
Subscriptions: :mod:`seawatch.serve.subscription`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import FastAPI

from seawatch.engine.held import held_bytes
from seawatch.errors import SeawatchError
from seawatch.export.common import marking_of
from seawatch.labels import Label, Reader, label_mask
from seawatch.serve import audit
from seawatch.serve.deps import ServeState
from seawatch.serve.live_client import Client
from seawatch.serve.live_frames import Chunk
from seawatch.serve.live_push import push
from seawatch.serve.live_render import Rendered
from seawatch.serve.live_select import chosen
from seawatch.serve.live_ws import live
from seawatch.serve.subscription import TYPES, Subscription

__all__ = [
    "AUDIT_EVERY_S",
    "FRAME_ITEMS",
    "RENDER_INLINE_ROWS",
    "TICK_S",
    "TYPES",
    "Client",
    "LiveHub",
    "Rendered",
    "Subscription",
    "due_in",
    "install_live",
]

log = logging.getLogger(__name__)

TICK_S = 0.1
"""Frames are batched: at most one of each type per client per tick on average, ``1 /
TICK_S`` in any second (the cost is per frame); rows of a type are fanned out as soon as
they are told unless that would exceed it (:func:`due_in`). Each type has its own count: a
batch's events, told after its positions, do not hold the next batch's positions back."""
RENDER_INLINE_ROWS = 2_000
"""A fan-out of at most this many rows is rendered on the event loop (a millisecond or
two), not in a thread: with the ingest thread busy, each hop to a thread and back waits for
the GIL."""
FRAME_ITEMS = 1_000
"""Items per frame at most (a frame stays well under the 1 MiB clients accept by default)."""
MAX_INBOX_ROWS = 500_000
"""Rows waiting for the next tick; beyond, the oldest tables are dropped, and every client
told it missed them (it may not have been sent them anyway: an upper bound)."""
HISTORY_ROWS = 200_000
"""Rows of the latest batches kept for SSE clients resuming with ``Last-Event-ID``."""
AUDIT_EVERY_S = 60.0
"""A subscription still open writes an audit row at most this often (when it was sent rows)."""


def due_in(kinds: Iterable[str], sent: Mapping[str, Sequence[float]], now: float) -> float:
    """Seconds until the first of ``kinds`` may be fanned out again (≤ 0: now; 0 with no
    kinds). ``sent``: when each kind last went out, oldest first. A kind goes out at most
    ``1 / TICK_S`` times in any second and at least ``TICK_S / 2`` after its last: batches
    told about every :data:`TICK_S`, a little early or late, go out as they come."""
    waits = []
    for kind in set(kinds):
        times = sent.get(kind, ())
        wait = times[-1] + TICK_S / 2 - now if times else 0.0
        if len(times) >= round(1 / TICK_S):
            wait = max(wait, times[-round(1 / TICK_S)] + 1.0 - now)
        waits.append(wait)
    return min(waits, default=0.0)


class LiveHub:
    """What the ingest thread tells (:meth:`offer`), fanned out to the clients each tick."""

    def __init__(self, state: ServeState, gauge: Any) -> None:
        self.state = state
        self.gauge = gauge
        self.metrics: Any = None  # the app's, when installed: missed and dropped rows
        self.clients: set[Client] = set()
        self._inbox: deque[tuple[str, pa.Table, float]] = deque()  # with when told
        self._inbox_rows = 0
        self._lock = threading.Lock()
        self._labels: dict[int, Label] = {}
        self._markings: dict[frozenset[int], str] = {}
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self.dropped = 0
        self._dropped: dict[str, int] = {}  # by kind, not yet told to the clients
        self.seq = 0
        """Number of the last batch fanned out (the SSE event ids)."""
        self.history: deque[tuple[int, dict[str, Rendered]]] = deque()
        self._history_rows = 0
        self._discarded = False  # rows told while nobody listened: a gap in the history
        self._audit_pool = ThreadPoolExecutor(1, thread_name_prefix="live-audit")

    # --- the ingest thread: enqueue only -----------------------------------------------
    def offer(self, kind: str, table: pa.Table) -> None:
        if not self.clients:
            self._discarded = True
            return
        with self._lock:
            self._inbox.append((kind, table, time.monotonic()))
            self._inbox_rows += table.num_rows
            while self._inbox_rows > MAX_INBOX_ROWS and len(self._inbox) > 1:
                old_kind, old, _ = self._inbox.popleft()
                self._inbox_rows -= old.num_rows
                self.dropped += old.num_rows
                self._dropped[old_kind] = self._dropped.get(old_kind, 0) + old.num_rows
                if self.metrics is not None:
                    self.metrics.dropped.labels(old_kind).inc(old.num_rows)
        self._poke()

    def _poke(self) -> None:
        """Wake the pump (from any thread)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(wake.set)

    # --- the event loop -----------------------------------------------------------------
    def add(self, client: Client) -> None:
        self.clients.add(client)
        self.gauge.set(len(self.clients))
        if self._task is None or self._task.done():
            self._loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
            self._task = self._loop.create_task(self._pump(self._loop, self._wake))

    def remove(self, client: Client) -> None:
        self.clients.discard(client)
        self.gauge.set(len(self.clients))
        if not self.clients:
            self._poke()

    async def _pump(self, loop: asyncio.AbstractEventLoop, wake: asyncio.Event) -> None:
        sent: dict[str, deque[float]] = {}  # when each kind last went out (a second's worth)
        while self.clients:
            await wake.wait()
            wake.clear()
            with self._lock:
                kinds = {k for k, _, _ in self._inbox}
            wait = due_in(kinds, sent, loop.time())
            if wait > 0:
                await asyncio.sleep(wait)
            now = loop.time()
            with self._lock:
                due = {k for k, _, _ in self._inbox if due_in([k], sent, now) <= 0}
                taken = [x for x in self._inbox if x[0] in due]
                self._inbox = deque(x for x in self._inbox if x[0] not in due)
                self._inbox_rows = sum(t.num_rows for _, t, _ in self._inbox)
                dropped, self._dropped = self._dropped, {}
                if self._inbox:
                    wake.set()  # kinds not due yet: next time round
            for kind in due:
                sent.setdefault(kind, deque(maxlen=round(1 / TICK_S))).append(now)
            for client in list(self.clients) if dropped else ():
                for kind, n in dropped.items():
                    client.missed[kind] = client.missed.get(kind, 0) + n
                client.ready.set()
            if not taken:
                continue
            try:
                await self._fan_out(taken)
            except Exception:  # a bad batch must not end the stream for everyone
                log.exception("live: could not fan out a batch")

    async def _fan_out(self, taken: list[tuple[str, pa.Table, float]]) -> None:
        by_kind = {
            kind: pa.concat_tables([t for k, t, _ in taken if k == kind], promote_options="default")
            for kind in TYPES
            if any(k == kind for k, _, _ in taken)
        }
        ids = set()
        for rows in by_kind.values():
            ids |= set(pc.unique(rows.column("label_id")).drop_null().to_pylist())
        if not ids <= set(self._labels):
            self._labels = await asyncio.to_thread(self._read_labels)
            self._markings = {}
        labels = self._labels

        def render() -> dict[str, Rendered]:
            return {k: Rendered.of(k, rows, labels) for k, rows in by_kind.items()}

        if sum(t.num_rows for t in by_kind.values()) <= RENDER_INLINE_ROWS:
            rendered = render()  # a thread's round trip would cost more than rendering
        else:
            rendered = await asyncio.to_thread(render)
        # no await from here on: a client added meanwhile gets this batch once
        self._settle()
        self.seq += 1
        for previous in self.history[-1][1].values() if self.history else ():
            previous.forget()  # its columnar texts: only clients still behind need them
        self.history.append((self.seq, rendered))
        self._history_rows += sum(r.rows.num_rows for r in rendered.values())
        while self._history_rows > HISTORY_ROWS and len(self.history) > 1:
            _, old = self.history.popleft()
            self._history_rows -= sum(r.rows.num_rows for r in old.values())
        clients = list(self.clients)
        self._put(clients, rendered, {})
        push(self, clients)  # written now where they can be, else their senders woken
        if self.metrics is not None:  # told -> queued for every client
            queued = time.monotonic()
            for _, _, told in taken:
                self.metrics.delay.labels("hub").observe(queued - told)

    def _settle(self) -> None:  # a number for what nobody was told: resuming across it misses
        if self._discarded:
            self._discarded = False
            self.seq += 1
            self.history.clear()
            self._history_rows = 0

    def _put(
        self, clients: list[Client], rendered: dict[str, Rendered], done: dict[Any, Any]
    ) -> None:
        """Queue for each of ``clients`` the rows of ``rendered`` its reader may read
        inside its filters (:func:`~seawatch.serve.live_select.chosen`); ``done``: what this
        batch worked out (each reader's label mask, the chunks of each set of rows chosen:
        clients sent the same rows share their chunks, so their frames are built once)."""
        for kind, r in rendered.items():
            to = [c for c in clients if kind in c.sub.types]
            if not to or not r.rows.num_rows:
                continue
            picks = chosen(r, to, functools.partial(self.allowed, r, done))
            for client, idx in zip(to, picks, strict=True):
                if not len(idx):
                    continue
                chunks = done.get(key := (kind, idx.tobytes()))
                if chunks is None:
                    chunks = done[key] = [
                        Chunk(r, idx[k : k + FRAME_ITEMS]) for k in range(0, len(idx), FRAME_ITEMS)
                    ]
                lost = client.put(kind, chunks, done, wake=client.wire is None)
                if lost and self.metrics is not None:
                    self.metrics.missed.labels(kind).inc(lost)

    def allowed(self, r: Rendered, done: dict[Any, Any], reader: Reader) -> np.ndarray[Any, Any]:
        """The one label check every row sent goes through: where ``reader`` may read the
        rows of ``r`` (once per reader and batch, kept in ``done``)."""
        mask = done.get((r.kind, reader))
        if mask is None:
            found: Any = label_mask(
                pa.array(r.label_ids), reader, self._labels, self.state.store.policy
            )
            mask = done[(r.kind, reader)] = np.asarray(found.to_numpy(False), bool)
        return mask  # type: ignore[no-any-return]

    def replay(self, client: Client, after: int) -> bool:
        """Queue for ``client`` the kept batches after number ``after``; False when some
        between are no longer kept (or ``after`` is not a batch this hub numbered)."""
        self._settle()
        kept = self.history[0][0] if self.history else self.seq + 1
        for seq, rendered in self.history:
            if seq > after:
                self._put([client], rendered, {})
        return after <= self.seq and after >= kept - 1

    def history_bytes(self) -> int:
        """What the kept batches hold (their rows, texts and arrays), in bytes."""
        return held_bytes(list(self.history))

    def _read_labels(self) -> dict[int, Label]:
        with self.state.lock:
            cm = self.state.store.read_session()
            store = cm.__enter__()
        try:
            return dict(store.labels())
        finally:
            cm.__exit__(None, None, None)

    def frames(self, client: Client, kind: str, got: list[Chunk], wire: bool = False) -> list[Any]:
        """``got`` as frames (JSON texts in the client's form, one per chunk: at most
        :data:`FRAME_ITEMS` items; ``wire``: each as (WebSocket message, text),
        :meth:`Chunk.wire`) with their marking, counted as sent to ``client``; a chunk
        whose marking cannot be computed is not sent (logged)."""
        out: list[Any] = []
        for chunk in got:
            try:
                make = chunk.wire if wire else chunk.frame
                out.append(make(client.sub.form, self.marking))
            except SeawatchError as exc:
                log.error("live: %d %s not sent, no marking: %s", len(chunk), kind, exc)
                continue
            client.sent(len(chunk), chunk.labels)
        return out

    def written(self, since: float | None) -> None:
        """A client's frames queued since ``since`` were written to its connection."""
        if self.metrics is not None and since is not None:
            self.metrics.delay.labels("client").observe(time.monotonic() - since)

    def marking(self, ids: frozenset[int]) -> str:
        """The combined marking of records of the labels ``ids`` (cached)."""
        found = self._markings.get(ids)
        if found is None:
            table = pa.table({"label_id": pa.array(sorted(ids), pa.int32())})
            found = marking_of(table, self._labels, self.state.store.policy).overall.marking
            self._markings[ids] = found
        return found

    def missed_frame(self, client: Client) -> str | None:
        """``{"type": "missed", <kind>: n, ...}`` when ``client`` lost items, else None."""
        missed = client.take_missed()
        if missed is None:
            return None
        return json.dumps({"type": "missed", **{k: missed.get(k, 0) for k in TYPES}})

    # --- the audit trail ----------------------------------------------------------------
    def audit_due(self, client: Client) -> bool:
        """Whether ``client``'s audit row is due (rows sent, :data:`AUDIT_EVERY_S` since)."""
        return bool(client.rows_sent) and time.monotonic() - client.audited_at >= AUDIT_EVERY_S

    def _audit_now(self, client: Client, query: str, rows: int, ids: set[int]) -> None:
        marking = self.marking(frozenset(ids)) if ids else ""
        audit.record_stream(self.state, client.user, client.route, query, rows, marking)

    def audit_start(self, client: Client) -> asyncio.Future[None]:
        """Write ``client``'s audit row now: what was sent under its subscription until
        now, counted at once (the client may go on, or change its subscription, while the
        row is written: on a thread of its own, one row after another, so that many
        clients' rows never hold up the threads the connections parse with)."""
        rows, ids = client.audit_due()
        query = json.dumps(client.sub.describe(), sort_keys=True)
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._audit_pool, self._audit_now, client, query, rows, ids)

    async def audit(
        self,
        client: Client,
        *,
        final: bool = False,
        job: asyncio.Future[None] | None = None,
    ) -> None:
        """Write ``client``'s audit row when due (every :data:`AUDIT_EVERY_S` with rows
        sent), or now when ``final`` (it leaves or changes its subscription), or wait for
        the row ``job`` (:meth:`audit_start`); a failure is logged, the stream goes on."""
        if job is None:
            if not final and not self.audit_due(client):
                return
            job = self.audit_start(client)
        try:
            await asyncio.shield(job)  # cancelled meanwhile: the row is still written
        except asyncio.CancelledError:
            if not final:
                raise  # the sender is being stopped: stop
        except SeawatchError as exc:
            log.error("live: audit row for %s not written: %s", client.user, exc)


def install_live(app: FastAPI) -> None:
    """``/live`` on ``app``, told of each kind ``app.state.subscribers`` is told of."""
    hub = LiveHub(app.state.seawatch, app.state.metrics.subscribers)
    hub.metrics = app.state.metrics
    app.state.live = hub
    app.state.metrics.parts["live_history"] = hub.history_bytes
    for kind in TYPES:  # positions as soon as labelled, before their commit
        told = "labelled" if kind == "positions" else kind
        getattr(app.state.subscribers, told).append(functools.partial(hub.offer, kind))
    app.add_api_websocket_route("/live", live, name="live")  # seawatch.serve.live_ws
