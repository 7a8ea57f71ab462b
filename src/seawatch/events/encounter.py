"""Encounters (possible transshipment): two vessels close together, slow, away from port.

Source: GlobalFishingWatch/pipe-encounters and Miller et al. 2018, Front. Mar. Sci. Each track
is resampled on a fixed 10-minute UTC grid (multiples of ``step_s`` since the epoch) by linear
interpolation between consecutive positions at most ``max_interp_gap_s`` apart; the speed of
a grid point is the implied speed of that pair. At each grid step, points are hashed into
~1 km cells (x = lon·cos(lat), y = lat, in metres) and only points in the same or adjacent
cells are compared: never all pairs. A step where two tracks of different MMSIs are within
``max_distance_m``, neither on land (``on_land``) nor nearer than ``min_distance_to_port_km``
to a port or anchorage (``distance_to_port_km``: built-in, imported or derived ports,
docs/geography.md; each filter only when its column exists), is *close*.
Runs of consecutive close steps of at least ``min_duration_s`` are kept, kept runs of a pair
less than ``merge_gap_s`` apart are merged, and an event survives if both vessels' median
speeds over its close steps are below ``max_median_speed_kn``.

A run continues across a *shared silence*: two close steps of a pair at most
``max_shared_silence_s`` apart with no grid point of either vessel between them (both unheard
for longer than ``max_interp_gap_s``, close when they fell silent and when heard again: a
transshipment with AIS switched off together). As in pipe-encounters, whose adjacency runs
go on while the vessel has no resampled position, the silence counts in the duration; its
length is ``details.silent_s``. Longitudes are interpolated the short way round, the cells
wrap at ±180° (grid points near +180° are also hashed 360° west) and the event's longitude
is a circular mean, so a pair either side of the antimeridian meets.

Incremental: the state keeps the positions of the last ``max(merge_gap_s,
max_shared_silence_s) + 2 × max_interp_gap_s + 2 × step_s`` before the latest timestamp
and, for the two tracks of an unsettled run only, back to the start of that run, but of
each track's grid step only those resampling reads (the one on the grid, the first and the
last inside: :func:`~.encounter_kernels.needed_rows`): bounded by the tracks heard in that
window, not by how often they were heard, plus the tracks of the encounters still running.
An encounter is closed once no later data can extend it; until then it is returned open (``end_ts``
null), as every detector's snapshot. A chunk that ends in the grid step the previous one
ended in (a live batch: a tenth of a second of a 10-minute step) is only added to the
state, and worked on with the next chunk that reaches a new step: the same events (one call
over two chunks gives what two calls give), without resampling the whole state per batch.
In: positions (``ts``, ``mmsi``, ``lat``, ``lon``; optional ``segment_id``,
``distance_to_port_km``, ``on_land``). Out: one event per pair, ``mmsi`` < ``other_mmsi``.
The compiled loops (resampling, close pairs by cell, runs of close steps) are in
:mod:`.encounter_kernels`; this module holds the rule's parameters, state and tables.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.events.encounter_cells import close_pairs
from seawatch.events.encounter_kernels import grid, needed_rows, runs, speeds, wrapped
from seawatch.events.params import param
from seawatch.events.schema import build_events, empty_events, json_objects
from seawatch.events.tracks_appended import prepare_appended
from seawatch.events.tracks_in import (
    F64,
    I64,
    US_PER_S,
    EventsInputError,
    prepare,
    utc_iso,
)

CELL_M = 1000.0  # cell side: ≥ 2 × the default 500 m, so neighbours lie in adjacent cells
THIN_ROWS = 50_000
"""Rows added inside one grid step before the buffer is thinned (then: once it doubles)."""
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
    max_shared_silence_s: float = param(  # pipe-encounters: runs go on across silences
        4 * 3600.0,
        "a run goes on across a silence of both vessels up to this long, when they are "
        "close at both ends (AIS off together); the state keeps this much more traffic "
        "when it exceeds `merge_gap_s`",
    )


@dataclass(frozen=True)
class EncounterState:
    """Raw positions still needed by later chunks, and the track key in use."""

    buffer: pa.Table | None = None
    by_segment: bool | None = None
    now_us: int = -(2**62)  # latest timestamp seen by the previous call
    laid_out: int = 0
    """Rows of the buffer when it was last thinned (:func:`.encounter_kernels.needed_rows`):
    chunks added inside one grid step are thinned once they double it (a step of a live
    feed's rows is not kept whole until the next step)."""


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
    gk, gs, glat, glon, grow, ga = grid(
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
    p, q, d = grid_pairs(gk, gs, glat, glon, ga, gmmsi, len(kd.keys), params)
    gv = speeds(grow, kd.ts_us, kd.lat, kd.lon, p, q)  # only the close pairs' are read
    return gk, gs, glat, glon, gv, gmmsi, p, q, d


def grid_pairs(
    gk: I64, gs: I64, glat: F64, glon: F64, ga: F64, gmmsi: I64, n_keys: int,
    params: EncounterParams,
) -> tuple[I64, I64, F64]:  # fmt: skip
    """The close pairs of grid points (track ``gk`` of ``n_keys``, step, position, flag,
    MMSI), lower MMSI first, sorted by (track, other track, step)."""
    cell_m = max(CELL_M, 2.0 * params.max_distance_m)  # a wider max_distance_m: wider cells
    src = np.concatenate([np.arange(len(gk), dtype=np.int64), wrapped(glat, glon, cell_m)])
    p, q, d = close_pairs(gs, glat, glon, ga, gmmsi, src, len(gk), cell_m, params.max_distance_m)
    if len(src) > len(gk):  # within metres of a pole a copy can meet what its original met
        _, once = np.unique(np.stack([p, q]), axis=1, return_index=True)
        p, q, d = p[once], q[once], d[once]
    srt = _pair_order(gk[p], gk[q], gs[p], n_keys)
    return p[srt], q[srt], d[srt]


def _pair_order(kp: I64, kq: I64, sp: I64, n_keys: int) -> I64:
    """Order of close pairs by (track, other track, step): one key when it fits in 62 bits
    (a pair of tracks has one grid point per step, so the keys are distinct)."""
    if not len(sp):
        return np.empty(0, np.int64)
    s0, span = int(sp.min()), int(sp.max()) - int(sp.min()) + 1
    bound = n_keys * n_keys * span
    if bound < 1 << 62:
        key = (kp * n_keys + kq) * span + (sp - s0)
        nb = (len(sp) - 1).bit_length()
        if bound < 1 << (62 - nb):  # each key with its index in the low bits: a plain sort
            key <<= nb
            key |= np.arange(len(sp), dtype=np.int64)
            key.sort()  # distinct keys: the argsort's order, ~3x faster
            out: I64 = key & ((1 << nb) - 1)
            return out
        return np.argsort(key)
    return np.lexsort((sp, kq, kp)).astype(np.int64)


def _encounters(
    kd: Any, params: EncounterParams, prev_now: int, open_events: bool = True
) -> tuple[pa.Table, I64]:
    """Closed and open encounters of ``kd``'s rows, and which of them (in ``kd.rows``' order)
    a later call still needs: the last ``max(merge_gap_s, max_shared_silence_s) + 2 ×
    max_interp_gap_s + 2 × step_s``
    of every track, and all of a track's rows since the start of its unsettled runs."""
    gk, gs, glat, glon, gv, _gmmsi, p, q, d = _close_steps(kd, params)
    step_us = int(params.step_s) * US_PER_S
    reach_s = max(params.merge_gap_s, params.max_shared_silence_s)
    lag = int((reach_s + params.max_interp_gap_s) * US_PER_S) + step_us
    oi, of = np.empty((len(p), 7), np.int64), np.empty((len(p), 5))
    keep = np.full(len(kd.keys), kd.now_us // step_us, np.int64)
    n = runs(
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
        int(params.max_shared_silence_s // params.step_s),
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
    needed = needed_rows(kd.track, kd.ts_us, kd.order, keep_from.astype(np.int64), step_us)
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
        "silent_s": oi[:, 6] * params.step_s,
        "median_distance_m": np.round(of[:, 2], 3),
        "median_speed_kn": np.round(of[:, 3], 6),
        "other_median_speed_kn": np.round(of[:, 4], 6),
        "params": asdict(params),
    }
    if not closed:
        fields["last_close_ts"] = [utc_iso(int(s) * step_us) for s in oi[:, 1]]
    segs: Any = [None] * len(oi)
    discs: Any = [""] * len(oi)
    if keys is not None:  # [track's, other's] and "track's,other's", no list per event
        both = np.empty(2 * len(oi), np.int64)
        both[0::2], both[1::2] = oi[:, 3], oi[:, 4]
        offsets: Any = pa.array(np.arange(0, 2 * len(oi) + 1, 2, dtype=np.int32))
        segs = pa.ListArray.from_arrays(offsets, keys.take(both))
        join: Any = pc.binary_join_element_wise
        discs = join(keys.take(oi[:, 3]), keys.take(oi[:, 4]), ",")
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
        discriminators=discs,
    )


def _track_mmsi(kd: Any) -> I64:
    out = np.zeros(len(kd.keys), np.int64)
    out[kd.track] = kd.mmsi
    return out


def _same_step(
    positions: pa.Table, params: EncounterParams, prev_now: int, watermark_us: int | None
) -> bool:
    """Whether ``positions`` (and the watermark) end in the grid step the previous call
    ended in: then no grid point is complete that was not at that call, and the rows wait
    for the next call in the state (one call over both chunks gives the events of two)."""
    step_us = int(params.step_s) * US_PER_S
    newest = pc.max(positions.column("ts").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()))
    now = max(prev_now, watermark_us or prev_now, newest.as_py() or prev_now)
    return now // step_us == prev_now // step_us


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
    kd = None
    if state.buffer is not None:
        if not open_events and _same_step(positions, params, state.now_us, watermark_us):
            rows = pa.concat_tables([state.buffer, rows], promote_options="permissive")
            laid_out = state.laid_out
            if rows.num_rows > 2 * laid_out + THIN_ROWS:
                rows = _thinned(rows, params, watermark_us)
                laid_out = rows.num_rows
            return empty_events(), EncounterState(rows, by_segment, state.now_us, laid_out)
        kd = prepare_appended(state.buffer, positions, watermark_us)  # the chunk's as prepared
        if kd is None:  # columns differ: prepare the concatenation
            rows = pa.concat_tables([state.buffer, rows], promote_options="permissive")
    if kd is None:
        kd = prepare(rows, None, {}, watermark_us=watermark_us)
    if len(kd.ts_us) == 0:
        return empty_events(), EncounterState(rows, by_segment, state.now_us)
    events, needed = _encounters(kd, params, state.now_us, open_events)
    buffer = kd.rows.filter(pa.array(needed))
    return events, EncounterState(buffer, by_segment, kd.now_us, buffer.num_rows)


def _thinned(rows: pa.Table, params: EncounterParams, watermark_us: int | None) -> pa.Table:
    """``rows`` (a state's buffer and chunks added since) without those no grid point
    depends on (:func:`~.encounter_kernels.needed_rows`)."""
    kd = prepare(rows, None, {}, watermark_us=watermark_us)
    every = np.full(len(kd.keys), np.iinfo(np.int64).min, np.int64)
    keep = needed_rows(kd.track, kd.ts_us, kd.order, every, int(params.step_s) * US_PER_S)
    out: pa.Table = kd.rows.filter(pa.array(keep))
    return out
