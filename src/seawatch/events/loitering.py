"""Loitering: consecutive UTC hours whose mean implied speed is below ``max_speed_kn``.

Source: GlobalFishingWatch/pipe-loitering (hourly mean implied speed < 2 kn, consecutive slow
hours merged) and GFW's Loitering.md (published products keep events ≥ 20 nm from shore and,
for carriers, ≥ 4 h long). The hourly mean is time-weighted: the distance between consecutive
positions over their time, each pair counted in the hour of its later position. An hour with
a single position (no pair) is not slow. The distance-from-shore filter uses the mean
``distance_to_shore_km`` of the event's positions and applies only when that column exists;
the port filter likewise uses the mean ``distance_to_port_km`` (ships waiting at a port or
anchorage, built-in, imported or derived: docs/geography.md, are not loitering), as
encounters do.
In: positions (``ts``, ``mmsi``, ``lat``, ``lon``; optional ``segment_id``,
``distance_to_shore_km``, ``distance_to_port_km``). Out: events; runs still slow at the end
of the data are open.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from numba import njit

from seawatch.events.params import param
from seawatch.events.schema import build_events, json_objects
from seawatch.events.tracks_in import (
    EARTH_RADIUS_M,
    F64,
    I64,
    M_PER_NM,
    TRACK_EXPIRY_S,
    US_PER_H,
    US_PER_S,
    TrackArrays,
    expiring,
    prepare,
    utc_iso,
    without,
)
from seawatch.tracks.compiled import HELPER

NO = np.iinfo(np.int64).min
# integer state columns
LAST_TS, H_IDX, H_FIRST, H_LAST, H_N, H_NSHORE = 0, 1, 2, 3, 4, 5
R_FIRST, R_LAST, R_START, R_END, R_HOURS, R_N, R_NSHORE, MMSI = 6, 7, 8, 9, 10, 11, 12, 13
H_NPORT, R_NPORT = 14, 15
# float state columns
LAST_LAT, LAST_LON, H_DIST, H_DT, H_SLAT, H_SLON, H_SHORE = 0, 1, 2, 3, 4, 5, 6
R_DIST, R_DT, R_SLAT, R_SLON, R_SHORE = 7, 8, 9, 10, 11
H_PORT, R_PORT = 12, 13
_NO_INT = (LAST_TS, H_IDX, R_FIRST)


@dataclass(frozen=True)
class LoiteringParams:
    """Parameters of the loitering rule (defaults: GFW pipe-loitering and Loitering.md)."""

    max_speed_kn: float = param(  # pipe-loitering: hourly mean implied speed < 2 kn
        2.0, "an hour is slow below this mean implied speed"
    )
    min_duration_s: float = param(  # GFW carrier loitering product: ≥ 4 h
        4 * 3600.0, "shortest event (first to last position of the slow hours)"
    )
    min_distance_to_shore_km: float = param(  # GFW products: ≥ 20 nm
        20 * M_PER_NM / 1000,
        "mean `distance_to_shore_km` of the event's positions must reach this (20 nm); "
        "**applied only when the column is present**",
    )
    min_distance_to_port_km: float = param(  # as encounters: ≥ 10 km from a port/anchorage
        10.0,
        "mean `distance_to_port_km` of the event's positions must reach this; "
        "**applied only when the column is present**",
    )
    track_expiry_s: float = param(
        TRACK_EXPIRY_S,
        "a segment silent this long has ended: its run is closed and its state dropped "
        '(see "Incremental processing")',
    )


@dataclass(frozen=True)
class LoiteringState(TrackArrays):
    """Per track: last position, the current hour's sums and the open slow run."""


def _spec() -> dict[str, tuple[Any, ...]]:
    return {"i": (np.int64, 0, 16), "f": (np.float64, 0.0, 14)}


@njit(**HELPER)
def _emit(k: int, iv: I64, fv: F64, oi: I64, of: F64, n: int) -> int:  # pragma: no cover
    oi[n, 0] = k
    oi[n, 1] = iv[k, R_START]
    oi[n, 2] = iv[k, R_END]
    oi[n, 3] = iv[k, R_HOURS]
    oi[n, 4] = iv[k, R_N]
    oi[n, 5] = iv[k, R_NSHORE]
    oi[n, 6] = iv[k, MMSI]
    oi[n, 7] = iv[k, R_NPORT]
    of[n, 0] = fv[k, R_DIST]
    of[n, 1] = fv[k, R_DT]
    of[n, 2] = fv[k, R_SLAT]
    of[n, 3] = fv[k, R_SLON]
    of[n, 4] = fv[k, R_SHORE]
    of[n, 5] = fv[k, R_PORT]
    iv[k, R_FIRST] = NO
    return n + 1


