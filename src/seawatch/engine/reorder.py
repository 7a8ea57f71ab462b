"""Time order for the pipeline: rows held until no older row can come, then released sorted.

:class:`ReorderBuffer` holds one table's rows (positions or statics) and releases those older
than a cutoff in a total order (:func:`time_order`: time, then MMSI and message key, never
arrival), so the stages' input does not depend on how the input was split; a row older than
what was released is late (returned, counted by the pipeline, never dropped).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.decode.keys import message_keys

__all__ = ["NEVER_US", "ReorderBuffer", "time_order", "ts_column", "ts_us"]

_US = pa.timestamp("us", tz="UTC")
NEVER_US = -(2**62)
"""Before any time: a horizon or clock that has seen nothing yet."""


def ts_column(table: pa.Table) -> Any:
    """``ts`` as µs since the epoch, an int64 Arrow column (nulls kept)."""
    return table.column("ts").cast(_US).cast(pa.int64())


def ts_us(table: pa.Table) -> np.ndarray[Any, np.dtype[np.int64]]:
    """``ts`` as µs since the epoch; null as the smallest int64 (sorts first, never late)."""
    ts = table.column("ts").cast(_US).cast(pa.int64())
    return np.asarray(pc.fill_null(ts, pa.scalar(np.iinfo(np.int64).min, pa.int64())), np.int64)


_KEYED = {
    "positions": ["mmsi", "ts", "msg_type", "lat", "lon"],
    "statics": ["mmsi", "ts", "msg_type", "part_num", "imo"],
}  # the columns of :func:`seawatch.decode.keys.message_keys`


def time_order(table: pa.Table, kind: str) -> pa.Table:
    """``table`` (``kind``: positions or statics) sorted by time, rows of equal time in a
    total order of their content (MMSI, then message key), not of arrival: the order of the
    stages' input never depends on how the input was split into files or chunks."""
    mmsi_col: Any = table.column("mmsi").cast(pa.int64())
    mmsi = np.asarray(pc.fill_null(mmsi_col, pa.scalar(-1, pa.int64())).to_numpy(), np.int64)
    ts = ts_us(table)
    if _in_order(table, kind, ts, mmsi):  # e.g. a partition sorted when it was written
        return table
    order = np.lexsort((mmsi, ts))
    ts_o, mmsi_o = ts[order], mmsi[order]
    tie = np.flatnonzero((ts_o[1:] == ts_o[:-1]) & (mmsi_o[1:] == mmsi_o[:-1]))
    if len(tie):  # rows of equal time and MMSI: in message key order, only those keyed
        rows = np.unique(np.r_[tie, tie + 1])  # positions in ``order`` of the tied rows
        named = table.select(_KEYED[kind])
        keys = np.asarray(message_keys(named.take(order[rows]), kind).to_numpy(), np.int64)
        joined = np.r_[False, np.isin(rows[1:] - 1, tie) & (rows[1:] == rows[:-1] + 1)]
        group = np.cumsum(~joined)
        order[rows] = order[rows][np.lexsort((keys, group))]  # stable: then arrival
    return table.take(order)


def _in_order(
    table: pa.Table, kind: str, ts: np.ndarray[Any, Any], mmsi: np.ndarray[Any, Any]
) -> bool:
    """Are ``table``'s rows already in :func:`time_order`'s order? Message keys are
    computed only for the rows whose time and MMSI equal their neighbour's."""
    if len(ts) < 2:
        return True
    same_ts = ts[1:] == ts[:-1]
    if (ts[1:] < ts[:-1]).any() or (same_ts & (mmsi[1:] < mmsi[:-1])).any():
        return False
    tie = np.flatnonzero(same_ts & (mmsi[1:] == mmsi[:-1]))
    if len(tie) == 0:
        return True
    rows = np.unique(np.r_[tie, tie + 1])
    named = table.select(_KEYED[kind])  # the keyed columns only, of the tied rows
    keys = np.asarray(message_keys(named.take(rows), kind).to_numpy(), np.int64)
    at = np.searchsorted(rows, tie)
    return bool((keys[at + 1] >= keys[at]).all())


@functools.lru_cache(maxsize=32)
def _empty(schema: pa.Schema) -> pa.Table:
    """``schema``'s empty table, made once (a table is immutable): making it costs ~0.3 ms
    for the positions' 42 columns, and a live batch's release made two."""
    return schema.empty_table()


class ReorderBuffer:
    """Rows of one table (``kind``: positions or statics) held until released in time
    order; see the module docstring. Rows of equal time are released in the order of their
    MMSI and message key (:func:`seawatch.decode.keys.message_keys`), whatever order they
    came in. Rows without a time are released at once (the stages count or skip them).
    """

    def __init__(self, schema: pa.Schema, kind: str = "positions") -> None:
        self.schema = schema
        self.kind = kind
        self._held: list[tuple[pa.Table, np.ndarray[Any, np.dtype[np.int64]]]] = []
        """The tables held, each with its times (:func:`ts_us`), in the order they came."""
        self.horizon_us = NEVER_US
        """Everything older than this has been released; a newer row is not late."""
        self.taken: Any = None
        """When set (a list, or anything with ``append``): every row :meth:`push` accepts (not
        late) is appended to it (a daily run's own rows, kept to run that day again:
        :mod:`seawatch.engine.late`)."""

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t, _ in self._held)

    def push(self, table: pa.Table) -> pa.Table:
        """Hold ``table``'s rows; returns the late ones (older than the horizon)."""
        ts = ts_us(table)
        late = (ts < self.horizon_us) & np.asarray(table.column("ts").is_valid(), bool)
        if late.any():
            kept = table.filter(pa.array(~late))
            self._hold(kept, ts[~late])
            return table.filter(pa.array(late))
        self._hold(table, ts)
        return table.slice(0, 0)

    def _hold(self, table: pa.Table, ts: np.ndarray[Any, np.dtype[np.int64]]) -> None:
        if table.num_rows:
            self._held.append((table, ts))
        if self.taken is not None:
            self.taken.append(table)

    def held(self) -> pa.Table:
        """The rows held, in no particular order (not released)."""
        return pa.concat_tables([_empty(self.schema), *(t for t, _ in self._held)])

    def release(self, cutoff_us: int) -> pa.Table:
        """The rows older than ``cutoff_us`` (or without a time), sorted by time, stable.

        Only the held tables that straddle the cutoff are split: a table wholly older is
        released as it is, one wholly newer stays as it is, so a release costs what it
        releases, not what the window holds (at 100,000 vessels a 10-minute window holds
        ~4 M rows)."""
        self.horizon_us = max(self.horizon_us, cutoff_us)
        out: list[pa.Table] = [_empty(self.schema)]
        kept: list[tuple[pa.Table, np.ndarray[Any, np.dtype[np.int64]]]] = []
        for table, ts in self._held:
            older = ts < self.horizon_us
            k = int(np.count_nonzero(older))
            if k == len(ts):
                out.append(table)
            elif k == 0:
                kept.append((table, ts))
            elif older[:k].all():  # a table in time order (a partition's): cut, not copied
                out.append(table.slice(0, k))
                kept.append((table.slice(k), ts[k:]))
            else:
                out.append(table.filter(pa.array(older)))
                kept.append((table.filter(pa.array(~older)), ts[~older]))
        self._held = kept
        return time_order(pa.concat_tables(out), self.kind)
