"""``seawatch share``: what this node releases to which peer, and bundles in and out.

In: the release rules file (``--rules``, default ``<data_dir>/share-rules.toml``), pinned
peers, the store (``--db``). Out: rules appended (``allow``), listed and checked
(``rules list``, ``rules check``), sealed bundles written for a peer (``export --to PEER
DIR``) and verified bundles imported (``import DIR``), each decision an audit log entry
(:mod:`seawatch.share`; docs/federation.md).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
import pyarrow as pa

from seawatch.cli.common import settings_of
from seawatch.cli.db import db_option, open_db
from seawatch.cli.share_forks import forks_command
from seawatch.cli.share_subscribe import (
    subscribe_command,
    subscriptions_command,
    unsubscribe_command,
)
from seawatch.errors import ConfigError, InputError
from seawatch.labels import Policy, parse_label
from seawatch.share.bundle import MANIFEST_FILE, SHARED_TABLES, export_bundle
from seawatch.share.node import Node
from seawatch.share.outbox import Outbox
from seawatch.share.peers import Peer
from seawatch.share.receive import import_bundle
from seawatch.share.retract import apply_retraction, notices, originator_of, retract
from seawatch.share.rules import Rules, make_rule, parse_delay, rules_file
from seawatch.share.sync import PREFIX, answer_pull, fetch, push, signed_post, store_answer
from seawatch.share.witness import WITNESS_FORMAT, Witness

__all__ = ["share_command"]


def _rules(ctx: click.Context, path: Path | None) -> Rules:
    return Rules.load(path or rules_file(settings_of(ctx).data_dir))


rules_option = click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The release rules file [default: <data_dir>/share-rules.toml].",
)


@click.group("share")
def share_command() -> None:
    """Release records to peers under the owner's rules; import what peers release.

    \b
    Examples:
      seawatch share allow usa-c2 --marking 'CONFIDENTIAL//REL TO IND, USA' --delay 6h
      seawatch share rules list
      seawatch share export --to usa-c2 /media/courier
      seawatch share import /media/courier
      seawatch share pull ind-ifc                  # over HTTP, from the peer's --url
      seawatch share pull ind-ifc --via http://127.0.0.1:8000   # this node's own server
    """


@share_command.command("allow")
@click.argument("peer")
@click.option("--marking", metavar="M", help="Only records with exactly this label.")
@click.option(
    "--type", "types", multiple=True, metavar="T", help="positions, events or an event type."
)
@click.option("--bbox", metavar="W,S,E,N", help="Only records inside (lon/lat degrees).")
@click.option("--mmsi", "mmsis", multiple=True, type=int, help="Only these vessels.")
@click.option("--delay", metavar="6h", help="Only records older than this (s, m, h, d).")
@rules_option
@click.pass_context
def allow_command(
    ctx: click.Context,
    peer: str,
    marking: str | None,
    types: tuple[str, ...],
    bbox: str | None,
    mmsis: tuple[int, ...],
    delay: str | None,
    rules_path: Path | None,
) -> None:
    """Append a rule releasing to PEER (no filter: all its labels allow).

    \b
    Examples:
      seawatch share allow usa-c2
      seawatch share allow jpn-mof --type positions --bbox 120,20,150,45 --delay 6h
    """
    node = Node.from_settings(settings_of(ctx))
    node.peers().get(peer)
    row: dict[str, object] = {"peer": peer}
    if marking is not None:
        row["marking"] = parse_label(marking, _policy(ctx), originator=node.nation).marking
    if types:
        row["types"] = list(types)
    if bbox is not None:
        try:
            row["bbox"] = [float(v) for v in bbox.split(",")]
        except ValueError:
            raise ConfigError(f"--bbox {bbox!r}: give W,S,E,N in degrees") from None
    if mmsis:
        row["mmsi"] = list(mmsis)
    if delay is not None:
        row["delay_s"] = parse_delay(delay)
    rules = _rules(ctx, rules_path)
    rule = make_rule(row, "--options")
    rules.append(rule)
    click.echo(f"rule {len(rules.rules)}: {rule.describe()} (in {rules.path})")


def _policy(ctx: click.Context) -> Policy:
    return Policy.from_settings(settings_of(ctx))


@share_command.group("rules")
def rules_group() -> None:
    """The release rules, in order."""


@rules_group.command("list")
@rules_option
@click.pass_context
def rules_list(ctx: click.Context, rules_path: Path | None) -> None:
    """The rules in order (the first that matches a record releases it)."""
    rules = _rules(ctx, rules_path)
    for i, rule in enumerate(rules.rules, 1):
        click.echo(f"{i}: {rule.describe()}")
    click.echo(f"{len(rules.rules)} rule(s) in {rules.path}", err=True)


@rules_group.command("check")
@click.option("--sample", metavar="JSON", help="A record to explain, e.g. '{\"table\": ...}'.")
@click.option("--peer", metavar="NAME", help="Explain the rules of this peer only.")
@rules_option
@click.pass_context
def rules_check(
    ctx: click.Context, sample: str | None, peer: str | None, rules_path: Path | None
) -> None:
    """Validate the rules; with --sample, say which rule releases that record to each peer.

    A sample is a JSON object: table (positions or events), marking, and the record's
    fields (ts, lat, lon, mmsi; events: event_type, start_ts, end_ts).

    \b
    Example:
      seawatch share rules check --sample '{"table": "positions", "marking": "UNCLASSIFIED",
          "ts": "2026-12-05T00:00:00Z", "lat": 12.5, "lon": 80.1, "mmsi": 419000001}'
    """
    from seawatch.store import TABLES

    settings = settings_of(ctx)
    node = Node.from_settings(settings)
    policy = Policy.from_settings(settings)
    rules = _rules(ctx, rules_path)
    peers = node.peers().peers
    problems = rules.check(policy, node.nation, list(peers))
    for problem in problems:
        click.echo(f"problem: {problem}")
    if problems:
        raise ConfigError(f"{len(problems)} problem(s) in {rules.path}")
    click.echo(f"{len(rules.rules)} rule(s) in {rules.path}: valid")
    if sample is None:
        return
    try:
        record = json.loads(sample)
        table = record.pop("table")
        label = parse_label(record.pop("marking"), policy, originator=node.nation)
        for key in ("ts", "start_ts", "end_ts"):
            if key in record:
                record[key] = dt.datetime.fromisoformat(record[key].replace("Z", "+00:00"))
    except KeyError as exc:
        raise InputError(f"--sample: no {exc} field (see --help for the fields)") from None
    except (ValueError, AttributeError, TypeError) as exc:
        raise InputError(f"--sample: {exc} (see --help for the fields)") from None
    if table not in SHARED_TABLES:
        raise InputError(f"--sample: table {table!r} is not shared ({', '.join(SHARED_TABLES)})")
    rows = TABLES[table].conform(pa.Table.from_pylist([{**record, "label_id": 1}]))
    now = dt.datetime.now(dt.UTC)
    for name in [peer] if peer else sorted(peers):
        number = rules.first_match(name, table, rows, {1: label}, policy, node.nation, now)[0]
        found = number.as_py()
        said = f"rule {found}: {rules.rules[found - 1].describe()}" if found else "no rule: denied"
        click.echo(f"{name}: {said}")


@share_command.command("export")
@click.option("--to", "peer", required=True, metavar="PEER", help="The pinned peer.")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--again", is_flag=True, help="Everything released, not only what is new since the last time."
)
@rules_option
@db_option
@click.pass_context
def export_command(
    ctx: click.Context,
    peer: str,
    out_dir: Path,
    again: bool,
    rules_path: Path | None,
    db: str | None,
) -> None:
    """Seal what the rules and labels release to PEER, and was not released to it before,
    as a bundle in OUT_DIR/<bundle id> (kept in the node's outbox too, for resending).

    The bundle is encrypted to the peer's key and signed with this node's; the release
    (or the refusal, when nothing is released) is logged.
    """
    node = Node.from_settings(settings_of(ctx))
    target = node.peers().get(peer)
    rules = _rules(ctx, rules_path)
    outbox = None if again else Outbox(node.data_dir, target.name)
    with open_db(ctx, db, create=False) as store:
        release = export_bundle(store, node, target, rules, out_dir, outbox=outbox)
    for notice in notices(node.data_dir, target.name):  # retractions travel with every export
        out_dir.mkdir(parents=True, exist_ok=True)
        name = f"retraction-{notice['index']:09d}.json"
        (out_dir / name).write_text(json.dumps(notice), encoding="utf-8")
    held = Witness(node).held(exclude=target.name)  # so do the checkpoints it witnessed
    if held:
        out_dir.mkdir(parents=True, exist_ok=True)
        witnessed = {"format": WITNESS_FORMAT, "from": node.name, "witnessed": held}
        (out_dir / f"witness-{node.name}.json").write_text(json.dumps(witnessed), "utf-8")
    if release.folder is None and release.entry < 0:
        click.echo(f"nothing new for {peer} since the last release (--again: everything)")
        return
    if release.folder is None:
        click.echo(f"nothing released to {peer} ({release.withheld:,} withheld by the rules)")
        return
    for marking, n in sorted(release.counts.items()):
        click.echo(f"{n:>10,}  {marking}")
    click.echo(
        f"bundle {release.folder} (log entry {release.entry}; withheld {release.withheld:,})"
    )


@share_command.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@db_option
@click.pass_context
def import_command(ctx: click.Context, folder: Path, db: str | None) -> None:
    """Verify and store a bundle (FOLDER holds manifest.dsse.json), or every bundle in FOLDER,
    after applying the retraction notices in FOLDER (retraction-*.json).

    A bundle failing any check is rejected whole (exit 1) with the check and the file.
    """
    node = Node.from_settings(settings_of(ctx))
    bundles = [folder] if (folder / MANIFEST_FILE).exists() else sorted(
        p for p in folder.iterdir() if (p / MANIFEST_FILE).exists()
    )  # fmt: skip
    retractions = sorted(folder.glob("retraction-*.json"))
    if not bundles and not retractions and not any(folder.glob("witness-*.json")):
        raise InputError(f"no bundle in '{folder}' (no {MANIFEST_FILE})")
    with open_db(ctx, db) as store:
        for path in retractions:
            try:
                notice = json.loads(path.read_bytes())
            except ValueError:
                raise InputError(f"'{path}' is not a retraction notice (JSON)") from None
            receipt = apply_retraction(store, node, originator_of(node, notice), notice)
            if not receipt.repeat:
                click.echo(f"{path.name}: {receipt.removed:,} records removed (retracted)")
        for path in bundles:
            done = import_bundle(store, node, path)
            again = " (already imported: nothing new)" if done.repeat else ""
            total = sum(done.counts.values())
            click.echo(f"{path.name}: {total:,} records from {done.originator}{again}")
    for path in sorted(folder.glob("witness-*.json")):  # checkpoints a partner witnessed
        try:
            witnessed = json.loads(path.read_bytes())
            via = str(witnessed["from"])
        except (ValueError, KeyError, TypeError):
            raise InputError(f"'{path}' is not a witness file (JSON with 'from')") from None
        for fork in Witness(node).receive(witnessed.get("witnessed"), via):
            click.echo(f"FORK: {fork.peer} signed two histories ({fork.reason}); evidence "
                       "kept in share/forks/ and logged", err=True)  # fmt: skip


via_option = click.option(
    "--via",
    metavar="URL",
    help="This node's own running server (which holds the store open) does it.",
)


def _exchange(ctx: click.Context, peer: str, via: str | None, db: str | None, way: str) -> None:
    node = Node.from_settings(settings_of(ctx))
    other = node.peers().get(peer)
    if via is not None:
        me = Peer(node.name, node.nation, node.verifier.vkey, url=via)
        summary = signed_post(node, me, f"{PREFIX}/sync", {"peer": other.name, "direction": way})
    elif way == "pull":
        answer = fetch(node, other)
        with open_db(ctx, db) as store:
            summary = store_answer(store, node, answer).summary()
    else:
        rules = Rules.load(rules_file(node.data_dir))
        with open_db(ctx, db, create=False) as store:
            summary = push(
                node,
                other,
                lambda after, raw: answer_pull(store, node, other, rules, after, raw=raw),
            )
    for r in summary["retracted"]:
        click.echo(
            f"retraction {r['retraction_id']}: {r['removed']:,} records removed (receipt logged)"
        )
    for f in summary.get("forks", []):
        click.echo(f"FORK: {f['peer']} signed two histories ({f['reason']}; passed on by "
                   f"{f['via']}); evidence kept in share/forks/ and logged", err=True)  # fmt: skip
    for i in summary["imported"]:
        again = " (already imported: nothing new)" if i["repeat"] else ""
        click.echo(f"{i['bundle_id']}: {sum(i['counts'].values()):,} records{again}")
    click.echo(f"{summary['peer']}: {len(summary['imported'])} bundle(s); its log has "
               f"{summary['size']} entries")  # fmt: skip


@share_command.command("pull")
@click.argument("peer")
@via_option
@db_option
@click.pass_context
def pull_command(ctx: click.Context, peer: str, via: str | None, db: str | None) -> None:
    """Pull over HTTP what PEER releases to this node since the last exchange, verify it
    and store it (requests and answers signed with the nodes' keys).

    \b
    Examples:
      seawatch share pull ind-ifc
      seawatch share pull ind-ifc --via http://127.0.0.1:8000
    """
    _exchange(ctx, peer, via, db, "pull")


@share_command.command("push")
@click.argument("peer")
@via_option
@db_option
@click.pass_context
def push_command(ctx: click.Context, peer: str, via: str | None, db: str | None) -> None:
    """Push over HTTP to PEER what this node releases to it and it has not verified yet
    (new records are sealed first); PEER verifies and stores it.

    \b
    Examples:
      seawatch share push usa-c2
      seawatch share push usa-c2 --via http://127.0.0.1:8000
    """
    _exchange(ctx, peer, via, db, "push")


@share_command.command("retract")
@click.option("--bundle", "bundles", multiple=True, metavar="ID", help="A bundle released.")
@click.option("--position", "positions", multiple=True, type=int, metavar="MSG_KEY")
@click.option("--event", "events", multiple=True, metavar="EVENT_ID")
@click.option("--reason", default="", help="Why (kept in the log).")
@click.option(
    "--peer",
    "peers",
    multiple=True,
    help="Only to this peer [default: whom the bundles went to, else all].",
)
def retract_command(
    bundles: tuple[str, ...],
    positions: tuple[int, ...],
    events: tuple[str, ...],
    reason: str,
    peers: tuple[str, ...],
) -> None:
    """Take back records this node released: every receiver removes them at its next
    exchange and logs a receipt; they are never released again, nor stored again by a
    receiver whatever order old bundles arrive in.

    \b
    Examples:
      seawatch share retract --bundle 3f2a... --reason "wrong label"
      seawatch share retract --position 1234567 --event enc-419000001-...
    """
    node = Node.from_settings(settings_of(click.get_current_context()))
    notice = retract(node, positions, events, bundles, reason, peers)
    click.echo(f"retraction logged as entry {notice['index']}; peers get it at the next exchange")


for _command in (subscribe_command, unsubscribe_command, subscriptions_command, forks_command):
    share_command.add_command(_command)
