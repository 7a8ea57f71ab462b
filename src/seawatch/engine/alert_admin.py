"""Making, removing and acknowledging alert rules, areas of interest and alerts: the one
implementation behind the API (``/api/v1/areas``, ``/alert-rules``, ``/alerts``) and the CLI
(``seawatch alerts``).

In: a store (written in a transaction the caller holds), who acts (a name and a
:class:`~seawatch.labels.Reader`), the rule or area as given (a JSON-like object; a
GeoJSON polygon) and its marking (the node's ``default_label`` when none). Out: the stored
row, or an error saying what is wrong: an :class:`~seawatch.errors.InputError` (400) for a
bad rule, area, marking or an unknown zone, :class:`~seawatch.errors.NotFound` (404) for a
rule, area or alert the actor may not read (whether or not it exists),
:class:`Conflict` (409) for an area rules still watch.

Everything is labelled: a rule or area gets the marking given, which the actor must be
able to read (nobody makes what they could not see); reading them back goes through
:class:`~seawatch.store.query.Query`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import pyarrow as pa
import shapely
import shapely.geometry

from seawatch.errors import InputError, NotFound, SeawatchError
from seawatch.events.alert_rules import Rule
from seawatch.labels import Label, Reader, may_read, parse_label
from seawatch.store.alerting import ack_alert, delete_rule, delete_zone, rules_for_zone
from seawatch.store.base import Store
from seawatch.store.query import Query
from seawatch.store.tables import TABLES

__all__ = [
    "AREA_KIND",
    "Actor",
    "Conflict",
    "acknowledge",
    "add_area",
    "add_rule",
    "remove_area",
    "remove_rule",
    "rule_item",
]

AREA_KIND = "area"
"""``zones.kind`` of the areas of interest made here (imported zones have their layer's)."""
MAX_AREA_VERTICES = 100_000


class Conflict(SeawatchError):  # noqa: N818  (the HTTP name: 409)
    """The change would break something that depends on the object (e.g. rules watch it)."""

    http_status: ClassVar[int] = 409


@dataclass(frozen=True)
class Actor:
    """Who acts: a name for the record (a user, or ``cli:<login>``) and the reader it is."""

    name: str
    reader: Reader
    default_marking: str


def _label(store: Store, actor: Actor, marking: str | None) -> Label:
    label = parse_label(marking or actor.default_marking, store.policy)
    if not may_read(actor.reader, label, store.policy):
        raise InputError(
            f"marking {label.marking!r}: you ({actor.reader}) could not read what you make "
            "under it; give a marking you may read"
        )
    return label


def _readable_zone(store: Store, actor: Actor, zone_id: str) -> dict[str, Any] | None:
    for row in Query(store, actor.reader).zones().to_pylist():
        if row["zone_id"] == zone_id:
            found: dict[str, Any] = row
            return found
    return None


def add_rule(store: Store, actor: Actor, obj: Any, marking: str | None = None) -> Rule:
    """Store the rule ``obj`` describes (a new id); its zone must be one the actor reads."""
    rule = Rule.from_obj(obj, rule_id="rule-" + uuid.uuid4().hex[:16])
    if rule.zone_id is not None and _readable_zone(store, actor, rule.zone_id) is None:
        raise InputError(
            f"zone_id {rule.zone_id!r}: no such zone or area (GET /api/v1/zones lists them; "
            "POST /api/v1/areas makes one)"
        )
    label_id = store.label_id(_label(store, actor, marking))
    row = {
        "rule_id": rule.rule_id,
        "name": rule.name,
        "kind": rule.kind,
        "zone_id": rule.zone_id,
        "filters": json.dumps(rule.filters(), sort_keys=True),
        "created_by": actor.name,
        "created_at": datetime.now(UTC),
        "label_id": label_id,
    }
    store.write("alert_rules", pa.Table.from_pylist([row], TABLES["alert_rules"].arrow_schema()))
    return Rule.from_row(row)


def _polygon(geometry: Any) -> Any:
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise InputError("geometry: give a GeoJSON Polygon or MultiPolygon (lon, lat degrees)")
    try:
        geom = shapely.geometry.shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise InputError(f"geometry: not a GeoJSON polygon ({exc})") from None
    except shapely.errors.GEOSException as exc:
        raise InputError(f"geometry: not a GeoJSON polygon ({exc})") from None
    if geom.is_empty or shapely.get_num_coordinates(geom) > MAX_AREA_VERTICES:
        raise InputError(f"geometry: give a polygon of 4 to {MAX_AREA_VERTICES} points")
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise InputError(
            "geometry: coordinates out of range (longitude -180..180 first, then latitude -90..90)"
        )
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
        geom = shapely.union_all(
            [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        )
    if geom.is_empty or geom.area == 0:
        raise InputError("geometry: the polygon has no area")
    return geom


def add_area(
    store: Store, actor: Actor, name: Any, geometry: Any, marking: str | None = None
) -> dict[str, Any]:
    """Store an area of interest (a zone of kind ``area``) and return its row."""
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InputError("name: give the area a name (1 to 200 characters)")
    geom = _polygon(geometry)
    row = {
        "zone_id": "area-" + uuid.uuid4().hex[:16],
        "name": name.strip(),
        "kind": AREA_KIND,
        "geometry_wkt": shapely.to_wkt(geom, rounding_precision=7),
        "label_id": store.label_id(_label(store, actor, marking)),
    }
    store.write("zones", pa.Table.from_pylist([row], TABLES["zones"].arrow_schema()))
    return row


def remove_area(store: Store, actor: Actor, zone_id: str) -> None:
    zone = _readable_zone(store, actor, zone_id)
    if zone is None:
        raise NotFound(f"no area {zone_id!r} (or none you may read)")
    if zone["kind"] != AREA_KIND:
        raise InputError(
            f"zone {zone_id!r} is an imported {zone['kind']} zone, not an area made here: "
            "remove imported zones with `seawatch zones`"
        )
    using = rules_for_zone(store, zone_id)
    if using:
        shown = [r for r in using if _visible(store, actor, r)][:5]  # never a rule it can't read
        raise Conflict(
            f"area {zone_id!r} is watched by {len(using)} rule(s); delete them first"
            + (f" ({', '.join(shown)})" if shown else "")
        )
    delete_zone(store, zone_id)


def _visible(store: Store, actor: Actor, rule_id: str) -> bool:
    return Query(store, actor.reader).alert_rules(rule_id=rule_id).num_rows > 0


def remove_rule(store: Store, actor: Actor, rule_id: str) -> None:
    if not _visible(store, actor, rule_id):
        raise NotFound(f"no alert rule {rule_id!r} (or none you may read)")
    delete_rule(store, rule_id)


def acknowledge(store: Store, actor: Actor, alert_id: str) -> dict[str, Any]:
    """Acknowledge an alert the actor may read; the row as it now is."""
    q = Query(store, actor.reader)
    if q.alerts(alert_id=alert_id).num_rows == 0:
        raise NotFound(f"no alert {alert_id!r} (or none you may read)")
    ack_alert(store, alert_id, actor.name, datetime.now(UTC))
    got: dict[str, Any] = q.alerts(alert_id=alert_id).to_pylist()[0]
    return got


def rule_item(row: dict[str, Any]) -> dict[str, Any]:
    """A stored rule row as shown: its filters as an object, not JSON text."""
    out = dict(row)
    out["filters"] = json.loads(out.get("filters") or "{}")
    return out
