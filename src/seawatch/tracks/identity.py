"""Vessel identity per segment: static reports → change history and segment summaries.

In: the decode ``statics`` table and segmented positions (output of
:func:`seawatch.tracks.segment.segment`). Static reports carry no position, so each is
attributed to the segment of the same MMSI whose position is nearest in time, within
``max_attribution_s``; reports farther from every position stay unattributed.
Out: :func:`identity_history` → :data:`~seawatch.tracks.schemas.IDENTITY` (one row per
change point), :func:`segments_table` → :data:`~seawatch.tracks.schemas.SEGMENTS`.

Both are views of a :class:`SegmentsAccumulator`, which takes the input in time-ordered
chunks and keeps only per-segment sums, the last position of each MMSI and the reports
whose nearest position may still come; fed in chunks it gives exactly the whole-input
tables.

Attribution itself (nearest in time) is :mod:`.attribution`; :func:`attribute` and
:data:`DEFAULT_MAX_ATTRIBUTION_S` are re-exported here.

"Not available" values (IMO 0, ship type 0, dimensions and draught 0, empty text) are
nulls. A report that leaves a field null (a Class B part A carries only the name) does
not change it: each field keeps its last reported value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.tracks.attribution import (
    DEFAULT_MAX_ATTRIBUTION_S,
    ST_COLS,
    attribute,
    attribute_sorted,
    check_columns,
    segmented,
    sorted_positions,
    ts_us,
)
from seawatch.tracks.mid import flags
from seawatch.tracks.schemas import IDENTITY, IDENTITY_FIELDS, SEGMENTS
from seawatch.tracks.segment_state import Carry, Sums

__all__ = [
    "DEFAULT_MAX_ATTRIBUTION_S",
    "SUMMARY_FIELDS",
    "SegmentsAccumulator",
    "attribute",
    "identity_history",
    "segments_table",
]

SUMMARY_FIELDS = ("name", "callsign", "imo", "ship_type")
_I64 = np.dtype(np.int64)


def _normalised(col: Any) -> Any:
    """'Not available' (0, empty text) as null."""
    if pa.types.is_string(col.type):
        col = pc.utf8_trim_whitespace(col)
        return pc.if_else(pc.equal(col, pa.scalar("", col.type)), pa.scalar(None, col.type), col)
    return pc.if_else(pc.equal(col, pa.scalar(0, col.type)), pa.scalar(None, col.type), col)


def _reports(statics: pa.Table) -> pa.Table:
    """Statics that can be attributed (ts and mmsi set), fields normalised, in input order."""
    ok = pc.and_(pc.is_valid(statics.column("ts")), pc.is_valid(statics.column("mmsi")))
    statics = statics.filter(ok)
    cols: dict[str, Any] = {
        "segment_id": pa.nulls(statics.num_rows, pa.int64()),
        "mmsi": statics.column("mmsi").cast(pa.int32()),
        "ts": statics.column("ts").cast(IDENTITY.field("ts").type),
    }
    for f in IDENTITY_FIELDS:
        cols[f] = _normalised(statics.column(f)).cast(IDENTITY.field(f).type)
    return pa.table(cols)


Sorted = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]


def merge_sorted(tail: Sorted, new: Sorted) -> Sorted:
    """(mmsi, ts, segment) of ``tail`` then ``new``, both sorted by (mmsi, ts), in that order,
    stable (``tail``'s rows first on ties): what a lexsort of the two gives, in time
    proportional to ``new`` when ``tail`` holds at most one row per MMSI (the last
    position of each vessel: at 100,000 vessels, a sort of it was most of a live batch's
    identity work)."""
    t_mmsi, t_ts = tail[0], tail[1]
    left = np.searchsorted(t_mmsi, new[0], "left")
    right = np.searchsorted(t_mmsi, new[0], "right")
    if len(t_mmsi) == 0 or ((right - left) > 1).any():
        both = tuple(np.concatenate([a, b]) for a, b in zip(tail, new, strict=True))
        order = np.lexsort((both[1], both[0]))
        return (both[0][order], both[1][order], both[2][order])
    at = np.minimum(left, len(t_mmsi) - 1)
    ins = left + ((right > left) & (t_ts[at] <= new[1]))
    mine = np.zeros(len(t_mmsi) + len(new[0]), bool)
    mine[ins + np.arange(len(ins))] = True
    out = []
    for a, b in zip(tail, new, strict=True):
        merged = np.empty(len(mine), np.result_type(a, b))
        merged[mine], merged[~mine] = b, a
        out.append(merged)
    return (out[0], out[1], out[2])


def _history(t: pa.Table, carry: Carry) -> tuple[pa.Table, pa.Table]:
    """Change points of ``t`` (attributed, sorted by segment then ts), and the last filled
    row of each of its segments (for :meth:`Carry.update`).

    ``carry`` holds, per segment, its identity after the reports already processed (the
    last filled row); it is put before the segment's new reports and never output.
    """
    prior = carry.prior(t.column("segment_id"))
    both = pa.concat_tables([prior, t])
    is_new = np.arange(both.num_rows) >= prior.num_rows
    order = np.argsort(np.asarray(both.column("segment_id"), np.int64), kind="stable")
    t, is_new = both.take(order), is_new[order]
    n = t.num_rows
    seg = np.asarray(t.column("segment_id"), np.int64)
    first = np.ones(n, bool)
    first[1:] = seg[1:] != seg[:-1]
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0)) if n else np.zeros(0, int)
    prev = np.arange(n) - 1
    filled: dict[str, Any] = {}
    changed = np.zeros((n, len(IDENTITY_FIELDS)), bool)
    for k, f in enumerate(IDENTITY_FIELDS):
        col = t.column(f)
        valid = np.asarray(col.is_valid(), dtype=bool)
        last = np.maximum.accumulate(np.where(valid, np.arange(n), -1)) if n else prev
        has = last >= start
        fcol = col.take(pa.array(np.where(has, last, 0), mask=~has, type=pa.int64()))
        filled[f] = fcol
        if n:
            before = fcol.take(pa.array(np.maximum(prev, 0), mask=first, type=pa.int64()))
            eq: Any = pc.equal(fcol, before)
            same: Any = pc.fill_null(eq, pa.scalar(False))
            both_null: Any = pc.and_(pc.is_null(fcol), pc.is_null(before))
            changed[:, k] = np.logical_not(np.asarray(pc.or_(same, both_null)))
    keep = np.asarray(changed.any(axis=1) & is_new, dtype=np.bool_)
    rows, fields = np.nonzero(changed[keep])
    offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=int(keep.sum())))])
    names = pa.array(IDENTITY_FIELDS, pa.string()).take(pa.array(fields, pa.int64()))
    changed_col = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), names)
    base: list[Any] = [t.column(c) for c in ("segment_id", "mmsi", "ts")]
    base += [filled[f] for f in IDENTITY_FIELDS]
    mask = pa.array(keep, pa.bool_())
    out = pa.Table.from_arrays([*(a.filter(mask) for a in base), changed_col], schema=IDENTITY)
    last_row = np.ones(n, bool)
    last_row[:-1] = first[1:]
    state = pa.Table.from_arrays(base, schema=prior.schema).filter(pa.array(last_row))
    return out, state


class SegmentsAccumulator:
    """Per-segment sums and identity history built chunk by chunk.

    Call :meth:`add` with each time-ordered chunk of segmented positions and the statics
    of the same span (no row of a later call older than a row of an earlier one;
    ``horizon``, when given, promises that every later position is at or after it), then
    :meth:`finish`; :meth:`segments` and :meth:`history` then equal
    :func:`segments_table` and :func:`identity_history` of the whole input. A static
    report waits until its nearest position is known: the first later position of its
    MMSI, or ``horizon`` beyond ``max_attribution_s``.
    """

    def __init__(self, max_attribution_s: float = DEFAULT_MAX_ATTRIBUTION_S) -> None:
        self.max_attribution_s = max_attribution_s
        self._max_us = int(max_attribution_s * 1e6)
        ts_type = IDENTITY.field("ts").type
        self._agg = Sums(
            pa.table({"segment_id": pa.array([], pa.int64()), "mmsi": pa.array([], pa.int32()),
                      "ts_min": pa.array([], ts_type), "ts_max": pa.array([], ts_type),
                      "n": pa.array([], pa.int64())}),
            ["segment_id"], {"mmsi": "min", "ts_min": "min", "ts_max": "max", "n": "sum"},
        )  # fmt: skip
        self._tail = (np.empty(0, _I64), np.empty(0, _I64), np.empty(0, _I64))
        self._pending = _reports(pa.table({c: pa.array([]) for c in ST_COLS}).cast(
            pa.schema([IDENTITY.field(c) for c in ST_COLS])
        ))  # fmt: skip
        self._n_statics = Sums(
            pa.table({"segment_id": pa.array([], pa.int64()), "n": pa.array([], pa.int64())}),
            ["segment_id"], {"n": "sum"},
        )  # fmt: skip
        self._modes = {
            f: Sums(
                pa.table({"segment_id": pa.array([], pa.int64()),
                          f: pa.array([], IDENTITY.field(f).type), "n": pa.array([], pa.int64())}),
                ["segment_id", f], {"n": "sum"},
            )
            for f in SUMMARY_FIELDS
        }  # fmt: skip
        self._carry = Carry(IDENTITY.empty_table().drop_columns(["changed"]))
        self._history: list[pa.Table] = []

    def add(
        self, positions: pa.Table, statics: pa.Table | None = None, horizon: Any = None
    ) -> None:
        """Take one chunk (see the class docstring); ``horizon`` is a UTC datetime or µs."""
        check_columns(positions, statics)
        pos = segmented(positions)
        if pos.num_rows:
            part = pos.group_by(["segment_id"]).aggregate(
                [("mmsi", "min"), ("ts", "min"), ("ts", "max"), ("ts", "count")]
            )
            part = part.select(["segment_id", "mmsi_min", "ts_min", "ts_max", "ts_count"])
            self._agg.add(part.rename_columns(["segment_id", "mmsi", "ts_min", "ts_max", "n"]))
        pos_arrays = merge_sorted(self._tail, sorted_positions(pos))
        if statics is not None:
            self._pending = pa.concat_tables([self._pending, _reports(statics)])
        h_us = None if horizon is None else _to_us(horizon)
        self._attribute(pos_arrays, h_us)
        last = np.ones(pos_arrays[0].shape[0], bool)
        last[:-1] = pos_arrays[0][1:] != pos_arrays[0][:-1]
        tail = tuple(a[last] for a in pos_arrays)
        if h_us is not None:  # a position this old is too far from every report to come
            recent = tail[1] >= h_us - 2 * self._max_us
            tail = tuple(a[recent] for a in tail)
        self._tail = (tail[0], tail[1], tail[2])

    def finish(self) -> None:
        """Attribute the reports still waiting for a later position (there is none)."""
        self._attribute(self._tail, None, final=True)

    def _attribute(
        self, pos: tuple[np.ndarray[Any, Any], ...], horizon_us: int | None, final: bool = False
    ) -> None:
        t = self._pending
        if not t.num_rows:
            return
        s_mmsi = np.asarray(t.column("mmsi").cast(pa.int64()), np.int64)
        s_ts = ts_us(t.column("ts"))
        seg, later = attribute_sorted(pos, s_mmsi, s_ts, self.max_attribution_s)
        done = later | final
        if horizon_us is not None:
            done |= s_ts + self._max_us < horizon_us
        self._pending = t.filter(pa.array(~done))
        hit = done & (seg >= 0)
        att = t.set_column(0, IDENTITY.field("segment_id"), pa.array(seg, pa.int64()))
        att = att.filter(pa.array(hit))
        if not att.num_rows:
            return
        order = np.lexsort((ts_us(att.column("ts")), np.asarray(att.column("segment_id"))))
        att = att.take(order)
        counts = att.group_by(["segment_id"]).aggregate([("ts", "count")])
        counts = counts.select(["segment_id", "ts_count"]).rename_columns(["segment_id", "n"])
        self._n_statics.add(counts)
        for f in SUMMARY_FIELDS:
            part = (
                att.filter(pc.is_valid(att.column(f)))
                .group_by(["segment_id", f])
                .aggregate([(f, "count")])
                .select(["segment_id", f, f"{f}_count"])
                .rename_columns(["segment_id", f, "n"])
            )
            self._modes[f].add(part)
        rows, state = _history(att, self._carry)
        self._carry.update(state)
        self._history.append(rows)

    def forget(self, before_us: int, still_open: np.ndarray[Any, Any]) -> None:
        """Forget the segments that can no longer change (between runs: the state stays the
        size of the recent traffic): those not in ``still_open`` (segment ids that may gain
        positions) whose last position is older than ``before_us`` (the horizon) minus twice
        ``max_attribution_s``, too far from any report still to come or waiting. They must
        have been output (:meth:`segments`) before."""
        agg = self._agg.table()
        recent = pc.greater_equal(
            agg.column("ts_max").cast(pa.int64()), pa.scalar(before_us - 2 * self._max_us)
        )
        is_open = pc.is_in(agg.column("segment_id"), value_set=pa.array(still_open, pa.int64()))
        keep = agg.filter(pc.or_(recent, is_open)).column("segment_id").combine_chunks()
        for sums in (self._agg, self._n_statics, *self._modes.values()):
            sums.keep(keep)
        self._carry.keep(keep)

    def take_history(self) -> pa.Table:
        """:meth:`history` of the reports attributed since the last call, then forgotten."""
        out = self.history()
        self._history = []
        return out

    def segments(self) -> pa.Table:
        """One row per segment (:data:`SEGMENTS` schema), sorted by id."""
        agg = self._agg.table().sort_by("segment_id")
        seg_ids = agg.column("segment_id")
        start, end = agg.column("ts_min"), agg.column("ts_max")
        duration = pc.divide(pc.subtract(_us(end), _us(start)), 1e6)
        cols: dict[str, Any] = {
            "segment_id": seg_ids,
            "mmsi": agg.column("mmsi").cast(pa.int32()),
            "start_ts": start,
            "end_ts": end,
            "duration_s": duration,
            "n_positions": agg.column("n"),
        }
        n_statics = _lookup(seg_ids, self._n_statics.table(), "n", pa.int64())
        cols["n_statics"] = pc.fill_null(n_statics, pa.scalar(0, pa.int64()))
        for f in SUMMARY_FIELDS:
            cols[f] = _lookup(seg_ids, _mode(self._modes[f].table(), f), f, SEGMENTS.field(f).type)
        fl = flags(cols["mmsi"])
        cols["flag"] = fl.column("flag")
        cols["mmsi_class"] = fl.column("mmsi_class")
        return pa.Table.from_arrays([cols[f.name] for f in SEGMENTS], schema=SEGMENTS)

    def history(self) -> pa.Table:
        """Identity of each segment at each change point (:data:`IDENTITY`), by segment, ts."""
        t = pa.concat_tables([IDENTITY.empty_table(), *self._history])
        order = np.lexsort((ts_us(t.column("ts")), np.asarray(t.column("segment_id"))))
        return t.take(order)


def _to_us(value: Any) -> int:
    if isinstance(value, int | np.integer):
        return int(value)
    return int(pa.scalar(value, IDENTITY.field("ts").type).cast(pa.int64()).as_py())


def _whole(
    positions: pa.Table, statics: pa.Table | None, max_attribution_s: float
) -> SegmentsAccumulator:
    acc = SegmentsAccumulator(max_attribution_s)
    acc.add(positions, statics)
    acc.finish()
    return acc


def identity_history(
    statics: pa.Table, positions: pa.Table, max_attribution_s: float = DEFAULT_MAX_ATTRIBUTION_S
) -> pa.Table:
    """Identity of each segment at each change point (:data:`IDENTITY` schema)."""
    return _whole(positions, statics, max_attribution_s).history()


def _mode(counts: pa.Table, field: str) -> pa.Table:
    """Most frequent value of ``field`` per segment (ties: smallest value) from counts."""
    counts = counts.sort_by([("segment_id", "ascending"), ("n", "descending"),
                             (field, "ascending")])  # fmt: skip
    seg = np.asarray(counts.column("segment_id"), np.int64)
    first = np.ones(seg.shape[0], bool)
    first[1:] = seg[1:] != seg[:-1]
    return counts.filter(pa.array(first)).select(["segment_id", field])


def segments_table(
    positions: pa.Table,
    statics: pa.Table | None = None,
    max_attribution_s: float = DEFAULT_MAX_ATTRIBUTION_S,
) -> pa.Table:
    """One row per segment of ``positions`` (:data:`SEGMENTS` schema), sorted by id."""
    return _whole(positions, statics, max_attribution_s).segments()


def _us(col: Any) -> Any:
    return col.cast(pa.int64()).cast(pa.float64())


def _lookup(keys: Any, table: pa.Table, value: str, typ: pa.DataType) -> Any:
    """``table[value]`` for each of ``keys`` (by segment_id); null where absent."""
    idx = pc.index_in(keys, value_set=table.column("segment_id").combine_chunks())
    return table.column(value).combine_chunks().take(idx).cast(typ)
