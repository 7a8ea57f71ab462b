"""AIS gaps: a track with no position for at least ``min_gap_s`` (default 6 h).

Source: GlobalFishingWatch/pipe-gaps (``config.py``: ``min_gap_length`` 6 hours). A gap whose
track is still silent at the end of the data is *open* (``end_ts`` null, lower confidence),
like Skylight's "potential dark activity" that late data may withdraw.
Gaps are per MMSI, as in pipe-gaps (which reads the positions of good segments by ``ssvid``):
keyed by segment, every silence longer than the tracks stage's ``max_gap_hours`` (24 h) would
start a new segment and the longest gaps, the ones analysts care about most, would be lost.
When the positions carry ``segment_id``, rows the matcher rejected as noise (null) are not
used and each event names the segment before the gap and, if different, the one after; two
ships sharing an MMSI leave a gap only when both are silent.
In: positions (``ts``, ``mmsi``, ``lat``, ``lon``; optional ``segment_id``). Out: events.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from seawatch.events.params import param
from seawatch.events.schema import build_events, json_objects
from seawatch.events.tracks_in import (
    EARTH_RADIUS_M,
    F64,
    I64,
    M_PER_NM,
    US_PER_S,
    Keyed,
    TrackArrays,
    prepare,
    utc_iso,
)

NO_TS = np.iinfo(np.int64).min


def haversine_m_np(lat1: F64, lon1: F64, lat2: F64, lon2: F64) -> F64:
    """:func:`~.tracks_in.haversine_m` over numpy arrays."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(lon2 - lon1)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    out: F64 = 2.0 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return out


@dataclass(frozen=True)
class GapParams:
    """Parameters of the gap rule (defaults: GFW pipe-gaps)."""

    min_gap_s: float = param(  # pipe-gaps min_gap_length = 6 h
        6 * 3600.0, "shortest silence that is a gap (a gap of exactly 6 h counts)"
    )
    open_confidence: float = param(  # the track may still reappear (late data, coverage)
        0.5, "confidence of a gap still open at the end of the data", maximum=1.0
    )


@dataclass(frozen=True)
class GapState(TrackArrays):
    """Last position of each track and the end of the data seen so far."""


_SPEC: dict[str, tuple[Any, Any]] = {
    "last_ts": (np.int64, NO_TS),
    "last_lat": (np.float64, np.nan),
    "last_lon": (np.float64, np.nan),
    "mmsi": (np.int64, 0),
    "last_seg": (object, None),
}


@njit(cache=True, nogil=True)
def _kernel(
    track: I64,
    ts: I64,
    lat: F64,
    lon: F64,
    mmsi: I64,
    min_gap_us: int,
    last_ts: I64,
    last_lat: F64,
    last_lon: F64,
    last_mmsi: I64,
    hit: I64,
    hit_start: I64,
    hit_lat: F64,
    hit_lon: F64,
) -> int:  # pragma: no cover - compiled
    """Walk rows in (track, ts) order; record each gap's row and its previous position."""
    n_out = 0
    for i in range(len(ts)):
        k = track[i]
        t = ts[i]
        if last_ts[k] != NO_TS:
            if t < last_ts[k]:
                continue  # late row: chunks must arrive in time order
            if t - last_ts[k] >= min_gap_us:
                hit[n_out] = i
                hit_start[n_out] = last_ts[k]
                hit_lat[n_out] = last_lat[k]
                hit_lon[n_out] = last_lon[k]
                n_out += 1
        last_ts[k] = t
        last_lat[k] = lat[i]
        last_lon[k] = lon[i]
        last_mmsi[k] = mmsi[i]
    return n_out


