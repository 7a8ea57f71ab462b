"""Injected behaviours: which vessels misbehave, when, and the ground truth they leave.

In: the fleet at the start of the run, its routes, the run's length and a random generator.
Out: a :class:`Plan` (per-vessel windows as arrays the time loop applies with masks, plus
scripts, zone shifts and identity changes) and :class:`Truth` records named like the
detectors' events (``seawatch.events``): gap, suspected_disabling, encounter, loitering,
zone_entry, spoofing (rules ``jump``, ``on_land``, ``two_places``), identity_change and
port_visit. A behaviour that the run is too short for, or that finds no suitable vessel or
place, is skipped (logged); each vessel gets at most one behaviour.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from seawatch.geo.land import on_land
from seawatch.geo.shore import distance_inland_km, distance_to_shore_km
from seawatch.sim.fleet import KINDS, ROUTE, SCRIPT, WANDER, Fleet
from seawatch.sim.motion import KM_PER_KN_S, Script, offset
from seawatch.sim.routes import Routes, port_coords

__all__ = ["Plan", "Truth", "plan_behaviours"]

log = logging.getLogger(__name__)
F64 = npt.NDArray[np.float64]
H = 3600.0

#: Behaviours per 1,000 vessels (at least one of each when the fleet and run allow).
RATES = {"gap": 5, "suspected_disabling": 3, "encounter": 3, "loitering": 5, "zone_entry": 5,
         "jump": 3, "on_land": 3, "two_places": 2, "identity_change": 8}  # fmt: skip


@dataclass
class Truth:
    """The ground-truth records: one dict per behaviour, written as ``truth.jsonl``."""

    start: dt.datetime
    records: list[dict[str, Any]] = field(default_factory=list)

    def iso(self, t_s: float) -> str:
        t = self.start + dt.timedelta(seconds=math.floor(t_s))
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    def add(
        self,
        event_type: str,
        mmsi: int,
        start_s: float,
        end_s: float,
        other_mmsi: int | None = None,
        *,
        injected: bool = True,
        **params: Any,
    ) -> None:
        """One record; ``injected`` false: a consequence of the run, not a behaviour put in."""
        self.records.append(
            {
                "event_type": event_type,
                "injected": injected,
                "mmsi": int(mmsi),
                "other_mmsi": None if other_mmsi is None else int(other_mmsi),
                "start_ts": self.iso(start_s),
                "end_ts": self.iso(end_s),
                "params": {k: _plain(v) for k, v in params.items()},
            }
        )

    def sorted(self) -> list[dict[str, Any]]:
        return sorted(self.records, key=lambda r: (r["start_ts"], r["event_type"], r["mmsi"]))


#: A slow window is a loitering record when it covers this many whole UTC hours: the
#: detector (docs/events.md) judges whole UTC hours and needs ≥ 4 h from the first to the last
#: position of its slow hours, which five whole slow hours always give and four may not.
LOITER_WHOLE_HOURS = 5


def loiters(start: dt.datetime, t0_s: float, t1_s: float) -> bool:
    """Whether slow sailing from ``t0_s`` to ``t1_s`` (seconds after ``start``) is loitering."""
    base = start.timestamp()
    return math.floor((base + t1_s) / H) - math.ceil((base + t0_s) / H) >= LOITER_WHOLE_HOURS


def _minute(t_s: float) -> float:
    """Times of behaviours fall on whole minutes, the time loop's step."""
    return float(round(float(t_s) / 60.0) * 60.0)


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


