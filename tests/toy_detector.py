"""A toy detector for the registry test: every position faster than ``min_speed_kn`` is an
event. It shows all a new detector needs: this module (a frozen parameter class and a
``detect`` function) and one :class:`~seawatch.events.registry.Detector` entry.

In: positions (``ts``, ``mmsi``, ``lat``, ``lon``, ``speed_kn``). Out: ``toy_fast`` events.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from seawatch.events.params import param
from seawatch.events.schema import build_events


@dataclass(frozen=True)
class ToyParams:
    """Parameters of the toy rule."""

    min_speed_kn: float = param(5.0, "a position faster than this is an event")


def detect(
    positions: pa.Table,
    params: ToyParams = ToyParams(),
    state: int | None = None,
    *,
    open_events: bool = True,
    watermark_us: int | None = None,
) -> tuple[pa.Table, int]:
    """One closed point event per fast position; the state counts the positions seen.
    Point events wait for nothing, so ``open_events`` and the engine's ``watermark_us`` (the
    time up to which the data is complete) have no effect."""
    speed = np.asarray(positions.column("speed_kn").fill_null(0.0), np.float64)
    fast = positions.filter(pa.array(speed > params.min_speed_kn))
    ts: Any = fast.column("ts").cast(pa.int64()).to_numpy()
    events = build_events(
        "toy_fast",
        start_us=ts,
        end_us=ts,
        mmsi=fast.column("mmsi").to_numpy(),
        lat=fast.column("lat").to_numpy(),
        lon=fast.column("lon").to_numpy(),
        confidence=[1.0] * fast.num_rows,
        details=[{"params": asdict(params)}] * fast.num_rows,
    )
    return events, (state or 0) + positions.num_rows
