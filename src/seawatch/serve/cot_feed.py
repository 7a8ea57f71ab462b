"""A Cursor-on-Target feed for TAK: a TCP stream of CoT XML for one configured reader.

In: the store, the reader the feed reads as (``--cot-reader``; there is no default: a feed
with no reader is refused), the ingest's :class:`~seawatch.engine.sinks.Subscribers` and
the writer lock. Out: on ``host:port``, to each client that connects, one CoT ``<event>``
per line:

- first the latest position of every vessel the reader may read
  (:meth:`~seawatch.store.query.Query.latest`, written by :func:`seawatch.export.cot.write_cot`);
- then, as live positions are stored, each updated vessel's latest position again, and
  each event stored as a map marker (type :data:`EVENT_TYPE`, see :func:`event_line`).

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
from datetime import datetime, timedelta
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from seawatch.engine.sinks import Subscribers
from seawatch.export.common import TS_TYPE, iso_times, xml_attr, xml_text
from seawatch.export.cot import write_cot
from seawatch.labels import Label, Reader
from seawatch.store import Store
from seawatch.store.query import Query

__all__ = ["EVENT_HOW", "EVENT_TYPE", "CotFeed", "event_line", "mil_attrs"]

log = logging.getLogger(__name__)

EVENT_TYPE: Final = "b-m-p-s-m"
"""CoT type of a detected event: a spot map marker (``b-m-p-s-m``), the point ATAK draws
as a dropped marker, not a track: an event happened there, nothing is moving."""
EVENT_HOW: Final = "m-f"
"""CoT ``how`` of a detected event: machine, fused (derived from several reports)."""
_UID = re.compile(rb'uid="([^"]*)"')
_ACCESS = re.compile(rb'access="([^"]*)"')


def mil_attrs(label: Label) -> str:
    """The MIL-STD-6090 ``caveat`` and ``releasableTo`` attributes of ``label`` (caveats
    joined by ``/``; REL TO entries by spaces), as XML attribute text, or ``""``."""
    parts = []
    if label.caveats:
        parts.append(f"caveat={xml_attr('/'.join(sorted(label.caveats)))}")
    rel = label.rel_to_list()
    if rel is not None:
        parts.append(f"releasableTo={xml_attr(' '.join(rel))}")
    return " ".join(parts)


def _with_mil(line: bytes, by_marking: Mapping[str, Label]) -> bytes:
    """A vessel line of :func:`write_cot` with ``caveat``/``releasableTo`` added."""
    found = _ACCESS.search(line)
    label = by_marking.get(found.group(1).decode()) if found else None
    extra = mil_attrs(label) if label is not None else ""
    return line.replace(b"<event ", f"<event {extra} ".encode(), 1) if extra else line


def event_line(row: Mapping[str, Any], label: Label, node_id: str, stale_s: float) -> str | None:
    """One detected event as a CoT marker (``uid`` ``seawatch.<node>.event.<event_id>``,
    ``time``/``start`` its start, ``stale`` its end or start + ``stale_s``), or None
    without a position. ``<remarks>``: the marking, then what happened."""
    lat, lon, start = row["lat"], row["lon"], row["start_ts"]
    if lat is None or lon is None or start is None:
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    end: datetime = row["end_ts"] or start
    times = iso_times(pa.array([start, end + timedelta(seconds=stale_s)], TS_TYPE), digits=3)
    begin, stale = times[0] or "", times[1] or ""
    what = f"{row['event_type']} MMSI {row['mmsi']}"
    if row.get("other_mmsi") is not None:
        what += f" and MMSI {row['other_mmsi']}"
    attrs = {
        "version": "2.0",
        "uid": f"seawatch.{node_id}.event.{row['event_id']}",
        "type": EVENT_TYPE,
        "time": begin,
        "start": begin,
        "stale": stale,
        "how": EVENT_HOW,
        "access": label.marking,
    }
    head = " ".join(f"{k}={xml_attr(v)}" for k, v in attrs.items())
    extra = mil_attrs(label)
    point = f'<point lat="{float(lat)!r}" lon="{float(lon)!r}" hae="9999999.0" ce="9999999.0"'
    return (
        f'<event {head}{" " + extra if extra else ""}>{point} le="9999999.0"/><detail>'
        f"<contact callsign={xml_attr(what)}/>"
        f"<remarks>{xml_text(label.marking + ' ' + what)}</remarks></detail></event>\n"
    )


class _Client:
    """One connected client: its pending lines by uid, sent by its own writer task."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.pending: dict[bytes, bytes] = {}
        self.ready = asyncio.Event()
        self.coalesced = 0

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

    # --- the ingest's side: only enqueue ----------------------------------------------
    def subscribe(self, subscribers: Subscribers) -> None:
        subscribers.positions.append(lambda t: self._changes.put(("positions", t)))
        subscribers.events.append(lambda t: self._changes.put(("events", t)))

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
            line = event_line(row, label, self.node_id, self.stale_s)
            if line is not None:
                out[f"seawatch.{self.node_id}.event.{row['event_id']}".encode()] = line.encode()
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
            for kind in ("positions", "events"):
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
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        del reader
        client = _Client(writer)
        self._clients.add(client)
        peer = writer.get_extra_info("peername")
        log.info("CoT client %s connected", peer)
        try:
            client.offer(await asyncio.to_thread(self._read, "positions", None), older=True)
            while True:
                await client.ready.wait()
                client.ready.clear()
                lines, client.pending = client.pending, {}
                writer.write(b"".join(lines.values()))
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._clients.discard(client)
            writer.close()
            log.info("CoT client %s gone (%d updates coalesced)", peer, client.coalesced)

    def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (an error if it cannot) and start serving."""
        started = threading.Event()
        failed: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._handle, host, port)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:
                failed.append(exc)
                started.set()
                return
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
        log.info("CoT feed on %s:%d for reader %s", host, self.port, self.reader)

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
