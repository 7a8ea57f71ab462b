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

Incremental: the state keeps the raw positions of the last ``merge_gap_s + max_interp_gap_s
+ step_s`` before the latest timestamp (and back to the start of any unsettled run), so its
size is bounded by that window's traffic plus the longest running encounter. An encounter
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
import pyarrow.compute as pc
from numba import njit

from seawatch.events.schema import build_events, empty_events
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

    max_distance_m: float = 500.0  # pipe-encounters: within 500 m
    min_duration_s: float = 2 * 3600.0  # pipe-encounters: for ≥ 2 h
    max_median_speed_kn: float = 2.0  # pipe-encounters: median speed < 2 kn
    min_distance_to_port_km: float = 10.0  # pipe-encounters: ≥ 10 km from a port/anchorage
    step_s: int = 600  # pipe-encounters: positions resampled every 10 min
    max_interp_gap_s: float = 3600.0  # pipe-encounters: interpolate only across gaps ≤ 1 h
    merge_gap_s: float = 4 * 3600.0  # pipe-encounters: encounters < 4 h apart merged


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
    order: I64,
    lo: I64,
    hi: I64,
    gk: I64,
    gs: I64,
    glat: F64,
    glon: F64,
    ga: F64,
    gmmsi: I64,
    max_d: float,
) -> tuple[I64, I64, F64]:  # pragma: no cover
    """Close (point, point) pairs: ``lo``/``hi`` bound the 9 neighbour cells of each point."""
    cap = 16
    pa_ = np.empty(cap, np.int64)
    pb = np.empty(cap, np.int64)
    pd = np.empty(cap)
    n = 0
    for p in range(len(gk)):
        if ga[p] > 0:
            continue
        for c in range(9):
            for r in range(lo[p, c], hi[p, c]):
                q = order[r]
                if gmmsi[q] <= gmmsi[p] or ga[q] > 0 or gs[q] != gs[p]:
                    continue
                d = haversine_m(glat[p], glon[p], glat[q], glon[q])
                if d > max_d:
                    continue
                if n == cap:
                    cap *= 2
                    pa_ = np.concatenate((pa_, np.empty(cap - n, np.int64)))
                    pb = np.concatenate((pb, np.empty(cap - n, np.int64)))
                    pd = np.concatenate((pd, np.empty(cap - n)))
                pa_[n] = p
                pb[n] = q
                pd[n] = d
                n += 1
    return pa_[:n], pb[:n], pd[:n]


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


def _runs(steps: I64) -> list[tuple[int, int]]:
    """(first, last) index ranges of consecutive grid steps in sorted ``steps``."""
    if len(steps) == 0:
        return []
    cut = np.flatnonzero(np.diff(steps) > 1) + 1
    starts = np.concatenate(([0], cut))
    ends = np.concatenate((cut, [len(steps)])) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


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
    order = np.argsort(key, kind="stable").astype(np.int64)
    skey = key[order]
    nb = np.array([(dy << 18) + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)], np.int64)
    want = key[:, None] + nb[None, :]
    lo = np.searchsorted(skey, want, side="left").astype(np.int64)
    hi = np.searchsorted(skey, want, side="right").astype(np.int64)
    p, q, d = _close_pairs(order, lo, hi, gk, gs, glat, glon, ga, gmmsi, params.max_distance_m)
    srt = np.lexsort((gs[p], gk[q], gk[p]))
    return gk, gs, glat, glon, gv, gmmsi, p[srt], q[srt], d[srt]


