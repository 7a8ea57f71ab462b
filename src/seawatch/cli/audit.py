"""``seawatch audit``: who read what through the API, for the node's administrator.

In: ``--db`` and optional filters (``--user``, ``--since``, ``--limit``). Out: the audit rows
(:mod:`seawatch.serve.audit`) as a table or JSON lines: when, who, which route and query,
how many records, under which combined marking. The trail holds no records and no tokens.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
import pyarrow.compute as pc

from seawatch.cli.db import db_option, open_db
from seawatch.serve.audit import audit_rows

__all__ = ["audit_command"]


@click.group("audit")
def audit_command() -> None:
    """The API's audit trail (every request that returned records).

    \b
    Examples:
      seawatch audit list
      seawatch audit list --user analyst --since 2026-12-01T00:00Z --format jsonl
    """


def _since(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO 8601 time", param_hint="--since"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


@audit_command.command("list")
@click.option("--user", "user_name", metavar="NAME", help="Only this user's requests.")
@click.option("--since", metavar="ISO", help="Only requests answered at or after this time.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="The newest N rows.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "jsonl"]),
    default="table",
    show_default=True,
    help="A table for people, JSON lines for tools.",
)
@db_option
@click.pass_context
def list_command(
    ctx: click.Context,
    user_name: str | None,
    since: str | None,
    limit: int,
    fmt: str,
    db: str | None,
) -> None:
    """The audit rows, oldest first (the newest --limit of them)."""
    start = _since(since)
    with open_db(ctx, db, create=False) as store:
        rows = audit_rows(store)
    fn: Any = pc  # the stubs reject a Python scalar beside a column
    if user_name is not None:
        rows = rows.filter(fn.equal(rows.column("user_name"), user_name))
    if start is not None:
        rows = rows.filter(fn.greater_equal(rows.column("ts"), start))
    rows = rows.slice(max(rows.num_rows - limit, 0))
    for row in rows.to_pylist():
        when = f"{row['ts']:%Y-%m-%dT%H:%M:%SZ}"
        if fmt == "jsonl":
            click.echo(json.dumps({**row, "ts": when}, ensure_ascii=False))
        else:
            query = f"?{row['query']}" if row["query"] else ""
            click.echo(
                f"{when}  {row['user_name'] or '-':<16} {row['rows']:>8,} records  "
                f"{row['route']}{query}  [{row['markings'] or '-'}]"
            )
    if fmt == "table":
        click.echo(f"{rows.num_rows:,} request(s)", err=True)
