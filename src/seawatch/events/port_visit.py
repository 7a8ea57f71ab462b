"""Port visits: a track enters within 3 km of a port, may stop or fall silent, and leaves.

Source: GlobalFishingWatch/pipe-anchorages (``anchorage_cfg.yaml`` and its in/out event
transform; DOMAIN.md §5). A track is *in port* from its first position at most
``entry_distance_km`` from the nearest port until its first position more than
``exit_distance_km`` away (hysteresis: the 3–4 km band changes nothing). In port, a *stop*
begins at a speed below ``stop_begin_speed_kn`` and ends above ``stop_end_speed_kn``; a *gap*
is a silence longer than ``min_gap_s`` between two positions of which the first was in port.
GFW's confidence: 1 entry and/or exit only, 2 stop or gap only, 3 entry or exit with a stop or
gap, 4 entry and exit with a stop or gap; the event's ``confidence`` is level / 4.
Needs ``distance_to_port_km`` (geography enrichment, against built-in, imported and derived
ports and anchorages: docs/geography.md); without it nothing is emitted (logged).
In: positions (``ts``, ``mmsi``, ``lat``, ``lon``, ``distance_to_port_km``; optional
``segment_id``, ``speed_kn``, ``port_id``, ``port_name``). Out: events of type ``port_visit``;
visits still in port at the end of the data are open.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from numba import njit

from seawatch.events.params import param
from seawatch.events.schema import build_events
from seawatch.events.tracks_in import (
    F64,
    I64,
    TRACK_EXPIRY_S,
    US_PER_S,
    Keyed,
    TrackArrays,
    expiring,
    prepare,
    utc_iso,
    without,
)
from seawatch.tracks.compiled import HELPER

log = logging.getLogger(__name__)
NO = np.iinfo(np.int64).min
# integer state columns
LAST_TS, IN_PORT, V_START, V_ENTRY, V_ROW, V_N, STOPPED, STOP_START = 0, 1, 2, 3, 4, 5, 6, 7
N_STOPS, N_GAPS, STOP_US, MAX_GAP_US, MMSI = 8, 9, 10, 11, 12
# float state columns
V_LAT, V_LON, V_DIST, MIN_DIST = 0, 1, 2, 3
# output columns (int): track, start, end, entry, n_stops, n_gaps, n_pos, stop_us, max_gap_us,
# mmsi, start_row; (float): lat, lon, start distance, min distance, exit distance
O_K, O_START, O_END, O_ENTRY, O_STOPS, O_GAPS, O_N, O_STOP_US, O_GAP_US, O_MMSI, O_ROW = range(11)
PORT_COLUMNS = ("speed_kn", "port_id", "port_name")


@dataclass(frozen=True)
class PortVisitParams:
    """Parameters of the port-visit rule (defaults: GFW pipe-anchorages ``anchorage_cfg.yaml``)."""

    entry_distance_km: float = param(3.0, "a position at this distance or nearer enters the port")
    exit_distance_km: float = param(4.0, "a position farther than this leaves it (hysteresis)")
    stop_begin_speed_kn: float = param(0.2, "a stop begins below this speed")
    stop_end_speed_kn: float = param(0.5, "a stop ends above this speed")
    min_gap_s: float = param(4 * 3600.0, "in-port silence longer than this is a port gap")
    min_confidence: int = param(
        2,
        "lowest level emitted (GFW's published visits are ≥ 2; 1 adds vessels passing by)",
        minimum=1,
        maximum=4,
    )
    track_expiry_s: float = param(
        TRACK_EXPIRY_S,
        "a segment silent this long while in port has ended: the visit is closed at its last "
        "position, `exit` false, `ended_by` `track_ended`",
    )


@dataclass(frozen=True)
class PortVisitState(TrackArrays):
    """Per track: last time, in port or not, and the open visit's counts and port."""


def _spec() -> dict[str, tuple[Any, ...]]:
    return {
        "i": (np.int64, 0, 13),
        "f": (np.float64, np.nan, 4),
        "port_id": (object, None),
        "port_name": (object, None),
    }


