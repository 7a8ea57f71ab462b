"""``seawatch serve`` with live feeds: what is loaded once is loaded before the first batch,
and the garbage collector set for a long-lived process holding a large pipeline state.

:func:`warm_up` runs a throwaway pipeline (decode, tracks, geography, every detector with
the server's parameters) over a small generated sample before the feeds open: the compiled
kernels (numba's on-disk cache; the live streams' socket writes' too), the coastline tree
and the shore-distance grid are loaded then, not inside the first live batches that need
them (~0.4 s of CPU once, up to ~1 s of latency on a busy machine; bench/RESULTS.md,
2026-12-06).

:func:`tuned_gc`: what the process holds after start-up is frozen (never scanned again) and
the collector runs less often. A full (generation 2) collection scans every object the
pipeline state holds (~100-300 ms with 100,000 vessels, every ~10 s at 1,000 msg/s with
CPython's default thresholds): with these thresholds a full collection comes after ~50 M net
allocations instead of ~70 k; reference counting still frees everything that is not in a
cycle at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seawatch.settings import Settings

__all__ = ["GC_THRESHOLDS", "tuned_gc", "warm_up"]

log = logging.getLogger(__name__)

GC_THRESHOLDS = (10_000, 50, 100)
"""``gc.set_threshold`` of a serving process (CPython's default: 700, 10, 10)."""


def warm_up(settings: Settings) -> None:
    """Run the live pipeline once over a small generated sample (nothing is stored)."""
    from seawatch.engine.run import Engine
    from seawatch.serve import live_send
    from seawatch.sim.synth import write_sample

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="seawatch-warm-") as tmp:
        sample = Path(tmp) / "warm.nmea"
        write_sample(sample, vessels=20, minutes=30)
        engine = Engine(dataclasses.replace(settings, reorder_window_s=0.0), detect=True)
        engine.add([sample])
        engine.finish()
    live_send.warm_up()  # the /live frames' writes (seawatch.serve.live_push)
    log.info("live pipeline loaded in %.1f s", time.perf_counter() - t0)


@contextlib.contextmanager
def tuned_gc() -> Iterator[None]:
    """Within: what start-up made frozen, the collector's thresholds :data:`GC_THRESHOLDS`;
    after, as before (the serving process goes on, e.g. in tests)."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