@dataclass
class Plan:
    """Per-vessel windows (NaN: none) and the run-time changes the loop applies."""

    silent_from_s: F64
    silent_to_s: F64
    slow_from_s: F64
    slow_to_s: F64
    slow_kn: F64
    spoof_from_s: F64
    spoof_to_s: F64
    spoof_dlat: F64  # jump: offset added; on_land: NaN offset, fixed point below
    spoof_dlon: F64
    spoof_lat: F64
    spoof_lon: F64
    tx_mmsi: npt.NDArray[np.int64]  # the MMSI each vessel transmits (shared MMSI: another's)
    scripts: dict[int, Script] = field(default_factory=dict)
    zones: dict[int, tuple[float, tuple[float, float, float, float], dict[str, Any]]] = field(
        default_factory=dict
    )  # vessel -> (time the vessel heads in, (south, west, north, east), truth params)
    identity: list[tuple[float, int, str, Any]] = field(default_factory=list)
    dark: dict[int, tuple[str, float, float, dict[str, Any]]] = field(default_factory=dict)
    # vessel -> (event type, off, on, parameters): its truth record comes from reception
    watched: dict[int, str] = field(default_factory=dict)  # vessel -> cause of its jumps
    jump_params: dict[int, dict[str, Any]] = field(default_factory=dict)  # MMSI -> parameters


def _empty(n: int, fleet: Fleet) -> Plan:
    nan = np.full(n, np.nan)
    return Plan(
        nan.copy(),
        nan.copy(),
        nan.copy(),
        nan.copy(),
        np.zeros(n),
        nan.copy(),
        nan.copy(),
        nan.copy(),
        nan.copy(),
        nan.copy(),
        nan.copy(),
        fleet.mmsi.copy(),
    )


class _Picker:
    """Hands out vessels of given kinds, each at most once, in a seeded order."""

    def __init__(self, fleet: Fleet, rng: np.random.Generator) -> None:
        self.order = rng.permutation(len(fleet))
        self.fleet = fleet
        self.used: set[int] = set()
        self._taken = np.zeros(len(fleet), dtype=bool)

    def candidates(self, mode: int, kinds: tuple[str, ...] | None = None) -> list[int]:
        """Unused vessels in ``mode`` (and of ``kinds``), in the seeded order."""
        names = np.array([k.name for k in KINDS])
        ok = (self.fleet.mode == mode) & ~self._taken
        if kinds is not None:
            ok &= np.isin(names[self.fleet.kind], kinds)
        picked: list[int] = self.order[ok[self.order]].tolist()
        return picked

    def take(self, i: int) -> int:
        self.used.add(i)
        self._taken[i] = True
        return i


def _ahead(fleet: Fleet, routes: Routes, i: int, t_s: float) -> tuple[float, float, bool]:
    """Where liner ``i`` will be at ``t_s`` at cruise speed, and whether still on its lane."""
    along = fleet.along_km[i] + fleet.cruise_kn[i] * KM_PER_KN_S * t_s
    length = float(routes.lengths(np.array([fleet.route[i]]))[0])
    lat, lon, _ = routes.locate(np.array([fleet.route[i]]), np.array([along]))
    return float(lat[0]), float(lon[0]), along < length - 5.0


def _shore_km(lat: float, lon: float) -> float:
    return float(distance_to_shore_km(lat, lon)[0])


