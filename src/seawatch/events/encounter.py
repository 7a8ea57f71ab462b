"""Encounters (possible transshipment): two vessels close together, slow, away from port.

Source: GlobalFishingWatch/pipe-encounters and Miller et al. 2018, Front. Mar. Sci. Each track
is resampled on a fixed 10-minute UTC grid (multiples of ``step_s`` since the epoch) by linear
interpolation between consecutive positions at most ``max_interp_gap_s`` apart; the speed of
a grid point is the implied speed of that pair. At each grid step, points are hashed into
~1 km cells (x = lon·cos(lat), y = lat, in metres) and only points in the same or adjacent
cells are compared: never all pairs. A step where two tracks of different MMSIs are within
``max_distance_m``, neither on land (``on_land``) nor nearer than ``min_distance_to_port_km``
to a port (``distance_to_port_km``; each filter only when its column exists), is *close*.
Runs of consecutive close steps of at least ``min_duration_s`` are kept, kept runs of a pair
less than ``merge_gap_s`` apart are merged, and an event survives if both vessels' median
speeds over its close steps are below ``max_median_speed_kn``. Cells ignore the antimeridian.

Incremental: the state keeps the raw positions of the last ``merge_gap_s + 2 ×
max_interp_gap_s + 2 × step_s`` before the latest timestamp and, for the two tracks of an
unsettled run only, back to the start of that run: bounded by that window's traffic plus the
tracks of the encounters still running. An encounter
is closed once no later data can extend it; until then it is returned open (``end_ts``
null), as every detector's snapshot.
In: positions (``ts``, ``mmsi``, ``lat``, ``lon``; optional ``segment_id``,
``distance_to_port_km``, ``on_land``). Out: one event per pair, ``mmsi`` < ``other_mmsi``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from numba import njit

from seawatch.events.params import param
from seawatch.events.schema import build_events, empty_events, json_objects
from seawatch.events.tracks_in import (
    F64,
    I64,
    M_PER_NM,
    US_PER_S,
    EventsInputError,
    haversine_m,
    prepare,
    utc_iso,
)

CELL_M = 1000.0  # cell side: ≥ 2 × the default 500 m, so neighbours lie in adjacent cells
M_PER_DEG = 111_195.0
_USED = (  # base station / AtoN flags are dropped by prepare
    "ts",
    "mmsi",
    "lat",
    "lon",
    "segment_id",
    "distance_to_port_km",
    "on_land",
    "is_base_station",
    "is_aton",
)


@dataclass(frozen=True)
class EncounterParams:
    """Parameters of the encounter rule (defaults: GFW pipe-encounters, Miller et al. 2018)."""

    max_distance_m: float = param(  # pipe-encounters: within 500 m
        500.0, "two points are close at this distance or less"
    )
    min_duration_s: float = param(  # pipe-encounters: for ≥ 2 h
        2 * 3600.0, "shortest run of close steps (a run of exactly 2 h counts)"
    )
    max_median_speed_kn: float = param(  # pipe-encounters: median speed < 2 kn
        2.0, "each vessel's median speed over the close steps must be below this"
    )
    min_distance_to_port_km: float = param(  # pipe-encounters: ≥ 10 km from a port
        10.0,
        "steps nearer a port do not count; **only when `distance_to_port_km` is present**",
    )
    step_s: int = param(600, "resampling grid", minimum=1)  # pipe-encounters: every 10 min
    max_interp_gap_s: float = param(  # pipe-encounters: gaps ≤ 1 h
        3600.0, "interpolate only between positions at most this far apart"
    )
    merge_gap_s: float = param(  # pipe-encounters: encounters < 4 h apart merged
        4 * 3600.0, "runs less than this apart are one encounter"
    )


@dataclass(frozen=True)
class EncounterState:
    """Raw positions still needed by later chunks, and the track key in use."""

    buffer: pa.Table | None = None
    by_segment: bool | None = None
    now_us: int = -(2**62)  # latest timestamp seen by the previous call


@njit(cache=True, nogil=True)
def _resample(
    track: I64, ts: I64, lat: F64, lon: F64, aux: F64, step_us: int, max_gap_us: int
) -> tuple[I64, I64, F64, F64, F64, F64]:  # pragma: no cover
    """Grid points of every track: (track, step, lat, lon, speed_kn, flags of the pair)."""
    n = 0
    for i in range(1, len(ts)):
        if track[i] == track[i - 1] and ts[i] - ts[i - 1] <= max_gap_us:
            n += (ts[i] - ts[i - 1]) // step_us + 2
    gk = np.empty(n, np.int64)
    gs = np.empty(n, np.int64)
    glat = np.empty(n)
    glon = np.empty(n)
    gv = np.empty(n)
    ga = np.empty(n)
    m = 0
    for i in range(1, len(ts)):
        a, b = ts[i - 1], ts[i]
        if track[i] != track[i - 1] or b - a > max_gap_us:
            continue
        linked = i >= 2 and track[i - 2] == track[i] and a - ts[i - 2] <= max_gap_us
        first = a // step_us if (a % step_us == 0 and not linked) else a // step_us + 1
        last = b // step_us
        d = haversine_m(lat[i - 1], lon[i - 1], lat[i], lon[i])
        v = (d / M_PER_NM) / ((b - a) / 3.6e9) if b > a else 0.0
        for s in range(first, last + 1):
            t = s * step_us
            f = (t - a) / (b - a) if b > a else 0.0
            gk[m] = track[i]
            gs[m] = s
            glat[m] = lat[i - 1] + f * (lat[i] - lat[i - 1])
            glon[m] = lon[i - 1] + f * (lon[i] - lon[i - 1])
            gv[m] = v
            ga[m] = max(aux[i - 1], aux[i])  # 1: on land or near port at either end
            m += 1
    return gk[:m], gs[:m], glat[:m], glon[:m], gv[:m], ga[:m]


@njit(cache=True, nogil=True)
def _close_pairs(
    skey: I64, order: I64, glat: F64, glon: F64, ga: F64, gmmsi: I64, max_d: float
) -> tuple[I64, I64, F64]:  # pragma: no cover
    """Close (point, point) pairs, lower MMSI first, each pair once.

    ``skey`` is the sorted (step, cell y, cell x) key of the points ``order``; every cell is
    compared with itself and with 4 of its 8 neighbours (x + 1 and the three at y + 1; the
    other 4 compare with it). Cells come in key order, so the neighbours' keys grow too and
    are found by pointers that only move forward: linear in the number of points.
    """
    row = np.int64(1 << 18)
    max_dlat = max_d / M_PER_DEG
    cap = 1024
    pa_ = np.empty(cap, np.int64)
    pb = np.empty(cap, np.int64)
    pd = np.empty(cap)
    ranges = np.empty((5, 2), np.int64)
    ptr = np.zeros(5, np.int64)
    n = 0
    a = 0
    m = len(skey)
    while a < m:
        b = a + 1
        while b < m and skey[b] == skey[a]:
            b += 1
        ranges[0, 0], ranges[0, 1] = a, b
        for c in range(1, 5):
            want = skey[a] + (1 if c == 1 else row + c - 3)  # x+1; y+1 with x-1, x, x+1
            lo = max(ptr[c], b)
            while lo < m and skey[lo] < want:
                lo += 1
            hi = lo
            while hi < m and skey[hi] == want:
                hi += 1
            ptr[c] = lo
            ranges[c, 0], ranges[c, 1] = lo, hi
        for r in range(a, b):
            p = order[r]
            if ga[p] > 0:
                continue
            for c in range(5):
                lo = r + 1 if c == 0 else ranges[c, 0]
                for r2 in range(lo, ranges[c, 1]):
                    q = order[r2]
                    if ga[q] > 0 or gmmsi[q] == gmmsi[p] or abs(glat[q] - glat[p]) > max_dlat:
                        continue
                    d = haversine_m(glat[p], glon[p], glat[q], glon[q])
                    if d > max_d:
                        continue
                    if n == cap:
                        cap *= 2
                        pa_ = np.concatenate((pa_, np.empty(cap - n, np.int64)))
                        pb = np.concatenate((pb, np.empty(cap - n, np.int64)))
                        pd = np.concatenate((pd, np.empty(cap - n)))
                    lo_first = gmmsi[p] < gmmsi[q]
                    pa_[n] = p if lo_first else q
                    pb[n] = q if lo_first else p
                    pd[n] = d
                    n += 1
        a = b
    return pa_[:n], pb[:n], pd[:n]


@njit(cache=True, nogil=True)
def _emit(
    first: int,
    last: int,
    p: I64,
    q: I64,
    d: F64,
    gk: I64,
    gs: I64,
    gv: F64,
    glat: F64,
    glon: F64,
    pv: F64,
    closed: bool,
    max_kn: float,
    oi: I64,
    of: F64,
    n_out: int,
) -> int:  # pragma: no cover
    """One merged run ``[first, last]`` of close pairs to an output row, if both are slow enough."""
    cnt = last - first + 1
    for x in range(cnt):
        pv[x] = gv[p[first + x]]
    va = np.median(pv[:cnt])
    for x in range(cnt):
        pv[x] = gv[q[first + x]]
    vb = np.median(pv[:cnt])
    if max(va, vb) >= max_kn:
        return n_out
    for x in range(cnt):
        pv[x] = d[first + x]
    dm = np.median(pv[:cnt])
    slat = 0.0
    slon = 0.0
    for x in range(first, last + 1):
        slat += (glat[p[x]] + glat[q[x]]) / 2
        slon += (glon[p[x]] + glon[q[x]]) / 2
    oi[n_out, 0] = gs[p[first]]
    oi[n_out, 1] = gs[p[last]]
    oi[n_out, 2] = 1 if closed else 0
    oi[n_out, 3] = gk[p[first]]
    oi[n_out, 4] = gk[q[first]]
    oi[n_out, 5] = cnt
    of[n_out, 0] = slat / cnt
    of[n_out, 1] = slon / cnt
    of[n_out, 2] = dm
    of[n_out, 3] = va
    of[n_out, 4] = vb
    return n_out + 1


@njit(cache=True, nogil=True)
def _runs(
    p: I64,
    q: I64,
    d: F64,
    gk: I64,
    gs: I64,
    gv: F64,
    glat: F64,
    glon: F64,
    pv: F64,
    step_us: int,
    lag_us: int,
    now_us: int,
    prev_now_us: int,
    min_steps: float,
    merge_steps: float,
    max_kn: float,
    oi: I64,
    of: F64,
    keep: I64,
) -> int:  # pragma: no cover
    """Encounters of close pairs sorted by (track, other track, step).

    Per pair of tracks: runs of consecutive steps, runs shorter than ``min_steps`` dropped,
    kept runs less than ``merge_steps`` apart merged, both median speeds below ``max_kn``.
    A merged run is closed when no later row can extend it; closed runs already closed by
    the previous call (``prev_now_us``) are not emitted again. Out rows: ``oi`` (first step,
    last step, closed, track, other track, close steps), ``of`` (lat, lon, median distance,
    median speed, other median speed). Returns the row count; ``keep[track]`` is lowered to
    the first step a later call still needs of that track (the start of an unsettled run).
    """
    n_out = 0
    g = 0
    while g < len(p):
        h = g + 1
        while h < len(p) and gk[p[h]] == gk[p[g]] and gk[q[h]] == gk[q[g]]:
            h += 1
        mf = -1
        ml = -1
        i = g
        while i < h:
            j = i
            while j + 1 < h and gs[p[j + 1]] == gs[p[j]] + 1:
                j += 1
            if (gs[p[j]] + 1) * step_us + lag_us >= now_us:
                keep[gk[p[i]]] = min(keep[gk[p[i]]], gs[p[i]])
                keep[gk[q[i]]] = min(keep[gk[q[i]]], gs[p[i]])
            if gs[p[j]] - gs[p[i]] >= min_steps:
                if mf >= 0 and gs[p[i]] - gs[p[ml]] < merge_steps:
                    ml = j
                else:
                    if mf >= 0:
                        n_out = _settle(
                            mf,
                            ml,
                            p,
                            q,
                            d,
                            gk,
                            gs,
                            gv,
                            glat,
                            glon,
                            pv,
                            step_us,
                            lag_us,
                            now_us,
                            prev_now_us,
                            max_kn,
                            oi,
                            of,
                            n_out,
                        )
                    mf, ml = i, j
            i = j + 1
        if mf >= 0:
            n_out = _settle(
                mf,
                ml,
                p,
                q,
                d,
                gk,
                gs,
                gv,
                glat,
                glon,
                pv,
                step_us,
                lag_us,
                now_us,
                prev_now_us,
                max_kn,
                oi,
                of,
                n_out,
            )
            if (gs[p[ml]] + 1) * step_us + lag_us >= now_us:
                keep[gk[p[mf]]] = min(keep[gk[p[mf]]], gs[p[mf]])
                keep[gk[q[mf]]] = min(keep[gk[q[mf]]], gs[p[mf]])
        g = h
    return n_out


@njit(cache=True, nogil=True)
def _settle(
    mf: int,
    ml: int,
    p: I64,
    q: I64,
    d: F64,
    gk: I64,
    gs: I64,
    gv: F64,
    glat: F64,
    glon: F64,
    pv: F64,
    step_us: int,
    lag_us: int,
    now_us: int,
    prev_now_us: int,
    max_kn: float,
    oi: I64,
    of: F64,
    n_out: int,
) -> int:  # pragma: no cover
    end = (gs[p[ml]] + 1) * step_us + lag_us
    closed = end < now_us
    if closed and prev_now_us > end:
        return n_out  # closed by an earlier call
    return _emit(mf, ml, p, q, d, gk, gs, gv, glat, glon, pv, closed, max_kn, oi, of, n_out)


def _aux(kd: Any, params: EncounterParams) -> F64:
    """1.0 where a position is on land or nearer than the minimum to a port, else 0.0."""
    bad = np.zeros(len(kd.ts_us))
    port = kd.column("distance_to_port_km")
    if port is not None:
        bad[port < params.min_distance_to_port_km] = 1.0  # NaN compares false: kept
    land = kd.column("on_land")
    if land is not None:
        bad[land > 0.5] = 1.0
    return bad


def _close_steps(kd: Any, params: EncounterParams) -> tuple[Any, ...]:
    """Grid points and their close pairs, sorted by (track, other track, step)."""
    step_us = int(params.step_s) * US_PER_S
    gk, gs, glat, glon, gv, ga = _resample(
        kd.track,
        kd.ts_us,
        kd.lat,
        kd.lon,
        _aux(kd, params),
        step_us,
        int(params.max_interp_gap_s * US_PER_S),
    )
    track_mmsi = np.zeros(len(kd.keys), np.int64)
    track_mmsi[kd.track] = kd.mmsi
    gmmsi = track_mmsi[gk]
    cy = np.floor(glat * M_PER_DEG / CELL_M).astype(np.int64)
    cx = np.floor(glon * M_PER_DEG * np.cos(np.radians(glat)) / CELL_M).astype(np.int64)
    s0 = int(gs.min()) if len(gs) else 0
    key = ((gs - s0) << 36) | ((cy + (1 << 17)) << 18) | (cx + (1 << 17))
    order = np.argsort(key).astype(np.int64)
    p, q, d = _close_pairs(key[order], order, glat, glon, ga, gmmsi, params.max_distance_m)
    srt = np.lexsort((gs[p], gk[q], gk[p]))
    return gk, gs, glat, glon, gv, gmmsi, p[srt], q[srt], d[srt]


def _encounters(
    kd: Any, params: EncounterParams, prev_now: int, open_events: bool = True
) -> tuple[pa.Table, I64]:
    """Closed and open encounters of ``kd``'s rows, and which of them (in ``kd.rows``' order)
    a later call still needs: the last ``merge_gap_s + 2 × max_interp_gap_s + 2 × step_s``
    of every track, and all of a track's rows since the start of its unsettled runs."""
    gk, gs, glat, glon, gv, _gmmsi, p, q, d = _close_steps(kd, params)
    step_us = int(params.step_s) * US_PER_S
    lag = int((params.merge_gap_s + params.max_interp_gap_s) * US_PER_S) + step_us
    oi, of = np.empty((len(p), 6), np.int64), np.empty((len(p), 5))
    keep = np.full(len(kd.keys), kd.now_us // step_us, np.int64)
    n = _runs(
        p,
        q,
        d,
        gk,
        gs,
        gv,
        glat,
        glon,
        np.empty(len(p)),
        step_us,
        lag,
        kd.now_us,
        prev_now,
        params.min_duration_s / params.step_s - 1e-9,
        params.merge_gap_s / params.step_s,
        params.max_median_speed_kn,
        oi,
        of,
        keep,
    )
    oi, of = oi[:n], of[:n]
    if not open_events:
        oi, of = oi[oi[:, 2] == 1], of[oi[:, 2] == 1]
        n = len(oi)
    margin = int(params.max_interp_gap_s * US_PER_S) + step_us
    recent = kd.now_us - lag - int(params.max_interp_gap_s * US_PER_S)
    keep_from = np.minimum(recent, keep * step_us) - margin  # per track
    needed = np.empty(len(kd.ts_us), dtype=bool)
    needed[kd.order] = kd.ts_us >= keep_from[kd.track]
    tm = _track_mmsi(kd)
    keys = kd.keys.cast(pa.string()) if kd.by_segment else None
    parts = [_build(oi[m], of[m], params, tm, keys, closed=c) for c, m in _split(oi[:, 2] == 1)]
    return pa.concat_tables([empty_events(), *parts]), needed


def _split(closed: Any) -> list[tuple[bool, Any]]:
    return [(True, closed), (False, ~closed)]


def _build(
    oi: I64, of: F64, params: EncounterParams, tm: I64, keys: Any, *, closed: bool
) -> pa.Table:
    """Events of output rows that are all closed or all open."""
    step_us = int(params.step_s) * US_PER_S
    fields: dict[str, Any] = {
        "duration_s": (oi[:, 1] - oi[:, 0]) * params.step_s,
        "n_close_steps": oi[:, 5],
        "median_distance_m": np.round(of[:, 2], 3),
        "median_speed_kn": np.round(of[:, 3], 6),
        "other_median_speed_kn": np.round(of[:, 4], 6),
        "params": asdict(params),
    }
    if not closed:
        fields["last_close_ts"] = [utc_iso(int(s) * step_us) for s in oi[:, 1]]
    segs: list[list[str] | None] = [None] * len(oi)
    if keys is not None:
        a, b = keys.take(oi[:, 3]).to_pylist(), keys.take(oi[:, 4]).to_pylist()
        segs = [[x, y] for x, y in zip(a, b, strict=True)]
    return build_events(
        "encounter",
        start_us=oi[:, 0] * step_us,
        end_us=oi[:, 1] * step_us if closed else None,
        mmsi=tm[oi[:, 3]],
        other_mmsi=tm[oi[:, 4]],
        lat=of[:, 0],
        lon=of[:, 1],
        confidence=np.full(len(oi), 1.0 if closed else 0.5),
        details=json_objects(len(oi), fields),
        segment_ids=segs,
        discriminators=[",".join(s) if s else "" for s in segs],
    )


def _track_mmsi(kd: Any) -> I64:
    out = np.zeros(len(kd.keys), np.int64)
    out[kd.track] = kd.mmsi
    return out


def detect(
    positions: pa.Table,
    params: EncounterParams = EncounterParams(),
    state: EncounterState | None = None,
    *,
    open_events: bool = True,
    watermark_us: int | None = None,
) -> tuple[pa.Table, EncounterState]:
    """Encounters closed in ``positions`` and (``open_events``) those still running."""
    state = state or EncounterState()
    rows = positions.select([c for c in _USED if c in positions.column_names])
    by_segment = "segment_id" in rows.column_names
    if state.by_segment is not None and state.by_segment != by_segment:
        raise EventsInputError(
            "the chunks disagree on the track key (segment_id present in some, absent in "
            "others); give every chunk a segment_id or none"
        )
    if state.buffer is not None:
        rows = pa.concat_tables([state.buffer, rows], promote_options="permissive")
    kd = prepare(rows, None, {}, watermark_us=watermark_us)
    if len(kd.ts_us) == 0:
        return empty_events(), EncounterState(rows, by_segment, state.now_us)
    events, needed = _encounters(kd, params, state.now_us, open_events)
    buffer = kd.rows.filter(pa.array(needed))
    return events, EncounterState(buffer, by_segment, kd.now_us)
