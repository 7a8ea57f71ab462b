"""Alert rules evaluated as data is stored, inside the transaction that stores it.

In: the store (its ``alert_rules``, ``zones`` and ``labels``) and, for each transaction of
the store sink, the positions, statics and events it wrote (with ``label_id``). Out:
:meth:`AlertEngine.fire` gives the ``alerts`` rows to write in that same transaction (so an
alert is stored exactly when what fired it is: a crash loses neither nor keeps one alone),
each labelled with the combination of the rule's, the zone's and the record's labels. The
rules are read again when they were written since the last call (on DuckDB, where this
process is the only writer: :class:`seawatch.store.changes.Cached`; on PostgreSQL at every
call), so rules added through the API or the CLI while a feed runs apply from the next
batch. What fires is
:func:`seawatch.events.alerts.evaluate`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import shapely

from seawatch.errors import SeawatchError
from seawatch.events.alerts import AlertState, Rule, VesselFacts, evaluate
from seawatch.labels import Label, combine
from seawatch.store.base import Store
from seawatch.store.changes import Cached
from seawatch.store.tables import TABLES

__all__ = ["AlertEngine", "load_rules"]

log = logging.getLogger(__name__)


def load_rules(store: Store) -> list[Rule]:
    """Every stored rule (the node evaluates them all; readers see them through Query)."""
    schema = TABLES["alert_rules"].arrow_schema()
    t = store.backend.fetch(
        f"SELECT {', '.join(schema.names)} FROM alert_rules ORDER BY rule_id", (), schema
    )
    rules = []
    for row in t.to_pylist():
        try:
            rules.append(Rule.from_row(row))
        except SeawatchError as exc:  # stored by an older seawatch, or by hand
            log.error("alert rule %s not evaluated: %s", row["rule_id"], exc)
    return rules


class AlertEngine:
    """Fires the store's rules on what each transaction stores (see the module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rules = Cached(
            "alert_rules",
            lambda: load_rules(store),
            every_time=store.backend.dialect.name != "duckdb",
        )
        self.state = AlertState()
        self.facts = VesselFacts()
        self._geoms: dict[tuple[str, str], Any] = {}
        self.fired = 0
        self.unlabelled = 0

    def _zones(self, ids: set[str]) -> tuple[dict[str, Any], dict[str, int]]:
        """Polygons and label ids of the zones ``ids`` (missing ones left out)."""
        if not ids:
            return {}, {}
        schema = TABLES["zones"].arrow_schema()
        marks = ", ".join("?" for _ in ids)
        t = self.store.backend.fetch(
            f"SELECT {', '.join(schema.names)} FROM zones WHERE zone_id IN ({marks})",
            sorted(ids),
            schema,
        )
        geoms, labels = {}, {}
        for row in t.to_pylist():
            key = (row["zone_id"], row["geometry_wkt"] or "")
            if key not in self._geoms:
                try:
                    geom = shapely.from_wkt(key[1])
                    shapely.prepare(geom)
                except shapely.errors.GEOSException as exc:
                    log.error(
                        "zone %s: geometry unreadable, its rules fire nothing: %s", key[0], exc
                    )
                    geom = None
                self._geoms[key] = geom
            if self._geoms[key] is not None:
                geoms[row["zone_id"]] = self._geoms[key]
                labels[row["zone_id"]] = int(row["label_id"])
        return geoms, labels

    def fire(self, positions: pa.Table, statics: pa.Table, events: pa.Table) -> pa.Table:
        """The ``alerts`` rows fired by what was just stored (labelled), in the caller's
        transaction's store; rows whose labels cannot be combined are counted and logged."""
        rules = self.rules.get()
        if not rules:
            return TABLES["alerts"].arrow_schema().empty_table()
        if any(r.ship_types or r.imo or r.names for r in rules):
            self._learn(statics, positions, events)
        zones, zone_labels = self._zones({r.zone_id for r in rules if r.zone_id})
        fired = evaluate(rules, zones, positions, events, self.facts, self.state)
        if fired.num_rows == 0:
            return TABLES["alerts"].arrow_schema().empty_table()
        by_rule = {r.rule_id: r for r in rules}
        labels = self.store.labels()
        ids: list[int | None] = []
        memo: dict[tuple[int, int | None, int], int | None] = {}
        rule_ids: list[Any] = fired.column("rule_id").to_pylist()
        records: list[Any] = fired.column("record_label_id").to_pylist()
        for rule_id, record in zip(
            rule_ids, records, strict=True
        ):  # fmt: skip
            rule = by_rule[rule_id]
            key = (rule.label_id, zone_labels.get(rule.zone_id or ""), int(record))
            if key not in memo:
                memo[key] = self._label(key, labels)
            ids.append(memo[key])
        fired = fired.drop_columns(["record_label_id"]).append_column(
            "label_id", pa.array(ids, pa.int32())
        )
        ok = fired.filter(fired.column("label_id").is_valid())
        self.unlabelled += fired.num_rows - ok.num_rows
        self.fired += ok.num_rows
        schema = TABLES["alerts"].arrow_schema()
        return ok.append_column("acked_at", pa.nulls(ok.num_rows, schema.field("acked_at").type))\
            .append_column("acked_by", pa.nulls(ok.num_rows, pa.string())).select(schema.names)\
            .cast(schema)  # fmt: skip

    def _learn(self, statics: pa.Table, *tables: pa.Table) -> None:
        """Vessel facts from ``statics``, and from the store for vessels not seen yet."""
        if statics.num_rows:
            self.facts.update(statics)
        mmsis: set[int] = set()
        for t in tables:
            if t.num_rows:
                found: list[Any] = pc.unique(t.column("mmsi")).drop_null().to_pylist()
                mmsis.update(found)
        unknown = sorted(mmsis - self.facts.seen)
        for k in range(0, len(unknown), 5_000):
            part = unknown[k : k + 5_000]
            schema = TABLES["statics"].arrow_schema()
            got = self.store.backend.fetch(
                f"SELECT {', '.join(schema.names)} FROM statics "
                f"WHERE mmsi IN ({', '.join(str(int(m)) for m in part)})",
                (),
                schema,
            )
            self.facts.update(got)
            self.facts.seen.update(part)

    def _label(self, key: tuple[int, int | None, int], labels: Mapping[int, Label]) -> int | None:
        try:
            parts = [labels[i] for i in key if i is not None]
            return self.store.label_id(combine(parts, self.store.policy))
        except (KeyError, SeawatchError) as exc:
            log.error("alerts under labels %s not stored: cannot combine them: %s", key, exc)
            return None
