"""Zone entries and exits: a track passes into, or out of, a polygon of a zone layer.

Source: Skylight "Entry" and "Speed Range" events (first position inside a user area; speed
rules inside an area), DOMAIN.md §5. Geography enrichment tags each position with one
``zone_<layer>`` column per layer (EEZ, territorial sea, area of interest): the polygon row
holding it, null or -1 outside. A :class:`ZoneRule` says which positions count as *inside*:
in a polygon of the rule's layers and zones, by a vessel of the rule's ship types, not of
its excluded flags (from the MMSI's MID), faster than its ``min_speed_kn``. Each change of
the polygon a track is matched in gives point events (``start_ts`` = ``end_ts``, the first
position after the change): ``zone_exit`` of the old polygon, then ``zone_entry`` of the new.
An entry needs a position of the track outside before it: a track already inside at its
first decided position (a segment's first, or the MMSI's first without ``segment_id``) gives
``zone_present`` instead, as nobody saw it enter. So "fishing vessel of another flag inside
this EEZ" is ``ZoneRule("foreign_fishing", layers=("eez",), zones=(k,), ship_types=(30,),
exclude_flags=("NOR",))`` and "speed above 12 kn inside this area" is ``ZoneRule("fast",
layers=("aoi",), min_speed_kn=12.0)``.
In: positions (``ts``, ``mmsi``, ``lat``, ``lon``, ``zone_<layer>``...; optional
``segment_id``, ``speed_kn``, ``ship_type``). Out: events ``zone_entry``, ``zone_present``
and ``zone_exit``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from seawatch.errors import ConfigError
from seawatch.events.params import param
from seawatch.events.schema import build_events, empty_events
from seawatch.events.tracks_in import (
    I64,
    TRACK_EXPIRY_S,
    Keyed,
    TrackArrays,
    expiring,
    prepare,
    without,
)
from seawatch.tracks.mid import flag_of

NO = np.iinfo(np.int64).min
UNSEEN = -2  # rule state of a track before its first decided position
EXIT, ENTRY, PRESENT = 0, 1, 2  # kinds of transition
LAST_TS, SHIP, MMSI = 0, 1, 2
PREFIX = "zone_"
B = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ZoneRule:
    """Which positions count as inside; every filter left empty (or None) lets all through."""

    name: str = "any"  # in details and the event id
    layers: tuple[str, ...] = ()  # zone layers (the <layer> of zone_<layer>); () = every layer
    zones: tuple[int, ...] = ()  # polygon rows of those layers; () = every polygon
    ship_types: tuple[int, ...] = ()  # AIS ship type codes (30 = fishing); () = any vessel
    exclude_flags: tuple[str, ...] = ()  # ISO 3166-1 alpha-3 flags from the MID left out
    min_speed_kn: float | None = None  # inside only when speed_kn is above this


@dataclass(frozen=True)
class ZoneParams:
    """The rules to watch (default: every polygon of every layer, any vessel)."""

    rules: tuple[ZoneRule, ...] = param(
        (ZoneRule(),), "rules watched, each on each of its layers (names must be unique)"
    )
    track_expiry_s: float = param(
        TRACK_EXPIRY_S, "a segment silent this long has ended and its state is dropped"
    )

    def __post_init__(self) -> None:
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise ConfigError(f"zone rule names must be unique, got {names}; rename the rules")


@dataclass(frozen=True)
class ZoneState(TrackArrays):
    """Per track: last time, last known ship type, and per (layer, rule) the matched polygon."""


@njit(cache=True, nogil=True)
def _walk(track: I64, ts: I64, ship: I64, mmsi: I64, iv: I64, ok: B, eff: I64) -> None:
    """Mark late rows; carry each track's last known ship type forward."""
    for i in range(len(ts)):  # pragma: no cover - compiled
        k = track[i]
        last = iv[k, LAST_TS]
        if last != NO and ts[i] < last:
            ok[i] = False  # late row: chunks must arrive in time order
            continue
        ok[i] = True
        if ship[i] >= 0:
            iv[k, SHIP] = ship[i]
        eff[i] = iv[k, SHIP]
        iv[k, LAST_TS] = ts[i]
        iv[k, MMSI] = mmsi[i]


@njit(cache=True, nogil=True)
def _transitions(track: I64, use: B, matched: I64, st: I64, out: I64) -> int:
    """Changes of matched polygon: rows (row, kind, zone, other zone); kind EXIT, ENTRY, or
    PRESENT (matched at the track's first decided row)."""
    n = 0
    for i in range(len(track)):  # pragma: no cover - compiled
        if not use[i]:
            continue
        k = track[i]
        z = matched[i]
        prev = st[k]
        if prev == z:
            continue
        if prev >= 0:
            out[n, 0], out[n, 1], out[n, 2], out[n, 3] = i, EXIT, prev, z
            n += 1
        if z >= 0:
            kind = PRESENT if prev == UNSEEN else ENTRY
            out[n, 0], out[n, 1], out[n, 2], out[n, 3] = i, kind, z, max(prev, -1)
            n += 1
        st[k] = z
    return n


def _state_name(layer: str, rule: ZoneRule) -> str:
    return f"m:{layer}:{rule.name}"