def _encounters(kd: Any, params: EncounterParams, prev_now: int) -> tuple[pa.Table, int]:
    """Closed and open encounters of ``kd``'s rows, and the time from which rows are kept."""
    gk, gs, glat, glon, gv, gmmsi, p, q, d = _close_steps(kd, params)
    step_us = int(params.step_s) * US_PER_S
    lag = int((params.merge_gap_s + params.max_interp_gap_s) * US_PER_S) + step_us

    def settled(step: int, now: int) -> bool:  # no later row can extend or merge it
        return (step + 1) * step_us + lag < now

    min_steps = params.min_duration_s / params.step_s - 1e-9
    keep_from = kd.now_us - lag - int(params.max_interp_gap_s * US_PER_S)
    cols: dict[str, list[Any]] = {k: [] for k in ("s", "e", "m", "o", "lat", "lon", "seg")}
    details: list[dict[str, Any]] = []
    pars = asdict(params)
    bounds = np.flatnonzero((np.diff(gk[p]) != 0) | (np.diff(gk[q]) != 0)) + 1
    for a, b in zip(np.r_[0, bounds].tolist(), np.r_[bounds, len(p)].tolist(), strict=True):
        steps = gs[p[a:b]]
        runs = _runs(steps)
        merged: list[list[int]] = []
        for i, j in runs:
            if not settled(int(steps[j]), kd.now_us):
                keep_from = min(keep_from, int(steps[i]) * step_us)
            if steps[j] - steps[i] < min_steps:
                continue
            if merged and steps[i] - steps[merged[-1][1]] < params.merge_gap_s / params.step_s:
                merged[-1][1] = j
            else:
                merged.append([i, j])
        for i, j in merged:
            last = int(steps[j])
            closed = settled(last, kd.now_us)
            if not closed:
                keep_from = min(keep_from, int(steps[i]) * step_us)
            elif not (prev_now <= (last + 1) * step_us + lag):
                continue  # closed by an earlier call
            pp, qq, dd = p[a + i : a + j + 1], q[a + i : a + j + 1], d[a + i : a + j + 1]
            va, vb = float(np.median(gv[pp])), float(np.median(gv[qq]))
            if max(va, vb) >= params.max_median_speed_kn:
                continue
            cols["s"].append(int(steps[i]) * step_us)
            cols["e"].append(last * step_us if closed else None)
            cols["m"].append(int(gmmsi[pp[0]]))
            cols["o"].append(int(gmmsi[qq[0]]))
            cols["lat"].append(float(np.mean((glat[pp] + glat[qq]) / 2)))
            cols["lon"].append(float(np.mean((glon[pp] + glon[qq]) / 2)))
            segs = [kd.segment_text(int(gk[x[0]])) for x in (pp, qq)]
            cols["seg"].append([s[0] for s in segs if s] if kd.by_segment else None)
            det: dict[str, Any] = {
                "duration_s": (last - int(steps[i])) * params.step_s,
                "n_close_steps": len(pp),
                "median_distance_m": round(float(np.median(dd)), 3),
                "median_speed_kn": round(va, 6),
                "other_median_speed_kn": round(vb, 6),
                "params": pars,
            }
            if not closed:
                det["last_close_ts"] = utc_iso(last * step_us)
            details.append(det)
    events = build_events(
        "encounter",
        start_us=cols["s"],
        end_us=cols["e"],
        mmsi=cols["m"],
        other_mmsi=cols["o"],
        lat=cols["lat"],
        lon=cols["lon"],
        confidence=[1.0 if e is not None else 0.5 for e in cols["e"]],
        details=details,
        segment_ids=cols["seg"],
        discriminators=[",".join(s) if s else "" for s in cols["seg"]],
    )
    margin = int(params.max_interp_gap_s * US_PER_S) + step_us
    return events, keep_from - margin


def detect(
    positions: pa.Table,
    params: EncounterParams = EncounterParams(),
    state: EncounterState | None = None,
) -> tuple[pa.Table, EncounterState]:
    """Encounters closed in ``positions`` and those still running at their end (module doc)."""
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
    kd = prepare(rows, None, {})
    if len(kd.ts_us) == 0:
        return empty_events(), EncounterState(rows, by_segment, state.now_us)
    events, keep_from = _encounters(kd, params, state.now_us)
    ts = rows["ts"].cast(pa.int64())
    buffer = rows.filter(pc.greater_equal(ts, pa.scalar(keep_from, pa.int64())))
    return events, EncounterState(buffer, by_segment, kd.now_us)
