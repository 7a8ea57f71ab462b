"""Spoofing signals per MMSI: impossible jumps, one MMSI in two places, on land, invalid MMSI.

Rules (DOMAIN.md §5: "impossible jumps ... positions on land are the usual spoofing signals"):
- ``jump``: consecutive positions of one MMSI farther apart than ``hypot(dt_h, pad_h) ×
  max_speed_kn`` nautical miles — the shape of GFW gpsdio-segment's matcher bound
  (``hypot(hours, 0.25 h) × 25 kn``) with a speed no ship reaches. Consecutive flagged pairs
  merge into one event; ``two_places`` counts the pairs at most ``simultaneous_s`` apart
  (two transmitters sharing one MMSI).
- ``on_land``: consecutive positions with ``on_land`` true (only when that column exists),
  except within ``land_port_margin_km`` of a port (when ``distance_to_port_km`` exists): the
  land mask's ~1 km cells cannot resolve harbour basins and river ports (Rostock, Szczecin,
  Riga, Gothenburg in the Baltic sample), so ships there are not judged on land. A run is
  an event only when the vessel could not have sailed there: it jumped onto the land or off
  it (the ``jump`` bound between the fix before the run and its first fix, or between its
  last fix and the fix after). Waterways narrower than the mask's cells (the Kiel and Suez
  canals, Norwegian fjords, the Hooghly up to Kolkata, 45 km inland) are land in the mask
  and lie up to 64 km from its coast (Suez), farther than spoofed positions often are, so
  no distance inland separates them; a ship reaches them at sailing speed from the sea, a
  spoofed position appears in one leap. ``details.jump_in``/``jump_out`` say which leap.
- ``invalid_mmsi``: once per MMSI, at its first position (:mod:`seawatch.events.mmsi_check`).
Tracks are MMSIs even when ``segment_id`` exists: segmentation splits exactly these vessels.
In: positions. Out: events of type ``spoofing``, ``details.rule`` naming the rule.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
from numba import njit

from seawatch.events.mmsi_check import REASONS, mmsi_problem
from seawatch.events.params import param
from seawatch.events.schema import build_events
from seawatch.events.tracks_in import (
    EARTH_RADIUS_M,
    F64,
    I64,
    Keyed,
    TrackArrays,
    haversine_m,
    prepare,
)
from seawatch.tracks.compiled import HELPER

NO = np.iinfo(np.int64).min
LAST_TS, J_START, J_END, J_N, J_SIM, L_START, L_END, L_N, MMSI, REPORTED, L_JUMP = range(11)
N_INT = 11  # integer columns of the state
LAST_LAT, LAST_LON, J_LAT, J_LON, J_KN, J_DIST, L_LAT, L_LON = range(8)
JUMP, LAND = 0, 1


@dataclass(frozen=True)
class SpoofingParams:
    """Parameters of the spoofing rules (see the module doc for their sources)."""

    max_speed_kn: float = param(  # above any merchant ship
        50.0, "speed of the jump bound (twice the matcher's 25 kn)"
    )
    pad_h: float = param(  # GFW matcher: hypot(hours, 0.25 h)
        0.25, "allowance for position error, hours at `max_speed_kn` (matcher: 0.25 h)"
    )
    simultaneous_s: float = param(  # "at the same time": within one minute
        60.0, "pairs at most this far apart in time count as `n_two_places`"
    )
    land_port_margin_km: float = param(
        10.0,
        "rule `on_land` never fires this near a port (`distance_to_port_km`, when present): "
        "the ~1 km land mask cannot resolve harbour basins and river ports, so ships lying "
        "there looked like positions on land (43 false events in the Argenni Baltic sample: "
        "Rostock, Kiel Canal, Szczecin, Riga, Gothenburg…). `on_land` itself already "
        "excludes quays within 2 km of the coast (docs/geography.md)",
    )


@dataclass(frozen=True)
class SpoofingState(TrackArrays):
    """Per MMSI: last position, the open jump run and on-land run, whether reported invalid."""


@njit(**HELPER)
def _emit(k: int, kind: int, iv: I64, fv: F64, oi: I64, of: F64, n: int) -> int:  # pragma: no cover
    base = J_START if kind == JUMP else L_START
    oi[n, 0] = kind
    oi[n, 1] = iv[k, base]
    oi[n, 2] = iv[k, base + 1]
    oi[n, 3] = iv[k, base + 2]
    oi[n, 4] = iv[k, J_SIM] if kind == JUMP else iv[k, L_JUMP]  # land: 1 jump in, 2 out
    oi[n, 5] = iv[k, MMSI]
    of[n, 0] = fv[k, J_LAT] if kind == JUMP else fv[k, L_LAT]
    of[n, 1] = fv[k, J_LON] if kind == JUMP else fv[k, L_LON]
    of[n, 2] = fv[k, J_KN] if kind == JUMP else 0.0
    of[n, 3] = fv[k, J_DIST] if kind == JUMP else 0.0
    return n + 1


NEAR_M = 1852.0 * (1.0 - 1e-9)  # metres per nautical mile, less a margin over rounding
PATH_OVER = 1.0 + 1e-8
"""The haversine's own rounding error, relative: near antipodal points ``asin`` near 1 loses
about half the digits (~0.1 m in 20,000 km), so the bound is widened by this much."""


@njit(cache=True, nogil=True, inline="always")
def _path_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:  # pragma: no cover
    """An upper bound of :func:`haversine_m`, no trigonometry: along the parallel (at most
    R·Δλ, the short way round) then the meridian (R·Δφ). A step shorter than the allowed
    distance by it is surely no jump, and costs no haversine."""
    dl = abs(math.radians(lon2 - lon1))
    if dl > math.pi:
        dl = 2.0 * math.pi - dl
    return EARTH_RADIUS_M * (abs(math.radians(lat2 - lat1)) + dl)


@njit(cache=True, nogil=True)
def _kernel(
    track: I64,
    ts: I64,
    lat: F64,
    lon: F64,
    mmsi: I64,
    land: I64,
    iv: I64,
    fv: F64,
    max_kn: float,
    pad_h: float,
    sim_us: int,
    oi: I64,
    of: F64,
) -> int:  # pragma: no cover
    n = 0
    bounded = pad_h >= 0.0 and max_kn >= 0.0  # (NaN fails) the bound below holds
    for i in range(len(ts)):
        k, t = track[i], ts[i]
        iv[k, MMSI] = mmsi[i]
        jumped = 0
        if iv[k, LAST_TS] != NO:
            if t < iv[k, LAST_TS]:
                continue
            dt_us = t - iv[k, LAST_TS]
            dt_h = dt_us / 3.6e9
            path_m = _path_m(fv[k, LAST_LAT], fv[k, LAST_LON], lat[i], lon[i])
            # hypot(dt_h, pad_h) is at least max(dt_h, pad_h), and rounding is monotone: a
            # step near by that bound is near by the limit, whose hypot is then not needed
            near = bounded and path_m * PATH_OVER + 1e-3 < max(dt_h, pad_h) * max_kn * NEAR_M
            limit_nm = 0.0 if near else math.hypot(dt_h, pad_h) * max_kn
            near = near or path_m * PATH_OVER + 1e-3 < limit_nm * NEAR_M  # margins: relative, 1 mm
            d_m = 0.0 if near else haversine_m(fv[k, LAST_LAT], fv[k, LAST_LON], lat[i], lon[i])
            if not near and d_m / 1852.0 > limit_nm:
                jumped = 1
                if iv[k, J_START] == NO:
                    iv[k, J_START] = iv[k, LAST_TS]
                    iv[k, J_N] = 0
                    iv[k, J_SIM] = 0
                    fv[k, J_LAT] = fv[k, LAST_LAT]
                    fv[k, J_LON] = fv[k, LAST_LON]
                    fv[k, J_KN] = 0.0
                    fv[k, J_DIST] = 0.0
                iv[k, J_END] = t
                iv[k, J_N] += 1
                if dt_us <= sim_us:
                    iv[k, J_SIM] += 1
                kn = d_m / 1852.0 / dt_h if dt_us > 0 else math.inf
                fv[k, J_KN] = max(fv[k, J_KN], kn)
                fv[k, J_DIST] = max(fv[k, J_DIST], d_m)
            elif iv[k, J_START] != NO:
                n = _emit(k, JUMP, iv, fv, oi, of, n)
                iv[k, J_START] = NO
        if land[i] == 1:
            if iv[k, L_START] == NO:
                iv[k, L_START] = t
                iv[k, L_N] = 0
                iv[k, L_JUMP] = jumped  # 1: it leapt onto the land
                fv[k, L_LAT] = lat[i]
                fv[k, L_LON] = lon[i]
            iv[k, L_END] = t
            iv[k, L_N] += 1
        elif land[i] == 0 and iv[k, L_START] != NO:
            iv[k, L_JUMP] |= 2 * jumped  # 2: it leapt off it
            if iv[k, L_JUMP] != 0:  # else it sailed in and out: a waterway the mask lacks
                n = _emit(k, LAND, iv, fv, oi, of, n)
            iv[k, L_START] = NO
        iv[k, LAST_TS] = t
        fv[k, LAST_LAT] = lat[i]
        fv[k, LAST_LON] = lon[i]
    return n


@njit(cache=True, nogil=True)
def _snapshot(iv: I64, fv: F64, oi: I64, of: F64) -> int:  # pragma: no cover
    n = 0
    for k in range(iv.shape[0]):
        if iv[k, J_START] != NO:
            n = _emit(k, JUMP, iv, fv, oi, of, n)
        if iv[k, L_START] != NO and iv[k, L_JUMP] != 0:
            n = _emit(k, LAND, iv, fv, oi, of, n)
    return n


def _runs(oi: Any, of: Any, params: SpoofingParams, closed: bool) -> pa.Table:
    p = asdict(params)
    details: list[dict[str, Any]] = []
    conf: list[float] = []
    for j in range(len(oi)):
        if oi[j, 0] == JUMP:
            kn = float(of[j, 2])
            d: dict[str, Any] = {
                "rule": "jump",
                "n_jumps": int(oi[j, 3]),
                "n_two_places": int(oi[j, 4]),
                "max_implied_speed_kn": None if math.isinf(kn) else round(kn, 3),
                "max_distance_m": round(float(of[j, 3]), 3),
            }
            conf.append(1.0 if oi[j, 3] >= 2 or oi[j, 4] > 0 else 0.5)
        else:
            d = {
                "rule": "on_land",
                "n_positions": int(oi[j, 3]),
                "jump_in": bool(oi[j, 4] & 1),
                "jump_out": bool(oi[j, 4] & 2),
            }
            conf.append(1.0 if oi[j, 3] >= 2 else 0.5)
        details.append({**d, "params": p})
    return build_events(
        "spoofing",
        start_us=oi[:, 1],
        end_us=oi[:, 2] if closed else None,
        mmsi=oi[:, 5],
        lat=of[:, 0],
        lon=of[:, 1],
        confidence=conf,
        details=details,
        discriminators=[d["rule"] for d in details],
    )


def _invalid(kd: Keyed, params: SpoofingParams) -> pa.Table:
    iv = kd.cols["i"]
    first = np.ones(len(kd.track), dtype=bool)
    first[1:] = kd.track[1:] != kd.track[:-1]
    rows = np.flatnonzero(first & (iv[kd.track, REPORTED] == 0))
    rows = rows[mmsi_problem(kd.mmsi[rows]) != 0]
    iv[kd.track[rows], REPORTED] = 1
    reasons = mmsi_problem(kd.mmsi[rows])
    p = asdict(params)
    return build_events(
        "spoofing",
        start_us=kd.ts_us[rows],
        end_us=kd.ts_us[rows],
        mmsi=kd.mmsi[rows],
        lat=kd.lat[rows],
        lon=kd.lon[rows],
        confidence=[1.0] * len(rows),
        details=[
            {"rule": "invalid_mmsi", "reason": REASONS[int(r)], "params": p}
            for r in reasons.tolist()
        ],
        discriminators=["invalid_mmsi"] * len(rows),
    )


def detect(
    positions: pa.Table,
    params: SpoofingParams = SpoofingParams(),
    state: SpoofingState | None = None,
    *,
    open_events: bool = True,
    watermark_us: int | None = None,
) -> tuple[pa.Table, SpoofingState]:
    """Spoofing signals closed in ``positions`` and (``open_events``) runs still open."""
    n_old = 0 if state is None or not state.cols else len(state.cols["i"])
    if state is not None and state.cols and state.cols["i"].shape[1] < N_INT:
        old = state.cols["i"]  # a state saved before L_JUMP existed: no run leapt
        state = replace(state, cols={**state.cols, "i": np.pad(old, ((0, 0), (0, 1)))})
    kd = prepare(
        positions,
        state,
        {"i": (np.int64, 0, N_INT), "f": (np.float64, 0.0, 8)},
        key="mmsi",
        watermark_us=watermark_us,
    )
    iv, fv = kd.cols["i"], kd.cols["f"]
    iv[n_old:, [LAST_TS, J_START, L_START]] = NO
    land_col = kd.column("on_land")
    land = np.full(len(kd.ts_us), -1, dtype=np.int64)
    if land_col is not None:
        land[land_col == 1.0] = 1
        land[land_col == 0.0] = 0
        port_km = kd.column("distance_to_port_km")
        if port_km is not None:
            land[(land == 1) & (port_km <= params.land_port_margin_km)] = 0
    invalid = _invalid(kd, params)
    m = len(kd.ts_us)
    # a row can close a jump run and an on-land run at once: up to two events per row (the
    # compiled loop writes without bounds checks; one row each corrupted the heap)
    oi, of = np.empty((2 * m + 1, 6), dtype=np.int64), np.empty((2 * m + 1, 4))
    sim_us = round(params.simultaneous_s * 1e6)
    n = _kernel(
        kd.track,
        kd.ts_us,
        kd.lat,
        kd.lon,
        kd.mmsi,
        land,
        iv,
        fv,
        params.max_speed_kn,
        params.pad_h,
        sim_us,
        oi,
        of,
    )
    events = [invalid, _runs(oi[:n], of[:n], params, True)]
    if open_events:
        si, sf = np.empty((2 * len(iv) + 1, 6), dtype=np.int64), np.empty((2 * len(iv) + 1, 4))
        ns = _snapshot(iv, fv, si, sf)
        events.append(_runs(si[:ns], sf[:ns], params, False))
    return pa.concat_tables(events), SpoofingState(kd.keys, kd.cols, kd.now_us, False)
