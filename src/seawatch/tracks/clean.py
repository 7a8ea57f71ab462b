"""Cleaning: decoded positions → positions fit for segmentation, with every drop counted.

In: a ``positions`` table (:data:`seawatch.decode.schemas.SCHEMAS` ``["positions"]``; only
``ts``, ``mmsi``, ``lat``, ``lon`` are required, ``speed_kn``/``course_deg`` are used when
present). Out: :class:`CleanResult` — the kept rows in input order, the number of rows
dropped per reason (:data:`DROP_REASONS`; a row counts under the first reason that
applies, so rows in = rows out + drops) and the number of values set to null per reason.

Sentinels ("not available": lat 91, lon 181, speed 102.3, course 360) are already null
when the decoder read NMEA, but tabular exports often keep them as numbers; both forms are
handled here. Duplicate receptions (one message heard by several stations, or repeated by
a feed) are the same MMSI, position and speed within ``duplicate_window_s``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from seawatch.tracks.compiled import read_only
from seawatch.tracks.layout import remember_keys
from seawatch.tracks.order import filter_rows, stable_key_time_order

DROP_REASONS = (
    "missing_ts",
    "missing_mmsi",
    "missing_position",
    "lat_out_of_range",
    "lon_out_of_range",
    "null_island",
    "noise_speed",
    "duplicate",
)
NULLED_REASONS = ("speed_not_available", "course_not_available")


@dataclass(frozen=True)
class CleanParams:
    """What counts as invalid or duplicate; defaults from ITU-R M.1371 and GFW."""

    duplicate_window_s: float = 1.0
    """Same MMSI, lat, lon and speed received within this time is one message heard twice.
    Class A reports at most every 2 s (M.1371), so 1 s cannot merge two real reports; it
    absorbs clock differences between stations."""
    speed_not_available_kn: float = 102.2
    """Speeds at or above this are 'not available' (102.3) or '102.2 kn or more': null."""
    noise_speeds_kn: tuple[float, ...] = (51.2,)
    """Speeds that mark a garbled report (GFW gpsdio-segment drops them); rows dropped.
    63 kn, type 27's 'not available', is set to null instead."""
    drop_null_island: bool = True
    """Drop positions at exactly lat 0, lon 0 (unset GPS)."""


@dataclass(frozen=True)
class CleanState:
    """Kept rows of the last ``duplicate_window_s`` of the previous chunk (for duplicates)."""

    mmsi: np.ndarray[Any, np.dtype[np.int64]] = field(default_factory=lambda: np.empty(0, np.int64))
    ts: np.ndarray[Any, np.dtype[np.int64]] = field(default_factory=lambda: np.empty(0, np.int64))
    lat: np.ndarray[Any, np.dtype[np.float64]] = field(default_factory=lambda: np.empty(0))
    lon: np.ndarray[Any, np.dtype[np.float64]] = field(default_factory=lambda: np.empty(0))
    speed: np.ndarray[Any, np.dtype[np.float64]] = field(default_factory=lambda: np.empty(0))


@dataclass(frozen=True)
class CleanResult:
    positions: pa.Table
    dropped: dict[str, int]
    nulled: dict[str, int]
    state: CleanState
    order: np.ndarray[Any, np.dtype[np.int64]] | None = None
    """Rows of ``positions`` in (mmsi, ts) order, ties in input order: the order
    :func:`seawatch.tracks.segment.segment` needs (pass it as ``order=``, as it is: no
    second sort, and the rows' MMSIs and times in that order are not gathered again)."""