def plan_behaviours(
    fleet: Fleet, routes: Routes, rng: np.random.Generator, hours: float, truth: Truth
) -> Plan:
    """Choose and schedule the behaviours; point records (identity, zones) come later."""
    n = len(fleet)
    plan = _empty(n, fleet)
    pick = _Picker(fleet, rng)
    end = hours * H

    def count(name: str) -> int:
        return max(1, round(n * RATES[name] / 1000)) if n >= 10 else 0

    def skip(name: str, why: str) -> None:
        log.info("simulate: no %s injected (%s)", name, why)

    # going dark: suspected_disabling (≥ 12 h, far from shore) and plain gaps (≥ 6 h)
    for name, lo_h, hi_h, far_km in (("suspected_disabling", 13, 16, 100.0), ("gap", 7, 9, 0.0)):
        need, done = count(name), 0
        if hours < lo_h + 2:
            skip(name, f"the run is shorter than {lo_h + 2} h")
            continue
        for i in pick.candidates(ROUTE):
            if done >= need:
                break
            dur = _minute(rng.uniform(lo_h, min(hi_h, hours - 2)) * H)
            t0 = _minute(rng.uniform(0.5 * H, end - dur - 0.5 * H))
            la0, lo0, ok0 = _ahead(fleet, routes, i, t0)
            la1, lo1, ok1 = _ahead(fleet, routes, i, t0 + dur)
            d0, d1 = _shore_km(la0, lo0), _shore_km(la1, lo1)
            if far_km and not (ok0 and ok1 and min(d0, d1) >= far_km):
                continue
            pick.take(i)
            plan.silent_from_s[i], plan.silent_to_s[i] = t0, t0 + dur
            plan.dark[i] = (
                name,
                t0,
                t0 + dur,
                {
                    "duration_h": _plain(dur / H),
                    "distance_from_shore_start_km": _plain(d0),
                    "distance_from_shore_end_km": _plain(d1),
                },
            )
            done += 1
        if done < need:
            skip(name, f"{done} of {need} placed")

    # loitering: a liner idles on its lane, far from shore, long enough to be loitering
    if hours >= 8:
        need, done = count("loitering"), 0
        for i in pick.candidates(ROUTE):
            if done >= need:
                break
            dur = _minute(rng.uniform(6, min(8, hours - 1)) * H)
            t0 = _minute(rng.uniform(0.5 * H, end - dur - 0.5 * H))
            la, lo, ok = _ahead(fleet, routes, i, t0)
            if not ok or _shore_km(la, lo) < 40:
                continue
            pick.take(i)
            kn = round(float(rng.uniform(0.3, 1.2)), 1)
            plan.slow_from_s[i], plan.slow_to_s[i], plan.slow_kn[i] = t0, t0 + dur, kn
            truth.add(
                "loitering",
                fleet.mmsi[i],
                t0,
                t0 + dur,
                speed_kn=kn,
                distance_from_shore_km=_shore_km(la, lo),
                lat=la,
                lon=lo,
            )
            done += 1
    else:
        skip("loitering", "the run is shorter than 8 h")

    _encounters(fleet, routes, rng, hours, plan, pick, truth, count("encounter"))
    _zones(fleet, rng, hours, plan, pick, count("zone_entry"))
    _spoofing(fleet, rng, hours, plan, pick, truth, count)

    # identity changes: name, destination, draught or flag, at a random time
    fields = ("name", "destination", "draught_m", "flag")
    need = max(count("identity_change"), len(fields) if n >= 40 else 0)  # each field once
    for k, i in enumerate(pick.candidates(ROUTE, ("cargo", "tanker", "container"))[:need]):
        pick.take(i)
        what = fields[k % len(fields)]
        t = _minute(rng.uniform(0.2, 0.8) * end)
        plan.identity.append((t, i, what, None))
    return plan


def _sea_point(
    fleet: Fleet, routes: Routes, rng: np.random.Generator, min_km: float
) -> tuple[float, float] | None:
    """A point on a lane of the fleet at least ``min_km`` from shore."""
    lanes = np.unique(fleet.route[fleet.mode == ROUTE])
    for _ in range(40):
        if not len(lanes):
            return None
        r = int(lanes[rng.integers(len(lanes))])
        along = float(rng.uniform(0.2, 0.8)) * float(routes.lengths(np.array([r]))[0])
        lat, lon, _ = routes.locate(np.array([r]), np.array([along]))
        if _shore_km(float(lat[0]), float(lon[0])) >= min_km:
            return float(lat[0]), float(lon[0])
    return None