def _matched(kd: Keyed, layer: str, rule: ZoneRule, ship: I64, flags: Any) -> tuple[I64, B]:
    """Polygon each row is matched in (-1 none) and whether the row decides it."""
    col = kd.column(PREFIX + layer)
    assert col is not None
    zone = np.where(np.isnan(col) | (col < 0), -1, np.nan_to_num(col)).astype(np.int64)
    inside = zone >= 0
    if rule.zones:
        inside &= np.isin(zone, np.asarray(rule.zones, dtype=np.int64))
    ok = inside.copy()
    if rule.ship_types:
        ok &= np.isin(ship, np.asarray(rule.ship_types, dtype=np.int64))  # unknown (-1) fails
    if rule.exclude_flags:
        excluded = pc.is_in(flags, value_set=pa.array(list(rule.exclude_flags), pa.string()))
        ok &= ~np.asarray(excluded.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    decided = np.ones(len(zone), dtype=bool)
    if rule.min_speed_kn is not None:
        speed = kd.column("speed_kn")
        speed = speed if speed is not None else np.full(len(zone), np.nan)
        decided = ~(inside & np.isnan(speed))  # unknown speed inside decides nothing
        ok &= speed > rule.min_speed_kn
    return np.where(ok, zone, -1), decided


def _events(
    kd: Keyed, hits: I64, layer: str, rule: ZoneRule, ship: I64, params: ZoneParams
) -> list[pa.Table]:
    speed = kd.column("speed_kn")
    rows = hits[:, 0]
    flags = flag_of(pa.array(kd.mmsi[rows], pa.int64())).to_pylist()
    p = {"rule": asdict(rule)}
    out = []
    for kind, event_type, other in (
        (ENTRY, "zone_entry", "previous_zone"),
        (PRESENT, "zone_present", None),
        (EXIT, "zone_exit", "next_zone"),
    ):
        sel = np.flatnonzero(hits[:, 1] == kind)
        details = []
        for j in sel.tolist():
            i = int(rows[j])
            v = None if speed is None or math.isnan(speed[i]) else float(speed[i])
            d: dict[str, Any] = {"layer": layer, "zone": int(hits[j, 2])}
            if other is not None:
                d[other] = None if hits[j, 3] < 0 else int(hits[j, 3])
            d |= {
                "rule": rule.name,
                "speed_kn": v,
                "ship_type": None if ship[i] < 0 else int(ship[i]),
                "flag": flags[j],
                "params": p,
            }
            details.append(d)
        r = rows[sel]
        out.append(
            build_events(
                event_type,
                start_us=kd.ts_us[r],
                end_us=kd.ts_us[r],
                mmsi=kd.mmsi[r],
                lat=kd.lat[r],
                lon=kd.lon[r],
                confidence=np.ones(len(r)),
                details=details,
                segment_ids=[kd.segment_text(int(k)) for k in kd.track[r]],
                discriminators=[f"{layer}|{int(z)}|{rule.name}" for z in hits[sel, 2]],
            )
        )
    return out


def detect(
    positions: pa.Table,
    params: ZoneParams = ZoneParams(),
    state: ZoneState | None = None,
    *,
    open_events: bool = True,
    watermark_us: int | None = None,
) -> tuple[pa.Table, ZoneState]:
    """Zone entries, presences at the start and exits in ``positions`` (point events:
    ``open_events`` has no effect)."""
    del open_events
    layers = sorted(c[len(PREFIX) :] for c in positions.column_names if c.startswith(PREFIX))
    spec: dict[str, tuple[Any, ...]] = {"i": (np.int64, -1, 3)}
    for name in state.cols if state is not None else ():
        spec.setdefault(name, (np.int64, UNSEEN))
    pairs = [(lay, r) for lay in layers for r in params.rules if not r.layers or lay in r.layers]
    for lay, r in pairs:
        spec[_state_name(lay, r)] = (np.int64, UNSEEN)
    n_old = 0 if state is None or not state.cols else len(state.cols["i"])
    keep = (*(PREFIX + lay for lay in layers), "speed_kn", "ship_type")
    kd = prepare(positions, state, spec, keep=keep, watermark_us=watermark_us)
    iv = kd.cols["i"]
    iv[n_old:, LAST_TS] = NO
    m = len(kd.ts_us)
    ship_col = kd.column("ship_type")
    ship_in = (
        np.full(m, -1, dtype=np.int64)
        if ship_col is None
        else np.where(np.isnan(ship_col), -1, np.nan_to_num(ship_col)).astype(np.int64)
    )
    ok, ship = np.zeros(m, dtype=bool), np.full(m, -1, dtype=np.int64)
    _walk(kd.track, kd.ts_us, ship_in, kd.mmsi, iv, ok, ship)
    needs_flags = any(r.exclude_flags for _, r in pairs)
    flags = flag_of(pa.array(kd.mmsi, pa.int64())) if needs_flags else None
    found = [empty_events()]
    for lay, rule in pairs:
        matched, decided = _matched(kd, lay, rule, ship, flags)
        out = np.empty((2 * m, 4), dtype=np.int64)
        n = _transitions(kd.track, ok & decided, matched, kd.cols[_state_name(lay, rule)], out)
        if n:
            found += _events(kd, out[:n], lay, rule, ship, params)
    keys, cols = without(kd.keys, kd.cols, expiring(kd, iv[:, LAST_TS], params.track_expiry_s))
    return pa.concat_tables(found), ZoneState(keys, cols, kd.now_us, kd.by_segment)
