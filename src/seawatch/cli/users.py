"""``seawatch users``: the API's users and their tokens.

In: ``--db``, a user name, its reader (``--reader IND:SECRET[:CAVEATS]``) and expiry.
Out: ``users add`` prints the new token once, alone on the last line (only its hash is
stored); ``users link`` prints a one-time sign-in link of the web map, alone on the last
line (single use, 10 minutes; only its hash is stored); ``users list`` prints the users
without secrets; ``users revoke`` ends a token.
"""

from __future__ import annotations

import click

from seawatch.cli.db import db_option, open_db
from seawatch.serve.accounts import create_user, list_users, parse_expiry, revoke_user
from seawatch.serve.sessions import LINK_TTL, create_link, link_url

__all__ = ["users_command"]


def _when(t: object) -> str:
    return "-" if t is None else f"{t:%Y-%m-%dT%H:%M:%SZ}"


@click.group("users")
def users_command() -> None:
    """Users of the HTTP API (`seawatch serve`) and their tokens.

    \b
    Examples:
      seawatch users add analyst --reader IND:SECRET --expires 30d
      seawatch users link analyst --base-url http://127.0.0.1:8000
      seawatch users list
      seawatch users revoke analyst
    """


@users_command.command("add")
@click.argument("name")
@click.option(
    "--reader", required=True, metavar="NATION:CLEARANCE[:CAVEATS]", help="What the user may read."
)
@click.option(
    "--expires", metavar="30d|ISO", help="Expiry: a duration (30d, 12h, 2w) or an ISO 8601 time."
)
@db_option
@click.pass_context
def add_command(
    ctx: click.Context, name: str, reader: str, expires: str | None, db: str | None
) -> None:
    """Add a user; print its token once, alone on the last line."""
    with open_db(ctx, db) as store:
        user, token = create_user(store, name, reader, expires_at=parse_expiry(expires))
    click.echo(f"user {user.name} reads as {user.reader}, expires {_when(user.expires_at)}")
    click.echo("token (shown once; only its hash is stored):")
    click.echo(token)


@users_command.command("link")
@click.argument("name")
@click.option(
    "--base-url",
    default="http://127.0.0.1:8000",
    show_default=True,
    metavar="URL",
    help="Where the map is served (`seawatch serve`).",
)
@db_option
@click.pass_context
def link_command(ctx: click.Context, name: str, base_url: str, db: str | None) -> None:
    """Print a one-time sign-in link of the web map for a user, alone on the last line."""
    with open_db(ctx, db) as store:
        code, expires = create_link(store, name)
    minutes = int(LINK_TTL.total_seconds() // 60)
    click.echo(
        f"sign-in link for {name}: works once, for {minutes} minutes (until {_when(expires)}):"
    )
    click.echo(link_url(base_url, code))


@users_command.command("list")
@db_option
@click.pass_context
def list_command(ctx: click.Context, db: str | None) -> None:
    """The users: name, reader, status, created, expires (no secrets)."""
    with open_db(ctx, db) as store:
        users = list_users(store)
    if not users:
        click.echo("no users (add one with `seawatch users add`)")
        return
    click.echo(f"{'name':<20} {'reader':<24} {'status':<8} {'created':<20} expires")
    for u in users:
        click.echo(
            f"{u.name:<20} {u.reader:<24} {u.status():<8} {_when(u.created_at):<20} "
            f"{_when(u.expires_at)}"
        )


@users_command.command("revoke")
@click.argument("name")
@db_option
@click.pass_context
def revoke_command(ctx: click.Context, name: str, db: str | None) -> None:
    """Revoke a user's token (it answers 401 'token revoked' from now on)."""
    with open_db(ctx, db) as store:
        user = revoke_user(store, name)
    click.echo(f"user {user.name}: revoked at {_when(user.revoked_at)}")
