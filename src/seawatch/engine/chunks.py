"""What the pipeline hands on: a chunk's positions released before the detectors
(:class:`Released`), and its result after them (:class:`ChunkResult`); :func:`ran` drives a
step-wise detection (:meth:`seawatch.engine.pipeline.Pipeline.detect_steps`) to its end;
:func:`joined` makes successive releases one, for one pass of the detectors."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import pyarrow as pa

from seawatch.geo.enrich import ENRICH_SCHEMA, zone_column

__all__ = ["ChunkResult", "Released", "joined", "ran", "without_geography"]


@dataclass
class Released:
    """What :meth:`Pipeline.release` let go of, before the detectors (:meth:`Pipeline.detect`)."""

    positions: pa.Table
    """Released positions: cleaned, sorted by (mmsi, ts), with segment_id, without the
    geography columns (stored and sent as they are; :attr:`ChunkResult.positions` has them:
    the detectors' pass adds them)."""
    statics: pa.Table
    """Released statics, in time order."""
    late: dict[str, pa.Table]
    """Rows older than what was already released, by table, for quarantine."""
    cutoff_us: int
    final: bool
    segmented: pa.Table
    """The positions the segments' identity reads (as released)."""


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


def joined(parts: list[Released]) -> Released:
    """Successive releases (oldest first) as one: their rows in the order given (each in
    time order, each later than the one before), the last one's cutoff. The detectors see
    the same rows in the same order as in one pass per release (they carry their state
    from chunk to chunk), in one pass; its rows late are ``{}`` (each release keeps its
    own, for its own result)."""
    if len(parts) == 1:
        return parts[0]

    def concat(tables: list[pa.Table]) -> pa.Table:
        return pa.concat_tables([t for t in tables if t.num_rows] or tables[:1])

    positions = concat([p.positions for p in parts])
    same = all(p.segmented is p.positions for p in parts)  # as released: one table, kept one
    segmented = positions if same else concat([p.segmented for p in parts])
    statics = concat([p.statics for p in parts])
    return Released(positions, statics, {}, parts[-1].cutoff_us, parts[-1].final, segmented)


def without_geography(rows: pa.Table) -> pa.Table:
    """Positions without the geography columns (not stored; released positions have none,
    a result's do: :meth:`~seawatch.engine.pipeline.Pipeline._geography`)."""
    added = [c for c in rows.column_names if c in _GEOGRAPHY or c.startswith(_ZONE)]
    return rows.drop_columns(added) if added else rows


_GEOGRAPHY = frozenset(ENRICH_SCHEMA.names)
_ZONE = zone_column("")  # every zone layer's column starts so
