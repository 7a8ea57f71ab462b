"""A Cursor-on-Target feed for TAK: a TCP stream of CoT XML for one configured reader.

In: the store, the reader the feed reads as (``--cot-reader``; there is no default: a feed
with no reader is refused), the ingest's :class:`~seawatch.engine.sinks.Subscribers` and
the writer lock. Out: on ``host:port`` (``--cot-port``), to each client that connects, and
to a TAK server it connects out to (``--cot-to``; a TAK server such as taky routes it on to
its own clients; connected again while it is away), one CoT ``<event>`` per line:

- first the latest position of every vessel the reader may read
  (:meth:`~seawatch.store.query.Query.latest`, written by :func:`seawatch.export.cot.write_cot`);
- then, as live positions are stored, each updated vessel's latest position again, and
  each event stored as a map marker (:func:`seawatch.serve.cot_markers.event_line`), typed
  as the CoT export types it: a suspect track ``a-s-S`` when its rule states a suspicion
  (spoofing, suspected disabling), else a spot marker ``b-m-p-s-m``.

Labels: the subscribers are told of released rows before they carry a ``label_id`` (the
store sink labels what it writes), so the feed never sends those rows. The callbacks only
note what changed (a queue put, never blocking the ingest); a thread of the feed then reads
the same vessels and events back from the store through ``Query`` for the feed's reader,
which sends only labelled rows the reader may read: a row not (yet) stored or not readable
is not sent. Every event carries its marking in ``access`` and ``<remarks>``, and its
caveats and REL TO list in the MIL-STD-6090 ``caveat`` and ``releasableTo`` attributes.

A slow client never slows the ingest: each client has its own pending lines keyed by CoT
``uid`` (a vessel or an event); a newer line replaces one not yet sent (coalesced) and the
client's writer sends what is pending when the socket drains. docs/serve.md, "TAK".
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import queue
import re
import threading
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from seawatch.engine.sinks import Subscribers
from seawatch.export.cot import write_cot
from seawatch.labels import Label, Reader
from seawatch.serve.cot_markers import alert_line, alert_uid, event_line, event_uid, mil_attrs
from seawatch.store import Store
from seawatch.store.query import Query

__all__ = ["CotFeed"]

log = logging.getLogger(__name__)

_UID = re.compile(rb'uid="([^"]*)"')
_ACCESS = re.compile(rb'access="([^"]*)"')


def _with_mil(line: bytes, by_marking: Mapping[str, Label]) -> bytes:
    """A vessel line of :func:`write_cot` with ``caveat``/``releasableTo`` added."""
    found = _ACCESS.search(line)
    label = by_marking.get(found.group(1).decode()) if found else None
    extra = mil_attrs(label) if label is not None else ""
    return line.replace(b"<event ", f"<event {extra} ".encode(), 1) if extra else line


class _Client:
    """One connected client: its pending lines by uid, sent by its own writer task."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.pending: dict[bytes, bytes] = {}
        self.ready = asyncio.Event()
        self.coalesced = 0
        self.gone = False  # the other side closed the connection

    def offer(self, lines: Mapping[bytes, bytes], *, older: bool = False) -> None:
        for uid, line in lines.items():
            if uid in self.pending:
                if older:
                    continue
                self.coalesced += 1
            self.pending[uid] = line
        if lines:
            self.ready.set()


