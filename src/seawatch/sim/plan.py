"""The simulator's plan and ground truth: what the behaviour planners fill in.

In: times in seconds after the run's start, vessels by index in the :class:`~.fleet.Fleet`.
Out: :class:`Truth` (one record per behaviour, named like the detectors' events), :class:`Plan`
(per-vessel windows the time loop applies with masks) and the :class:`Picker` that hands out
each vessel at most once. The planners are :mod:`.behaviours` and :mod:`.placements`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from seawatch.geo.shore import distance_to_shore_km
from seawatch.sim.fleet import KINDS, Fleet
from seawatch.sim.motion import Script

F64 = npt.NDArray[np.float64]
H = 3600.0


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
                "params": {k: plain(v) for k, v in params.items()},
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


def minute(t_s: float) -> float:
    """Times of behaviours fall on whole minutes, the time loop's step."""
    return float(round(float(t_s) / 60.0) * 60.0)


def plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, list | tuple):
        return [plain(x) for x in v]
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


def empty_plan(n: int, fleet: Fleet) -> Plan:
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


class Picker:
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


def shore_km(lat: float, lon: float) -> float:
    """Kilometres from the nearest shore (at sea)."""
    return float(distance_to_shore_km(lat, lon)[0])