def _encounters(
    fleet: Fleet,
    routes: Routes,
    rng: np.random.Generator,
    hours: float,
    plan: Plan,
    pick: _Picker,
    truth: Truth,
    need: int,
) -> None:
    """Rendezvous: a carrier and a fishing vessel meet far out and drift together < 500 m."""
    if hours < 4:
        log.info("simulate: no encounter injected (the run is shorter than 4 h)")
        return
    for _ in range(need):
        carriers = pick.candidates(ROUTE, ("tanker", "cargo"))
        fishers = pick.candidates(WANDER, ("fishing",)) or pick.candidates(ROUTE)
        fishers = [v for v in fishers if v not in carriers[:1]]
        point = _sea_point(fleet, routes, rng, 110.0)
        if not carriers or not fishers or point is None:
            log.info("simulate: an encounter could not be placed")
            return
        a, b = pick.take(carriers[0]), pick.take(fishers[0])
        dur = _minute(rng.uniform(2.5, min(4.0, hours - 1.5)) * H)
        t_meet = _minute(rng.uniform(1.0, max(1.0, min(5.0, hours - dur / H - 0.5))) * H)
        drift_kn = round(float(rng.uniform(0.3, 1.0)), 1)
        drift_brg = float(rng.uniform(0, 360))
        sep_m = float(rng.uniform(150, 350))
        la, lo = np.array(point[0]), np.array(point[1])
        la_d, lo_d = offset(la, lo, np.array(drift_brg), np.array(drift_kn * KM_PER_KN_S * dur))
        for v, sep_brg in ((a, 0.0), (b, float(rng.uniform(0, 360)))):
            lat0, lon0 = offset(
                la, lo, np.array(sep_brg), np.array(sep_m / 1000 if v == b else 0.0)
            )
            lat1, lon1 = offset(
                la_d, lo_d, np.array(sep_brg), np.array(sep_m / 1000 if v == b else 0.0)
            )
            approach = min(float(fleet.cruise_kn[v]) * 1.852 * t_meet / H, 60.0)
            come, leave = float(rng.uniform(0, 360)), float(rng.uniform(0, 360))
            s_lat, s_lon = offset(lat0, lon0, np.array(come), np.array(approach))
            e_lat, e_lon = offset(lat1, lon1, np.array(leave), np.array(30.0))
            plan.scripts[v] = Script(
                v,
                (0.0, t_meet, t_meet + dur, t_meet + dur + 3 * H),
                (float(s_lat), float(lat0), float(lat1), float(e_lat)),
                (float(s_lon), float(lon0), float(lon1), float(e_lon)),
            )
            fleet.mode[v] = SCRIPT
            fleet.lat[v], fleet.lon[v] = float(s_lat), float(s_lon)
        shore = _shore_km(point[0], point[1])
        truth.add(
            "encounter",
            fleet.mmsi[a],
            t_meet,
            t_meet + dur,
            other_mmsi=fleet.mmsi[b],
            lat=point[0],
            lon=point[1],
            separation_m=sep_m,
            speed_kn=drift_kn,
            distance_from_shore_km=shore,
        )
        for v in (a, b):  # drifting < 2 kn for long enough is loitering too
            if not loiters(truth.start, t_meet, t_meet + dur):
                continue
            truth.add(
                "loitering",
                fleet.mmsi[v],
                t_meet,
                t_meet + dur,
                speed_kn=drift_kn,
                distance_from_shore_km=shore,
                lat=point[0],
                lon=point[1],
                cause="encounter",
                injected=False,
            )


