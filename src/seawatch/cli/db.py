"""``seawatch db``: the store's schema and size, and the ``--db`` option every store command
takes.

In: ``--db`` (a DuckDB file path or a ``postgresql://`` URL; default: the ``db``
setting, else ``<data_dir>/seawatch.duckdb``). Out: ``db migrate`` brings the schema to
the current version; ``db stats`` prints rows per table, bytes, bytes per position and
the labels in use (counts only: no records).
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
