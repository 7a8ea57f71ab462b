"""Alert rules: what an analyst asks to be told, and the pure function that fires them.

In: rules (:class:`Rule`, checked by :meth:`Rule.from_obj` from the API's JSON or the CLI),
the polygons of the zones they watch (shapely), the positions and events just stored (Arrow,
with ``label_id``), what is known of each vessel (:class:`VesselFacts`) and the state kept
between calls (:class:`AlertState`). Out: :func:`evaluate` gives the alerts fired, one row
each (:data:`FIRED_SCHEMA`: the ``alerts`` table's columns but the label, plus
``record_label_id``, the label of the record that fired it; the engine gives the alert the
combination of that, the rule's and the zone's labels).

Kinds (:data:`RULE_KINDS`, declared once; the API, CLI and docs read it):

- ``zone_entry`` / ``zone_exit``: a vessel's position inside a zone after one outside (or the
  reverse). A vessel first seen inside has not entered (the ``zone_present`` event says it is
  there). State is per (zone, vessel) across calls, in memory: a restarted node learns it
  again from the next position of each vessel.
- ``gap``, ``encounter``, ``loitering``: an event of those types (``gap`` includes
  ``suspected_disabling``) whose position is inside the zone (anywhere without one); one
  alert per event, however often the event grows.
- ``watchlist``: a position of a listed vessel (by MMSI, or IMO / name it reported); fires
  again only after ``rearm_h`` hours without firing for that vessel.

Filters (every kind): ``flags`` (ISO 3166-1 alpha-3, from the MMSI), ``ship_types`` (AIS
codes), ``mmsi``; and for position kinds ``speed_min_kn`` / ``speed_max_kn``. A vessel whose
ship type is unknown does not match a ship-type filter.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from seawatch.events.alert_rules import RULE_KINDS, Rule, RuleKind
from seawatch.tracks.mid import flag_of

__all__ = [
    "FIRED_SCHEMA",
    "RULE_KINDS",
    "AlertState",
    "Rule",
    "RuleKind",
    "VesselFacts",
    "evaluate",
]

TS: Final = pa.timestamp("us", tz="UTC")


FIRED_SCHEMA: Final = pa.schema(
    [  # type: ignore[arg-type]
        pa.field("alert_id", pa.string()),
        pa.field("rule_id", pa.string()),
        pa.field("rule_name", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("ts", TS),
        pa.field("fired_at", TS),
        pa.field("mmsi", pa.int32()),
        pa.field("other_mmsi", pa.int32()),
        pa.field("lat", pa.float64()),
        pa.field("lon", pa.float64()),
        pa.field("event_id", pa.string()),
        pa.field("details", pa.string()),
        pa.field("record_label_id", pa.int32()),
    ]
)


@dataclass
class VesselFacts:
    """What vessels reported of themselves (ship type, IMO, name), latest report wins;
    ``seen``: the MMSIs whose reports were taken in."""

    ship_type: dict[int, int] = field(default_factory=dict)
    imo: dict[int, int] = field(default_factory=dict)
    name: dict[int, str] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)

    def update(self, statics: pa.Table) -> None:
        """Take in static reports (columns mmsi, ts, ship_type, imo, name)."""
        if statics.num_rows == 0:
            return
        rows = statics.sort_by([("ts", "ascending")])
        mmsi: list[Any] = rows.column("mmsi").to_pylist()
        self.seen.update(mmsi)
        for col, into in (("ship_type", self.ship_type), ("imo", self.imo)):
            values: list[Any] = rows.column(col).to_pylist()
            into.update((m, v) for m, v in zip(mmsi, values, strict=True) if v)
        names: list[Any] = rows.column("name").to_pylist()
        self.name.update(
            (m, " ".join(n.split()).upper())
            for m, n in zip(mmsi, names, strict=True)
            if n and n.strip()
        )

    def lookup(self, mmsi: Iterable[int], what: str) -> list[Any]:
        table: dict[int, Any] = getattr(self, what)
        return [table.get(m) for m in mmsi]


_FIRED_KEPT = 200_000


@dataclass
class AlertState:
    """What :func:`evaluate` remembers between calls."""

    inside: dict[tuple[str, int], bool] = field(default_factory=dict)
    """(zone id, MMSI) → inside at the vessel's last position."""
    last_fired: dict[tuple[str, int], datetime] = field(default_factory=dict)
    """(watchlist rule id, MMSI) → time of its last alert."""
    fired: OrderedDict[str, None] = field(default_factory=OrderedDict)
    """Alert ids already fired (the newest :data:`_FIRED_KEPT`; the store's key does the rest)."""

    def first_time(self, alert_id: str) -> bool:
        if alert_id in self.fired:
            return False
        self.fired[alert_id] = None
        if len(self.fired) > _FIRED_KEPT:
            self.fired.popitem(last=False)
        return True


