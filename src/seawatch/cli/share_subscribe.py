"""``seawatch share subscribe|unsubscribe|subscriptions``: standing subscriptions.

In: a pinned peer with a URL (the publisher), whose ``seawatch serve`` answers. Out: the
(un)subscription logged by the publisher and by this node (:mod:`seawatch.share.subscribe`);
while it serves, the publisher then pushes to this node what it releases to it, soon after
it is written (:mod:`seawatch.serve.publish`). docs/federation.md.
"""

from __future__ import annotations

import json

import click

from seawatch.cli.common import settings_of
from seawatch.share.node import Node
from seawatch.share.subscribe import Action, Subscriptions, subscribe

__all__ = ["subscribe_command", "subscriptions_command", "unsubscribe_command"]


def _run(peer: str, action: Action) -> None:
    node = Node.from_settings(settings_of(click.get_current_context()))
    done = subscribe(node, node.peers().get(peer), action)
    click.echo(
        f"{action}d: {peer} logged it as entry {done['publisher_entry']}, "
        f"this node as entry {done['entry']}"
    )


@click.command("subscribe")
@click.argument("peer")
def subscribe_command(peer: str) -> None:
    """Ask PEER to push to this node what it releases to it, as it is written (while PEER
    serves); both nodes log the subscription. PEER must have this node's URL pinned.

    \b
    Examples:
      seawatch share subscribe ind-ifc
    """
    _run(peer, "subscribe")


@click.command("unsubscribe")
@click.argument("peer")
def unsubscribe_command(peer: str) -> None:
    """End this node's standing subscription to PEER (both nodes log it); pulls still work.

    \b
    Examples:
      seawatch share unsubscribe ind-ifc
    """
    _run(peer, "unsubscribe")


@click.command("subscriptions")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
def subscriptions_command(as_json: bool) -> None:
    """The peers this node pushes to (subscribers) and those it subscribed to (publishers)."""
    subs = Subscriptions(settings_of(click.get_current_context()).data_dir)
    both = {"subscribers": subs.subscribers(), "publishers": subs.publishers()}
    if as_json:
        click.echo(json.dumps(both, indent=2, sort_keys=True))
        return
    for kind, peers in both.items():
        for name, value in sorted(peers.items()):
            click.echo(f"{kind[:-1]:<11} {name}  since {value['since']} (entry {value['entry']})")
    if not any(both.values()):
        click.echo("no subscriptions")
