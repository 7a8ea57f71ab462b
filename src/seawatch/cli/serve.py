"""``seawatch serve``: the node's HTTP API, served by uvicorn, and live feeds ingested.

In: ``--host`` (loopback unless told otherwise), ``--port``, ``--db``, and any number of
live feeds (``--tcp``/``--udp HOST:PORT``, ``--batch-s``, ``--reorder-window-s``,
``--param``). Out: the app of :func:`seawatch.serve.app.create_app` until SIGTERM or Ctrl-C;
meanwhile the feeds are stored and detected on through the engine
(:func:`seawatch.engine.live.ingest_feeds`: one :class:`~seawatch.engine.ingest.Ingest`
session on a write session of the store of its own (:meth:`Store.write_session`: a slow
request or audit write never holds ingest up, nor ingest a request), its batches kept in
``<data_dir>/live/<start>/<n>/``, its output also told to ``app.state.subscribers``).
Peers subscribed to this node (``seawatch share subscribe``) are pushed what it releases to
them as it is stored (:class:`seawatch.serve.publish.Publisher`, one last time at the stop).
SIGTERM or Ctrl-C (:func:`seawatch.signals.stop_on_signals`) stops the feeds, finishes the
session (what was received stored, open events and segments too), then stops the server
(requests in flight finish), closes the store and exits 0. docs/serve.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import click

from seawatch.cli.common import Failure, params_option, settings_of, with_params
from seawatch.cli.db import db_option, open_db
from seawatch.cli.serve_warm import tuned_gc, warm_up
from seawatch.errors import InputError
from seawatch.signals import stop_on_signals

if TYPE_CHECKING:
    from fastapi import FastAPI

    from seawatch.engine.live import Batch
    from seawatch.serve.cot_feed import CotFeed
    from seawatch.settings import Settings
    from seawatch.sources.feed import Feed
    from seawatch.store import Store

__all__ = ["serve_command"]

log = logging.getLogger(__name__)

SHUTDOWN_S = 10
"""At a stop, requests and streams still open after this long are cancelled (each stream
is first told to close and its audit row written)."""
SWITCH_INTERVAL_S = 0.0005
"""The serving process's GIL switch interval (CPython's default: 5 ms). The event loop
lets go of the GIL at every socket write (one per client per frame); with the live ingest
thread busy in Python it then waited up to the interval to get it back, each time: 200
clients' frames took seconds to write (a convoy). bench/RESULTS.md 2026-12-07 session 2
(h-fan): the loop's CPU per batch unchanged, its writes' p99 6.3/0.5 s -> 0.16/0.18 s."""


def _feeds(tcp: Sequence[str], udp: Sequence[str]) -> list[Feed]:
    """The feeds named, not yet open; a usage error for a bad ``HOST:PORT``."""
    from seawatch.sources.feed import Feed, parse_address

    feeds = []
    for proto, texts in (("tcp", tcp), ("udp", udp)):
        for text in texts:
            try:
                address = parse_address(text)
            except InputError as exc:
                raise click.BadParameter(str(exc), param_hint=f"--{proto}") from None
            feeds.append(Feed(proto, address))  # type: ignore[arg-type]
    return feeds


def _address(text: str, option: str) -> tuple[str, int]:
    """``HOST:PORT`` of ``option``; a usage error otherwise."""
    from seawatch.sources.feed import parse_address

    try:
        return parse_address(text)
    except InputError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


class _Live:
    """The feeds ingested on a thread of their own while the app serves."""

    def __init__(self, feeds: list[Feed], store: Store, settings: Settings, app: FastAPI):
        self.feeds, self.store, self.settings, self.app = feeds, store, settings, app
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self._ending = threading.Lock()
        self.lock = threading.Lock()  # the feeds' writes to their one session
        self._writer = contextlib.ExitStack()
        began = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        self.folder = settings.data_dir / "live" / began
        self.batch_s = 0.0

    def start(self, batch_s: float, window_s: float) -> None:
        """Open the feeds (an error if one cannot be) and start ingesting them, holding
        positions ``window_s`` to put them in time order."""
        from seawatch.engine.held import held_bytes
        from seawatch.engine.ingest import Ingest

        if not self.feeds:
            return
        for feed in self.feeds:
            feed.open()
        self.batch_s = batch_s
        with self.app.state.seawatch.lock:  # the app's connection makes the new one
            writer = self._writer.enter_context(self.store.write_session())
        settings = dataclasses.replace(self.settings, reorder_window_s=window_s)
        self.session = Ingest(writer, settings, detect=True, sinks=[self.app.state.subscribers],
                              detect_process=settings.live_detect_process)  # fmt: skip
        pipeline = self.session.engine.pipeline
        self.app.state.metrics.parts["pipeline"] = lambda: held_bytes(pipeline)
        self.thread = threading.Thread(target=self._run, name="serve-feeds", daemon=True)
        self.thread.start()
        log.info("ingesting %s live; batches in %s", ", ".join(map(str, self.feeds)), self.folder)

    def _run(self) -> None:
        from seawatch.engine.live import ingest_feeds

        try:
            report = ingest_feeds(
                self.session,
                self.feeds,
                self.folder,
                batch_s=self.batch_s,
                stop=self.stop,
                lock=self.lock,
                on_batch=self._count,
            )
            s = report.stored
            log.info(
                "feeds ended: %s new positions, %s segments, %s events stored",
                s["positions"],
                s["segments"],
                s["events"],
            )
        except BaseException as exc:  # told at exit
            self.error = exc
        finally:
            with self.app.state.seawatch.lock:
                self._writer.close()

    def _count(self, batch: Batch) -> None:
        """Each stored batch in the server's metrics (``/metrics``); subscribers told."""
        metrics = self.app.state.metrics
        metrics.ingested.inc(batch.positions)
        metrics.events.inc(batch.events)
        metrics.delay.labels("wait").observe(batch.waited_s)
        metrics.delay.labels("store").observe(batch.store_s)
        for took in batch.detect_s:
            metrics.delay.labels("detect").observe(took)
        publisher = getattr(self.app.state, "publisher", None)  # None: an app without one
        if publisher is not None:
            publisher.wake()

    def end(self) -> None:
        """Stop the feeds and wait until the session is finished (from any thread)."""
        self.stop.set()
        with self._ending:
            if self.thread is not None:
                self.thread.join()
            for feed in self.feeds:
                feed.close()


