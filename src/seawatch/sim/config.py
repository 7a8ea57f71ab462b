"""What to simulate and what a run produced: :class:`SimConfig` and :class:`SimResult`.

In: the options of ``seawatch simulate`` (or a caller's). Out: a checked configuration for
:func:`~.run.simulate`, and the counts it returns (also written to ``manifest.json``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from seawatch.errors import InputError

__all__ = ["DEFAULT_START", "SimConfig", "SimResult"]

DEFAULT_START = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class SimConfig:
    """What to simulate; every field has the default the CLI shows."""

    seed: int = 1
    vessels: int = 300
    hours: float = 24.0
    start: dt.datetime = DEFAULT_START
    step_s: int = 60
    behaviours: bool = True
    vhf_range_nm: float = 40.0
    satellites: int = 3
    noise_m: float = 10.0

    def check(self) -> None:
        if not 1 <= self.vessels <= 100_000:
            raise InputError(f"--vessels must be 1–100000, not {self.vessels}")
        if not 0 < self.hours <= 24 * 31:
            raise InputError(f"--hours must be above 0 and at most 744, not {self.hours}")
        if self.start.tzinfo is None:
            raise InputError("--start must carry a time zone (e.g. 2025-06-01T00:00:00Z)")
        if not 1 <= self.step_s <= 600:
            raise InputError(f"the time step must be 1–600 s, not {self.step_s}")


@dataclass(frozen=True)
class SimResult:
    """Counts of one run (also written to ``manifest.json``)."""

    files: tuple[str, ...]
    lines: int
    transmissions: int
    receptions: int
    by_type: dict[str, int]
    behaviours: dict[str, int]
    simulated_s: float  # the simulated time covered: ``hours`` unless stopped early
    complete: bool  # False when stopped early (``stop``): the files hold the time covered
