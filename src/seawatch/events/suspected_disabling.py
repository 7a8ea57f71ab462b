"""Suspected AIS disabling: a long gap far from shore where reception was good before.

Source: GFW technical documentation ``Gaps.md`` and Welch et al. 2022, Sci. Adv. 8(44): a gap
of at least 12 h that starts and ends at least 50 nm from shore, by a vessel that averaged at
least 20 positions per 12 h in the 48 h before the gap (so that silence means something).
Needs ``distance_to_shore_km`` (geography enrichment); without it the detector cannot judge
the rule and emits nothing (logged). A gap still open at the end of the data whose start
qualifies is reported open, with lower confidence (its end is unknown).
In: positions (``ts``, ``mmsi``, ``lat``, ``lon``, ``distance_to_shore_km``; optional
``segment_id``). Out: events of type ``suspected_disabling``. Per MMSI, as the gap detector
(see :mod:`seawatch.events.gap`): segments end after 24 h silent, these gaps may be longer.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from numba import njit

from seawatch.events.params import param
from seawatch.events.schema import build_events, empty_events
from seawatch.events.tracks_in import (
    F64,
    I64,
    M_PER_NM,
    US_PER_S,
    TrackArrays,
    prepare,
    utc_iso,
)

log = logging.getLogger(__name__)
NO = np.iinfo(np.int64).min
LAST_TS, COUNT, MMSI = 0, 1, 2
LAST_LAT, LAST_LON, LAST_SHORE = 0, 1, 2


@dataclass(frozen=True)
class DisablingParams:
    """Parameters of the rule (defaults: GFW Gaps.md, Welch et al. 2022)."""

    min_gap_s: float = param(12 * 3600.0, "shortest qualifying gap")
    min_distance_to_shore_km: float = param(
        50 * M_PER_NM / 1000, "at the last position before and the first after the gap (50 nm)"
    )
    lookback_s: float = param(48 * 3600.0, "window before the gap for the reception test")
    min_positions_per_12h: float = param(
        20.0, "average reception required in the window (80 positions in 48 h)"
    )
    open_confidence: float = param(
        0.5, "confidence of a qualifying start still silent at the end of the data", maximum=1.0
    )

    @property
    def min_positions(self) -> int:
        """Positions needed in the lookback window before the gap (80 by default)."""
        return max(1, math.ceil(self.min_positions_per_12h * self.lookback_s / (12 * 3600)))


@dataclass(frozen=True)
class DisablingState(TrackArrays):
    """Per track: last position and shore distance, and the times of its last positions."""


@njit(cache=True, nogil=True)
def _kernel(
    track: I64,
    ts: I64,
    lat: F64,
    lon: F64,
    mmsi: I64,
    shore: F64,
    iv: I64,
    fv: F64,
    ring: I64,
    min_gap_us: int,
    lookback_us: int,
    min_shore: float,
    out: I64,
    out_f: F64,
) -> int:  # pragma: no cover
    n = 0
    r = ring.shape[1]
    for i in range(len(ts)):
        k, t = track[i], ts[i]
        last = iv[k, LAST_TS]
        if last != NO:
            if t < last:
                continue
            far = shore[i] >= min_shore and fv[k, LAST_SHORE] >= min_shore
            heard = iv[k, COUNT] >= r and ring[k, iv[k, COUNT] % r] >= last - lookback_us
            if t - last >= min_gap_us and far and heard:
                out[n, 0] = k
                out[n, 1] = last
                out[n, 2] = t
                out[n, 3] = iv[k, MMSI]
                out[n, 4] = ring[k, iv[k, COUNT] % r]
                out[n, 5] = i
                out_f[n, 0] = fv[k, LAST_LAT]
                out_f[n, 1] = fv[k, LAST_LON]
                out_f[n, 2] = fv[k, LAST_SHORE]
                out_f[n, 3] = shore[i]
                n += 1
        ring[k, iv[k, COUNT] % r] = t
        iv[k, COUNT] += 1
        iv[k, LAST_TS] = t
        iv[k, MMSI] = mmsi[i]
        fv[k, LAST_LAT] = lat[i]
        fv[k, LAST_LON] = lon[i]
        fv[k, LAST_SHORE] = shore[i]
    return n


def _events(
    rows: Any,
    f: Any,
    params: DisablingParams,
    segs: list[list[str] | None],
    now_us: int,
    closed: bool,
) -> pa.Table:
    p = {**asdict(params), "min_positions": params.min_positions}
    details = []
    for j in range(len(rows)):
        d: dict[str, Any] = {
            "distance_to_shore_start_km": float(f[j, 2]),
            "lookback_oldest_ts": utc_iso(int(rows[j, 4])),
            "positions_in_lookback_at_least": params.min_positions,
            "params": p,
        }
        if closed:
            d["duration_s"] = (int(rows[j, 2]) - int(rows[j, 1])) / US_PER_S
            d["distance_to_shore_end_km"] = float(f[j, 3])
        else:
            d["silent_s"] = (now_us - int(rows[j, 1])) / US_PER_S
            d["data_end"] = utc_iso(now_us)
        details.append(d)
    return build_events(
        "suspected_disabling",
        start_us=rows[:, 1],
        end_us=rows[:, 2] if closed else None,
        mmsi=rows[:, 3],
        lat=f[:, 0],
        lon=f[:, 1],
        confidence=[1.0 if closed else params.open_confidence] * len(rows),
        details=details,
        segment_ids=segs,
    )


def detect(
    positions: pa.Table,
    params: DisablingParams = DisablingParams(),
    state: DisablingState | None = None,
    *,
    open_events: bool = True,
    watermark_us: int | None = None,
) -> tuple[pa.Table, DisablingState]:
    """Suspected disabling closed in ``positions`` and (``open_events``) qualifying open gaps."""
    r = params.min_positions
    n_old = 0 if state is None or not state.cols else len(state.cols["i"])
    spec = {
        "i": (np.int64, 0, 3),
        "f": (np.float64, np.nan, 3),
        "ring": (np.int64, NO, r),
        "last_seg": (object, None),
    }
    kd = prepare(positions, state, spec, key="mmsi", watermark_us=watermark_us)
    iv, fv, ring = kd.cols["i"], kd.cols["f"], kd.cols["ring"]
    iv[n_old:, LAST_TS] = NO
    shore = kd.column("distance_to_shore_km")
    new_state = DisablingState(kd.keys, kd.cols, kd.now_us, kd.by_segment)
    if shore is None:
        if len(kd.ts_us):
            log.info(
                "suspected_disabling needs distance_to_shore_km; no events from %d rows",
                len(kd.ts_us),
            )
        shore = np.full(len(kd.ts_us), np.nan)
    m = len(kd.ts_us)
    out, out_f = np.empty((m, 6), dtype=np.int64), np.empty((m, 4))
    min_gap_us = round(params.min_gap_s * US_PER_S)
    n = _kernel(
        kd.track,
        kd.ts_us,
        kd.lat,
        kd.lon,
        kd.mmsi,
        shore,
        iv,
        fv,
        ring,
        min_gap_us,
        round(params.lookback_s * US_PER_S),
        params.min_distance_to_shore_km,
        out,
        out_f,
    )
    hits = out[:n, 5]
    segs: list[list[str] | None] = [None] * n
    last_seg = kd.cols["last_seg"]
    if kd.has_segments:
        after = kd.segments_at(hits)
        same = (hits > 0) & (kd.track[np.maximum(hits - 1, 0)] == kd.track[hits])
        before = kd.segments_at(np.maximum(hits - 1, 0))
        prev = last_seg[kd.track[hits]]
        segs = [
            [x for x in dict.fromkeys([b if s else p, a]) if x is not None]
            for a, b, s, p in zip(after, before, same.tolist(), prev.tolist(), strict=True)
        ]
        kd.remember_segments(last_seg, iv[:, LAST_TS])
    closed = _events(out[:n], out_f[:n], params, segs, kd.now_us, closed=True)
    if not open_events:
        return closed, new_state
    last, count = iv[:, LAST_TS], iv[:, COUNT]
    oldest = ring[np.arange(len(iv)), count % r]
    ok = (last != NO) & (kd.now_us - last >= min_gap_us) & (count >= r)
    ok &= (oldest >= last - round(params.lookback_s * US_PER_S)) & (
        fv[:, LAST_SHORE] >= params.min_distance_to_shore_km
    )
    k = np.flatnonzero(ok)
    rows = np.stack([k, last[k], last[k], iv[k, MMSI], oldest[k]], axis=1)
    f = np.stack([fv[k, LAST_LAT], fv[k, LAST_LON], fv[k, LAST_SHORE], fv[k, LAST_SHORE]], axis=1)
    open_segs = [None if x is None else [str(x)] for x in last_seg[k]]
    opened = (
        _events(rows, f, params, open_segs, kd.now_us, closed=False) if len(k) else empty_events()
    )
    return pa.concat_tables([closed, opened]), new_state
