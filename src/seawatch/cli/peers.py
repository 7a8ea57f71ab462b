"""``seawatch peers``: the partner nodes this node knows and the keys pinned for them.

In: a peer's name, nation, verifier key (``seawatch node show`` on its node prints it),
optional encryption key and URL. Out: ``<data_dir>/peers.json`` (:mod:`seawatch.share.peers`);
``peers list`` prints them, ``peers remove`` forgets one.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from seawatch.cli.common import settings_of
from seawatch.share.errors import PeerError
from seawatch.share.keys import keys_exist, load_keys
from seawatch.share.peers import Peers, make_peer

__all__ = ["peers_command"]


@click.group("peers")
def peers_command() -> None:
    """Partner nodes and their pinned keys.

    \b
    Examples:
      seawatch peers add usa-c2 --nation USA --key 'usa-c2+1a2b3c4d+AU...' \\
          --enc-key 'x25519:...' --url https://c2.example.mil
      seawatch peers list
      seawatch peers remove usa-c2
    """


@peers_command.command("add")
@click.argument("name")
@click.option("--nation", required=True, metavar="AAA", help="The peer's ISO 3166-1 alpha-3.")
@click.option("--key", "vkey", required=True, metavar="VKEY", help="Its verifier key.")
@click.option("--enc-key", metavar="KEY", help="Its encryption key (x25519:<base64>).")
@click.option("--url", metavar="URL", help="Where its node answers (http(s)://...).")
@click.option("--replace", is_flag=True, help="Change a peer already known.")
@click.pass_context
def add_command(
    ctx: click.Context,
    name: str,
    nation: str,
    vkey: str,
    enc_key: str | None,
    url: str | None,
    replace: bool,
) -> None:
    """Pin a partner node: its nation and keys, as its `seawatch node show` prints them.

    \b
    Example:
      seawatch peers add usa-c2 --nation USA --key "$(cat usa-c2.vkey)"
    """
    settings = settings_of(ctx)
    peers = Peers(settings.data_dir)
    peer = make_peer(name, nation, vkey, enc_key, url)
    if keys_exist(settings.data_dir) and (
        load_keys(settings.data_dir).sign_public == peer.verifier.public
    ):
        raise PeerError(f"peer {name!r}: that is this node's own key (`seawatch node show`)")
    peers.add(peer, replace=replace)
    click.echo(f"peer {peer.name} ({peer.nation}) pinned: {peer.vkey}")


@peers_command.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON lines, one peer each.")
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """The pinned peers, by name."""
    peers = Peers(settings_of(ctx).data_dir)
    for peer in sorted(peers.peers.values(), key=lambda p: p.name):
        if as_json:
            click.echo(json.dumps(asdict(peer)))
        else:
            enc = "enc key" if peer.enc_key else "no enc key"
            click.echo(f"{peer.name:<20} {peer.nation}  {peer.vkey}  [{enc}]  {peer.url or '-'}")
    if not as_json:
        click.echo(f"{len(peers.peers)} peer(s)", err=True)


@peers_command.command("remove")
@click.argument("name")
@click.pass_context
def remove_command(ctx: click.Context, name: str) -> None:
    """Forget a peer (its bundles are no longer accepted)."""
    peer = Peers(settings_of(ctx).data_dir).remove(name)
    click.echo(f"peer {peer.name} ({peer.nation}) removed")
