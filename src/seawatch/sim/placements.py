"""Behaviours placed in space: rendezvous at sea, fishing in foreign waters, spoofing.

In: the fleet, its routes, a seeded generator, the run's length, the :class:`~.plan.Plan` and
:class:`~.plan.Picker` of :func:`~.behaviours.plan_behaviours`, and how many of each to place.
Out: scripts, zone boxes, spoofing windows and shared MMSIs written into the plan, and the
:class:`~.plan.Truth` records known at planning time (encounters, loitering while drifting,
spoofing on land). What cannot be placed is skipped (logged).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from seawatch.geo.land import on_land
from seawatch.geo.shore import distance_inland_km
from seawatch.sim.fleet import ROUTE, SCRIPT, WANDER, Fleet
from seawatch.sim.motion import KM_PER_KN_S, Script, offset
from seawatch.sim.plan import H, Picker, Plan, Truth, loiters, minute, plain, shore_km
from seawatch.sim.routes import Routes, port_coords

log = logging.getLogger(__name__)


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
        if shore_km(float(lat[0]), float(lon[0])) >= min_km:
            return float(lat[0]), float(lon[0])
    return None


def place_encounters(
    fleet: Fleet,
    routes: Routes,
    rng: np.random.Generator,
    hours: float,
    plan: Plan,
    pick: Picker,
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
        dur = minute(rng.uniform(2.5, min(4.0, hours - 1.5)) * H)
        t_meet = minute(rng.uniform(1.0, max(1.0, min(5.0, hours - dur / H - 0.5))) * H)
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
        shore = shore_km(point[0], point[1])
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


def place_zones(
    fleet: Fleet, rng: np.random.Generator, hours: float, plan: Plan, pick: Picker, need: int
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
        t0 = minute(rng.uniform(0.1, 0.3) * hours * H)
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
                if shore_km(float(z_lat), float(z_lon)) < 5:
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


def place_spoofing(
    fleet: Fleet,
    rng: np.random.Generator,
    hours: float,
    plan: Plan,
    pick: Picker,
    truth: Truth,
    count: Any,
) -> None:
    """Jumps, positions inland (for a while) and two ships sharing one MMSI (whole run)."""
    end = hours * H
    ports = port_coords()
    dur_h = min(1.0, hours / 3)
    for rule in ("jump", "on_land"):
        for i in pick.candidates(ROUTE)[: count(rule)]:
            t0 = minute(rng.uniform(0.1, 0.9) * (end - dur_h * H))
            t1 = t0 + minute(rng.uniform(0.5, 1.0) * dur_h * H)
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
                    "offset_lat_deg": plain(dlat),
                    "offset_lon_deg": plain(dlon),
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