@njit(cache=True, nogil=True)
def _checks(
    ts_null: np.ndarray, mmsi_null: np.ndarray, lat: np.ndarray, lon: np.ndarray,
    speed: np.ndarray, course: np.ndarray, msg_type: np.ndarray, speed_na_kn: float,
    noise_kn: np.ndarray, drop_null_island: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Per row, in one pass: the first drop reason (index in DROP_REASONS, -1 = valid; the
    duplicate test comes later), the speed with 'not available' as NaN, and whether speed
    and course were 'not available'."""
    n = lat.shape[0]
    reason = np.full(n, -1, np.int8)
    speed_out = np.empty(n)
    speed_na = np.zeros(n, np.bool_)
    course_na = np.zeros(n, np.bool_)
    for i in range(n):
        sp = speed[i]
        na = sp >= speed_na_kn or (msg_type[i] == 27 and sp == 63)
        speed_na[i] = na
        course_na[i] = course[i] >= 360.0
        if na:
            sp = np.nan
        speed_out[i] = sp
        la, lo = lat[i], lon[i]
        if ts_null[i]:
            reason[i] = 0
        elif mmsi_null[i]:
            reason[i] = 1
        elif np.isnan(la) or np.isnan(lo):
            reason[i] = 2
        elif abs(la) > 90.0:
            reason[i] = 3
        elif abs(lo) > 180.0:
            reason[i] = 4
        elif la == 0.0 and lo == 0.0 and drop_null_island:
            reason[i] = 5
        else:
            for s in noise_kn:
                if abs(sp - s) < 1e-6:
                    reason[i] = 6
                    break
    return reason, speed_out, speed_na, course_na


@njit(cache=True, nogil=True)
def _duplicates(
    c_mmsi: np.ndarray, c_ts: np.ndarray, p_lat: np.ndarray, p_lon: np.ndarray,
    p_speed: np.ndarray, lat: np.ndarray, lon: np.ndarray, speed: np.ndarray,
    cand: np.ndarray, order: np.ndarray, window_us: int, n_rows: int, every: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Duplicates among the candidates: the previous chunk's tail (``p_*``: kept, never
    reported) then this chunk's rows ``cand`` (``c_mmsi``, ``c_ts``: of both), grouped by
    mmsi and by ts in ``order``. A row is a duplicate when equal to an earlier kept row in
    the window. Returns the duplicate flag per row of the chunk (``n_rows``), the chunk's
    kept rows in ``order``, and their MMSIs (as int32) and times in that order (read here
    in sequence; segment needs them so: :func:`~.layout.remember_keys`). ``every``:
    ``cand`` is every row (``cand[r] == r``, the usual case), which is then not read (a
    random read per row: a third of the pass)."""
    m = p_lat.shape[0]
    nc = order.shape[0]
    s_mmsi = np.empty(nc, np.int64)  # mmsi and ts in order: the walk reads them in sequence
    s_ts = np.empty(nc, np.int64)
    for a in range(nc):
        s_mmsi[a] = c_mmsi[order[a]]
        s_ts[a] = c_ts[order[a]]
    dup_s = np.zeros(nc, np.bool_)
    dup = np.zeros(n_rows, np.bool_)
    kept = np.empty(nc - m, np.int64)
    k_mmsi = np.empty(nc - m, np.int32)
    k_ts = np.empty(nc - m, np.int64)
    k = 0
    for a in range(nc):
        b = a - 1
        while b >= 0 and s_mmsi[b] == s_mmsi[a] and s_ts[a] - s_ts[b] <= window_us:
            if not dup_s[b]:
                i, j = order[a], order[b]
                la_i = p_lat[i] if i < m else lat[cand[i - m]]
                lo_i = p_lon[i] if i < m else lon[cand[i - m]]
                sp_i = p_speed[i] if i < m else speed[cand[i - m]]
                la_j = p_lat[j] if j < m else lat[cand[j - m]]
                lo_j = p_lon[j] if j < m else lon[cand[j - m]]
                sp_j = p_speed[j] if j < m else speed[cand[j - m]]
                same_speed = sp_i == sp_j or (np.isnan(sp_i) and np.isnan(sp_j))
                if la_i == la_j and lo_i == lo_j and same_speed:
                    dup_s[a] = True
                    break
            b -= 1
        i = order[a]
        if i >= m:
            row = i - m if every else cand[i - m]
            if dup_s[a]:
                dup[row] = True
            else:
                kept[k] = row
                k_mmsi[k] = s_mmsi[a]
                k_ts[k] = s_ts[a]
                k += 1
    return dup, kept[:k], k_mmsi[:k], k_ts[:k]


def _f64(table: pa.Table, name: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    """A column as float64, NaN for nulls (NaN when absent); read-only, no copy when it
    has no nulls."""
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    col: Any = table.column(name).cast(pa.float64())
    if col.null_count:
        col = pc.fill_null(col, pa.scalar(np.nan, pa.float64()))
    return np.asarray(col, dtype=np.float64)


def _nulls(col: Any) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Per row whether ``col`` is null (writable, as numpy's): zeros without a null, not
    Arrow's bitmap unpacked."""
    if not col.null_count:
        return np.zeros(len(col), dtype=bool)
    return np.asarray(col.is_null(), dtype=bool)


def _nulled(table: pa.Table, name: str, bad: np.ndarray[Any, np.dtype[np.bool_]]) -> pa.Table:
    i = table.column_names.index(name)
    col = table.column(name)
    return table.set_column(i, table.field(name), pc.if_else(pa.array(bad), None, col))


def clean(
    positions: pa.Table, params: CleanParams = CleanParams(), state: CleanState | None = None
) -> CleanResult:
    """Drop invalid, noise and duplicate positions, null 'not available' speeds and courses.

    Pass ``result.state`` with the next time-ordered chunk so duplicates across the
    boundary are found as in a single pass.
    """
    state = CleanState() if state is None else state
    ts_null, mmsi_null = (_nulls(positions.column(name)) for name in ("ts", "mmsi"))
    ts_col = positions.column("ts").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    zero = pa.scalar(0, pa.int64())
    ts = np.asarray(pc.fill_null(ts_col, zero), dtype=np.int64)
    mmsi = np.asarray(pc.fill_null(positions.column("mmsi").cast(pa.int64()), zero), np.int64)
    lat, lon = _f64(positions, "lat"), _f64(positions, "lon")
    kernel: Any = _checks
    columns = (lat, lon, _f64(positions, "speed_kn"), _f64(positions, "course_deg"),
               _f64(positions, "msg_type"))  # fmt: skip
    reason, speed, speed_na, course_na = kernel(
        ts_null,
        mmsi_null,
        *(read_only(c) for c in columns),
        params.speed_not_available_kn,
        np.asarray(params.noise_speeds_kn, dtype=np.float64),
        params.drop_null_island,
    )
    cand = np.flatnonzero(reason < 0)
    # (mmsi, ts) order of the previous tail then the valid rows: the grouping duplicates
    # need, and (restricted to the kept rows) the order segment needs
    every = cand.shape[0] == ts.shape[0]  # the usual case: no gather
    c_mmsi = np.concatenate([state.mmsi, mmsi if every else mmsi[cand]])
    c_ts = np.concatenate([state.ts, ts if every else ts[cand]])
    order = stable_key_time_order(c_mmsi, c_ts, head=state.mmsi.shape[0])
    window_us = int(params.duplicate_window_s * 1e6)
    kernel = _duplicates
    dup, kept, k_mmsi, k_ts = kernel(
        c_mmsi, c_ts, state.lat, state.lon, state.speed, lat, lon, speed, cand, order,
        window_us, positions.num_rows, every,
    )  # fmt: skip
    reason[dup] = len(DROP_REASONS) - 1
    keep = reason < 0
    counts = np.bincount(reason.astype(np.int64) + 1, minlength=len(DROP_REASONS) + 1)
    dropped = {r: int(counts[k + 1]) for k, r in enumerate(DROP_REASONS)}
    nulled = {
        "speed_not_available": int(np.count_nonzero(speed_na & keep)),
        "course_not_available": int(np.count_nonzero(course_na & keep)),
    }
    out = positions
    if "speed_kn" in out.column_names and nulled["speed_not_available"]:
        out = _nulled(out, "speed_kn", speed_na)
    if "course_deg" in out.column_names and nulled["course_not_available"]:
        out = _nulled(out, "course_deg", course_na)
    n_keep = int(kept.shape[0])
    if n_keep < positions.num_rows:
        out = filter_rows(out, keep)
        rank = np.cumsum(keep, dtype=np.int64) - 1  # input row -> row of the output
        kept = rank[kept]
    # the new tail: rows of the old tail and kept rows of this chunk within the window of
    # the end, old tail first
    if n_keep or state.ts.shape[0]:
        last_us = max(
            int(state.ts.max()) if state.ts.shape[0] else -(2**63),
            int(ts[keep].max()) if n_keep else -(2**63),
        )
        old = state.ts >= last_us - window_us
        new = keep & (ts >= last_us - window_us)
        new_state = CleanState(
            *(
                np.concatenate([getattr(state, f)[old], a[new]])
                for f, a in (
                    ("mmsi", mmsi),
                    ("ts", ts),
                    ("lat", lat),
                    ("lon", lon),
                    ("speed", speed),
                )
            )
        )
    else:
        new_state = state
    remember_keys(kept, out, k_mmsi, k_ts)
    return CleanResult(out, dropped, nulled, new_state, kept)
