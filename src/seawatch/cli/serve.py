"""``seawatch serve``: the node's HTTP API, served by uvicorn.

In: ``--host`` (loopback unless told otherwise), ``--port``, ``--db``. Out: the app of
:func:`seawatch.serve.app.create_app` until SIGTERM or Ctrl-C, which end it with a
clean shutdown (:func:`seawatch.signals.stop_on_signals`: requests in flight finish, the
store is closed, exit code 0). docs/serve.md.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

import click

from seawatch.cli.common import settings_of
from seawatch.cli.db import db_option, open_db
from seawatch.signals import stop_on_signals

__all__ = ["serve_command"]

log = logging.getLogger(__name__)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="TCP port (0: any).")
@db_option
@click.pass_context
def serve_command(ctx: click.Context, host: str, port: int, db: str | None) -> None:
    """Serve the REST API under /api/v1 (tokens from `seawatch users add`).

    \b
    Examples:
      seawatch serve --db data/seawatch.duckdb
      curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/api/v1/me
    """
    import uvicorn

    from seawatch.serve.app import create_app

    if host not in ("127.0.0.1", "::1", "localhost"):
        log.warning("serving on %s: reachable beyond this machine", host)

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # signals are the project's stop_on_signals', below

    stop = threading.Event()
    with open_db(ctx, db) as store, stop_on_signals(stop):
        app = create_app(store, settings_of(ctx))
        config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=True)
        server = Server(config)

        def _stop_when_asked() -> None:
            stop.wait()
            log.info("stop requested: finishing requests in flight")
            server.should_exit = True

        threading.Thread(target=_stop_when_asked, daemon=True, name="serve-stop").start()
        server.run()
        stop.set()
    log.info("server stopped")
