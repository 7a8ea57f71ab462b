"""``seawatch audit``: who read what through the API, and what left the node.

``audit list``: in ``--db`` and optional filters (``--user``, ``--since``, ``--limit``); out
the API's audit rows (:mod:`seawatch.serve.audit`) as a table or JSON lines: when, who,
which route and query, how many records, under which combined marking. The trail holds no
records and no tokens.

``audit verify | prove | export``: the federation log (:mod:`seawatch.share.log`), a Merkle
log of releases, refusals and imports with signed C2SP checkpoints; ``verify`` checks it
whole, ``prove N`` prints a C2SP ``tlog-proof`` of entry N, ``export DIR`` writes
``entries.jsonl``, ``checkpoint`` and ``key.vkey`` for anyone to check with their own code.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import click
import pyarrow.compute as pc

from seawatch.cli.common import settings_of
from seawatch.cli.db import db_option, open_db
from seawatch.errors import InputError
from seawatch.serve.audit import audit_rows
from seawatch.share.log import AuditLog, verify_log
from seawatch.share.node import Node
from seawatch.share.note import parse_checkpoint, proof_text, verify_note

__all__ = ["audit_command"]


@click.group("audit")
def audit_command() -> None:
    """The API's audit trail, and the federation log of what left the node.

    \b
    Examples:
      seawatch audit list
      seawatch audit list --user analyst --since 2026-12-01T00:00Z --format jsonl
      seawatch audit verify
      seawatch audit prove 12 > entry-12.tlog-proof
      seawatch audit export audit-2026-12/
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


def _log(ctx: click.Context) -> tuple[Node, AuditLog]:
    node = Node.from_settings(settings_of(ctx))
    return node, node.log()


@audit_command.command("verify")
@click.pass_context
def verify_command(ctx: click.Context) -> None:
    """Check the federation log whole: every entry, every checkpoint's signature and root.

    Exit 1 naming the first check that fails (an entry, a signature, a root).
    """
    node, log = _log(ctx)
    report = verify_log(log, node.keys.sign_public)
    root = base64.b64encode(report.root_hash).decode()
    click.echo(f"log {log.origin}: {report.entries} entries, root {root}")
    click.echo(
        f"{report.checkpoints} checkpoint(s) verified, the latest covering "
        f"{report.checkpointed} entries"
    )
    if report.checkpointed < report.entries:
        click.echo(f"{report.entries - report.checkpointed} entries after the latest checkpoint")


@audit_command.command("prove")
@click.argument("entry", type=click.IntRange(min=0))
@click.pass_context
def prove_command(ctx: click.Context, entry: int) -> None:
    """Print a C2SP tlog-proof that log entry ENTRY (0-based) is in the signed log.

    The proof holds the entry's index, its inclusion proof and the signed checkpoint; it
    verifies offline with the node's verifier key (`seawatch node show`).
    """
    node, log = _log(ctx)
    if entry >= log.size:
        held = f"0..{log.size - 1}" if log.size else "none yet"
        raise InputError(f"entry {entry}: the log holds {log.size} entries ({held})")
    note = log.latest()
    if note is None or parse_checkpoint(verify_note(note, node.verifier)).size <= entry:
        note = log.sign(node.keys, node.name)
    size = parse_checkpoint(verify_note(note, node.verifier)).size
    click.echo(proof_text(entry, log.inclusion(entry, size), note), nl=False)


@audit_command.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def export_command(ctx: click.Context, folder: Path) -> None:
    """Write the log for anyone to check: entries.jsonl, checkpoint, key.vkey.

    entries.jsonl has one object per entry in log order: `index`, `leaf` (the exact leaf
    bytes, base64) and `entry` (the same, parsed). checkpoint is a fresh C2SP signed
    checkpoint of the whole log; key.vkey the node's verifier key.
    """
    node, log = _log(ctx)
    note = log.sign(node.keys, node.name)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "entries.jsonl", "w", encoding="utf-8") as f:
        for i, leaf in enumerate(log.entries):
            row = {"index": i, "leaf": base64.b64encode(leaf).decode(), "entry": log.entry(i)}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    (folder / "checkpoint").write_text(note, encoding="utf-8")
    (folder / "key.vkey").write_text(node.verifier.vkey + "\n", encoding="utf-8")
    click.echo(f"{log.size} entries, checkpoint and key.vkey written to {folder}")
