"""``seawatch share forks list|clear``: fork evidence, and the stop it puts on imports.

In: the evidence this node holds (:mod:`seawatch.share.forks`: an origin signed two
histories). Out: the list (``list``), or one piece cleared after review (``clear ID
--reason``: logged as a ``fork-cleared`` entry; imports from that origin resume when no
other evidence against it is held). docs/federation.md.
"""

from __future__ import annotations

import json

import click

from seawatch.cli.common import settings_of
from seawatch.share.forks import clear_fork, fork_files
from seawatch.share.node import Node

__all__ = ["forks_command"]


@click.group("forks")
def forks_command() -> None:
    """Fork evidence held against peers: nothing is imported from such a peer until the
    operator clears it.

    \b
    Examples:
      seawatch share forks list
      seawatch share forks clear 3f2a... --reason "usa-c2 restored from backup; verified"
    """


@forks_command.command("list")
@click.option("--cleared", is_flag=True, help="The evidence cleared before, instead.")
@click.option("--json", "as_json", is_flag=True, help="As JSON (both notes included).")
def list_command(cleared: bool, as_json: bool) -> None:
    """The fork evidence held (imports from each peer named are refused)."""
    held = fork_files(settings_of(click.get_current_context()).data_dir, cleared)
    if as_json:
        click.echo(json.dumps(held, indent=2, sort_keys=True))
        return
    for evidence_id, d in held.items():
        click.echo(f"{evidence_id}  {d.get('peer')}  {d.get('reason')} (via {d.get('via')})")
    if not held:
        click.echo("no fork evidence " + ("cleared" if cleared else "held"))


@forks_command.command("clear")
@click.argument("evidence_id")
@click.option("--reason", required=True, help="Why the peer is trusted again (logged).")
def clear_command(evidence_id: str, reason: str) -> None:
    """Clear one piece of fork evidence after review: logged, the evidence kept aside."""
    node = Node.from_settings(settings_of(click.get_current_context()))
    index = clear_fork(node, evidence_id, reason)
    click.echo(f"cleared {evidence_id} (log entry {index})")
