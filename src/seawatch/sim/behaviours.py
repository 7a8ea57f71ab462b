"""Injected behaviours: which vessels misbehave, when, and the ground truth they leave.

In: the fleet at the start of the run, its routes, the run's length and a random generator.
Out: a :class:`Plan` (per-vessel windows as arrays the time loop applies with masks, plus
scripts, zone shifts and identity changes) and :class:`Truth` records named like the
detectors' events (``seawatch.events``): gap, suspected_disabling, encounter, loitering,
zone_entry, spoofing (rules ``jump``, ``on_land``, ``two_places``), identity_change and
port_visit; :data:`RATES` is checked against the detector registry at import. A behaviour
that the run is too short for, or that finds no suitable vessel or place, is skipped
(logged); each vessel gets at most one behaviour. Going dark, loitering and identity changes
are planned here; behaviours placed in space (rendezvous, foreign waters, spoofing) in
:mod:`.placements`; the plan and truth types are in :mod:`.plan`.
"""

from __future__ import annotations

import logging

import numpy as np

from seawatch.sim.fleet import ROUTE, Fleet
from seawatch.sim.motion import KM_PER_KN_S
from seawatch.sim.names import check_event_types
from seawatch.sim.placements import place_encounters, place_spoofing, place_zones
from seawatch.sim.plan import (
    LOITER_WHOLE_HOURS,
    H,
    Picker,
    Plan,
    Truth,
    empty_plan,
    loiters,
    minute,
    plain,
    shore_km,
)
from seawatch.sim.routes import Routes

__all__ = ["LOITER_WHOLE_HOURS", "RATES", "Plan", "Truth", "loiters", "plan_behaviours"]

log = logging.getLogger(__name__)

#: Behaviours per 1,000 vessels (at least one of each when the fleet and run allow).
RATES = {"gap": 5, "suspected_disabling": 3, "encounter": 3, "loitering": 5, "zone_entry": 5,
         "jump": 3, "on_land": 3, "two_places": 2, "identity_change": 8}  # fmt: skip
check_event_types(RATES, f"{__name__}.RATES")


def _ahead(fleet: Fleet, routes: Routes, i: int, t_s: float) -> tuple[float, float, bool]:
    """Where liner ``i`` will be at ``t_s`` at cruise speed, and whether still on its lane."""
    along = fleet.along_km[i] + fleet.cruise_kn[i] * KM_PER_KN_S * t_s
    length = float(routes.lengths(np.array([fleet.route[i]]))[0])
    lat, lon, _ = routes.locate(np.array([fleet.route[i]]), np.array([along]))
    return float(lat[0]), float(lon[0]), along < length - 5.0


def plan_behaviours(
    fleet: Fleet, routes: Routes, rng: np.random.Generator, hours: float, truth: Truth
) -> Plan:
    """Choose and schedule the behaviours; point records (identity, zones) come later."""
    n = len(fleet)
    plan = empty_plan(n, fleet)
    pick = Picker(fleet, rng)
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
            dur = minute(rng.uniform(lo_h, min(hi_h, hours - 2)) * H)
            t0 = minute(rng.uniform(0.5 * H, end - dur - 0.5 * H))
            la0, lo0, ok0 = _ahead(fleet, routes, i, t0)
            la1, lo1, ok1 = _ahead(fleet, routes, i, t0 + dur)
            d0, d1 = shore_km(la0, lo0), shore_km(la1, lo1)
            if far_km and not (ok0 and ok1 and min(d0, d1) >= far_km):
                continue
            pick.take(i)
            plan.silent_from_s[i], plan.silent_to_s[i] = t0, t0 + dur
            plan.dark[i] = (
                name,
                t0,
                t0 + dur,
                {
                    "duration_h": plain(dur / H),
                    "distance_from_shore_start_km": plain(d0),
                    "distance_from_shore_end_km": plain(d1),
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
            dur = minute(rng.uniform(6, min(8, hours - 1)) * H)
            t0 = minute(rng.uniform(0.5 * H, end - dur - 0.5 * H))
            la, lo, ok = _ahead(fleet, routes, i, t0)
            if not ok or shore_km(la, lo) < 40:
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
                distance_from_shore_km=shore_km(la, lo),
                lat=la,
                lon=lo,
            )
            done += 1
    else:
        skip("loitering", "the run is shorter than 8 h")

    place_encounters(fleet, routes, rng, hours, plan, pick, truth, count("encounter"))
    place_zones(fleet, rng, hours, plan, pick, count("zone_entry"))
    place_spoofing(fleet, rng, hours, plan, pick, truth, count)

    # identity changes: name, destination, draught or flag, at a random time
    fields = ("name", "destination", "draught_m", "flag")
    need = max(count("identity_change"), len(fields) if n >= 40 else 0)  # each field once
    for k, i in enumerate(pick.candidates(ROUTE, ("cargo", "tanker", "container"))[:need]):
        pick.take(i)
        what = fields[k % len(fields)]
        t = minute(rng.uniform(0.2, 0.8) * end)
        plan.identity.append((t, i, what, None))
    return plan