def _zones(
    fleet: Fleet, rng: np.random.Generator, hours: float, plan: Plan, pick: _Picker, need: int
) -> None:
    """A fishing vessel moves its ground into a box of another nation's waters.

    Whose waters a point is in follows the equidistance principle of maritime boundaries
    between neighbours (UNCLOS arts. 15, 74, 83: the median line, absent agreement),
    approximated with the simulator's ports: the country of the nearest port. The box
    (0.3 degrees square, 30-200 km from the vessel's fishing ground, at sea, within its reach
    before the run ends) must lie wholly
    nearer a port of one other country than any port of the vessel's own. Vessels with no
    such water within reach (far from any border) are not picked."""
    if hours < 2:
        return
    ports = port_coords()
    codes = list(ports)
    p_lat = np.radians([ports[c][1] for c in codes])
    p_lon = np.radians([ports[c][2] for c in codes])
    placed = 0
    country = np.array([c[:2] for c in codes])
    fishers = pick.candidates(WANDER, ("fishing", "small_fishing"))
    # nearest a foreign port first (the seeded order among equals): the likeliest to reach
    border_km = [
        _foreign_km(p_lat, p_lon, country, str(fleet.port[i])[:2], fleet, i) for i in fishers
    ]
    for i in [fishers[k] for k in np.argsort(border_km, kind="stable")]:
        if placed >= need:
            break
        home = str(fleet.port[i])[:2]
        c_lat, c_lon = np.array(fleet.centre_lat[i]), np.array(fleet.centre_lon[i])
        t0 = _minute(rng.uniform(0.1, 0.3) * hours * H)
        # there in time: steaming at cruise speed, an hour before the run ends
        reach_km = float(fleet.cruise_kn[i]) * KM_PER_KN_S * (hours * H - t0 - H)
        found = None
        for km in (k for k in (30.0, 45.0, 90.0, 140.0, 200.0) if k <= reach_km):
            for brg in rng.permutation(8) * 45.0:
                z_lat, z_lon = offset(c_lat, c_lon, np.array(brg), np.array(km))
                half = 0.15
                box = (
                    float(z_lat) - half,
                    float(z_lon) - half,
                    float(z_lat) + half,
                    float(z_lon) + half,
                )
                corners_la = np.array([box[0], box[0], box[2], box[2], float(z_lat)])
                corners_lo = np.array([box[1], box[3], box[1], box[3], float(z_lon)])
                owner = {
                    codes[_nearest(p_lat, p_lon, la, lo)][:2]
                    for la, lo in zip(corners_la.tolist(), corners_lo.tolist(), strict=True)
                }
                if len(owner) != 1 or home in owner:
                    continue
                if on_land(corners_la, corners_lo).any():
                    continue
                if any(_overlap(box, other) for _, other, _ in plan.zones.values()):
                    continue  # one nation's waters per place (zones do not overlap)
                if _shore_km(float(z_lat), float(z_lon)) < 5:
                    continue
                port = codes[_nearest(p_lat, p_lon, float(z_lat), float(z_lon))]
                found = (box, port)
                break
            if found is not None:
                break
        if found is None:
            continue
        box, port = found
        pick.take(i)
        s, w, nn, e = box
        params = {
            "zone_name": f"simulated waters of {port[:2]} (near {ports[port][0]})",
            "zone_country": port[:2],
            "bbox": [w, s, e, nn],
            "polygon": [[w, s], [e, s], [e, nn], [w, nn], [w, s]],
            "ship_type": int(fleet.ship_type[i]),
            "heads_in_ts_s": t0,
        }
        plan.zones[i] = (t0, box, params)
        placed += 1


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether boxes ``(south, west, north, east)`` share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _foreign_km(
    p_lat: npt.NDArray[np.float64],
    p_lon: npt.NDArray[np.float64],
    country: npt.NDArray[np.str_],
    home: str,
    fleet: Fleet,
    i: int,
) -> float:
    """Great-circle km from vessel ``i``'s fishing ground to the nearest foreign port."""
    la, lo = math.radians(float(fleet.centre_lat[i])), math.radians(float(fleet.centre_lon[i]))
    h = np.sin((p_lat - la) / 2) ** 2 + np.cos(la) * np.cos(p_lat) * np.sin((p_lon - lo) / 2) ** 2
    foreign = country != home
    if not foreign.any():
        return math.inf
    return float(2 * 6371.0 * np.arcsin(np.sqrt(np.min(h[foreign]))))