@njit(**HELPER)
def _close_hour(
    k: int, iv: I64, fv: F64, max_kn: float, oi: I64, of: F64, n: int
) -> int:  # pragma: no cover
    h = iv[k, H_IDX]
    if h == NO:
        return n
    dt = fv[k, H_DT]
    slow = dt > 0 and (fv[k, H_DIST] / 1852.0) / (dt / 3600.0) < max_kn
    if slow and iv[k, R_FIRST] != NO and iv[k, R_LAST] == h - 1:
        iv[k, R_LAST] = h
        iv[k, R_END] = iv[k, H_LAST]
        iv[k, R_HOURS] += 1
        iv[k, R_N] += iv[k, H_N]
        iv[k, R_NSHORE] += iv[k, H_NSHORE]
        iv[k, R_NPORT] += iv[k, H_NPORT]
        for a, b in ((R_DIST, H_DIST), (R_DT, H_DT), (R_SLAT, H_SLAT), (R_SLON, H_SLON)):
            fv[k, a] += fv[k, b]
        fv[k, R_SHORE] += fv[k, H_SHORE]
        fv[k, R_PORT] += fv[k, H_PORT]
    else:
        if iv[k, R_FIRST] != NO:
            n = _emit(k, iv, fv, oi, of, n)
        if slow:
            iv[k, R_FIRST] = h
            iv[k, R_LAST] = h
            iv[k, R_START] = iv[k, H_FIRST]
            iv[k, R_END] = iv[k, H_LAST]
            iv[k, R_HOURS] = 1
            iv[k, R_N] = iv[k, H_N]
            iv[k, R_NSHORE] = iv[k, H_NSHORE]
            iv[k, R_NPORT] = iv[k, H_NPORT]
            fv[k, R_PORT] = fv[k, H_PORT]
            fv[k, R_DIST] = fv[k, H_DIST]
            fv[k, R_DT] = fv[k, H_DT]
            fv[k, R_SLAT] = fv[k, H_SLAT]
            fv[k, R_SLON] = fv[k, H_SLON]
            fv[k, R_SHORE] = fv[k, H_SHORE]
    iv[k, H_IDX] = NO
    return n


@njit(cache=True, nogil=True)
def _kernel(
    track: I64,
    ts: I64,
    lat: F64,
    lon: F64,
    mmsi: I64,
    shore: F64,
    port: F64,
    iv: I64,
    fv: F64,
    max_kn: float,
    oi: I64,
    of: F64,
) -> int:  # pragma: no cover
    n = 0
    prev_k, prev_cos = -1, 0.0  # the last row used: its track and cos(radians(lat))
    for i in range(len(ts)):
        k = track[i]
        t = ts[i]
        has_last = iv[k, LAST_TS] != NO
        if has_last and t < iv[k, LAST_TS]:
            continue  # late row: chunks must arrive in time order
        hour = t // US_PER_H
        if iv[k, H_IDX] != hour:
            n = _close_hour(k, iv, fv, max_kn, oi, of, n)
            if iv[k, R_FIRST] != NO and hour > iv[k, R_LAST] + 1:
                n = _emit(k, iv, fv, oi, of, n)
            iv[k, H_IDX] = hour
            iv[k, H_FIRST] = t
            iv[k, H_N] = 0
            iv[k, H_NSHORE] = 0
            iv[k, H_NPORT] = 0
            for c in range(H_DIST, H_SHORE + 1):
                fv[k, c] = 0.0
            fv[k, H_PORT] = 0.0
        p2 = math.radians(lat[i])
        cos2 = math.cos(p2)
        if has_last:  # haversine_m(last lat, last lon, lat, lon), the same operations;
            # the last row's cosine reused when it was the row before (rows by track)
            p1 = math.radians(fv[k, LAST_LAT])
            cos1 = prev_cos if prev_k == k else math.cos(p1)
            dl = math.radians(lon[i] - fv[k, LAST_LON])
            a = math.sin((p2 - p1) / 2) ** 2 + cos1 * cos2 * math.sin(dl / 2) ** 2
            fv[k, H_DIST] += 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
            fv[k, H_DT] += (t - iv[k, LAST_TS]) / 1e6
        prev_k, prev_cos = k, cos2
        iv[k, H_LAST] = t
        iv[k, H_N] += 1
        fv[k, H_SLAT] += lat[i]
        fv[k, H_SLON] += lon[i]
        if not math.isnan(shore[i]):
            fv[k, H_SHORE] += shore[i]
            iv[k, H_NSHORE] += 1
        if not math.isnan(port[i]):
            fv[k, H_PORT] += port[i]
            iv[k, H_NPORT] += 1
        iv[k, LAST_TS] = t
        fv[k, LAST_LAT] = lat[i]
        fv[k, LAST_LON] = lon[i]
        iv[k, MMSI] = mmsi[i]
    return n


@njit(cache=True, nogil=True)
def _end_tracks(
    ks: I64, iv: I64, fv: F64, max_kn: float, oi: I64, of: F64
) -> int:  # pragma: no cover
    """Close the hour and the run of each track in ``ks`` (tracks that ended)."""
    n = 0
    for k in ks:
        n = _close_hour(k, iv, fv, max_kn, oi, of, n)
        if iv[k, R_FIRST] != NO:
            n = _emit(k, iv, fv, oi, of, n)
    return n


