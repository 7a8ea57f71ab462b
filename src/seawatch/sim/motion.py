"""Moving the fleet one time step: lanes, grounds, port calls and scripted tracks.

In: a :class:`~.fleet.Fleet`, the step's start time and length (seconds since the start of
the run). Out: the fleet's arrays updated in place, and the port calls that began or ended
in the step (for the ground truth). Liners advance along their route at cruise speed (or a
slower speed while loitering); at the end of a route they moor for 6–30 h, then leave for a
new port. Fishing and pleasure craft wander inside their ground, turning back at its edge.
Scripted vessels (rendezvous) follow keyframes, then work a ground around the last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from seawatch.sim.fleet import MOORED, ROUTE, SCRIPT, WANDER, Fleet, new_destination
from seawatch.sim.routes import Routes, port_coords

__all__ = ["KM_PER_KN_S", "Motion", "PortCall", "Script"]

F64 = npt.NDArray[np.float64]
KM_PER_KN_S = 1.852 / 3600.0
_KM_PER_DEG = 111.195


@dataclass(frozen=True)
class PortCall:
    """A liner moored at ``port`` from ``start_s`` (arrival) to ``end_s`` (departure)."""

    vessel: int
    port: str
    start_s: float
    end_s: float | None  # None while still in port


@dataclass(frozen=True)
class Script:
    """Keyframes ``(t_s, lat, lon)`` a vessel follows in straight lines, then a ground."""

    vessel: int
    t_s: tuple[float, ...]
    lat: tuple[float, ...]
    lon: tuple[float, ...]


def offset(lat: F64, lon: F64, bearing_deg: F64, km: F64) -> tuple[F64, F64]:
    """Flat-earth displacement, good to a few metres over tens of kilometres."""
    b = np.radians(bearing_deg)
    dlat = km * np.cos(b) / _KM_PER_DEG
    dlon = km * np.sin(b) / (_KM_PER_DEG * np.cos(np.radians(lat)))
    return lat + dlat, lon + dlon


@dataclass
class Motion:
    """The fleet's movement rules; ``slow_*`` hold loitering windows (speed override)."""

    fleet: Fleet
    routes: Routes
    rng: np.random.Generator
    slow_from_s: F64
    slow_to_s: F64
    slow_kn: F64
    scripts: dict[int, Script] = field(default_factory=dict)
    calls: dict[int, float] = field(default_factory=dict)  # vessel -> arrival time

    def step(self, t_s: float, dt_s: float) -> list[PortCall]:
        """Advance every vessel from ``t_s`` to ``t_s + dt_s``; port calls that changed."""
        f, out = self.fleet, []
        t1 = t_s + dt_s
        slow = (self.slow_from_s <= t_s) & (t_s < self.slow_to_s)
        # liners on a lane
        lane = f.mode == ROUTE
        speed = np.where(slow, self.slow_kn, f.cruise_kn)
        f.along_km[lane] += speed[lane] * KM_PER_KN_S * dt_s
        arrived = lane & (f.along_km >= self.routes.lengths(f.route))
        for i in np.flatnonzero(arrived):
            f.mode[i] = MOORED
            f.port[i] = f.dest[i]
            f.moored_until_s[i] = t1 + self.rng.uniform(6, 30) * 3600
            self.calls[int(i)] = t1
            out.append(PortCall(int(i), f.port[i], t1, None))
        # liners leaving port
        leaving = (f.mode == MOORED) & (f.moored_until_s <= t1)
        for i in np.flatnonzero(leaving):
            f.mode[i] = ROUTE
            f.dest[i] = new_destination(self.rng, f.port[i])
            f.route[i] = self.routes.route(f.port[i], f.dest[i])
            f.along_km[i] = 0.0
            out.append(PortCall(int(i), f.port[i], self.calls.pop(int(i), -1.0), t1))
        moving = f.mode == ROUTE
        moored = f.mode == MOORED
        lat, lon, cog = self.routes.locate(f.route, f.along_km)
        f.lat[moving], f.lon[moving], f.cog_deg[moving] = lat[moving], lon[moving], cog[moving]
        slow = (self.slow_from_s <= t1) & (t1 < self.slow_to_s)  # the speed from t1 on
        f.sog_kn[moving] = np.where(slow, self.slow_kn, f.cruise_kn)[moving]
        if moored.any():
            ports = port_coords()
            idx = np.flatnonzero(moored)
            f.lat[idx] = [ports[f.port[i]][1] for i in idx]
            f.lon[idx] = [ports[f.port[i]][2] for i in idx]
            f.sog_kn[idx] = 0.0
        self._wander(f.mode == WANDER, dt_s)
        self._scripted(t1)
        return out

    def _wander(self, sel: npt.NDArray[np.bool_], dt_s: float) -> None:
        f = self.fleet
        idx = np.flatnonzero(sel)
        if not len(idx):
            return
        rng = self.rng
        cog = f.cog_deg[idx] + rng.normal(0, 12, len(idx))
        dy = (f.centre_lat[idx] - f.lat[idx]) * _KM_PER_DEG
        dx = (f.centre_lon[idx] - f.lon[idx]) * _KM_PER_DEG * np.cos(np.radians(f.lat[idx]))
        outside = np.hypot(dx, dy) > f.radius_km[idx]
        home = np.degrees(np.arctan2(dx, dy)) % 360
        cog = np.where(outside, home, cog) % 360
        sog = np.clip(
            f.sog_kn[idx] + rng.normal(0, 0.3, len(idx)),
            0.6 * f.cruise_kn[idx],
            1.2 * f.cruise_kn[idx],
        )
        lat, lon = offset(f.lat[idx], f.lon[idx], cog, sog * KM_PER_KN_S * dt_s)
        f.lat[idx], f.lon[idx], f.cog_deg[idx], f.sog_kn[idx] = lat, lon, cog, sog

    def _scripted(self, t1: float) -> None:
        f = self.fleet
        for i, s in self.scripts.items():
            if f.mode[i] != SCRIPT:
                continue
            if t1 >= s.t_s[-1]:  # the script is over: work a ground around its end
                f.mode[i] = WANDER
                f.centre_lat[i], f.centre_lon[i] = s.lat[-1], s.lon[-1]
                f.radius_km[i] = 15.0
                continue
            k = int(np.searchsorted(s.t_s, t1, side="right")) - 1
            k = min(max(k, 0), len(s.t_s) - 2)
            span = s.t_s[k + 1] - s.t_s[k]
            frac = min(max((t1 - s.t_s[k]) / span, 0.0), 1.0)
            la0, la1, lo0, lo1 = s.lat[k], s.lat[k + 1], s.lon[k], s.lon[k + 1]
            f.lat[i] = la0 + frac * (la1 - la0)
            f.lon[i] = lo0 + frac * (lo1 - lo0)
            dy = (la1 - la0) * _KM_PER_DEG
            dx = (lo1 - lo0) * _KM_PER_DEG * np.cos(np.radians(la0))
            f.cog_deg[i] = float(np.degrees(np.arctan2(dx, dy)) % 360)
            f.sog_kn[i] = float(np.hypot(dx, dy) / (span * KM_PER_KN_S))
