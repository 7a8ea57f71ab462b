"""What the pipeline hands on: a chunk's positions released before the detectors
(:class:`Released`), and its result after them (:class:`ChunkResult`); :func:`ran` drives a
step-wise detection (:meth:`seawatch.engine.pipeline.Pipeline.detect_steps`) to its end."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import pyarrow as pa

__all__ = ["ChunkResult", "Released", "ran"]


@dataclass
class Released:
    """What :meth:`Pipeline.release` let go of, before the detectors (:meth:`Pipeline.detect`)."""

    positions: pa.Table
    """Released positions: cleaned, sorted by (mmsi, ts), with segment_id and geography
    (what :attr:`ChunkResult.positions` will be)."""
    statics: pa.Table
    """Released statics, in time order."""
    late: dict[str, pa.Table]
    """Rows older than what was already released, by table, for quarantine."""
    cutoff_us: int
    final: bool
    segmented: pa.Table
    """The positions before geography (what the segments' identity reads)."""


@dataclass
class ChunkResult:
    """What one :meth:`Pipeline.feed` (or :meth:`Pipeline.finish`) produced."""

    positions: pa.Table
    """Released positions: cleaned, sorted by (mmsi, ts), with segment_id and geography."""
    events: pa.Table
    """Events closed in this chunk (after finish: also every event still open)."""
    late: dict[str, pa.Table] = field(default_factory=dict)
    """Rows older than what was already released, by table, for quarantine."""
    retract: list[str] = field(default_factory=list)
    """At a run's end: ids of the events the previous run left open (its
    :meth:`Pipeline.checkpoint`) that this one neither closed nor still holds open."""


def ran(steps: Generator[None, None, ChunkResult]) -> ChunkResult:
    """What a step-wise detection returns, all its steps run."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
