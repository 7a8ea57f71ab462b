"""A live feed through the engine: batches stored as they arrive, one pipeline across them.

In: an open :class:`seawatch.sources.feed.Feed` (TCP or UDP NMEA; lines without a receive
time are stamped with their arrival time by the feed), an :class:`~seawatch.engine.ingest.Ingest`
session, a folder for the batches as received, and a stop event (set by Ctrl-C/SIGTERM
through :func:`seawatch.signals.stop_on_signals`, or by the server). Out: each batch kept
whole in ``<folder>/batch-NNNNN.nmea`` and stored at once (positions with their segment,
events as they close), a :class:`Batch` report per batch to ``on_batch``, and the session
finished (open events, segments) when the feed ends: nothing received is lost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from seawatch.engine.workspace import write_atomic

if TYPE_CHECKING:
    from seawatch.engine.ingest import Ingest, IngestReport
    from seawatch.sources.feed import Feed

__all__ = ["Batch", "ingest_live"]


@dataclass(frozen=True)
class Batch:
    """One batch as stored: its number (from 1), file, lines, and what it added."""

    number: int
    path: Path
    lines: int
    positions: int
    events: int


def ingest_live(
    session: Ingest,
    feed: Feed,
    folder: Path,
    *,
    batch_s: float,
    stop: threading.Event,
    duration_s: float | None = None,
    on_batch: Callable[[Batch], None] | None = None,
) -> IngestReport:
    """Read ``feed`` in batches of ``batch_s`` until it closes, ``duration_s`` passes or
    ``stop`` is set; store each batch through ``session``; finish the session."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for n, data in enumerate(feed.batches(batch_s, stop, duration_s)):
            path = folder / f"batch-{n:05d}.nmea"
            write_atomic(path, data)
            before = dict(session.report.stored)
            now = session.add([path]).stored
            if on_batch is not None:
                on_batch(
                    Batch(
                        n + 1,
                        path,
                        data.count(b"\n"),
                        now["positions"] - before["positions"],
                        now["events"] - before["events"],
                    )
                )
    finally:
        report = session.finish()
    return report
