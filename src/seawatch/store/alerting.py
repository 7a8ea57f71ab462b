"""Alert rules and fired alerts in the store: the listings (read for a reader) and the few
writes that change a row in place (acknowledge, delete).

In: a :class:`~seawatch.store.query.Query` (its label filter) for the listings; a store for
the writes, which the caller makes only after the reader was shown to read the row. Out:
:class:`AlertListings` (mixed into ``Query``: ``alert_rules``, ``alerts``, paged like every
listing) and :func:`ack_alert`, :func:`delete_rule`, :func:`delete_zone`, :func:`rules_for_zone`.
What the rules mean and how they fire is :mod:`seawatch.events.alerts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import pyarrow as pa

from seawatch.store.base import Store
from seawatch.store.bbox import BBox, where_bbox
from seawatch.store.pages import limit_sql, where_after

__all__ = ["AlertListings", "ack_alert", "delete_rule", "delete_zone", "rules_for_zone"]


class _Selects(Protocol):
    def _select(
        self, table: str, where: str, params: Sequence[Any], tail: str, *, distinct: str = ""
    ) -> pa.Table: ...


class AlertListings:
    """The alert listings of :class:`~seawatch.store.query.Query` (label-filtered)."""

    def alert_rules(
        self: _Selects,
        *,
        rule_id: str | None = None,
        zone_id: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> pa.Table:
        """Alert rules the reader may read, by id."""
        where, params = "", []
        for column, value in (("rule_id", rule_id), ("zone_id", zone_id)):
            if value is not None:
                where += f" AND {column} = ?"
                params.append(value)
        more, more_params = where_after("alert_rules", after)
        return self._select(
            "alert_rules", where + more, params + more_params, "ORDER BY rule_id" + limit_sql(limit)
        )

    def alerts(
        self: _Selects,
        *,
        alert_id: str | None = None,
        rule_id: str | None = None,
        kinds: Sequence[str] | None = None,
        acked: bool | None = None,
        bbox: BBox | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        mmsi: int | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> pa.Table:
        """Fired alerts the reader may read, by time then id; ``acked``: only those
        acknowledged (True) or not (False)."""
        where, params = where_bbox(bbox)
        for column, value in (("alert_id", alert_id), ("rule_id", rule_id)):
            if value is not None:
                where += f" AND {column} = ?"
                params.append(value)
        if kinds:
            where += f" AND kind IN ({', '.join('?' for _ in kinds)})"
            params.extend(kinds)
        if acked is not None:
            where += " AND acked_at IS NOT NULL" if acked else " AND acked_at IS NULL"
        if start is not None:
            where += " AND ts >= ?"
            params.append(start)
        if end is not None:
            where += " AND ts <= ?"
            params.append(end)
        if mmsi is not None:
            where += " AND (mmsi = ? OR other_mmsi = ?)"
            params.extend([int(mmsi), int(mmsi)])
        more, more_params = where_after("alerts", after)
        return self._select(
            "alerts", where + more, params + more_params, "ORDER BY ts, alert_id" + limit_sql(limit)
        )


def ack_alert(store: Store, alert_id: str, by: str, at: datetime) -> None:
    """Mark ``alert_id`` acknowledged by ``by`` at ``at`` (the first acknowledgement stays)."""
    store.backend.execute(
        "UPDATE alerts SET acked_at = ?, acked_by = ? WHERE alert_id = ? AND acked_at IS NULL",
        (at, by, alert_id),
    )


def delete_rule(store: Store, rule_id: str) -> None:
    """Remove a rule (its fired alerts stay, naming it)."""
    store.backend.execute("DELETE FROM alert_rules WHERE rule_id = ?", (rule_id,))


def delete_zone(store: Store, zone_id: str) -> None:
    store.backend.execute("DELETE FROM zones WHERE zone_id = ?", (zone_id,))


def rules_for_zone(store: Store, zone_id: str) -> list[str]:
    """Ids of every rule watching ``zone_id`` (whatever their labels: a zone in use stays)."""
    t = store.backend.fetch(
        "SELECT rule_id FROM alert_rules WHERE zone_id = ? ORDER BY rule_id",
        (zone_id,),
        pa.schema([("rule_id", pa.string())]),
    )
    return [str(v) for v in t.column(0).to_pylist()]
