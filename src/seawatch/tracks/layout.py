"""The (mmsi, ts) layout :func:`seawatch.tracks.segment` computed, kept for the stages after it.

``segment`` lays a chunk's rows out in (mmsi, ts) order (ties in input order) to run the
matcher; every per-track detector then groups the same rows again, by MMSI or by segment.
:func:`remember` keeps the last segmented tables' layouts, and :func:`grouped` gives a
detector its grouping from it: by MMSI without a hash or a sort (the rows are already
grouped), by segment with one counting pass over rows already in time order per MMSI.

A layout applies to a table whose ``ts`` and ``segment_id`` columns are the very arrays
``segment`` returned (same buffers, offsets and lengths): the table ``segment`` returned,
or one with columns added to it (geography, ship types). Any other table (filtered,
rebuilt, read back) does not match and is grouped as before. The tables are held while
kept, so their buffers' addresses cannot be reused by another array meanwhile.

The groups' order differs from a grouping by first appearance (MMSIs by value, segments by
their MMSI then first time), so a detector's events may come in another row order; each
group's rows are the same, in the same order, so the events themselves are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from numba import njit

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
MAX_RUN_SEGMENTS = 64  # more distinct segments in one MMSI's rows: grouped as before


@dataclass(frozen=True)
class SortedRows:
    """A segmented chunk in (mmsi, ts) order: ``order`` indexes its rows; the rest are its
    columns in that order (``seg`` is -1 for rows the matcher rejected, null ids;
    ``speed_kn`` as float64, NaN for nulls, None when the table has none)."""

    order: I64
    mmsi: npt.NDArray[Any]
    ts: I64
    lat: F64
    lon: F64
    seg: I64
    speed_kn: F64 | None = None
    speed_print: tuple[Any, ...] | None = None  # the speed_kn column it was read from


@dataclass(frozen=True)
class Grouped:
    """Rows grouped by track: ``order`` indexes the table's rows (without the null
    ``segment_id`` rows when ``dropped``), ``local`` is each ordered row's track number,
    ``ukeys`` the tracks' keys; ``ts``/``lat``/``lon``/``mmsi`` (and ``speed_kn`` when the
    layout has it) in that order."""

    ukeys: pa.Array[Any]
    local: I64
    order: I64
    ts: I64
    lat: F64
    lon: F64
    mmsi: I64
    dropped: bool
    speed_kn: F64 | None = None


_KEPT: list[tuple[tuple[Any, ...], pa.Table, SortedRows]] = []


def _fingerprint(table: pa.Table, names: tuple[str, ...] = ("segment_id", "ts")) -> Any:
    parts: list[Any] = []
    for name in names:
        if name not in table.column_names:
            return None
        for chunk in table.column(name).chunks:
            bufs = tuple(0 if b is None else b.address for b in chunk.buffers())
            parts.append((name, chunk.offset, len(chunk), bufs))
    return tuple(parts)


def speed_print(table: pa.Table) -> tuple[Any, ...] | None:
    """What identifies ``table``'s ``speed_kn`` column (its buffers), None without one: a
    layout's speeds are used only for a table whose ``speed_kn`` is that very column."""
    out: tuple[Any, ...] | None = _fingerprint(table, ("speed_kn",))
    return out


def remember(table: pa.Table, rows: SortedRows) -> None:
    """Keep ``rows`` as the layout of ``table`` (the last two tables are kept)."""
    key = _fingerprint(table)
    if key is not None:
        _KEPT[:] = [(key, table, rows), *_KEPT[:1]]


_KEYS: list[tuple[I64, Any, npt.NDArray[np.int32], I64]] = []


def remember_keys(order: I64, table: pa.Table, mmsi: npt.NDArray[np.int32], ts: I64) -> None:
    """Keep the MMSIs and times of ``table``'s rows in ``order`` (clean's
    :attr:`~seawatch.tracks.clean.CleanResult.order`, held here so that its identity
    stands for it), which :func:`seawatch.tracks.segment.segment` would otherwise gather.
    Segment trusts the ``order`` it is given to be that order (it does not sort again);
    it trusts the same object to still hold the same rows."""
    _KEYS[:] = [(order, _fingerprint(table, ("mmsi", "ts")), mmsi, ts)]


def sorted_keys(order: I64, table: pa.Table) -> tuple[npt.NDArray[np.int32], I64] | None:
    """The MMSIs and times :func:`remember_keys` kept for this very ``order`` array (the
    same object) and ``table`` (the same ``mmsi`` and ``ts`` buffers), else None."""
    if not _KEYS:
        return None
    kept, key, mmsi, ts = _KEYS[0]
    if kept is not order or key is None:
        return None
    if _fingerprint(table, ("mmsi", "ts")) != key:
        return None
    return mmsi, ts


def sorted_rows(table: pa.Table) -> SortedRows | None:
    """The layout of ``table`` when it holds the rows of a table :func:`remember` kept."""
    if not _KEPT:
        return None
    key = _fingerprint(table)
    for kept, _, rows in _KEPT:
        if kept == key:
            return rows
    return None