def _nearest(
    p_lat: npt.NDArray[np.float64], p_lon: npt.NDArray[np.float64], lat: float, lon: float
) -> int:
    """Index of the port nearest (great circle) to ``lat``, ``lon`` (degrees)."""
    la, lo = math.radians(lat), math.radians(lon)
    h = np.sin((p_lat - la) / 2) ** 2 + np.cos(la) * np.cos(p_lat) * np.sin((p_lon - lo) / 2) ** 2
    return int(np.argmin(h))


def _inland_point(rng: np.random.Generator, lat: float, lon: float) -> tuple[float, float] | None:
    for km in (40.0, 80.0, 150.0):
        for brg in rng.permutation(8) * 45.0:
            la, lo = offset(np.array(lat), np.array(lon), np.array(brg), np.array(km))
            if float(distance_inland_km(la, lo)[0]) >= 15:
                return float(la), float(lo)
    return None


def _spoofing(
    fleet: Fleet,
    rng: np.random.Generator,
    hours: float,
    plan: Plan,
    pick: _Picker,
    truth: Truth,
    count: Any,
) -> None:
    """Jumps, positions inland (for a while) and two ships sharing one MMSI (whole run)."""
    end = hours * H
    ports = port_coords()
    dur_h = min(1.0, hours / 3)
    for rule in ("jump", "on_land"):
        for i in pick.candidates(ROUTE)[: count(rule)]:
            t0 = _minute(rng.uniform(0.1, 0.9) * (end - dur_h * H))
            t1 = t0 + _minute(rng.uniform(0.5, 1.0) * dur_h * H)
            if rule == "jump":
                dlat, dlon = (
                    float(rng.choice([-1, 1]) * rng.uniform(1.5, 3)),
                    float(rng.choice([-1, 1]) * rng.uniform(1.5, 3)),
                )
                pick.take(i)
                plan.spoof_from_s[i], plan.spoof_to_s[i] = t0, t1
                plan.spoof_dlat[i], plan.spoof_dlon[i] = dlat, dlon
                plan.watched[i] = "jump"  # the records: the jumps received (.received)
                plan.jump_params[int(fleet.mmsi[i])] = {
                    "offset_lat_deg": _plain(dlat),
                    "offset_lon_deg": _plain(dlon),
                    "spoofed_from_ts": truth.iso(t0),
                    "spoofed_to_ts": truth.iso(t1),
                }
            else:
                _, plat, plon = ports[fleet.port[i]]
                point = _inland_point(rng, plat, plon)
                if point is None:
                    continue
                pick.take(i)
                plan.spoof_from_s[i], plan.spoof_to_s[i] = t0, t1
                plan.spoof_lat[i], plan.spoof_lon[i] = point
                plan.watched[i] = "on_land"  # its jumps in and out are recorded too
                truth.add(
                    "spoofing", fleet.mmsi[i], t0, t1, rule="on_land", lat=point[0], lon=point[1]
                )
    liners = pick.candidates(ROUTE, ("cargo", "tanker", "container"))
    for _ in range(count("two_places")):
        pair = None
        for a in liners:
            if a in pick.used:
                continue
            for b in liners[:2000]:  # far apart: two places at once
                far = abs(fleet.lat[a] - fleet.lat[b]) + abs(fleet.lon[a] - fleet.lon[b]) > 5
                if a != b and b not in pick.used and far:
                    pair = (a, b)
                    break
            if pair:
                break
        if pair is None:
            log.info("simulate: no shared MMSI injected (no two liners far apart)")
            return
        a, b = pick.take(pair[0]), pick.take(pair[1])
        plan.tx_mmsi[b] = fleet.mmsi[a]
        plan.watched[a] = plan.watched[b] = "two_places"  # records: the switches received
        plan.jump_params[int(fleet.mmsi[a])] = {
            "names": [fleet.name[a], fleet.name[b]],
            "own_mmsi_of_second": int(fleet.mmsi[b]),
        }
