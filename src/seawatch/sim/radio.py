"""The radio side: when each vessel transmits, and which receivers hear it.

In: speeds, AIS classes and navigational states (arrays); positions and times of
transmissions. Out: reporting intervals (ITU-R M.1371 via DOMAIN.md §2) and, per
transmission, the receivers that heard it: shore stations within VHF range (about 40 nm; each
of the two nearest stations in range hears a message with a chance that falls from 95 %
within half the range to 60 % at its edge, so a message is often reported twice), else a
satellite when its pass covers the vessel (S-AIS: a handful of satellites, ~10 min passes
every ~97 min, a third of the messages lost to slot collisions).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from seawatch.geo._sphere import EARTH_RADIUS_KM, chord_to_km, kd_tree, unit_vectors

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

__all__ = ["Receivers", "reporting_interval_s"]

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

#: Shore receiving stations: coastal ports of these countries (UN/LOCODE prefix), thinned
#: to one every :data:`STATION_SPACING_KM`, plus a few far ports on the main lanes.
STATION_COUNTRIES = ("IN", "LK", "MV", "BD", "SG", "MY", "AE", "OM", "PK")
STATION_EXTRA = ("DJJIB", "KEMBA", "MUPLU", "AUFRE", "SAJED", "IDJKT")
STATION_SPACING_KM = 60.0


@functools.cache
def shore_stations() -> tuple[tuple[str, float, float], ...]:
    """``(name, lat, lon)`` of the shore stations: on the coast (≤ 5 km inland), spaced."""
    from seawatch.geo.ports import default_ports
    from seawatch.geo.shore import distance_inland_km

    rows = sorted(default_ports().table.to_pylist(), key=lambda r: str(r["port_id"]))
    rows = [
        r
        for r in rows
        if str(r["port_id"])[:2] in STATION_COUNTRIES or r["port_id"] in STATION_EXTRA
    ]
    inland = distance_inland_km([r["lat"] for r in rows], [r["lon"] for r in rows])
    kept: list[tuple[str, float, float]] = []
    for r, km in zip(rows, inland, strict=True):
        lat, lon = float(r["lat"]), float(r["lon"])
        near = any(
            np.hypot(lat - la, (lon - lo) * np.cos(np.radians(lat))) * 111.195 < STATION_SPACING_KM
            for _, la, lo in kept
        )
        if km <= 5 and not near and "#" not in str(r["port_id"]):
            kept.append((f"sw-{str(r['port_id']).lower()}", lat, lon))
    return tuple(kept)


def reporting_interval_s(sog_kn: F64, class_a: B, class_b_so: B, at_anchor: B) -> F64:
    """Nominal reporting interval (DOMAIN.md §2, ITU-R M.1371).

    Class A: anchored or moored 3 min; 0–14 kn 10 s; 14–23 kn 6 s; > 23 kn 2 s.
    Class B SOTDMA: ≤ 2 kn 3 min; 2–14 kn 30 s; 14–23 kn 15 s; > 23 kn 5 s.
    Class B CSTDMA: ≤ 2 kn 3 min, else 30 s.
    """
    a = np.where(at_anchor, 180.0, np.where(sog_kn > 23, 2.0, np.where(sog_kn > 14, 6.0, 10.0)))
    so = np.where(sog_kn <= 2, 180.0, np.where(sog_kn > 23, 5.0, np.where(sog_kn > 14, 15.0, 30.0)))
    cs = np.where(sog_kn <= 2, 180.0, 30.0)
    return np.where(class_a, a, np.where(class_b_so, so, cs))


@functools.cache
def _station_tree(lat: bytes, lon: bytes) -> cKDTree:
    return kd_tree(unit_vectors(np.frombuffer(lat), np.frombuffer(lon)))


@dataclass(frozen=True)
class Receivers:
    """Shore stations and satellites; ``names`` holds both (satellites last)."""

    names: tuple[str, ...]
    lat: F64
    lon: F64
    range_km: float
    sat_phase_s: F64
    sat_period_s: float = 97 * 60.0
    sat_pass_s: float = 10 * 60.0
    sat_p: float = 0.65

    @classmethod
    def default(
        cls, rng: np.random.Generator, *, range_nm: float = 40.0, satellites: int = 3
    ) -> Receivers:
        shore = shore_stations()
        names = [name for name, _, _ in shore] + [f"sat-{k + 1}" for k in range(satellites)]
        return cls(
            names=tuple(names),
            lat=np.array([lat for _, lat, _ in shore]),
            lon=np.array([lon for _, _, lon in shore]),
            range_km=range_nm * 1.852,
            sat_phase_s=rng.uniform(0, 97 * 60.0, satellites),
        )

    def _tree(self) -> cKDTree:
        return _station_tree(self.lat.tobytes(), self.lon.tobytes())

    def _range_chord(self) -> float:
        return float(2.0 * np.sin(self.range_km / EARTH_RADIUS_KM / 2.0))

    @property
    def n_shore(self) -> int:
        return len(self.lat)

    def hear(
        self, rng: np.random.Generator, t_s: F64, lat: F64, lon: F64
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """``(row, receiver)`` pairs: which transmissions each receiver reported.

        ``t_s`` are transmission times (seconds since the run's start).
        """
        n = len(t_s)
        # the two nearest stations within range, each hearing with p(distance)
        chord, near = self._tree().query(
            unit_vectors(lat, lon), k=2, distance_upper_bound=self._range_chord()
        )
        d = chord_to_km(np.where(np.isfinite(chord), chord, 0.0))
        p = 0.95 - 0.35 * np.clip(d / self.range_km - 0.5, 0.0, 0.5) * 2
        heard = np.isfinite(chord) & (rng.random(chord.shape) < p)
        rows = np.repeat(np.arange(n), 2)[heard.reshape(-1)]
        cols = near.reshape(-1)[heard.reshape(-1)]
        # satellites: a pass sweeps west to east; heard only where no shore station did
        none = ~heard.any(axis=1)
        sat_rows, sat_cols = [], []
        for k, phase in enumerate(self.sat_phase_s):
            inside = (
                (t_s - phase - (lon + 180) / 360 * self.sat_period_s) % self.sat_period_s
            ) < self.sat_pass_s
            got = none & inside & (rng.random(n) < self.sat_p)
            none &= ~got
            sat_rows.append(np.flatnonzero(got))
            sat_cols.append(np.full(int(got.sum()), self.n_shore + k))
        all_rows = np.concatenate([rows, *sat_rows])
        all_cols = np.concatenate([cols, *sat_cols]).astype(np.intp)
        return all_rows.astype(np.intp), all_cols
