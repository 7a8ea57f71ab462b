"""The simulated fleet: vessel types, identities and the state arrays the time loop moves.

In: a vessel count and a numpy random generator. Out: a :class:`Fleet` of numpy arrays (one
row per vessel: identity, AIS class, motion mode and state) plus per-vessel static text.
Types, sizes and speeds are typical values of each ship type (cargo 140–300 m at 12–18 kn,
tankers 120–330 m at 11–15 kn, ...; ship type codes of ITU-R M.1371 Table 53); liners sail
searoute lanes between the ports of :data:`~.routes.PORTS`, fishing and pleasure craft work
grounds offshore of a home port.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from seawatch.sim.routes import PORTS, Routes

__all__ = ["KINDS", "MOORED", "ROUTE", "SCRIPT", "WANDER", "Fleet", "Kind", "make_fleet"]

F64 = npt.NDArray[np.float64]

ROUTE, WANDER, MOORED, SCRIPT = 0, 1, 2, 3  # motion modes


@dataclass(frozen=True)
class Kind:
    """One vessel kind: its share of the fleet, AIS class, ship type, sizes and speeds."""

    name: str
    share: float
    ais_class: str  # "A", "B-SO" (SOTDMA) or "B-CS" (carrier sense)
    ship_type: int  # ITU-R M.1371 Table 53
    length_m: tuple[int, int]
    speed_kn: tuple[float, float]
    mode: int


KINDS: tuple[Kind, ...] = (
    Kind("cargo", 0.38, "A", 70, (140, 300), (12.0, 18.0), ROUTE),
    Kind("container", 0.10, "A", 71, (200, 366), (16.0, 24.0), ROUTE),
    Kind("tanker", 0.20, "A", 80, (120, 330), (11.0, 15.0), ROUTE),
    Kind("passenger", 0.03, "A", 60, (90, 250), (15.0, 25.0), ROUTE),
    Kind("fishing", 0.13, "A", 30, (24, 70), (3.0, 6.0), WANDER),
    Kind("small_fishing", 0.08, "B-SO", 30, (10, 24), (3.0, 6.0), WANDER),
    Kind("pleasure", 0.08, "B-CS", 37, (8, 30), (4.0, 14.0), WANDER),
)

#: Flags (MID) by weight: India first, then flags common in the Indian Ocean.
MIDS = {419: 30, 417: 5, 405: 5, 563: 10, 538: 10, 636: 10, 477: 8, 412: 6, 533: 4, 470: 4,
        370: 4, 215: 3, 566: 4, 431: 2, 525: 3}  # fmt: skip
_WORDS = ("JAL", "SAGAR", "OCEAN", "STAR", "PEARL", "GANGA", "LANKA", "KAVERI", "MONSOON",
          "CORAL", "BLUE", "SPIRIT", "GLORY", "PRIDE", "EXPRESS", "TRADER", "DAWN")  # fmt: skip


@dataclass
class Fleet:
    """Per-vessel arrays (row = vessel) and static text; the loop updates them in place."""

    kind: npt.NDArray[np.int8]
    mmsi: npt.NDArray[np.int64]
    imo: npt.NDArray[np.int64]  # 0 for none
    ship_type: npt.NDArray[np.int64]
    length_m: npt.NDArray[np.int64]
    beam_m: npt.NDArray[np.int64]
    draught_m: F64
    cruise_kn: F64
    mode: npt.NDArray[np.int8]
    route: npt.NDArray[np.int64]
    along_km: F64
    port: list[str]  # current origin (ROUTE) or berth (MOORED) or home port (WANDER)
    dest: list[str]
    moored_until_s: F64
    lat: F64
    lon: F64
    sog_kn: F64
    cog_deg: F64
    centre_lat: F64
    centre_lon: F64
    radius_km: F64
    name: list[str]
    callsign: list[str]

    def __len__(self) -> int:
        return len(self.mmsi)

    @property
    def class_a(self) -> npt.NDArray[np.bool_]:
        return np.array([k.ais_class == "A" for k in KINDS])[self.kind]

    @property
    def class_b_so(self) -> npt.NDArray[np.bool_]:
        return np.array([k.ais_class == "B-SO" for k in KINDS])[self.kind]


def _pick_port(rng: np.random.Generator, n: int) -> list[str]:
    names = list(PORTS)
    w = np.array(list(PORTS.values()), dtype=np.float64)
    return [names[i] for i in rng.choice(len(names), size=n, p=w / w.sum())]


def new_destination(rng: np.random.Generator, origin: str) -> str:
    """A destination other than ``origin``, by port weight."""
    while True:
        dest = _pick_port(rng, 1)[0]
        if dest != origin:
            return dest


def make_fleet(n: int, rng: np.random.Generator, routes: Routes) -> Fleet:
    """``n`` vessels: liners spread along their lanes (a tenth in port), the rest on grounds."""
    shares = np.array([k.share for k in KINDS])
    kind = rng.choice(len(KINDS), size=n, p=shares / shares.sum()).astype(np.int8)
    mids = np.array(list(MIDS))
    mw = np.array(list(MIDS.values()), dtype=np.float64)
    mid = mids[rng.choice(len(mids), size=n, p=mw / mw.sum())]
    serial = rng.choice(900_000, size=n, replace=False) + 100_000
    mmsi = mid.astype(np.int64) * 1_000_000 + serial
    lo = np.array([KINDS[k].length_m[0] for k in kind])
    hi = np.array([KINDS[k].length_m[1] for k in kind])
    length = (lo + rng.random(n) * (hi - lo)).astype(np.int64)
    slo = np.array([KINDS[k].speed_kn[0] for k in kind])
    shi = np.array([KINDS[k].speed_kn[1] for k in kind])
    cruise = np.round(slo + rng.random(n) * (shi - slo), 1)
    mode = np.array([KINDS[k].mode for k in kind], dtype=np.int8)
    big = mode == ROUTE
    imo = np.where(big | (length > 40), 9_000_000 + rng.integers(100_000, 999_999, n), 0)
    home = _pick_port(rng, n)
    dest = [new_destination(rng, p) if m == ROUTE else p for p, m in zip(home, mode, strict=True)]
    route = np.array(
        [routes.route(p, d) if m == ROUTE else 0 for p, d, m in zip(home, dest, mode, strict=True)],
        dtype=np.int64,
    )
    along = np.zeros(n)
    radius = np.zeros(n)
    centre_lat, centre_lon = np.zeros(n), np.zeros(n)
    in_port = big & (rng.random(n) < 0.1)
    moored_until = np.where(in_port, rng.uniform(0.5, 20, n) * 3600, 0.0)
    if big.any():
        along[big] = rng.random(int(big.sum())) * routes.lengths(route[big])
        along[in_port] = 0.0
    wander = ~big
    if wander.any():  # a ground 25–70 km out along the lane to another port
        idx = np.flatnonzero(wander)
        lanes = np.array([routes.route(home[i], new_destination(rng, home[i])) for i in idx])
        out_km = np.minimum(rng.uniform(25, 70, len(idx)), 0.5 * routes.lengths(lanes))
        centre_lat[idx], centre_lon[idx], _ = routes.locate(lanes, out_km)
        radius[idx] = rng.uniform(6, 15, len(idx))
    mode[in_port] = MOORED
    for i in np.flatnonzero(in_port):  # declared destination: the port they are in
        dest[i] = home[i]
    lat, lon, cog = routes.locate(route, along)
    lat, lon = np.where(wander, centre_lat, lat), np.where(wander, centre_lon, lon)
    cog = np.where(wander, rng.uniform(0, 360, n), cog)
    names = [
        f"{_WORDS[rng.integers(len(_WORDS))]} {_WORDS[rng.integers(len(_WORDS))]} {i % 997}"[:20]
        for i in range(n)
    ]
    letters = "AVSTUW9"
    callsigns = [f"{letters[i % 7]}{letters[(i // 7) % 7]}{1000 + i % 9000}" for i in range(n)]
    return Fleet(
        kind=kind,
        mmsi=mmsi,
        imo=imo.astype(np.int64),
        ship_type=np.array([KINDS[k].ship_type for k in kind], dtype=np.int64),
        length_m=length,
        beam_m=np.maximum(3, length // 7),
        draught_m=np.round(np.clip(length / 25, 1.0, 20.0) * rng.uniform(0.7, 1.0, n), 1),
        cruise_kn=cruise,
        mode=mode,
        route=route,
        along_km=along,
        port=home,
        dest=dest,
        moored_until_s=moored_until,
        lat=lat,
        lon=lon,
        sog_kn=np.where(mode == MOORED, 0.0, cruise),
        cog_deg=cog,
        centre_lat=centre_lat,
        centre_lon=centre_lon,
        radius_km=radius,
        name=names,
        callsign=callsigns,
    )
