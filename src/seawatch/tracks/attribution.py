"""Static reports attributed to segments: the position of the same MMSI nearest in time.

In: the decode ``statics`` table and segmented positions (``ts``, ``mmsi``, ``segment_id``).
Out: a ``segment_id`` per report (:func:`attribute`), null when no position of its MMSI is
within ``max_attribution_s``; ties go to the earlier position. One compiled merge over
both sorted by (mmsi, ts). :mod:`.identity` builds histories and summaries on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from seawatch.errors import InputError
from seawatch.tracks.schemas import IDENTITY_FIELDS

__all__ = [
    "DEFAULT_MAX_ATTRIBUTION_S",
    "POS_COLS",
    "ST_COLS",
    "attribute",
    "attribute_sorted",
    "check_columns",
    "segmented",
    "sorted_positions",
    "ts_us",
]

DEFAULT_MAX_ATTRIBUTION_S = 3600.0
POS_COLS = ("ts", "mmsi", "segment_id")
ST_COLS = ("ts", "mmsi", *IDENTITY_FIELDS)


@njit(cache=True)
def _nearest(
    p_mmsi: np.ndarray, p_ts: np.ndarray, p_seg: np.ndarray,
    s_mmsi: np.ndarray, s_ts: np.ndarray, s_order: np.ndarray, max_us: int,
    later: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Segment of the position nearest in time (same MMSI) for each static; -1 if none.

    Positions sorted by (mmsi, ts); statics visited in ``s_order`` (by mmsi, ts). Ties go
    to the earlier position. ``later[i]`` is set when a position after static i exists.
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
        if j < n and p_mmsi[j] == m:
            later[i] = True
            if p_ts[j] - t < best_d:
                best = j
        if best >= 0:
            out[i] = p_seg[best]
    return out


def ts_us(col: Any) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Timestamps as UTC epoch microseconds (null as 0)."""
    ts = col.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return np.asarray(pc.fill_null(ts, pa.scalar(0, pa.int64())), np.int64)


def check_columns(positions: pa.Table, statics: pa.Table | None) -> None:
    """:class:`InputError` naming the columns a table lacks."""
    tables: list[tuple[pa.Table, str, tuple[str, ...]]] = [(positions, "positions", POS_COLS)]
    tables += [] if statics is None else [(statics, "statics", ST_COLS)]
    for table, what, cols in tables:
        missing = [c for c in cols if c not in table.column_names]
        if missing:
            hint = " (run seawatch.tracks.segment first)" if "segment_id" in missing else ""
            raise InputError(f"{what} table lacks columns {missing}{hint}")


def segmented(positions: pa.Table) -> pa.Table:
    """The (mmsi, ts, segment_id) of the positions with a segment: those columns only, so
    a chunk's other columns are never copied (and nothing is, when every row has one)."""
    pos = positions.select(["mmsi", "ts", "segment_id"])
    seg = pos.column("segment_id")
    return pos if seg.null_count == 0 else pos.filter(pc.is_valid(seg))


def sorted_positions(
    positions: pa.Table,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(mmsi, ts µs, segment_id) of the segmented positions, sorted by (mmsi, ts), stable."""
    pos = segmented(positions)
    p_mmsi = np.asarray(pos.column("mmsi").cast(pa.int64()), np.int64)
    p_ts = ts_us(pos.column("ts"))
    order = np.lexsort((p_ts, p_mmsi))
    p_seg = np.asarray(pos.column("segment_id"), np.int64)
    return p_mmsi[order], p_ts[order], p_seg[order]


def attribute_sorted(
    pos: tuple[np.ndarray[Any, Any], ...],
    s_mmsi: np.ndarray[Any, Any],
    s_ts: np.ndarray[Any, Any],
    max_attribution_s: float,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Segment per static (-1: none near enough) and whether a later position exists."""
    later = np.zeros(s_mmsi.shape[0], np.bool_)
    s_order = np.lexsort((s_ts, s_mmsi))
    kernel: Any = _nearest
    seg = kernel(*pos, s_mmsi, s_ts, s_order, int(max_attribution_s * 1e6), later)
    return seg, later


def attribute(
    statics: pa.Table, positions: pa.Table, max_attribution_s: float = DEFAULT_MAX_ATTRIBUTION_S
) -> pa.Array:  # type: ignore[type-arg]
    """``segment_id`` for each static report (null when no position is near enough)."""
    check_columns(positions, statics)
    minus = pa.scalar(-1, pa.int64())
    s_mmsi = np.asarray(pc.fill_null(statics.column("mmsi").cast(pa.int64()), minus), np.int64)
    s_ts = ts_us(statics.column("ts"))
    seg, _ = attribute_sorted(sorted_positions(positions), s_mmsi, s_ts, max_attribution_s)
    invalid = (seg < 0) | np.asarray(statics.column("ts").is_null(), dtype=bool)
    return pa.array(seg, mask=invalid, type=pa.int64())