@njit(**HELPER)
def _stop(k: int, t: int, speed: float, iv: I64, begin_kn: float, end_kn: float) -> None:
    if iv[k, STOPPED] == 0 and speed < begin_kn:  # NaN (unknown speed) changes nothing
        iv[k, STOPPED] = 1
        iv[k, STOP_START] = t
        iv[k, N_STOPS] += 1
    elif iv[k, STOPPED] == 1 and speed > end_kn:
        iv[k, STOPPED] = 0
        iv[k, STOP_US] += t - iv[k, STOP_START]


@njit(cache=True, nogil=True)
def _kernel(
    track: I64,
    ts: I64,
    lat: F64,
    lon: F64,
    mmsi: I64,
    dist: F64,
    speed: F64,
    iv: I64,
    fv: F64,
    entry_km: float,
    exit_km: float,
    begin_kn: float,
    end_kn: float,
    gap_us: int,
    oi: I64,
    of: F64,
) -> int:  # pragma: no cover - compiled
    n = 0
    for i in range(len(ts)):
        k = track[i]
        t = ts[i]
        last = iv[k, LAST_TS]
        if last != NO and t < last:
            continue  # late row: chunks must arrive in time order
        d = dist[i]
        if iv[k, IN_PORT] == 1:
            if t - last > gap_us:
                iv[k, N_GAPS] += 1
                iv[k, MAX_GAP_US] = max(iv[k, MAX_GAP_US], t - last)
            if d > exit_km:  # NaN (unknown distance) changes nothing
                if iv[k, STOPPED] == 1:
                    iv[k, STOP_US] += t - iv[k, STOP_START]
                    iv[k, STOPPED] = 0
                oi[n, O_K] = k
                oi[n, O_START] = iv[k, V_START]
                oi[n, O_END] = t
                oi[n, O_ENTRY] = iv[k, V_ENTRY]
                oi[n, O_STOPS] = iv[k, N_STOPS]
                oi[n, O_GAPS] = iv[k, N_GAPS]
                oi[n, O_N] = iv[k, V_N]
                oi[n, O_STOP_US] = iv[k, STOP_US]
                oi[n, O_GAP_US] = iv[k, MAX_GAP_US]
                oi[n, O_MMSI] = mmsi[i]
                oi[n, O_ROW] = iv[k, V_ROW]
                of[n, 0] = fv[k, V_LAT]
                of[n, 1] = fv[k, V_LON]
                of[n, 2] = fv[k, V_DIST]
                of[n, 3] = fv[k, MIN_DIST]
                of[n, 4] = d
                n += 1
                iv[k, IN_PORT] = 0
            else:
                iv[k, V_N] += 1
                if d < fv[k, MIN_DIST]:
                    fv[k, MIN_DIST] = d
                _stop(k, t, speed[i], iv, begin_kn, end_kn)
        elif d <= entry_km:
            iv[k, IN_PORT] = 1
            iv[k, V_START] = t
            iv[k, V_ENTRY] = 1 if last != NO else 0  # a track's first position: no entry seen
            iv[k, V_ROW] = i
            iv[k, V_N] = 1
            iv[k, STOPPED] = 0
            iv[k, N_STOPS] = 0
            iv[k, N_GAPS] = 0
            iv[k, STOP_US] = 0
            iv[k, MAX_GAP_US] = 0
            fv[k, V_LAT] = lat[i]
            fv[k, V_LON] = lon[i]
            fv[k, V_DIST] = d
            fv[k, MIN_DIST] = d
            _stop(k, t, speed[i], iv, begin_kn, end_kn)
        iv[k, LAST_TS] = t
        iv[k, MMSI] = mmsi[i]
    return n