def _alert_id(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:24]


def _floats(rows: pa.Table, name: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Column ``name`` as floats, NaN where null."""
    col: Any = rows.column(name)
    return np.asarray(col.to_numpy(), dtype=np.float64)


def _mask(rule: Rule, rows: pa.Table, facts: VesselFacts) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Rows of ``rows`` (positions or events) passing the rule's filters."""
    keep = np.ones(rows.num_rows, dtype=bool)
    mmsi: Any = rows.column("mmsi")
    if rule.flags:
        flag: Any = flag_of(mmsi)
        keep &= np.asarray(pc.fill_null(pc.is_in(flag, pa.array(sorted(rule.flags))), False))
    if rule.ship_types:
        types = facts.lookup(mmsi.to_pylist(), "ship_type")
        keep &= np.array([t in rule.ship_types for t in types], dtype=bool)
    if rule.mmsi and rule.kind != "watchlist":
        wanted = pa.array(sorted(rule.mmsi), pa.int32())
        hit: Any = pc.is_in(mmsi, wanted)
        if "other_mmsi" in rows.column_names:
            other: Any = rows.column("other_mmsi")
            hit = pc.or_(hit, pc.is_in(other, wanted))
        keep &= np.asarray(pc.fill_null(hit, False))
    for bound, op in ((rule.speed_min_kn, np.greater_equal), (rule.speed_max_kn, np.less_equal)):
        if bound is not None:
            keep &= op(_floats(rows, "speed_kn"), bound)  # unknown speed (NaN) never passes
    return keep


def _inside(geom: Any, rows: pa.Table) -> np.ndarray[Any, np.dtype[np.bool_]]:
    lon, lat = _floats(rows, "lon"), _floats(rows, "lat")
    return np.asarray(shapely.intersects_xy(geom, lon, lat), dtype=bool)  # edges count


def _crossings(
    zone_id: str, geom: Any, pos: pa.Table, state: AlertState
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Row indices (into ``pos``, sorted by MMSI then time) of entries and exits."""
    inside = _inside(geom, pos)
    mmsi = np.asarray(pos.column("mmsi"), dtype=np.int64)
    prev = np.full(len(mmsi), -1, dtype=np.int8)
    prev[1:] = inside[:-1]
    starts = np.flatnonzero(np.r_[True, mmsi[1:] != mmsi[:-1]]) if len(mmsi) else np.array([], int)
    ends = np.r_[starts[1:], len(mmsi)] - 1 if len(mmsi) else np.array([], int)
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        key = (zone_id, int(mmsi[s]))
        was = state.inside.get(key)
        prev[s] = -1 if was is None else int(was)
        state.inside[key] = bool(inside[e])
    return np.flatnonzero(inside & (prev == 0)), np.flatnonzero(~inside & (prev == 1))


def _rows(
    rule: Rule, rows: pa.Table, idx: np.ndarray[Any, Any], now: datetime, detail: dict[str, Any]
) -> list[dict[str, Any]]:
    out = []
    picked = rows.take(pa.array(idx, pa.int64())).to_pylist()
    for r in picked:
        event_id = r.get("event_id")
        ts = r["ts"] if "ts" in r else r["start_ts"]
        what = event_id if event_id is not None else f"{r['mmsi']}|{ts.isoformat()}"
        d = dict(detail)
        if event_id is not None:
            d["event_type"] = r["event_type"]
        elif r.get("speed_kn") is not None:
            d["speed_kn"] = r["speed_kn"]
        out.append({
            "alert_id": _alert_id(rule.rule_id, rule.kind, what),
            "rule_id": rule.rule_id, "rule_name": rule.name, "kind": rule.kind, "ts": ts,
            "fired_at": now, "mmsi": r["mmsi"], "other_mmsi": r.get("other_mmsi"),
            "lat": r["lat"], "lon": r["lon"], "event_id": event_id,
            "details": json.dumps(d, sort_keys=True), "record_label_id": r["label_id"],
        })  # fmt: skip
    return out


def _watchlist(rule: Rule, pos: pa.Table, facts: VesselFacts, state: AlertState) -> list[int]:
    mmsi: list[Any] = pos.column("mmsi").to_pylist()
    hit = [m in rule.mmsi for m in mmsi]
    if rule.imo:
        hit = [h or i in rule.imo for h, i in zip(hit, facts.lookup(mmsi, "imo"), strict=True)]
    if rule.names:
        names = facts.lookup(mmsi, "name")
        hit = [h or n in rule.names for h, n in zip(hit, names, strict=True)]
    picked = []
    rearm_s = rule.rearm_h * 3600
    for k in np.flatnonzero(np.asarray(hit, dtype=bool)).tolist():
        ts = pos.column("ts")[k].as_py()
        key = (rule.rule_id, int(mmsi[k]))
        last = state.last_fired.get(key)
        if last is None or (ts - last).total_seconds() >= rearm_s:
            state.last_fired[key] = ts
            picked.append(k)
    return picked


def evaluate(
    rules: Iterable[Rule],
    zones: Mapping[str, Any],
    positions: pa.Table,
    events: pa.Table,
    facts: VesselFacts,
    state: AlertState,
    now: datetime | None = None,
) -> pa.Table:
    """The alerts ``rules`` fire on ``positions`` and ``events`` (see the module docstring).

    ``zones``: zone id → shapely polygon; a rule whose zone is missing fires nothing.
    Positions are taken in (MMSI, time) order; ``state`` is updated.
    """
    now = now or datetime.now(UTC)
    rules = list(rules)
    out: list[dict[str, Any]] = []
    pos = positions
    if pos.num_rows:
        pos = pos.sort_by([("mmsi", "ascending"), ("ts", "ascending")])
    crossings: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
    for zone_id in sorted({r.zone_id for r in rules if r.kind.startswith("zone_") and r.zone_id}):
        if zone_id in zones and pos.num_rows:
            crossings[zone_id] = _crossings(zone_id, zones[zone_id], pos, state)
    for rule in rules:
        spec = RULE_KINDS[rule.kind]
        geom = zones.get(rule.zone_id) if rule.zone_id else None
        if rule.zone_id and geom is None:
            continue
        detail: dict[str, Any] = {"zone_id": rule.zone_id} if rule.zone_id else {}
        if spec.source == "events":
            if not events.num_rows:
                continue
            keep = _mask(rule, events, facts)
            keep &= np.asarray(pc.is_in(events.column("event_type"), pa.array(spec.event_types)))
            if geom is not None:
                keep &= _inside(geom, events)
            idx = np.flatnonzero(keep)
        elif not pos.num_rows:
            continue
        elif rule.kind == "watchlist":
            keep = _mask(rule, pos, facts)
            if geom is not None:
                keep &= _inside(geom, pos)
            idx = np.array(_watchlist(rule, pos.filter(keep), facts, state), dtype=np.int64)
            idx = np.flatnonzero(keep)[idx] if len(idx) else idx
        else:
            entries, exits = crossings.get(rule.zone_id or "", (np.array([]), np.array([])))
            idx = entries if rule.kind == "zone_entry" else exits
            idx = idx[_mask(rule, pos, facts)[idx]] if len(idx) else idx
        rows = events if spec.source == "events" else pos
        for row in _rows(rule, rows, idx, now, detail):
            if state.first_time(row["alert_id"]):
                out.append(row)
    return pa.Table.from_pylist(out, FIRED_SCHEMA)