class CotFeed:
    """The CoT TCP server of ``seawatch serve --cot-port`` (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        reader: Reader,
        lock: threading.Lock,
        *,
        node_id: str,
        stale_s: float,
    ) -> None:
        self.store, self.reader, self.lock = store, reader, lock
        self.node_id, self.stale_s = node_id, stale_s
        self.port = 0
        self._changes: queue.SimpleQueue[tuple[str, pa.Table] | None] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._clients: set[_Client] = set()
        self._threads: list[threading.Thread] = []
        self._pusher: asyncio.Task[None] | None = None
        self.pushes = 0  # connections made to the TAK server of --cot-to

    # --- the ingest's side: only enqueue ----------------------------------------------
    def subscribe(self, subscribers: Subscribers) -> None:
        subscribers.positions.append(lambda t: self._changes.put(("positions", t)))
        subscribers.events.append(lambda t: self._changes.put(("events", t)))
        subscribers.alerts.append(lambda t: self._changes.put(("alerts", t)))

    # --- reading back for the reader ----------------------------------------------------
    def _read(self, kind: str, table: pa.Table | None) -> dict[bytes, bytes]:
        """Lines by uid: of every vessel (``table`` None), or of the vessels or events of
        ``table`` as the store holds them for the reader."""
        with self.lock:
            cm = self.store.read_session()
            session = cm.__enter__()
        try:
            q = Query(session, self.reader)
            labels = q.labels()
            if kind == "alerts":  # fired alerts, as markers, as the reader may read them
                assert table is not None
                rows = q.alerts(start=pc.min(table["ts"]).as_py())
                rows = rows.filter(pc.is_in(rows["alert_id"], table["alert_id"]))
                return self._alerts(rows, labels)
            if kind == "events":
                assert table is not None
                start: Any = pc.min(table["start_ts"]).as_py()
                rows = q.events(start=start)
                rows = rows.filter(pc.is_in(rows["event_id"], table["event_id"]))
                return self._events(rows, labels)
            if table is None:
                rows = q.latest()
            else:
                rows = q.latest(start=pc.min(table["ts"]).as_py())
                rows = rows.filter(pc.is_in(rows["mmsi"], table["mmsi"].cast(rows["mmsi"].type)))
            return self._vessels(rows, labels)
        finally:
            cm.__exit__(None, None, None)

    def _vessels(self, rows: pa.Table, labels: Mapping[int, Label]) -> dict[bytes, bytes]:
        if rows.num_rows == 0:
            return {}
        buf = io.BytesIO()
        write_cot(
            rows,
            labels,
            buf,
            kind="latest",
            policy=self.store.policy,
            node_id=self.node_id,
            stale_s=self.stale_s,
        )
        by_marking = {lb.marking: lb for lb in labels.values()}
        out = {}
        for line in buf.getvalue().splitlines(keepends=True):
            uid = _UID.search(line)
            if uid is not None:
                out[uid.group(1)] = _with_mil(line, by_marking)
        return out

    def _events(self, rows: pa.Table, labels: Mapping[int, Label]) -> dict[bytes, bytes]:
        out = {}
        for row in rows.to_pylist():
            label = labels.get(row["label_id"])
            if label is None:  # deny when unsure
                continue
            line = event_line(row, label, self.node_id, self.stale_s, suspicion=True)
            if line is not None:
                out[event_uid(self.node_id, row["event_id"]).encode()] = line.encode()
        return out

    def _alerts(self, rows: pa.Table, labels: Mapping[int, Label]) -> dict[bytes, bytes]:
        out = {}
        for row in rows.to_pylist():
            label = labels.get(row["label_id"])
            if label is None:  # deny when unsure
                continue
            line = alert_line(row, label, self.node_id, self.stale_s)
            if line is not None:
                out[alert_uid(self.node_id, row["alert_id"]).encode()] = line.encode()
        return out

    def _pump(self) -> None:
        """Read each change back for the reader and hand the lines to every client."""
        while True:
            item = self._changes.get()
            items = [item]
            while True:  # coalesce what arrived meanwhile
                try:
                    items.append(self._changes.get_nowait())
                except queue.Empty:
                    break
            last = any(i is None for i in items)
            lines: dict[bytes, bytes] = {}
            for kind in ("positions", "events", "alerts"):
                tables = [t for k, t in (i for i in items if i is not None) if k == kind]
                if tables:
                    try:
                        lines |= self._read(
                            kind, pa.concat_tables(tables, promote_options="default")
                        )
                    except Exception:
                        log.exception("CoT feed: cannot read %s back; not sent", kind)
            if lines and self._loop is not None:
                self._loop.call_soon_threadsafe(self._publish, lines)
            if last:
                return

    def _publish(self, lines: dict[bytes, bytes]) -> None:
        for client in self._clients:
            client.offer(lines)

    # --- the TCP server -------------------------------------------------------------------
    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: object
    ) -> None:
        """Stream to one connection: every vessel first, then what changes. What the other
        side sends (a TAK server's traffic, a client's pings) is read and dropped; its end
        of the connection ends this."""
        client = _Client(writer)
        self._clients.add(client)

        async def watch() -> None:
            with contextlib.suppress(ConnectionError):
                while await reader.read(65536):
                    pass
            client.gone = True
            client.ready.set()

        watcher = asyncio.create_task(watch())
        try:
            client.offer(await asyncio.to_thread(self._read, "positions", None), older=True)
            while not client.gone:
                await client.ready.wait()
                client.ready.clear()
                lines, client.pending = client.pending, {}
                writer.write(b"".join(lines.values()))
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            watcher.cancel()
            self._clients.discard(client)
            writer.close()
            log.info("CoT %s gone (%d updates coalesced)", peer, client.coalesced)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        log.info("CoT client %s connected", peer)
        await self._serve(reader, writer, f"client {peer}")

    async def _push(self, host: str, port: int, retry_s: float) -> None:
        """Connect out to the TAK server at ``host:port`` and stream to it as to a client;
        connect again ``retry_s`` after it cannot be reached or closes the connection (a
        warning when it goes away, not at every try)."""
        told = False
        while True:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError as exc:
                (log.debug if told else log.warning)(
                    "CoT: cannot reach the TAK server %s:%d (%s); trying again every %g s",
                    host, port, exc.strerror or exc, retry_s,
                )  # fmt: skip
                told = True
            else:
                log.info("CoT: streaming to the TAK server %s:%d", host, port)
                told = False
                self.pushes += 1
                await self._serve(reader, writer, f"TAK server {host}:{port}")
            await asyncio.sleep(retry_s)

    def start(
        self,
        listen: tuple[str, int] | None,
        push_to: tuple[str, int] | None = None,
        *,
        retry_s: float = 5.0,
    ) -> None:
        """Listen on ``listen`` (``(host, port)``; an error if it cannot), stream to the
        TAK server at ``push_to`` (connecting out, again and again while it is away), or
        both, and start serving."""
        started = threading.Event()
        failed: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                if listen is not None:
                    self._server = loop.run_until_complete(
                        asyncio.start_server(self._handle, *listen)
                    )
                    self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:
                failed.append(exc)
                started.set()
                return
            if push_to is not None:
                self._pusher = loop.create_task(self._push(*push_to, retry_s))
            started.set()
            loop.run_forever()
            loop.close()

        thread = threading.Thread(target=run, name="cot-feed", daemon=True)
        thread.start()
        started.wait()
        if failed:
            raise failed[0]
        pump = threading.Thread(target=self._pump, name="cot-pump", daemon=True)
        pump.start()
        self._threads = [thread, pump]
        if listen is not None:
            log.info("CoT feed on %s:%d for reader %s", listen[0], self.port, self.reader)
        if push_to is not None:
            log.info("CoT feed to %s:%d for reader %s", *push_to, self.reader)

    def stop(self) -> None:
        """Send what is pending (the ingest's last output too), then close the server and
        every client (call after the ingest has ended)."""
        self._changes.put(None)
        for thread in self._threads[1:]:
            thread.join(30)
        loop = self._loop
        if loop is not None and loop.is_running():

            async def close() -> None:
                if self._server is not None:
                    self._server.close()
                await asyncio.sleep(0)  # the pump's last lines are offered first
                for client in list(self._clients):
                    with contextlib.suppress(Exception):
                        client.writer.write(b"".join(client.pending.values()))
                        await asyncio.wait_for(client.writer.drain(), 5)
                    client.writer.close()
                for task in asyncio.all_tasks():
                    if task is not asyncio.current_task():
                        task.cancel()

            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(close(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
        self._threads[0].join(5)
