"""The owner's release rules: per peer, in order, what may be released to it.

In: the rules file (TOML, ``<data_dir>/share-rules.toml`` unless ``--rules`` names another;
keep it under version control), one ``[[rule]]`` table per rule::

    [[rule]]
    peer = "usa-c2"                          # required: a pinned peer
    marking = "CONFIDENTIAL//REL TO IND, USA" # only records with exactly this label
    types = ["positions", "encounter"]        # record kinds: positions, statics, events,
                                              # or an event type (gap, encounter, ...)
    bbox = [60.0, -10.0, 100.0, 25.0]         # lon_min, lat_min, lon_max, lat_max
    mmsi = [419000001, 419000002]             # only these vessels
    delay_s = 21600                           # only records older than this (6 h)

Out: for a table of records, which rule (if any) releases each row (:meth:`Rules.first_match`,
Arrow, no object per record). Deny unless a rule releases; a rule with no filter releases
everything the labels allow. The label decision for the peer's nation is a floor the rules
never go under: records are read for the peer through the query layer
(:class:`~seawatch.store.query.Query` with the peer's :class:`~seawatch.labels.Reader`),
so a label that forbids the peer's nation never reaches the rules.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from seawatch.errors import ConfigError, LabelError
from seawatch.labels import Label, Policy, parse_label
from seawatch.share.files import write_atomic

__all__ = ["RECORD_TABLES", "Rule", "Rules", "parse_delay", "rules_file"]

RECORD_TABLES: Final = ("positions", "statics", "events")
"""The stored tables federation releases; the time column each is delayed by."""
_TIME = {"positions": "ts", "statics": "ts", "events": "end_ts"}
_KEYS = {"peer", "marking", "types", "bbox", "mmsi", "delay_s"}
_DELAY = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def rules_file(data_dir: Path) -> Path:
    return Path(data_dir) / "share-rules.toml"


def parse_delay(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``30m``, ``6h``, ``2d``."""
    m = _DELAY.fullmatch(text.strip().lower())
    if not m:
        raise ConfigError(f"delay {text!r}: give a number with s, m, h or d (e.g. 6h)")
    return float(m.group(1)) * _UNIT_S[m.group(2)]


@dataclass(frozen=True)
class Rule:
    """One release rule; ``None`` filters match everything."""

    peer: str
    marking: str | None = None
    types: tuple[str, ...] | None = None
    bbox: tuple[float, float, float, float] | None = None
    mmsi: tuple[int, ...] | None = None
    delay_s: float | None = None

    def describe(self) -> str:
        parts = [f"to {self.peer}"]
        if self.marking:
            parts.append(f"marking {self.marking}")
        if self.types:
            parts.append("types " + ",".join(self.types))
        if self.bbox:
            parts.append("bbox " + ",".join(f"{v:g}" for v in self.bbox))
        if self.mmsi:
            parts.append(f"{len(self.mmsi)} vessel(s)")
        if self.delay_s:
            parts.append(f"delayed {self.delay_s:g} s")
        return " ".join(parts) if len(parts) > 1 else f"to {self.peer}: everything labels allow"

    def to_toml(self) -> str:
        lines = ["[[rule]]", f"peer = {json.dumps(self.peer)}"]
        if self.marking is not None:
            lines.append(f"marking = {json.dumps(self.marking)}")
        if self.types is not None:
            lines.append(f"types = {json.dumps(list(self.types))}")
        if self.bbox is not None:
            lines.append(f"bbox = {json.dumps(list(self.bbox))}")
        if self.mmsi is not None:
            lines.append(f"mmsi = {json.dumps(list(self.mmsi))}")
        if self.delay_s is not None:
            lines.append(f"delay_s = {self.delay_s:g}")
        return "\n".join(lines) + "\n"


def make_rule(row: Mapping[str, Any], where: str = "rule") -> Rule:
    """A validated :class:`Rule` from a TOML table (or the ``share allow`` options)."""
    unknown = sorted(set(row) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {sorted(_KEYS)})")
    peer = row.get("peer")
    if not isinstance(peer, str) or not peer:
        raise ConfigError(f"{where}: 'peer' (a pinned peer's name) is required")
    try:
        types = _strings(row.get("types"), where, "types")
        bbox = row.get("bbox")
        if bbox is not None:
            bbox = tuple(float(v) for v in bbox)
            if len(bbox) != 4 or not (-90 <= bbox[1] <= bbox[3] <= 90):
                raise ValueError
            if not all(-180 <= v <= 180 for v in (bbox[0], bbox[2])):
                raise ValueError
        mmsi = row.get("mmsi")
        mmsi = None if mmsi is None else tuple(int(v) for v in mmsi)
        delay = row.get("delay_s")
        delay = None if delay is None else float(delay)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}: bbox is lon_min, lat_min, lon_max, lat_max in degrees; mmsi a list of "
            "integers; delay_s seconds"
        ) from None
    if delay is not None and delay < 0:
        raise ConfigError(f"{where}: delay_s {delay} is negative")
    marking = row.get("marking")
    if marking is not None and not isinstance(marking, str):
        raise ConfigError(f"{where}: marking is a string such as 'SECRET//REL TO IND, USA'")
    return Rule(peer, marking, types, bbox, mmsi, delay)  # type: ignore[arg-type]


