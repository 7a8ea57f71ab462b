"""Vessel identity per segment: static reports → change history and segment summaries.

In: the decode ``statics`` table and segmented positions (output of
:func:`seawatch.tracks.segment.segment`). Static reports carry no position, so each is
attributed to the segment of the same MMSI whose position is nearest in time, within
``max_attribution_s``; reports farther from every position stay unattributed.
Out: :func:`identity_history` → :data:`~seawatch.tracks.schemas.IDENTITY` (one row per
change point), :func:`segments_table` → :data:`~seawatch.tracks.schemas.SEGMENTS`.

"Not available" values (IMO 0, ship type 0, dimensions and draught 0, empty text) are
nulls. A report that leaves a field null (a Class B part A carries only the name) does
not change it: each field keeps its last reported value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from seawatch.errors import InputError
from seawatch.tracks.mid import flags
from seawatch.tracks.schemas import IDENTITY, IDENTITY_FIELDS, SEGMENTS

DEFAULT_MAX_ATTRIBUTION_S = 3600.0
_POS_COLS = ("ts", "mmsi", "segment_id")
_ST_COLS = ("ts", "mmsi", *IDENTITY_FIELDS)
SUMMARY_FIELDS = ("name", "callsign", "imo", "ship_type")


@njit(cache=True)
def _nearest(
    p_mmsi: np.ndarray, p_ts: np.ndarray, p_seg: np.ndarray,
    s_mmsi: np.ndarray, s_ts: np.ndarray, s_order: np.ndarray, max_us: int,
) -> np.ndarray:  # fmt: skip
    """Segment of the position nearest in time (same MMSI) for each static; -1 if none.

    Positions sorted by (mmsi, ts); statics visited in ``s_order`` (by mmsi, ts).
    """
    out = np.full(s_mmsi.shape[0], -1, np.int64)
    n = p_mmsi.shape[0]
    j = 0
    for a in range(s_order.shape[0]):
        i = s_order[a]
        m, t = s_mmsi[i], s_ts[i]
        while j < n and (p_mmsi[j] < m or (p_mmsi[j] == m and p_ts[j] <= t)):
            j += 1
        best, best_d = -1, max_us + 1
        if j > 0 and p_mmsi[j - 1] == m and t - p_ts[j - 1] < best_d:
            best, best_d = j - 1, t - p_ts[j - 1]
        if j < n and p_mmsi[j] == m and p_ts[j] - t < best_d:
            best = j
        if best >= 0:
            out[i] = p_seg[best]
    return out


def _ts_us(col: Any) -> np.ndarray[Any, np.dtype[np.int64]]:
    ts = col.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return np.asarray(pc.fill_null(ts, pa.scalar(0, pa.int64())), np.int64)


def attribute(
    statics: pa.Table, positions: pa.Table, max_attribution_s: float = DEFAULT_MAX_ATTRIBUTION_S
) -> pa.Array:  # type: ignore[type-arg]
    """``segment_id`` for each static report (null when no position is near enough)."""
    for table, what, cols in ((positions, "positions", _POS_COLS), (statics, "statics", _ST_COLS)):
        missing = [c for c in cols if c not in table.column_names]
        if missing:
            hint = " (run seawatch.tracks.segment first)" if "segment_id" in missing else ""
            raise InputError(f"{what} table lacks columns {missing}{hint}")
    pos = positions.filter(pc.is_valid(positions.column("segment_id")))
    p_mmsi = np.asarray(pos.column("mmsi").cast(pa.int64()), np.int64)
    p_ts = _ts_us(pos.column("ts"))
    order = np.lexsort((p_ts, p_mmsi))
    p_seg = np.asarray(pos.column("segment_id"), np.int64)[order]
    minus = pa.scalar(-1, pa.int64())
    s_mmsi = np.asarray(pc.fill_null(statics.column("mmsi").cast(pa.int64()), minus), np.int64)
    s_ts = _ts_us(statics.column("ts"))
    s_order = np.lexsort((s_ts, s_mmsi))
    kernel: Any = _nearest
    seg = kernel(
        p_mmsi[order], p_ts[order], p_seg, s_mmsi, s_ts, s_order, int(max_attribution_s * 1e6)
    )
    invalid = (seg < 0) | np.asarray(statics.column("ts").is_null(), dtype=bool)
    return pa.array(seg, mask=invalid, type=pa.int64())


def _normalised(col: Any) -> Any:
    """'Not available' (0, empty text) as null."""
    if pa.types.is_string(col.type):
        col = pc.utf8_trim_whitespace(col)
        return pc.if_else(pc.equal(col, pa.scalar("", col.type)), pa.scalar(None, col.type), col)
    return pc.if_else(pc.equal(col, pa.scalar(0, col.type)), pa.scalar(None, col.type), col)


def _attributed(statics: pa.Table, positions: pa.Table, max_attribution_s: float) -> pa.Table:
    seg = attribute(statics, positions, max_attribution_s)
    cols: dict[str, Any] = {
        "segment_id": seg,
        "mmsi": statics.column("mmsi").cast(pa.int32()),
        "ts": statics.column("ts"),
    }
    for f in IDENTITY_FIELDS:
        cols[f] = _normalised(statics.column(f))
    table = pa.table(cols).filter(pc.is_valid(seg))
    order = np.lexsort((_ts_us(table.column("ts")), np.asarray(table.column("segment_id"))))
    return table.take(order)


def identity_history(
    statics: pa.Table, positions: pa.Table, max_attribution_s: float = DEFAULT_MAX_ATTRIBUTION_S
) -> pa.Table:
    """Identity of each segment at each change point (:data:`IDENTITY` schema)."""
    t = _attributed(statics, positions, max_attribution_s)
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
    keep = np.asarray(changed.any(axis=1), dtype=np.bool_)
    rows, fields = np.nonzero(changed[keep])
    offsets = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=int(keep.sum())))])
    names = pa.array(IDENTITY_FIELDS, pa.string()).take(pa.array(fields, pa.int64()))
    changed_col = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), names)
    mask = pa.array(keep, pa.bool_())
    arrays: list[Any] = [t.column(c).filter(mask) for c in ("segment_id", "mmsi", "ts")]
    arrays += [filled[f].filter(mask) for f in IDENTITY_FIELDS]
    arrays.append(changed_col)
    return pa.Table.from_arrays(arrays, schema=IDENTITY)


def _mode(t: pa.Table, field: str) -> pa.Table:
    """Most frequent non-null value of ``field`` per segment (ties: smallest value)."""
    counts = (
        t.filter(pc.is_valid(t.column(field)))
        .group_by(["segment_id", field])
        .aggregate([(field, "count")])
    )
    counts = counts.sort_by([("segment_id", "ascending"), (f"{field}_count", "descending"),
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
    pos = positions.filter(pc.is_valid(positions.column("segment_id")))
    agg = pos.group_by(["segment_id"]).aggregate(
        [("mmsi", "min"), ("ts", "min"), ("ts", "max"), ("ts", "count")]
    )
    agg = agg.sort_by("segment_id")
    seg_ids = agg.column("segment_id")
    start, end = agg.column("ts_min"), agg.column("ts_max")
    duration = pc.divide(pc.subtract(_us(end), _us(start)), 1e6)
    cols: dict[str, Any] = {
        "segment_id": seg_ids,
        "mmsi": agg.column("mmsi_min").cast(pa.int32()),
        "start_ts": start,
        "end_ts": end,
        "duration_s": duration,
        "n_positions": agg.column("ts_count"),
    }
    att = None if statics is None else _attributed(statics, positions, max_attribution_s)
    if att is not None:
        n_statics = att.group_by(["segment_id"]).aggregate([("ts", "count")])
        cols["n_statics"] = _lookup(seg_ids, n_statics, "ts_count", pa.int64())
        cols["n_statics"] = pc.fill_null(cols["n_statics"], pa.scalar(0, pa.int64()))
    else:
        cols["n_statics"] = pa.array(np.zeros(len(seg_ids), np.int64))
    for f in SUMMARY_FIELDS:
        typ = SEGMENTS.field(f).type
        cols[f] = pa.nulls(len(seg_ids), typ) if att is None else _lookup(
            seg_ids, _mode(att, f), f, typ
        )  # fmt: skip
    fl = flags(cols["mmsi"])
    cols["flag"] = fl.column("flag")
    cols["mmsi_class"] = fl.column("mmsi_class")
    return pa.Table.from_arrays([cols[f.name] for f in SEGMENTS], schema=SEGMENTS)


def _us(col: Any) -> Any:
    return col.cast(pa.int64()).cast(pa.float64())


def _lookup(keys: Any, table: pa.Table, value: str, typ: pa.DataType) -> Any:
    """``table[value]`` for each of ``keys`` (by segment_id); null where absent."""
    idx = pc.index_in(keys, value_set=table.column("segment_id").combine_chunks())
    return table.column(value).combine_chunks().take(idx).cast(typ)