def levels(entry: npt.NDArray[Any], exit_: npt.NDArray[Any], stop_or_gap: npt.NDArray[Any]) -> I64:
    """GFW's confidence levels 0–4 (0: no evidence at all, never emitted)."""
    ends = entry.astype(np.int64) + exit_.astype(np.int64)
    with_sg = np.where(ends == 2, 4, np.where(ends == 1, 3, 2))
    without = np.where(ends >= 1, 1, 0)
    return np.asarray(np.where(stop_or_gap, with_sg, without), dtype=np.int64)


def _ports(kd: Keyed, rows: I64, tracks: I64, state_cols: dict[str, Any]) -> dict[str, list[Any]]:
    """port_id/port_name of each visit: from its first row when in this chunk, else from state."""
    out: dict[str, list[Any]] = {}
    here = rows >= 0
    for name in ("port_id", "port_name"):
        values: list[Any] = [state_cols[name][k] for k in tracks.tolist()]
        if name in kd.rows.column_names and here.any():
            taken = kd.rows.column(name).take(kd.order[rows[here]]).to_pylist()
            for j, v in zip(np.flatnonzero(here).tolist(), taken, strict=True):
                values[j] = v
        out[name] = values
    return out


def _events(
    oi: I64,
    of: F64,
    kd: Keyed,
    ports: dict[str, list[Any]],
    params: PortVisitParams,
    closed: bool,
    exited: bool | None = None,
) -> pa.Table:
    """Output rows to events; ``exited`` False: closed because the track ended in port."""
    exited = closed if exited is None else exited
    entry = oi[:, O_ENTRY] == 1
    exit_ = np.full(len(oi), exited)
    level = levels(entry, exit_, (oi[:, O_STOPS] + oi[:, O_GAPS]) > 0)
    keep = level >= max(1, params.min_confidence)
    p = asdict(params)
    details: list[dict[str, Any]] = []
    for j in np.flatnonzero(keep).tolist():
        d: dict[str, Any] = {
            "port_id": ports["port_id"][j],
            "port_name": ports["port_name"][j],
            "confidence_level": int(level[j]),
            "entry": bool(entry[j]),
            "exit": exited,
            "n_stops": int(oi[j, O_STOPS]),
            "n_gaps": int(oi[j, O_GAPS]),
            "n_positions": int(oi[j, O_N]),
            "stop_duration_s": int(oi[j, O_STOP_US]) / US_PER_S,
            "max_gap_s": int(oi[j, O_GAP_US]) / US_PER_S,
            "distance_to_port_start_km": float(of[j, 2]),
            "min_distance_to_port_km": float(of[j, 3]),
            "params": p,
        }
        if closed:
            d["duration_s"] = (int(oi[j, O_END]) - int(oi[j, O_START])) / US_PER_S
            d["exit_distance_to_port_km"] = float(of[j, 4]) if exited else None
            if not exited:
                d["ended_by"] = "track_ended"  # silent for track_expiry_s while in port
        else:
            d["last_in_port_ts"] = utc_iso(int(oi[j, O_END]))
            d["data_end"] = utc_iso(kd.now_us)
        details.append(d)
    oi, of, level = oi[keep], of[keep], level[keep]
    kept = np.flatnonzero(keep).tolist()
    return build_events(
        "port_visit",
        start_us=oi[:, O_START],
        end_us=oi[:, O_END] if closed else None,
        mmsi=oi[:, O_MMSI],
        lat=of[:, 0],
        lon=of[:, 1],
        confidence=level / 4.0,
        details=details,
        segment_ids=kd.segment_lists(oi[:, O_K]),
        discriminators=[str(ports["port_id"][j] or "") for j in kept],
    )


