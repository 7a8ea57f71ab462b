"""``seawatch alerts``: areas of interest, alert rules and fired alerts, from the command line.

In: ``--db``, the reader the command acts as (``--reader``; default: the node's own reader,
its nation at the highest clearance), and what to make (a GeoJSON polygon file for an area;
the rule's kind, zone and filters). Out: the same changes and listings as the API's
``/api/v1/areas``, ``/alert-rules`` and ``/alerts`` (:mod:`seawatch.engine.alert_admin`),
labelled and read through :class:`~seawatch.store.query.Query`. ``add`` commands print the
new id alone on the last line. Rules fire as data is stored by ``ingest``, ``run`` and
``serve`` (docs/alerts.md).
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from seawatch.cli.common import settings_of
from seawatch.cli.db import db_option, open_db
from seawatch.engine.alert_admin import (
    AREA_KIND,
    Actor,
    acknowledge,
    add_area,
    add_rule,
    remove_area,
    remove_rule,
    rule_item,
)
from seawatch.errors import InputError
from seawatch.events.alert_rules import RULE_KINDS
from seawatch.labels import Reader, default_reader
from seawatch.serve.render import jsonable
from seawatch.store import Store
from seawatch.store.query import Query

__all__ = ["alerts_command"]

F = Callable[..., Any]


def _reader_option(func: F) -> F:
    return click.option(
        "--reader",
        "reader_text",
        metavar="NATION:CLEARANCE[:CAVEATS]",
        help="Act as this reader [default: the node's own: its nation, highest clearance].",
    )(func)


def _format_option(func: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "jsonl"]),
        default="table",
        show_default=True,
        help="A table for people, JSON lines for tools.",
    )(func)


@contextmanager
def _acting(
    ctx: click.Context, db: str | None, reader_text: str | None
) -> Iterator[tuple[Store, Actor]]:
    settings = settings_of(ctx)
    with open_db(ctx, db) as store:
        policy = store.policy
        reader = (
            default_reader(policy) if reader_text is None else Reader.parse(reader_text, policy)
        )
        yield store, Actor(f"cli:{getpass.getuser()}", reader, settings.default_label)


def _show(rows: list[dict[str, Any]], fmt: str, line: Callable[[dict[str, Any]], str]) -> None:
    for row in rows:
        click.echo(json.dumps(jsonable(row), ensure_ascii=False) if fmt == "jsonl" else line(row))


def _labelled(store: Store, q: Query, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    labels = q.labels()
    out = []
    for r in rows:
        shown = {k: v for k, v in r.items() if k != "label_id"}
        out.append({**shown, "label": labels[r["label_id"]].marking})
    return out


@click.group("alerts")
def alerts_command() -> None:
    """Areas of interest, alert rules, and the alerts they fired.

    \b
    Examples:
      seawatch alerts areas add "Palk Strait" palk.geojson --marking "CONFIDENTIAL//REL TO IND, USA"
      seawatch alerts rules add "Entering Palk" --kind zone_entry --zone area-1f2e... --flag CHN
      seawatch alerts rules add "Dark in Palk" --kind gap --zone area-1f2e...
      seawatch alerts rules add "Watchlist" --kind watchlist --mmsi 419000001 --imo 9074729
      seawatch alerts list --unacked
      seawatch alerts ack 3f1c...
    """


@alerts_command.group("areas")
def areas_group() -> None:
    """Areas of interest (zones rules can watch)."""


def _polygon_of(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not GeoJSON ({exc})") from None
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features") or []
        if len(features) != 1:
            raise InputError(
                f"{path}: {len(features)} features; an area is one polygon "
                "(a layer of many: `seawatch zones import`)"
            )
        doc = features[0]
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = doc.get("geometry")
    if not isinstance(doc, dict):
        raise InputError(f"{path}: no polygon found")
    return doc


@areas_group.command("add")
@click.argument("name")
@click.argument("geojson", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--marking", help="The area's marking [default: the node's default_label].")
@_reader_option
@db_option
@click.pass_context
def areas_add(ctx: click.Context, name: str, geojson: Path, marking: str | None,
              reader_text: str | None, db: str | None) -> None:  # fmt: skip
    """Make an area from a GeoJSON polygon file; prints its id last."""
    geometry = _polygon_of(geojson)
    with _acting(ctx, db, reader_text) as (store, actor), store.transaction():
        row = add_area(store, actor, name, geometry, marking)
    click.echo(f"area {row['name']!r} made", err=True)
    click.echo(row["zone_id"])


@areas_group.command("list")
@_reader_option
@_format_option
@db_option
@click.pass_context
def areas_list(ctx: click.Context, reader_text: str | None, fmt: str, db: str | None) -> None:
    """Areas the reader may read."""
    with _acting(ctx, db, reader_text) as (store, actor):
        q = Query(store, actor.reader)
        rows = _labelled(
            store, q, q.zones(kind=AREA_KIND).drop_columns(["geometry_wkt"]).to_pylist()
        )
    _show(rows, fmt, lambda r: f"{r['zone_id']}  {r['name']}  [{r['label']}]")


@areas_group.command("remove")
@click.argument("zone_id")
@_reader_option
@db_option
@click.pass_context
def areas_remove(ctx: click.Context, zone_id: str, reader_text: str | None, db: str | None) -> None:
    """Delete an area (refused while rules watch it)."""
    with _acting(ctx, db, reader_text) as (store, actor), store.transaction():
        remove_area(store, actor, zone_id)
    click.echo(f"area {zone_id} removed")


@alerts_command.group("rules")
def rules_group() -> None:
    """Alert rules."""


@rules_group.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(list(RULE_KINDS)), help="What fires it.")
@click.option("--zone", "zone_id", metavar="ID", help="Zone or area it watches.")
@click.option("--flag", "flags", multiple=True, metavar="AAA", help="Flag (ISO alpha-3); repeat.")
@click.option("--ship-type", "ship_types", multiple=True, type=int, help="AIS ship type; repeat.")
@click.option("--speed-min", "speed_min_kn", type=float, metavar="KN", help="Knots at least.")
@click.option("--speed-max", "speed_max_kn", type=float, metavar="KN", help="Knots at most.")
@click.option("--mmsi", multiple=True, type=int, help="Vessel MMSI; repeat.")
@click.option("--imo", multiple=True, type=int, help="Vessel IMO number; repeat.")
@click.option("--vessel", "names", multiple=True, metavar="NAME", help="Vessel name; repeat.")
@click.option("--rearm-h", "rearm_h", type=float, help="Watchlist: hours before firing again.")
@click.option("--marking", help="The rule's marking [default: the node's default_label].")
@_reader_option
@db_option
@click.pass_context
def rules_add(ctx: click.Context, /, name: str, marking: str | None, reader_text: str | None,
              db: str | None, **given: Any) -> None:  # fmt: skip
    """Make an alert rule; prints its id last."""
    obj = {k: list(v) if isinstance(v, tuple) else v for k, v in given.items()}
    obj = {k: v for k, v in obj.items() if v not in (None, [])}
    with _acting(ctx, db, reader_text) as (store, actor), store.transaction():
        rule = add_rule(store, actor, {"name": name, **obj}, marking)
    click.echo(f"rule {rule.name!r} ({rule.kind}) made", err=True)
    click.echo(rule.rule_id)


@rules_group.command("list")
@_reader_option
@_format_option
@db_option
@click.pass_context
def rules_list(ctx: click.Context, reader_text: str | None, fmt: str, db: str | None) -> None:
    """Rules the reader may read."""
    with _acting(ctx, db, reader_text) as (store, actor):
        q = Query(store, actor.reader)
        rows = _labelled(store, q, [rule_item(r) for r in q.alert_rules().to_pylist()])

    def line(r: dict[str, Any]) -> str:
        where = f" in {r['zone_id']}" if r["zone_id"] else ""
        filters = json.dumps(r["filters"])
        return f"{r['rule_id']}  {r['kind']}{where}  {r['name']!r}  {filters}  [{r['label']}]"

    _show(rows, fmt, line)


@rules_group.command("remove")
@click.argument("rule_id")
@_reader_option
@db_option
@click.pass_context
def rules_remove(ctx: click.Context, rule_id: str, reader_text: str | None, db: str | None) -> None:
    """Delete a rule (the alerts it fired stay)."""
    with _acting(ctx, db, reader_text) as (store, actor), store.transaction():
        remove_rule(store, actor, rule_id)
    click.echo(f"rule {rule_id} removed")


@alerts_command.command("list")
@click.option("--rule", "rule_id", metavar="ID", help="Only alerts of this rule.")
@click.option("--unacked", is_flag=True, help="Only alerts not acknowledged yet.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True,
              help="The newest N.")  # fmt: skip
@_reader_option
@_format_option
@db_option
@click.pass_context
def alerts_list(ctx: click.Context, rule_id: str | None, unacked: bool, limit: int,
                reader_text: str | None, fmt: str, db: str | None) -> None:  # fmt: skip
    """Fired alerts the reader may read, oldest first."""
    with _acting(ctx, db, reader_text) as (store, actor):
        q = Query(store, actor.reader)
        got = q.alerts(rule_id=rule_id, acked=False if unacked else None)
        rows = _labelled(store, q, got.slice(max(got.num_rows - limit, 0)).to_pylist())

    def line(r: dict[str, Any]) -> str:
        ack = f"  acked by {r['acked_by']}" if r["acked_at"] else ""
        return (f"{r['ts']:%Y-%m-%dT%H:%M:%SZ}  {r['alert_id']}  {r['kind']:<10} {r['mmsi']}  "
                f"{r['rule_name']!r}{ack}  [{r['label']}]")  # fmt: skip

    _show(rows, fmt, line)
    if fmt == "table":
        click.echo(f"{len(rows):,} alert(s)", err=True)


@alerts_command.command("ack")
@click.argument("alert_id")
@_reader_option
@db_option
@click.pass_context
def alerts_ack(ctx: click.Context, alert_id: str, reader_text: str | None, db: str | None) -> None:
    """Acknowledge an alert."""
    with _acting(ctx, db, reader_text) as (store, actor), store.transaction():
        row = acknowledge(store, actor, alert_id)
    click.echo(f"alert {alert_id} acknowledged by {row['acked_by']}")
