"""``seawatch run --serve``: after the job, the map on its store until Ctrl-C.

In: the run's store (``--db`` or ``<out>/seawatch.duckdb``), the nation it acted for and the
port. Out: the user ``analyst`` (``NATION:SECRET``) made if missing, a one-time sign-in link
(10 minutes) printed alone on the last line before the server starts, then ``seawatch
serve`` on that store at ``http://127.0.0.1:PORT`` (loopback only) until Ctrl-C or SIGTERM.
Whether to serve: ``--serve``, ``--no-serve``, or (neither) when standard input and output
are both a terminal and the run read no live feed, so scripts and CI finish and exit as
before. docs/map.md.
"""

from __future__ import annotations

import sys

import click

from seawatch.cli.db import open_db

__all__ = ["ANALYST", "serve_after_run", "wants_serve"]

ANALYST = "analyst"
"""The user the run's map signs in as."""


def wants_serve(serve: bool | None, *, live: bool) -> bool:
    """``--serve``/``--no-serve`` as given, else whether someone is at a terminal (not
    after a live feed: its Ctrl-C already meant "stop")."""
    if serve is not None:
        return serve
    return not live and sys.stdin.isatty() and sys.stdout.isatty()


def serve_after_run(ctx: click.Context, db: str, nation: str, port: int) -> None:
    """Make ``analyst`` if missing, print its sign-in link last, then serve ``db``."""
    from seawatch.cli.serve import serve_command
    from seawatch.serve.accounts import create_user, list_users
    from seawatch.serve.sessions import LINK_TTL, create_link, link_url

    with open_db(ctx, db) as store:
        if ANALYST not in {u.name for u in list_users(store)}:
            create_user(store, ANALYST, f"{nation}:SECRET")
        code, _ = create_link(store, ANALYST)
    minutes = int(LINK_TTL.total_seconds() // 60)
    click.echo(
        f"\nThe map, as {ANALYST}: open this link once, within {minutes} minutes "
        "(Ctrl-C stops the server):"
    )
    click.echo(link_url(f"http://127.0.0.1:{port}", code))
    ctx.invoke(serve_command, db=db, port=port)