def _snapshot(iv: I64, fv: F64) -> tuple[I64, F64]:
    """Visits still in port at the end of the data, as output rows (end = last position)."""
    k = np.flatnonzero(iv[:, IN_PORT] == 1)
    oi = np.zeros((len(k), 11), dtype=np.int64)
    oi[:, O_K] = k
    oi[:, O_START] = iv[k, V_START]
    oi[:, O_END] = iv[k, LAST_TS]
    oi[:, O_ENTRY] = iv[k, V_ENTRY]
    oi[:, O_STOPS] = iv[k, N_STOPS]
    oi[:, O_GAPS] = iv[k, N_GAPS]
    oi[:, O_N] = iv[k, V_N]
    open_stop = np.where(iv[k, STOPPED] == 1, iv[k, LAST_TS] - iv[k, STOP_START], 0)
    oi[:, O_STOP_US] = iv[k, STOP_US] + open_stop
    oi[:, O_GAP_US] = iv[k, MAX_GAP_US]
    oi[:, O_MMSI] = iv[k, MMSI]
    oi[:, O_ROW] = iv[k, V_ROW]
    of = np.full((len(k), 5), np.nan)
    of[:, :4] = fv[k][:, [V_LAT, V_LON, V_DIST, MIN_DIST]]
    return oi, of


def detect(
    positions: pa.Table,
    params: PortVisitParams = PortVisitParams(),
    state: PortVisitState | None = None,
    *,
    open_events: bool = True,
    watermark_us: int | None = None,
) -> tuple[pa.Table, PortVisitState]:
    """Port visits closed in ``positions`` and (``open_events``) visits still in port."""
    n_old = 0 if state is None or not state.cols else len(state.cols["i"])
    kd = prepare(positions, state, _spec(), keep=PORT_COLUMNS, watermark_us=watermark_us)
    iv, fv = kd.cols["i"], kd.cols["f"]
    iv[n_old:, LAST_TS] = NO
    iv[:, V_ROW] = -1  # visits begun in earlier chunks take their port from the state
    dist = kd.column("distance_to_port_km")
    m = len(kd.ts_us)
    if dist is None:
        if m:
            log.info("port_visit needs distance_to_port_km; no events from %d rows", m)
        dist = np.full(m, np.nan)
    speed = kd.column("speed_kn")
    if speed is None:
        if m:
            log.info("port_visit: no speed_kn column, so no port stops are found")
        speed = np.full(m, np.nan)
    oi, of = np.empty((m, 11), dtype=np.int64), np.empty((m, 5))
    n = _kernel(
        kd.track,
        kd.ts_us,
        kd.lat,
        kd.lon,
        kd.mmsi,
        dist,
        speed,
        iv,
        fv,
        params.entry_distance_km,
        params.exit_distance_km,
        params.stop_begin_speed_kn,
        params.stop_end_speed_kn,
        round(params.min_gap_s * US_PER_S),
        oi,
        of,
    )
    oi, of = oi[:n], of[:n]
    closed = _events(oi, of, kd, _ports(kd, oi[:, O_ROW], oi[:, O_K], kd.cols), params, True)
    new_here = np.flatnonzero((iv[:, IN_PORT] == 1) & (iv[:, V_ROW] >= 0))
    fresh = _ports(kd, iv[new_here, V_ROW], new_here, kd.cols)
    for name in ("port_id", "port_name"):
        kd.cols[name][new_here] = np.array(fresh[name] + [None], dtype=object)[:-1]
    si, sf = _snapshot(iv, fv)
    si[:, O_ROW] = -1  # ports of open visits are now in the state
    gone = expiring(kd, iv[:, LAST_TS], params.track_expiry_s)
    ended = np.isin(si[:, O_K], gone)
    parts = [closed]
    if ended.any():  # visits of tracks that ended in port: closed at their last position
        ei, ef = si[ended], sf[ended]
        ports = _ports(kd, ei[:, O_ROW], ei[:, O_K], kd.cols)
        parts.append(_events(ei, ef, kd, ports, params, True, exited=False))
    if open_events:
        oi2, of2 = si[~ended], sf[~ended]
        ports = _ports(kd, oi2[:, O_ROW], oi2[:, O_K], kd.cols)
        parts.append(_events(oi2, of2, kd, ports, params, False))
    keys, cols = without(kd.keys, kd.cols, gone)
    return pa.concat_tables(parts), PortVisitState(keys, cols, kd.now_us, kd.by_segment)
