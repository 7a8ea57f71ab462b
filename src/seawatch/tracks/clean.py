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

from seawatch.tracks.order import stable_key_time_order

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


@njit(cache=True)
def _duplicates(
    mmsi: np.ndarray, ts: np.ndarray, lat: np.ndarray, lon: np.ndarray, speed: np.ndarray,
    order: np.ndarray, n_prev: int, window_us: int,
) -> np.ndarray:  # fmt: skip
    """Rows (in ``order``: grouped by mmsi, by ts) equal to an earlier kept row in the window.

    The first ``n_prev`` rows are the previous chunk's tail: kept, never reported.
    """
    dup = np.zeros(mmsi.shape[0], np.bool_)
    for a in range(order.shape[0]):
        i = order[a]
        b = a - 1
        while b >= 0:
            j = order[b]
            if mmsi[j] != mmsi[i] or ts[i] - ts[j] > window_us:
                break
            same_speed = speed[i] == speed[j] or (np.isnan(speed[i]) and np.isnan(speed[j]))
            if not dup[j] and lat[i] == lat[j] and lon[i] == lon[j] and same_speed:
                dup[i] = True
                break
            b -= 1
    return dup[n_prev:]


def _f64(table: pa.Table, name: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    col = pc.fill_null(table.column(name).cast(pa.float64()), pa.scalar(np.nan, pa.float64()))
    return np.asarray(col, dtype=np.float64)


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
    n = positions.num_rows
    ts_null = np.asarray(positions.column("ts").is_null(), dtype=bool)
    mmsi_null = np.asarray(positions.column("mmsi").is_null(), dtype=bool)
    ts_col = positions.column("ts").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    zero = pa.scalar(0, pa.int64())
    ts = np.asarray(pc.fill_null(ts_col, zero), dtype=np.int64)
    mmsi = np.asarray(pc.fill_null(positions.column("mmsi").cast(pa.int64()), zero), np.int64)
    lat, lon = _f64(positions, "lat"), _f64(positions, "lon")
    speed, course = _f64(positions, "speed_kn"), _f64(positions, "course_deg")
    msg_type = _f64(positions, "msg_type")
    with np.errstate(invalid="ignore"):
        speed_na = (speed >= params.speed_not_available_kn) | ((msg_type == 27) & (speed == 63))
        course_na = course >= 360.0
        speed = np.where(speed_na, np.nan, speed)
        noise = np.zeros(n, bool)
        for s in params.noise_speeds_kn:
            noise |= np.abs(speed - s) < 1e-6
        tests = [
            ts_null,
            mmsi_null,
            np.isnan(lat) | np.isnan(lon),
            np.abs(lat) > 90.0,
            np.abs(lon) > 180.0,
            (lat == 0.0) & (lon == 0.0) & params.drop_null_island,
            noise,
        ]
    reason = np.full(n, -1, np.int8)
    for k, bad in enumerate(tests):
        reason[(reason < 0) & bad] = k
    valid = reason < 0
    m = int(state.mmsi.shape[0])
    all_mmsi = np.concatenate([state.mmsi, mmsi])
    all_ts = np.concatenate([state.ts, ts])
    all_lat, all_lon = np.concatenate([state.lat, lat]), np.concatenate([state.lon, lon])
    all_speed = np.concatenate([state.speed, speed])
    cand = np.concatenate([np.arange(m), m + np.flatnonzero(valid)])
    order = cand[stable_key_time_order(all_mmsi[cand], all_ts[cand], ordered=False)]
    window_us = int(params.duplicate_window_s * 1e6)
    kernel: Any = _duplicates
    dup = kernel(all_mmsi, all_ts, all_lat, all_lon, all_speed, order, m, window_us)
    reason[valid & dup] = len(tests)
    keep = reason < 0
    dropped = {r: int(np.count_nonzero(reason == k)) for k, r in enumerate(DROP_REASONS)}
    nulled = {
        "speed_not_available": int(np.count_nonzero(speed_na & keep)),
        "course_not_available": int(np.count_nonzero(course_na & keep)),
    }
    out = positions
    if "speed_kn" in out.column_names and nulled["speed_not_available"]:
        out = _nulled(out, "speed_kn", speed_na)
    if "course_deg" in out.column_names and nulled["course_not_available"]:
        out = _nulled(out, "course_deg", course_na)
    out = out.filter(pa.array(keep))
    # the new tail: kept rows of this chunk and the old tail within the window of the end
    tail_mmsi = np.concatenate([state.mmsi, mmsi[keep]])
    tail_ts = np.concatenate([state.ts, ts[keep]])
    if tail_ts.shape[0]:
        last = tail_ts >= int(tail_ts.max()) - window_us
        lat_k = np.concatenate([state.lat, lat[keep]])[last]
        lon_k = np.concatenate([state.lon, lon[keep]])[last]
        speed_k = np.concatenate([state.speed, speed[keep]])[last]
        new_state = CleanState(tail_mmsi[last], tail_ts[last], lat_k, lon_k, speed_k)
    else:
        new_state = state
    return CleanResult(out, dropped, nulled, new_state)
