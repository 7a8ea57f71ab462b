"""Position error of the fixes a vessel reports: GPS error that wanders, plus jitter.

In: a seeded generator, the fleet's size, the error's scale (``noise_m``) and the time step.
Out: per step, the (dlat, dlon) in degrees added to each transmitted position.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["GPS_ERROR_TAU_S", "WHITE_NOISE_SHARE", "GpsError"]

F64 = npt.NDArray[np.float64]
GPS_ERROR_TAU_S = 600.0  # GPS error wanders: correlated over minutes, not fresh every fix
WHITE_NOISE_SHARE = 0.1  # per-fix jitter, as a share of noise_m


class GpsError:
    """Each vessel's position error: an offset (σ ``noise_m`` per axis) that wanders with a
    correlation time of :data:`GPS_ERROR_TAU_S` (an AR(1) process), plus a small jitter per
    fix. Independent 10 m errors on fixes 10 s apart would make a ship at anchor seem to move
    at 3 kn; real receivers' errors drift slowly (anchored ships in the real Suez and Baltic
    samples show implied speeds well below 2 kn)."""

    def __init__(self, rng: np.random.Generator, n: int, noise_m: float, step_s: float) -> None:
        self.noise_m = noise_m
        self.rho = float(np.exp(-step_s / GPS_ERROR_TAU_S))
        self.north_m = rng.normal(0.0, noise_m, n)
        self.east_m = rng.normal(0.0, noise_m, n)

    def step(self, rng: np.random.Generator) -> None:
        kick = self.noise_m * float(np.sqrt(1.0 - self.rho**2))
        self.north_m = self.rho * self.north_m + rng.normal(0.0, kick, len(self.north_m))
        self.east_m = self.rho * self.east_m + rng.normal(0.0, kick, len(self.east_m))

    def degrees(
        self, rng: np.random.Generator, v: npt.NDArray[np.intp], lat: F64
    ) -> tuple[F64, F64]:
        """(dlat, dlon) of transmissions by vessels ``v`` at latitudes ``lat``."""
        white = self.noise_m * WHITE_NOISE_SHARE
        d_lat = (self.north_m[v] + rng.normal(0.0, white, len(v))) / 111_195.0
        d_lon = (self.east_m[v] + rng.normal(0.0, white, len(v))) / (
            111_195.0 * np.maximum(np.cos(np.radians(lat)), 0.01)
        )
        return d_lat, d_lon
