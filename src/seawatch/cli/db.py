"""``seawatch db``: the store's schema and size, and the ``--db`` option every store command
takes.

In: ``--db`` (a DuckDB file path or a ``postgresql://`` URL; default: the ``db``
setting, else ``<data_dir>/seawatch.duckdb``). Out: ``db migrate`` brings the schema to
the current version; ``db stats`` prints rows per table, bytes, bytes per position and
the labels in use (counts only: no records); ``db maintain`` rewrites what the backend
keeps better rewritten once written (PostgreSQL: closed days in track order); ``db
archive`` moves closed days' positions into GeoParquet files the queries read with the
database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from seawatch.cli.common import settings_of
from seawatch.engine.state import StateStore, state_dir
from seawatch.errors import InputError
from seawatch.store import SCHEMA_VERSION, Store, open_store
from seawatch.store.archive import archive, archived_days

__all__ = ["db_command", "db_option", "open_db"]

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)


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
      seawatch db archive --before 2024-03-01
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
        days = archived_days(store)
        if days:
            n_archived = sum(d.rows for d in days)
            click.echo(
                f"archived: {n_archived:,} positions in {len(days)} day(s) "
                f"({days[0].day:%Y-%m-%d} .. {days[-1].day:%Y-%m-%d}) in {days[0].folder}"
            )
        labels = store.labels() if "labels" in counts else {}
        click.echo(f"labels in use: {len(labels)}")
        for i, label in labels.items():
            derived = ", derived" if label.derived else ""
            click.echo(f"  {i:>4}  {label}  (originator {label.originator}{derived})")


@db_command.command("maintain")
@db_option
@click.pass_context
def maintain_command(ctx: click.Context, db: str | None) -> None:
    """Rewrite closed days for tracks (PostgreSQL: in place; DuckDB: a copy in vessel order).

    PostgreSQL: each day's positions partition but the newest, once, in (1-degree cell,
    vessel, time) order, so one vessel's track reads a few pages a day; it locks one day at
    a time while it rewrites it. DuckDB: the days before the newest not copied yet are
    appended to positions_by_vessel in (vessel, time) order, read by tracks (the file grows
    by about the copied days' size). Run it after a day ends (e.g. daily from cron).
    """
    with open_db(ctx, db, create=False) as store:
        done = store.backend.maintain()
        click.echo(f"{store.backend.display}: {len(done)} day(s) rewritten or copied")
        for name in done:
            click.echo(f"  {name}")


def _closed_until(store: Store, data_dir: Path) -> tuple[datetime | None, str]:
    """The end of the days the late-data machinery can no longer run again (None: no
    daily-run states, no limit), and why: the oldest state kept per bucket ends them,
    unless it is a first run (no state before it), which can run again from nothing."""
    states = StateStore(state_dir(data_dir, store.backend.display))
    limit: int | None = None
    if not states.root.is_dir():
        return None, ""
    for bucket in sorted(p.name for p in states.root.iterdir() if p.is_dir()):
        marks = states.watermarks(bucket)
        if not marks:
            continue
        found = states.load(bucket, marks[0])
        first_run = found is not None and found[1].get("prev_us") is None
        if first_run and states.has_journal(bucket, marks[0]):
            return datetime.min.replace(tzinfo=UTC), f"the first daily run ({bucket}) can run again"
        limit = marks[0] if limit is None else min(limit, marks[0])
    if limit is None:
        return None, ""
    until = datetime.fromtimestamp(limit / 1e6, UTC)
    return (
        until,
        f"days after the oldest daily-run state kept ({until:%Y-%m-%d %H:%M}Z) can run again",
    )


@db_command.command("archive")
@click.option(
    "--before",
    "before",
    required=True,
    metavar="DAY",
    help="Archive the positions of the days before this one (UTC), e.g. 2024-03-01.",
)
@click.option(
    "--to",
    "to",
    type=click.Path(file_okay=False, path_type=Path),
    help="Archive folder (first archive only; default: beside a DuckDB file, "
    "<name>.archive/; PostgreSQL: required). Recorded in the store.",
)
@db_option
@click.pass_context
def archive_command(ctx: click.Context, before: str, to: Path | None, db: str | None) -> None:
    """Move closed days' positions into GeoParquet files.

    One file per day, `<folder>/day=YYYY-MM-DD/part-*.parquet`, with every column the
    queries need (label_id included); queries, exports and the API read the database and
    the archive as one, through the same label filter. Only closed days move: before
    --before (at the latest today, UTC) and before the oldest daily-run state kept
    (days the late-data machinery may still run again stay). Crash-safe: files are
    renamed into place before the rows are deleted, in one transaction. Positions that
    arrive later for an archived day re-open it (its rows go back into the database).

    \b
    Examples:
      seawatch db archive --before 2024-03-01
      seawatch db archive --before 2024-03-01 --to /data/archive --db postgresql://...
    """
    try:
        when = datetime.fromisoformat(before.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--before {before!r}: give a day, e.g. 2024-03-01") from None
    when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if when > today:
        raise InputError(
            f"--before {before}: that day is not over; give {today:%Y-%m-%d} or before"
        )
    settings = settings_of(ctx)
    with open_db(ctx, db, create=False) as store:
        until, why = _closed_until(store, Path(settings.data_dir))
        if until is not None and until < when:
            click.echo(f"archiving only days ending by {until:%Y-%m-%d %H:%M}Z: {why}", err=True)

        def step(what: str, day: datetime | None) -> None:
            if day is not None:
                log.info("archive: %s %s", what, f"{day:%Y-%m-%d}")
            else:
                log.info("archive: %s", what)

        done = archive(store, when, to, closed_until=until, step=step)
        click.echo(
            f"{store.backend.display}: {len(done.days)} day(s) archived, {done.rows:,} positions, "
            f"{done.bytes:,} bytes of GeoParquet in {done.folder}"
        )
        for d in done.days:
            click.echo(f"  {d.day:%Y-%m-%d}  {d.rows:>12,}  {d.file}")
        freed = done.reclaimed
        if freed.partitions:
            click.echo(
                f"space given back: {len(freed.partitions)} partition(s) truncated, "
                f"{freed.bytes:,} bytes"
            )
        if freed.waiting_for:
            click.echo(
                f"space not given back yet: {len(freed.waiting_for)} older read(s) still "
                "open; the next `seawatch db archive` gives it back",
                err=True,
            )
