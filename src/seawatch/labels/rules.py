"""Where labels come from: labelling rules in the settings, with the node's default label.

In: the ``label_rules`` setting, e.g.
``feed=ifc-ior -> IND:CONFIDENTIAL//REL TO QUAD; event_type=encounter bbox=60,-10,100,30 ->
SECRET//REL TO IND, USA``, and what is known of a record (source, feed, message type,
event type, position). Out: the :class:`~seawatch.labels.label.Label` it gets.

A rule is ``CONDITIONS -> [ORIGINATOR:]MARKING``. Conditions are space-separated
``key=value`` pairs, all of which must hold; keys ``source``, ``feed``, ``message_type``,
``event_type`` take one value or comma-separated alternatives (compared case-insensitively),
``bbox=min_lon,min_lat,max_lon,max_lat`` takes degrees (``min_lon > max_lon`` crosses the
antimeridian). A rule whose key the caller does not give does not match. No conditions
matches everything. The first matching rule wins; none: the policy's default label. The
originator defaults to the node nation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from seawatch.errors import ConfigError, LabelError
from seawatch.labels.label import Label, parse_label
from seawatch.labels.policy import Policy

if TYPE_CHECKING:
    from seawatch.settings import Settings

__all__ = ["RULE_KEYS", "LabelRule", "LabelRules"]

RULE_KEYS = ("source", "feed", "message_type", "event_type")
"""Keys a rule matches by value; ``bbox`` matches by position."""

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class LabelRule:
    """One rule: conditions on a record, and the label a matching record gets."""

    label: Label
    values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    bbox: BBox | None = None
    text: str = ""

    def matches_values(self, given: Mapping[str, str | int | None]) -> bool:
        """True when every value condition holds for ``given`` (bbox not checked)."""
        for key, wanted in self.values.items():
            value = given.get(key)
            if value is None or str(value).casefold() not in wanted:
                return False
        return True

    def inside(
        self, lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.bool_]:
        """Which points lie in the rule's bbox (every point when it has none)."""
        if self.bbox is None:
            return np.ones(lon.shape, dtype=np.bool_)
        w, s, e, n = self.bbox
        in_lon = (lon >= w) & (lon <= e) if w <= e else (lon >= w) | (lon <= e)
        return np.asarray(in_lon & (lat >= s) & (lat <= n), dtype=np.bool_)


@dataclass(frozen=True)
class LabelRules:
    """Ordered labelling rules and the default label; first match wins."""

    rules: tuple[LabelRule, ...]
    default: Label

    @classmethod
    def from_settings(cls, settings: Settings, policy: Policy | None = None) -> LabelRules:
        """Rules of the ``label_rules`` setting; :class:`ConfigError` names a bad rule."""
        policy = Policy.from_settings(settings) if policy is None else policy
        try:
            return cls.parse(settings.label_rules, policy)
        except LabelError as exc:
            raise ConfigError(f"setting label_rules: {exc} (see docs/labels.md)") from None

    @classmethod
    def parse(cls, text: str, policy: Policy) -> LabelRules:
        """Rules separated by ``;`` or new lines (see the module docstring)."""
        chunks = [c.strip() for c in text.replace("\n", ";").split(";")]
        return cls(tuple(_rule(c, policy) for c in chunks if c), policy.default_label)

    def rule_for(
        self,
        *,
        source: str | None = None,
        feed: str | None = None,
        message_type: str | int | None = None,
        event_type: str | None = None,
        lon: float | None = None,
        lat: float | None = None,
    ) -> Label:
        """The label of a record with these attributes (unknown ones left ``None``)."""
        given = {
            "source": source,
            "feed": feed,
            "message_type": message_type,
            "event_type": event_type,
        }
        for rule in self.rules:
            if not rule.matches_values(given):
                continue
            if rule.bbox is not None:
                if lon is None or lat is None:
                    continue
                if not rule.inside(np.array([lon]), np.array([lat]))[0]:
                    continue
            return rule.label
        return self.default

    def labels_for_points(
        self,
        lon: npt.ArrayLike,
        lat: npt.ArrayLike,
        *,
        source: str | None = None,
        feed: str | None = None,
        message_type: str | int | None = None,
        event_type: str | None = None,
    ) -> tuple[npt.NDArray[np.int32], list[Label]]:
        """Labels of many records that share everything but their position.

        Returns ``(codes, labels)``: record ``i`` gets ``labels[codes[i]]``. Work is per
        rule, not per record.
        """
        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        given = {
            "source": source,
            "feed": feed,
            "message_type": message_type,
            "event_type": event_type,
        }
        labels: list[Label] = []
        codes = np.full(x.shape, -1, dtype=np.int32)
        for rule in self.rules:
            if not rule.matches_values(given):
                continue
            hit = (codes < 0) & rule.inside(x, y)
            if hit.any():
                codes[hit] = len(labels)
                labels.append(rule.label)
        rest = codes < 0
        if rest.any():
            codes[rest] = len(labels)
            labels.append(self.default)
        return codes, labels


def _rule(text: str, policy: Policy) -> LabelRule:
    conditions, arrow, target = text.partition("->")
    if not arrow or not target.strip():
        raise LabelError(f"rule {text!r}: expected 'CONDITIONS -> [ORIGINATOR:]MARKING'")
    owner, colon, marking = target.partition(":")
    if not colon:
        owner, marking = "", target
    label = parse_label(marking, policy, originator=owner.strip() or None)
    values: dict[str, frozenset[str]] = {}
    bbox: BBox | None = None
    for cond in conditions.split():
        key, eq, value = cond.partition("=")
        if not eq or not value:
            raise LabelError(f"rule {text!r}: condition {cond!r} is not key=value")
        if key == "bbox":
            bbox = _bbox(text, value)
        elif key in RULE_KEYS:
            values[key] = frozenset(v.casefold() for v in value.split(",") if v)
        else:
            raise LabelError(
                f"rule {text!r}: unknown key {key!r} (use {', '.join(RULE_KEYS)} or bbox)"
            )
    return LabelRule(label, values, bbox, text)


def _bbox(text: str, value: str) -> BBox:
    try:
        w, s, e, n = (float(v) for v in value.split(","))
    except ValueError:
        raise LabelError(
            f"rule {text!r}: bbox={value} is not min_lon,min_lat,max_lon,max_lat in degrees"
        ) from None
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
        raise LabelError(
            f"rule {text!r}: bbox={value} out of range (lon -180..180, lat -90..90, "
            "min_lat <= max_lat)"
        )
    return (w, s, e, n)