@njit(cache=True, nogil=True)
def _segment_codes(mmsi: Any, seg: I64, limit: int) -> tuple[I64, I64, bool]:  # pragma: no cover
    """Per row, its segment's number by first appearance (rows by (mmsi, ts)), and each
    number's first row; False when an MMSI's rows hold more than ``limit`` segments."""
    n = len(seg)
    codes = np.empty(n, np.int64)
    first = np.empty(n, np.int64)
    seen_seg = np.empty(limit, np.int64)
    seen_code = np.empty(limit, np.int64)
    n_codes = 0
    n_seen = 0
    for i in range(n):
        if i == 0 or mmsi[i] != mmsi[i - 1]:
            n_seen = 0
        elif seg[i] == seg[i - 1]:
            codes[i] = codes[i - 1]
            continue
        c = -1
        for s in range(n_seen):
            if seen_seg[s] == seg[i]:
                c = seen_code[s]
                break
        if c < 0:
            if n_seen == limit:
                return codes, first[:n_codes], False
            c = n_codes
            first[c] = i
            n_codes += 1
            seen_seg[n_seen] = seg[i]
            seen_code[n_seen] = c
            n_seen += 1
        codes[i] = c
    return codes, first[:n_codes], True


@njit(cache=True, nogil=True)
def _by_code(
    codes: I64, n_codes: int, order: I64, ts: I64, lat: F64, lon: F64, mmsi: Any, speed: F64
) -> tuple[I64, I64, I64, F64, F64, I64, F64]:  # pragma: no cover
    """The rows (and their columns) in a stable order by ``codes``: a counting sort that
    moves every column in the same pass (``speed`` too unless it is empty)."""
    start = np.zeros(n_codes + 1, np.int64)
    for c in codes:
        start[c + 1] += 1
    for c in range(n_codes):
        start[c + 1] += start[c]
    n = len(codes)
    o_code, o_order, o_ts = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    o_lat, o_lon, o_mmsi = np.empty(n), np.empty(n), np.empty(n, np.int64)
    has_speed = len(speed) == n
    o_speed = np.empty(n if has_speed else 0)
    for i in range(n):
        c = codes[i]
        w = start[c]
        start[c] = w + 1
        o_code[w], o_order[w], o_ts[w] = c, order[i], ts[i]
        o_lat[w], o_lon[w], o_mmsi[w] = lat[i], lon[i], mmsi[i]
        if has_speed:
            o_speed[w] = speed[i]
    return o_code, o_order, o_ts, o_lat, o_lon, o_mmsi, o_speed


def grouped(table: pa.Table, by_segment: bool) -> Grouped | None:
    """``table``'s rows with a ``segment_id`` grouped by track (``segment_id`` when
    ``by_segment``, else ``mmsi``), each track's rows by (ts, input order); None when
    ``table`` has no kept layout."""
    lay = sorted_rows(table)
    if lay is None or not pa.types.is_timestamp(ts_type := table.schema.field("ts").type):
        return None
    if ts_type.unit != "us":  # the layout's times are microseconds, as detectors read them
        return None
    order, seg, mmsi, ts, lat, lon = lay.order, lay.seg, lay.mmsi, lay.ts, lay.lat, lay.lon
    speed = lay.speed_kn
    if speed is not None and speed_print(table) != lay.speed_print:
        speed = None  # speed_kn replaced since: read from the table
    keep = seg >= 0
    dropped = not bool(keep.all())
    if dropped:
        valid = np.zeros(len(seg), dtype=bool)
        valid[order[keep]] = True
        rank = np.cumsum(valid, dtype=np.int64) - 1  # row of the table -> row without nulls
        order = rank[order[keep]]
        seg, mmsi, ts, lat, lon = seg[keep], mmsi[keep], ts[keep], lat[keep], lon[keep]
        speed = None if speed is None else speed[keep]
    if by_segment:
        codes, first, ok = _segment_codes(mmsi, seg, MAX_RUN_SEGMENTS)
        if not ok:
            return None
        local, order, ts, lat, lon, m64, sp = _by_code(
            codes, len(first), order, ts, lat, lon, mmsi,
            np.empty(0) if speed is None else speed,
        )  # fmt: skip
        return Grouped(
            ukeys=pa.array(seg[first], pa.int64()), local=local, order=order, ts=ts, lat=lat,
            lon=lon, mmsi=m64, dropped=dropped, speed_kn=None if speed is None else sp,
        )  # fmt: skip
    m64 = mmsi.astype(np.int64)
    starts = np.empty(len(m64), dtype=bool)
    if len(m64):
        starts[0] = True
        np.not_equal(m64[1:], m64[:-1], out=starts[1:])
    local = np.cumsum(starts, dtype=np.int64) - 1
    return Grouped(
        ukeys=pa.array(m64[starts], pa.int64()), local=local, order=order, ts=ts, lat=lat,
        lon=lon, mmsi=m64, dropped=dropped, speed_kn=speed,
    )  # fmt: skip