def _segments(kd: Keyed, hits: I64, last_seg: Any) -> Any:
    """Per gap (row ``hits`` of ``kd``), the segment before it (the MMSI's previous row in
    the chunk, else the state's last) and the one after, each once and the missing left
    out: ``[x for x in dict.fromkeys([before, after]) if x is not None]``, column-wise."""
    n = len(hits)
    prev_row = np.maximum(hits - 1, 0)
    same = (hits > 0) & (kd.track[prev_row] == kd.track[hits])
    col: Any = kd.rows.column("segment_id")
    after = col.take(kd.order[hits]).combine_chunks().cast(pa.string())
    inside = col.take(kd.order[prev_row]).combine_chunks().cast(pa.string())
    carried = pa.array(last_seg[kd.track[hits]].tolist(), pa.string())  # before this chunk
    before = pc.if_else(pa.array(same), inside, carried)
    differ: Any = pc.fill_null(pc.not_equal(before, after), False)
    two = np.asarray(differ, dtype=np.bool_)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(two.astype(np.int32) + 1, out=offsets[1:])
    pick = np.arange(n, dtype=np.int64)  # into concat(before, after)
    at = np.empty(int(offsets[-1]), np.int64)
    at[offsets[:-1]] = np.where(two, pick, n + pick)
    at[offsets[:-1][two] + 1] = n + pick[two]
    values = pa.concat_arrays([before, after]).take(at)
    lists: Any = pa.ListArray
    return lists.from_arrays(offsets, values)


def detect(
    positions: pa.Table,
    params: GapParams = GapParams(),
    state: GapState | None = None,
    *,
    open_events: bool = True,
    watermark_us: int | None = None,
) -> tuple[pa.Table, GapState]:
    """Gaps closed in ``positions`` and, if ``open_events``, those still open at their end."""
    kd: Keyed = prepare(positions, state, _SPEC, key="mmsi", watermark_us=watermark_us)
    c = kd.cols
    min_gap_us = round(params.min_gap_s * US_PER_S)
    m = len(kd.ts_us)
    hits, starts = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)
    lat0, lon0 = np.empty(m), np.empty(m)
    n = _kernel(
        kd.track,
        kd.ts_us,
        kd.lat,
        kd.lon,
        kd.mmsi,
        min_gap_us,
        c["last_ts"],
        c["last_lat"],
        c["last_lon"],
        c["mmsi"],
        hits,
        starts,
        lat0,
        lon0,
    )
    hits, starts, lat0, lon0 = hits[:n], starts[:n], lat0[:n], lon0[:n]
    segs: Any = [None] * n
    if kd.has_segments:
        segs = _segments(kd, hits, c["last_seg"])
        kd.remember_segments(c["last_seg"], c["last_ts"])
    p = asdict(params)
    dur_s = (kd.ts_us[hits] - starts) / US_PER_S
    dist = haversine_m_np(lat0, lon0, kd.lat[hits], kd.lon[hits])
    details = json_objects(
        n,
        {
            "duration_s": dur_s,
            "distance_m": np.round(dist, 3),
            "implied_speed_kn": np.round(dist / M_PER_NM / (dur_s / 3600.0), 6),
            "end_lat": kd.lat[hits],
            "end_lon": kd.lon[hits],
            "params": p,
        },
    )
    closed = build_events(
        "gap",
        start_us=starts,
        end_us=kd.ts_us[hits],
        mmsi=kd.mmsi[hits],
        lat=lat0,
        lon=lon0,
        confidence=[1.0] * n,
        details=details,
        segment_ids=segs,
    )
    new_state = GapState(kd.keys, kd.cols, kd.now_us, kd.by_segment)
    if not open_events:
        return closed, new_state
    last = c["last_ts"]
    open_k = np.flatnonzero((last != NO_TS) & (kd.now_us - last >= min_gap_us))
    opened = build_events(
        "gap",
        start_us=last[open_k],
        end_us=None,
        mmsi=c["mmsi"][open_k],
        lat=c["last_lat"][open_k],
        lon=c["last_lon"][open_k],
        confidence=[params.open_confidence] * len(open_k),
        details=json_objects(
            len(open_k),
            {
                "silent_s": (kd.now_us - last[open_k]) / US_PER_S,
                "data_end": utc_iso(kd.now_us) if len(open_k) else None,
                "params": p,
            },
        ),
        segment_ids=[None if s is None else [str(s)] for s in c["last_seg"][open_k]],
    )
    return pa.concat_tables([closed, opened]), new_state