def _cot_feed(store: Store, settings: Settings, app: FastAPI, text: str) -> CotFeed:
    """The CoT feed of ``--cot-port``, reading as ``text``, told of the live output."""
    from seawatch.errors import LabelError
    from seawatch.labels import Reader
    from seawatch.serve.cot_feed import CotFeed

    try:
        reader = Reader.parse(text, store.policy)
    except LabelError as exc:
        raise click.BadParameter(str(exc), param_hint="--cot-reader") from None
    feed = CotFeed(
        store,
        reader,
        app.state.seawatch.lock,
        node_id=settings.node_id,
        stale_s=settings.cot_stale_s,
    )
    feed.subscribe(app.state.subscribers)
    return feed


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="TCP port (0: any).")
@db_option
@click.option(
    "--tcp",
    multiple=True,
    metavar="HOST:PORT",
    help="Ingest a live NMEA feed from this TCP server (repeatable).",
)
@click.option(
    "--udp",
    multiple=True,
    metavar="HOST:PORT",
    help="Ingest a live NMEA feed received on this UDP address (repeatable).",
)
@click.option(
    "--batch-s",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Live feeds: store what arrived every this many seconds.",
)
@click.option(
    "--reorder-window-s",
    default=None,
    type=click.FloatRange(min=0),
    help="Live feeds: hold positions this long to put them in time order; a row older than "
    "what was released is stored without a track, never dropped. Default: 0 with one feed "
    "(its lines come in order: stamped on arrival, a batch sorted whole), --batch-s with "
    "several (their batches interleave). The reorder_window_s setting is for files.",
)
@click.option(
    "--ws-deflate/--no-ws-deflate",
    default=False,
    show_default=True,
    help="Compress WebSocket frames (permessage-deflate) for clients that offer it: less "
    "bandwidth over slow links, but a compression per client per frame (CPU that grows "
    "with the number of clients; bench/serve.py --live fanout).",
)
@click.option(
    "--cot-port",
    type=click.IntRange(0, 65535),
    default=None,
    envvar="SEAWATCH_COT_PORT",
    help="Serve a Cursor-on-Target TCP stream for TAK on this port (0: any); needs --cot-reader.",
)
@click.option(
    "--cot-to",
    metavar="HOST:PORT",
    default=None,
    envvar="SEAWATCH_COT_TO",
    help="Also stream the CoT feed to this TAK server (connecting out; e.g. taky's 8087); "
    "needs --cot-reader.",
)
@click.option(
    "--cot-reader",
    metavar="NATION:LEVEL[:CAVEATS]",
    default=None,
    envvar="SEAWATCH_COT_READER",
    help="The reader the CoT stream reads as (required with --cot-port; no default).",
)
@params_option
@click.pass_context
def serve_command(
    ctx: click.Context,
    host: str,
    port: int,
    db: str | None,
    tcp: tuple[str, ...],
    udp: tuple[str, ...],
    batch_s: float,
    reorder_window_s: float | None,
    ws_deflate: bool,
    cot_port: int | None,
    cot_to: str | None,
    cot_reader: str | None,
    params: tuple[str, ...],
) -> None:
    """Serve the REST API under /api/v1 (tokens from `seawatch users add`); with --tcp or
    --udp, ingest those live feeds at the same time (stored and detected as they arrive).

    \b
    Examples:
      seawatch serve --db data/seawatch.duckdb
      seawatch serve --db data/seawatch.duckdb --tcp 127.0.0.1:10110 --batch-s 2
      seawatch serve --tcp 127.0.0.1:10110 --cot-port 8087 --cot-reader IND:SECRET
      seawatch serve --tcp 127.0.0.1:10110 --cot-to 127.0.0.1:8087 --cot-reader IND:SECRET
      curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/api/v1/me
    """
    import uvicorn

    from seawatch.serve.app import create_app
    from seawatch.serve.live_wire import FramedWebSockets
    from seawatch.serve.publish import Publisher

    if host not in ("127.0.0.1", "::1", "localhost"):
        log.warning("serving on %s: reachable beyond this machine", host)
    settings = with_params(settings_of(ctx), params)
    feeds = _feeds(tcp, udp)
    if (cot_port is None and cot_to is None) != (cot_reader is None):
        raise click.UsageError(
            "--cot-port and --cot-reader go together (--cot-to too): the CoT stream has no "
            "default reader (name the reader it sends for, e.g. --cot-port 8087 "
            "--cot-reader IND:SECRET)"
        )
    push_to = _address(cot_to, "--cot-to") if cot_to is not None else None

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # signals are the project's stop_on_signals', below

    stop = threading.Event()
    sys.setswitchinterval(SWITCH_INTERVAL_S)  # this process only: see SWITCH_INTERVAL_S
    with open_db(ctx, db) as store, stop_on_signals(stop):
        app = create_app(store, settings)
        app.state.publisher = publisher = Publisher(app.state.seawatch)
        live = _Live(feeds, store, settings, app)
        cot = _cot_feed(store, settings, app, cot_reader) if cot_reader is not None else None
        # uvicorn's own access log would hold query strings: seawatch.access is the one
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=SHUTDOWN_S,
            # a pong late by seconds on a busy node is not a dead client: bench/serve --live
            # idle lost 578 of 1,000 subscribers to the default 20 s at load average 10-15
            ws_ping_interval=20.0,
            ws_ping_timeout=60.0,
            ws_per_message_deflate=ws_deflate,
            ws=FramedWebSockets,  # /live frames framed once for all clients (serve.live_wire)
        )
        server = Server(config)

        def _stop_when_asked() -> None:
            stop.wait()
            log.info("stop requested: stopping the feeds, then finishing requests in flight")
            live.end()
            server.should_exit = True

        threading.Thread(target=_stop_when_asked, daemon=True, name="serve-stop").start()
        try:
            if cot is not None:
                cot.start(None if cot_port is None else (host, cot_port), push_to)
            if reorder_window_s is None:
                reorder_window_s = 0.0 if len(feeds) == 1 else batch_s
            if feeds:
                warm_up(settings)  # loaded now, not in the first batches
            live.start(batch_s, reorder_window_s)
            publisher.start()
            with tuned_gc():  # no full collection scanning the pipeline's state every ~10 s
                server.run()
        finally:
            stop.set()
            live.end()
            publisher.end()  # after the feeds: what they stored last goes to subscribers
            if cot is not None:
                cot.stop()
    if live.error is not None:
        raise Failure(f"live ingest failed: {live.error}") from live.error
    log.info("server stopped")