def _strings(value: Any, where: str, key: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: {key} is a list of names")
    return tuple(value)


class Rules:
    """The rules of a file, in order."""

    def __init__(self, rules: Sequence[Rule], path: Path | None = None) -> None:
        self.rules = list(rules)
        self.path = path

    @classmethod
    def load(cls, path: Path) -> Rules:
        if not path.exists():
            return cls([], path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"rules file '{path}': cannot read: {exc}") from None
        rows = data.get("rule", [])
        extra = sorted(set(data) - {"rule"})
        if extra or not isinstance(rows, list):
            raise ConfigError(f"rules file '{path}': only [[rule]] tables (found {extra})")
        return cls([make_rule(r, f"{path} rule {i + 1}") for i, r in enumerate(rows)], path)

    def append(self, rule: Rule) -> None:
        """Add ``rule`` at the end of the file (its text and comments kept)."""
        if self.path is None:
            raise ConfigError("these rules have no file")
        old = self.path.read_text(encoding="utf-8") if self.path.exists() else (
            "# seawatch release rules (docs/federation.md): per peer, in order; deny unless one\n"
            "# releases, and never what a record's label forbids to the peer's nation.\n"
        )  # fmt: skip
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, (old.rstrip("\n") + "\n\n" + rule.to_toml()).encode())
        self.rules.append(rule)

    def for_peer(self, peer: str) -> list[tuple[int, Rule]]:
        """``(1-based number in the file, rule)`` of ``peer``'s rules, in order."""
        return [(i + 1, r) for i, r in enumerate(self.rules) if r.peer == peer]

    def check(self, policy: Policy, nation: str, peers: Sequence[str]) -> list[str]:
        """Problems: a rule for an unknown peer, a marking that does not parse."""
        problems = []
        for i, rule in enumerate(self.rules, 1):
            if rule.peer not in peers:
                problems.append(f"rule {i}: peer {rule.peer!r} is not pinned (seawatch peers add)")
            if rule.marking is not None:
                try:
                    parse_label(rule.marking, policy, originator=nation)
                except LabelError as exc:
                    problems.append(f"rule {i}: {exc}")
        return problems

    def first_match(
        self,
        peer: str,
        table: str,
        rows: pa.Table,
        labels: Mapping[int, Label],
        policy: Policy,
        nation: str,
        now: dt.datetime,
    ) -> Any:
        """Per row of ``rows`` (a stored ``table``), the number of the first of ``peer``'s
        rules releasing it, 0 where none does (int32)."""
        fn: Any = pc  # the stubs reject a Python scalar beside a column
        out = pa.array([0] * rows.num_rows, pa.int32())
        for number, rule in reversed(self.for_peer(peer)):
            mask = _mask(rule, table, rows, labels, policy, nation, now)
            out = fn.if_else(mask, number, out)
        return out


def _mask(
    rule: Rule,
    table: str,
    rows: pa.Table,
    labels: Mapping[int, Label],
    policy: Policy,
    nation: str,
    now: dt.datetime,
) -> Any:
    fn: Any = pc  # the stubs reject a Python scalar beside a column
    mask = pa.array([True] * rows.num_rows, pa.bool_())
    if rule.marking is not None:
        wanted = parse_label(rule.marking, policy, originator=nation)
        ids = [i for i, lb in labels.items() if lb == wanted]
        mask = fn.and_(mask, fn.is_in(rows.column("label_id"), pa.array(ids, pa.int32())))
    if rule.types is not None:
        kinds = set(rule.types)
        if table == "events" and "events" not in kinds:
            kind_ok = fn.is_in(rows.column("event_type"), pa.array(sorted(kinds), pa.string()))
            mask = fn.and_(mask, fn.fill_null(kind_ok, False))
        elif table not in kinds:
            mask = pa.array([False] * rows.num_rows, pa.bool_())
    if rule.bbox is not None:
        if table == "statics":
            mask = pa.array([False] * rows.num_rows, pa.bool_())
        else:
            x0, y0, x1, y1 = rule.bbox
            lat, lon = rows.column("lat"), rows.column("lon")
            inside = fn.and_(fn.greater_equal(lat, y0), fn.less_equal(lat, y1))
            east, west = fn.greater_equal(lon, x0), fn.less_equal(lon, x1)
            across = fn.and_(east, west) if x0 <= x1 else fn.or_(east, west)
            mask = fn.and_(mask, fn.fill_null(fn.and_(inside, across), False))
    if rule.mmsi is not None:
        ok = fn.is_in(rows.column("mmsi"), pa.array(rule.mmsi, pa.int32()))
        mask = fn.and_(mask, fn.fill_null(ok, False))
    if rule.delay_s is not None:
        t = rows.column(_TIME[table])
        if table == "events":
            t = fn.coalesce(t, rows.column("start_ts"))
        cutoff = pa.scalar(now - dt.timedelta(seconds=rule.delay_s), t.type)
        mask = fn.and_(mask, fn.fill_null(fn.less_equal(t, cutoff), False))
    return mask
