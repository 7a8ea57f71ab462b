"""Records by write order, for a reader: what federation releases to a peer.

:class:`WrittenListings` is mixed into :class:`~seawatch.store.query.Query`, whose label
filter applies (``_select``). A sequenced table's rows carry a hidden write number
(:data:`~seawatch.store.tables.SEQ`, schema 7); :meth:`WrittenListings.written` reads the
rows of some labels written after a number (what is new since a release), or up to it
whose record time is after a moment (rows a delay withheld at that release). Rows written
before schema 7 have no number: they count as written before any.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Protocol

import pyarrow as pa

from seawatch.store.tables import SEQ, TABLES

__all__ = ["WrittenListings"]

RECORD_TIME: Final = {"positions": "ts", "statics": "ts", "events": "coalesce(end_ts, start_ts)"}
"""The time a delay counts from, per table (events: their end, or start while open)."""
_ORDER: Final = {
    "positions": "ORDER BY ts, mmsi, msg_key",
    "statics": "ORDER BY ts, mmsi, msg_key",
    "events": "ORDER BY start_ts, event_id",
}
"""By time, as the listings: a bundle's Parquet then delta-encodes times and keys well."""


class _Selects(Protocol):
    store: Any

    def _select(
        self, table: str, where: str, params: Sequence[Any], tail: str, *, distinct: str = ""
    ) -> pa.Table: ...


class WrittenListings:
    """The write-order read of :class:`~seawatch.store.query.Query` (label-filtered)."""

    def written(
        self: _Selects,
        table: str,
        labels: Sequence[int],
        *,
        after_seq: int | None = None,
        upto_seq: int | None = None,
        time_after: datetime | None = None,
    ) -> pa.Table:
        """Rows of ``table`` (positions, statics, events) under ``labels`` (and the
        reader's label filter), by time; each condition given narrows: written after
        ``after_seq``; written up to ``upto_seq`` or before schema 7 (no number); record
        time (:data:`RECORD_TIME`) after ``time_after``."""
        if not TABLES[table].sequenced:
            raise ValueError(f"{table} has no write order")
        if not labels:
            return TABLES[table].arrow_schema().empty_table()
        where = f" AND label_id IN ({', '.join(str(int(i)) for i in labels)})"
        params: list[Any] = []
        if after_seq is not None:
            where += f" AND {SEQ} > ?"
            params.append(int(after_seq))
        if upto_seq is not None:
            where += f" AND ({SEQ} <= ? OR {SEQ} IS NULL)"
            params.append(int(upto_seq))
        if time_after is not None:
            where += f" AND {RECORD_TIME[table]} > ?"
            params.append(time_after)
        return self._select(table, where, params, _ORDER[table])

    def last_written(self: _Selects, tables: Sequence[str]) -> dict[str, int]:
        """The largest write number in each of ``tables`` (0: none), whatever its label, in
        one query: a table whose largest is not after a cursor has nothing to read after it
        (the label filter then need not run)."""
        if not tables:
            return {}
        for table in tables:
            if not TABLES[table].sequenced:
                raise ValueError(f"{table} has no write order")
        sql = " UNION ALL ".join(
            f"SELECT '{t}' AS name, max({SEQ}) AS last FROM {t}" for t in tables
        )
        schema = pa.schema([pa.field("name", pa.string()), pa.field("last", pa.int64())])  # type: ignore[arg-type]
        rows = self.store.backend.fetch(sql, [], schema).to_pylist()
        return {str(r["name"]): int(r["last"] or 0) for r in rows}
