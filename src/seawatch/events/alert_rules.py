"""Alert rules as data: the kinds (:data:`RULE_KINDS`, declared once) and :class:`Rule`,
checked by :meth:`Rule.from_obj` (the API's JSON, the CLI's options) with a message saying
what is wrong. What a rule means and how it fires: :mod:`seawatch.events.alerts`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from seawatch.errors import InputError

__all__ = ["DEFAULT_REARM_H", "RULE_KINDS", "Rule", "RuleKind", "kinds_markdown"]


@dataclass(frozen=True)
class RuleKind:
    """One kind of rule: what it watches, the event types it fires on, whether it needs a
    zone (``"required"``, ``"optional"`` or ``"none"``)."""

    doc: str
    source: str  # "positions" or "events"
    zone: str
    event_types: tuple[str, ...] = ()


RULE_KINDS: Final[Mapping[str, RuleKind]] = {
    "zone_entry": RuleKind("A vessel enters the zone", "positions", "required"),
    "zone_exit": RuleKind("A vessel leaves the zone", "positions", "required"),
    "gap": RuleKind(
        "A gap or suspected disabling inside the zone (anywhere without one)",
        "events",
        "optional",
        ("gap", "suspected_disabling"),
    ),
    "encounter": RuleKind("An encounter inside the zone", "events", "optional", ("encounter",)),
    "loitering": RuleKind("Loitering inside the zone", "events", "optional", ("loitering",)),
    "watchlist": RuleKind(
        "A position of a listed vessel (mmsi, imo, names)", "positions", "optional"
    ),
}

_FILTER_KEYS = ("flags", "ship_types", "speed_min_kn", "speed_max_kn", "mmsi", "imo", "names")
_RULE_KEYS = ("name", "kind", "zone_id", "rearm_h", *_FILTER_KEYS)
DEFAULT_REARM_H = 6.0


def _ints(value: Any, key: str, low: int, high: int) -> frozenset[int]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in value
    ):
        raise InputError(f"{key}: give a list of integers from {low} to {high}")
    return frozenset(value)


def _speed(value: Any, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 102.2:
        raise InputError(f"{key}: give a speed in knots from 0 to 102.2")
    return float(value)


@dataclass(frozen=True)
class Rule:
    """One alert rule (stored in ``alert_rules``; ``filters`` is the JSON of the filters)."""

    rule_id: str
    name: str
    kind: str
    zone_id: str | None = None
    flags: frozenset[str] = frozenset()
    ship_types: frozenset[int] = frozenset()
    speed_min_kn: float | None = None
    speed_max_kn: float | None = None
    mmsi: frozenset[int] = frozenset()
    imo: frozenset[int] = frozenset()
    names: frozenset[str] = frozenset()
    rearm_h: float = DEFAULT_REARM_H
    label_id: int = 0

    @classmethod
    def from_obj(cls, obj: Any, rule_id: str = "", label_id: int = 0) -> Rule:
        """The rule ``obj`` (decoded JSON) describes; :class:`InputError` saying what is wrong."""
        if not isinstance(obj, dict):
            raise InputError("a rule is a JSON object")
        unknown = sorted(set(obj) - set(_RULE_KEYS))
        if unknown:
            raise InputError(
                f"unknown rule key(s) {', '.join(unknown)} (use {', '.join(_RULE_KEYS)})"
            )
        name = obj.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InputError("name: give the rule a name (1 to 200 characters)")
        kind: Any = obj.get("kind")
        if kind not in RULE_KINDS:
            raise InputError(f"kind {kind!r}: use one of {', '.join(RULE_KINDS)}")
        spec = RULE_KINDS[kind]
        zone_id = obj.get("zone_id")
        if zone_id is not None and (not isinstance(zone_id, str) or not zone_id):
            raise InputError("zone_id: give the id of a zone or area (GET /api/v1/zones)")
        if spec.zone == "required" and zone_id is None:
            raise InputError(f"kind {kind}: give zone_id, the zone it watches")
        flags = obj.get("flags", [])
        if not isinstance(flags, list) or not all(
            isinstance(f, str) and len(f) == 3 and f.isalpha() and f.isupper() for f in flags
        ):
            raise InputError('flags: give a list of ISO 3166-1 alpha-3 codes, e.g. ["IND"]')
        speeds = (_speed(obj.get("speed_min_kn"), "speed_min_kn"),
                  _speed(obj.get("speed_max_kn"), "speed_max_kn"))  # fmt: skip
        if spec.source != "positions" and speeds != (None, None):
            raise InputError(f"kind {kind}: speed filters apply to position kinds only")
        if None not in speeds and speeds[0] > speeds[1]:  # type: ignore[operator]
            raise InputError("speed_min_kn is above speed_max_kn")
        names = obj.get("names", [])
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise InputError("names: give a list of vessel names")
        rule = cls(
            rule_id,
            name.strip(),
            kind,
            zone_id,
            frozenset(flags),
            _ints(obj.get("ship_types", []), "ship_types", 0, 255),
            speeds[0],
            speeds[1],
            _ints(obj.get("mmsi", []), "mmsi", 1, 999_999_999),
            _ints(obj.get("imo", []), "imo", 1, 9_999_999),
            frozenset(" ".join(n.split()).upper() for n in names),
            _rearm(obj.get("rearm_h", DEFAULT_REARM_H)),
            label_id,
        )
        if kind == "watchlist" and not (rule.mmsi or rule.imo or rule.names):
            raise InputError("kind watchlist: give the vessels (mmsi, imo or names)")
        return rule

    def filters(self) -> dict[str, Any]:
        """The filters as stored (JSON-able; empty ones left out)."""
        out: dict[str, Any] = {
            "flags": sorted(self.flags),
            "ship_types": sorted(self.ship_types),
            "speed_min_kn": self.speed_min_kn,
            "speed_max_kn": self.speed_max_kn,
            "mmsi": sorted(self.mmsi),
            "imo": sorted(self.imo),
            "names": sorted(self.names),
        }
        if self.kind == "watchlist":
            out["rearm_h"] = self.rearm_h
        return {k: v for k, v in out.items() if v not in (None, [])}

    def describe(self) -> dict[str, Any]:
        """The rule as the API shows it (without its label)."""
        return {"rule_id": self.rule_id, "name": self.name, "kind": self.kind,
                "zone_id": self.zone_id, **self.filters()}  # fmt: skip

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Rule:
        """A stored ``alert_rules`` row as a rule."""
        obj = {"name": row["name"], "kind": row["kind"], "zone_id": row["zone_id"]}
        obj.update(json.loads(row["filters"] or "{}"))
        return cls.from_obj(obj, row["rule_id"], int(row["label_id"]))


def _rearm(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 8760:
        raise InputError("rearm_h: give hours from above 0 to 8760")
    return float(value)


def kinds_markdown() -> str:
    """The rule kinds as a Markdown table (docs/alerts.md holds it; a test checks)."""
    lines = ["| kind | fires on | zone | event types |", "|---|---|---|---|"]
    for name, k in RULE_KINDS.items():
        types = ", ".join(f"`{t}`" for t in k.event_types) or "(positions)"
        lines.append(f"| `{name}` | {k.doc} | {k.zone} | {types} |")
    return "\n".join(lines) + "\n"