@njit(cache=True, nogil=True)
def _snapshot(iv: I64, fv: F64, max_kn: float, oi: I64, of: F64) -> int:  # pragma: no cover
    """Runs as they stand at the end of the data (on copies: the state is not changed)."""
    n = 0
    for k in range(iv.shape[0]):
        n = _close_hour(k, iv, fv, max_kn, oi, of, n)
        if iv[k, R_FIRST] != NO:
            n = _emit(k, iv, fv, oi, of, n)
    return n


def _events(
    oi: npt.NDArray[np.int64],
    of: npt.NDArray[np.float64],
    params: LoiteringParams,
    kd: Any,
    has_shore: bool,
    closed: bool,
    has_port: bool = False,
) -> pa.Table:
    dur_s = (oi[:, 2] - oi[:, 1]) / US_PER_S
    shore_km = np.where(oi[:, 5] > 0, of[:, 4] / np.maximum(oi[:, 5], 1), np.nan)
    port_km = np.where(oi[:, 7] > 0, of[:, 5] / np.maximum(oi[:, 7], 1), np.nan)
    keep = dur_s >= params.min_duration_s
    if has_shore:
        keep &= ~(shore_km < params.min_distance_to_shore_km)
    if has_port:
        keep &= ~(port_km < params.min_distance_to_port_km)
    oi, of, dur_s, shore_km = oi[keep], of[keep], dur_s[keep], shore_km[keep]
    port_km = port_km[keep]
    fields: dict[str, Any] = {
        "duration_s": dur_s,
        "hours": oi[:, 3],
        "n_positions": oi[:, 4],
        "distance_m": np.round(of[:, 0], 3),
        "mean_speed_kn": np.round(of[:, 0] / M_PER_NM / (of[:, 1] / 3600.0), 6),
        "params": asdict(params),
    }
    if has_shore:
        fields["mean_distance_to_shore_km"] = shore_km  # NaN: null
    if has_port:
        fields["mean_distance_to_port_km"] = port_km
    if not closed:
        fields["last_slow_ts"] = [utc_iso(int(t)) for t in oi[:, 2]]
    details = json_objects(len(oi), fields)
    npos = np.maximum(oi[:, 4], 1)
    return build_events(
        "loitering",
        start_us=oi[:, 1],
        end_us=oi[:, 2] if closed else None,
        mmsi=oi[:, 6],
        lat=of[:, 2] / npos,
        lon=of[:, 3] / npos,
        confidence=[1.0] * len(oi),
        details=details,
        segment_ids=kd.segment_lists(oi[:, 0]),
    )


def detect(
    positions: pa.Table,
    params: LoiteringParams = LoiteringParams(),
    state: LoiteringState | None = None,
    *,
    open_events: bool = True,
    watermark_us: int | None = None,
) -> tuple[pa.Table, LoiteringState]:
    """Loitering closed in ``positions`` and (``open_events``) runs still slow at their end."""
    spec = _spec()
    fresh = state is None or not state.cols
    kd = prepare(positions, state, spec, watermark_us=watermark_us)
    iv, fv = kd.cols["i"], kd.cols["f"]
    if fresh or (state is not None and len(state.cols["i"]) < len(iv)):
        n_old = 0 if fresh or state is None else len(state.cols["i"])
        for c in _NO_INT:
            iv[n_old:, c] = NO
    shore = kd.column("distance_to_shore_km")
    has_shore = shore is not None
    shore_arr = shore if shore is not None else np.full(len(kd.ts_us), np.nan)
    port = kd.column("distance_to_port_km")
    has_port = port is not None
    port_arr = port if port is not None else np.full(len(kd.ts_us), np.nan)
    m = len(kd.ts_us)
    # a row can close a track's run and, closing its last hour, the run that hour began:
    # up to two events per row (the compiled loop writes without bounds checks)
    oi, of = np.empty((2 * m + 1, 8), dtype=np.int64), np.empty((2 * m + 1, 6))
    n = _kernel(
        kd.track,
        kd.ts_us,
        kd.lat,
        kd.lon,
        kd.mmsi,
        shore_arr,
        port_arr,
        iv,
        fv,
        params.max_speed_kn,
        oi,
        of,
    )
    gone = expiring(kd, iv[:, LAST_TS], params.track_expiry_s)
    ei, ef = np.empty((2 * len(gone), 8), dtype=np.int64), np.empty((2 * len(gone), 6))
    ne = _end_tracks(gone, iv, fv, params.max_speed_kn, ei, ef)
    closed = pa.concat_tables(
        [
            _events(oi[:n], of[:n], params, kd, has_shore, True, has_port),
            _events(ei[:ne], ef[:ne], params, kd, has_shore, True, has_port),
        ]
    )
    parts = [closed]
    if open_events:
        si, sf = np.empty((2 * len(iv), 8), dtype=np.int64), np.empty((2 * len(iv), 6))
        ns = _snapshot(iv.copy(), fv.copy(), params.max_speed_kn, si, sf)
        parts.append(_events(si[:ns], sf[:ns], params, kd, has_shore, False, has_port))
    keys, cols = without(kd.keys, kd.cols, gone)
    return pa.concat_tables(parts), LoiteringState(keys, cols, kd.now_us, kd.by_segment)
