"""Per-segment state that grows with every segment seen, updated in proportion to each chunk.

In: tables keyed by ``segment_id`` (partial aggregates, or the last identity row of each
segment). Out: the merged table on demand. Both keep the newer parts beside a merged table
and merge only once the parts outgrow it, so a chunk's work is in proportion to the chunk,
not to every segment seen so far (at 100,000 vessels the whole state was rewritten every
live batch). Used by :class:`seawatch.tracks.identity.SegmentsAccumulator`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["MERGE_ROWS", "Carry", "Sums"]

MERGE_ROWS = 1 << 16
"""Rows of newer parts that are always kept unmerged (beyond the merged table's size)."""


def _latest(rows: pa.Table) -> pa.Table:
    """The last row of each segment in ``rows`` (by segment id)."""
    seg = np.asarray(rows.column("segment_id"), np.int64)
    order = np.argsort(seg, kind="stable")
    last = np.ones(len(seg), bool)
    last[:-1] = seg[order][1:] != seg[order][:-1]
    return rows.take(order[last])


class Carry:
    """Per segment, its identity after the reports already processed (the last filled row),
    as a merged table (a row per segment) and the newer parts: rewritten only once the
    parts outgrow it, so the work per chunk stays in proportion to the chunk, not to every
    segment seen so far (at 100,000 vessels the whole table was copied every live batch)."""

    def __init__(self, empty: pa.Table) -> None:
        self._merged, self._parts, self._rows = empty, list[pa.Table](), 0

    def prior(self, segment_ids: Any) -> pa.Table:
        """The row of each of ``segment_ids`` that has one (ordered by segment id)."""
        found = [
            t.filter(pc.is_in(t.column("segment_id"), value_set=segment_ids))
            for t in (self._merged, *self._parts)
        ]
        return _latest(pa.concat_tables(found))

    def update(self, state: pa.Table) -> None:
        """``state``'s rows replace those of their segments."""
        self._parts.append(state)
        self._rows += state.num_rows
        if self._rows > max(self._merged.num_rows, MERGE_ROWS):
            self.table()

    def table(self) -> pa.Table:
        if self._parts:
            self._merged = _latest(pa.concat_tables([self._merged, *self._parts]))
            self._parts, self._rows = [], 0
        return self._merged

    def keep(self, segment_ids: Any) -> None:
        """Forget every segment but ``segment_ids``."""
        merged = self.table()
        self._merged = merged.filter(pc.is_in(merged.column("segment_id"), value_set=segment_ids))


def _merge(parts: list[pa.Table], keys: list[str], aggs: dict[str, str]) -> pa.Table:
    """Partial aggregates re-aggregated by ``keys`` (``aggs``: column -> min, max or sum)."""
    table = pa.concat_tables(parts)
    spec: Any = list(aggs.items())
    out = table.group_by(keys).aggregate(spec)
    names = {f"{c}_{a}": c for c, a in aggs.items()}
    return out.rename_columns([names.get(c, c) for c in out.column_names]).select(
        table.column_names
    )


class Sums:
    """Partial aggregates, re-aggregated only once the new parts outgrow the merged table: the
    work per chunk stays in proportion to the chunk, not to every segment seen so far."""

    def __init__(self, empty: pa.Table, keys: list[str], aggs: dict[str, str]) -> None:
        self.keys, self.aggs = keys, aggs
        self._merged, self._parts, self._rows = empty, list[pa.Table](), 0

    def add(self, part: pa.Table) -> None:
        self._parts.append(part.cast(self._merged.schema))
        self._rows += part.num_rows
        if self._rows > max(self._merged.num_rows, MERGE_ROWS):
            self.table()

    def table(self) -> pa.Table:
        if self._parts:
            self._merged = _merge([self._merged, *self._parts], self.keys, self.aggs)
            self._parts, self._rows = [], 0
        return self._merged

    def keep(self, segment_ids: pa.Array[Any]) -> None:
        """Forget every segment but ``segment_ids``."""
        merged = self.table()
        self._merged = merged.filter(pc.is_in(merged.column("segment_id"), value_set=segment_ids))
