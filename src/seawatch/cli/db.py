"""``seawatch db``: the store's schema and size, and the ``--db`` option every store command
takes.

In: ``--db`` (a DuckDB file path or a ``postgresql://`` URL; default: the ``db``
setting, else ``<data_dir>/seawatch.duckdb``). Out: ``db migrate`` brings the schema to
the current version; ``db stats`` prints rows per table, bytes, bytes per position and
the labels in use (counts only: no records); ``db maintain`` rewrites what the backend
keeps better rewritten once written (PostgreSQL: closed days in track order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from seawatch.cli.common import settings_of
from seawatch.store import SCHEMA_VERSION, Store, open_store

__all__ = ["db_command", "db_option", "open_db"]

F = TypeVar("F", bound=Callable[..., Any])


def db_option(func: F) -> F:
    """The ``--db`` option (env ``SEAWATCH_DB``)."""
    return click.option(
        "--db",
        "db",
        metavar="PATH|URL",
        help="Store: a DuckDB file or a postgresql:// URL "
        "[env SEAWATCH_DB; default <data_dir>/seawatch.duckdb].",
    )(func)


def open_db(
    ctx: click.Context, db: str | None, *, migrate: bool = True, create: bool = True
) -> Store:
    """Open the store the command line and settings select; ``create=False`` for the
    commands that only read it: a store that does not exist is then an error (exit 1)."""
    return open_store(db, settings_of(ctx), migrate=migrate, create=create)


@click.group("db")
def db_command() -> None:
    """The store's schema and size.

    \b
    Examples:
      seawatch db migrate --db data/seawatch.duckdb
      seawatch db stats
      seawatch db maintain --db postgresql://...
    """


@db_command.command("migrate")
@db_option
@click.pass_context
def migrate_command(ctx: click.Context, db: str | None) -> None:
    """Create the schema, or bring an older one to the current version."""
    with open_db(ctx, db, migrate=False) as store:
        before, after = store.migrate()
        if before == after:
            click.echo(f"{store.backend.display}: schema version {after} (current)")
        else:
            click.echo(f"{store.backend.display}: schema version {before or 'none'} -> {after}")


@db_command.command("stats")
@db_option
@click.pass_context
def stats_command(ctx: click.Context, db: str | None) -> None:
    """Rows per table, bytes, bytes per position and the labels in use."""
    with open_db(ctx, db, migrate=False, create=False) as store:
        version = store.version()
        click.echo(f"database: {store.backend.display}")
        click.echo(f"schema version: {version} (this seawatch: {SCHEMA_VERSION})")
        counts = store.counts()
        sizes = store.backend.size_bytes()
        for name, n in counts.items():
            size = sizes.get(name)
            click.echo(f"{name:<15} {n:>14,} rows" + (f" {size:>14,} bytes" if size else ""))
        click.echo(f"{'total':<15} {'':>19} {sizes['total']:>14,} bytes")
        n = counts.get("positions", 0)
        if n:
            per = sizes.get("positions")
            if per:
                click.echo(f"bytes per position: {per / n:.1f} (positions table)")
            click.echo(f"bytes per position: {sizes['total'] / n:.1f} (whole database)")
        labels = store.labels() if "labels" in counts else {}
        click.echo(f"labels in use: {len(labels)}")
        for i, label in labels.items():
            derived = ", derived" if label.derived else ""
            click.echo(f"  {i:>4}  {label}  (originator {label.originator}{derived})")


@db_command.command("maintain")
@db_option
@click.pass_context
def maintain_command(ctx: click.Context, db: str | None) -> None:
    """Rewrite closed days for tracks (PostgreSQL; DuckDB: nothing to do).

    Each day's positions partition but the newest, once: in (1-degree cell, vessel, time)
    order, so one vessel's track reads a few pages a day. Run it after a day ends (e.g.
    daily from cron); it locks one day at a time while it rewrites it.
    """
    with open_db(ctx, db, create=False) as store:
        done = store.backend.maintain()
        click.echo(f"{store.backend.display}: {len(done)} day(s) rewritten")
        for name in done:
            click.echo(f"  {name}")
