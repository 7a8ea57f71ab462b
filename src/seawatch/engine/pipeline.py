"""The detect pipeline, one chunk at a time: decoded tables in, segmented positions and events out.

In: successive chunks of decoded ``positions`` and ``statics``
(:data:`seawatch.decode.schemas.SCHEMAS`), roughly in time order, as a feed or a file
gives them. Out, per chunk (:meth:`Pipeline.feed`): the positions released so far, cleaned,
with ``segment_id`` and (when geography runs) the geography columns, the events closed in
the chunk and the rows that came too late; at the end (:meth:`Pipeline.finish`): the rest of
the positions, the events still open, then :meth:`Pipeline.segments` and
:meth:`Pipeline.history`. ``seawatch detect`` writes these; live ingest and benchmarks use
the same object.

Stages: reorder buffer → tracks.clean → tracks.segment → geo.enrich → every detector of
:mod:`seawatch.events.registry` with its parameters (``params``); statics go to the detectors
that read them (``identity_change``) and to the segments' identity
(:class:`seawatch.tracks.identity.SegmentsAccumulator`). Each stage carries its state, so
memory is one chunk plus that state, never the whole input.

Every stage needs time order. A row is held until it is older than the newest time seen
minus ``reorder_window_s``, then released with the others sorted by time (equal times in
the order of their MMSI and message key, not of arrival). A row older than what was
already released is *late*: it is returned for quarantine and counted, never silently
dropped. Given the same rows with none late, in any order and any chunks, the outputs
equal those of one pass over the whole input.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch import tracks
from seawatch.decode.keys import message_keys
from seawatch.errors import ConfigError
from seawatch.events.registry import Detector, detectors
from seawatch.events.schema import EVENTS_SCHEMA
from seawatch.tracks.clean import DROP_REASONS
from seawatch.tracks.identity import DEFAULT_MAX_ATTRIBUTION_S, SegmentsAccumulator
from seawatch.tracks.schemas import SEGMENT_ID

__all__ = [
    "DETECTORS",
    "SOURCE_ID",
    "ChunkResult",
    "Pipeline",
    "ReorderBuffer",
    "time_order",
    "ts_us",
]

log = logging.getLogger(__name__)

DETECTORS: tuple[tuple[str, str], ...] = tuple((d.name, d.reads) for d in detectors())
"""The built-in detectors (:mod:`seawatch.events.registry`) with the table each reads; a
:class:`Pipeline` runs the detectors registered when it is made."""

SOURCE_ID = "source_id"
"""The column (int32) by which the engine tells which input a row came from; with
``carry_source`` the pipeline keeps it on every row it releases."""

_US = pa.timestamp("us", tz="UTC")
_NEVER = -(2**62)


def ts_us(table: pa.Table) -> np.ndarray[Any, np.dtype[np.int64]]:
    """``ts`` as µs since the epoch; null as the smallest int64 (sorts first, never late)."""
    ts = table.column("ts").cast(_US).cast(pa.int64())
    return np.asarray(pc.fill_null(ts, pa.scalar(np.iinfo(np.int64).min, pa.int64())), np.int64)


def time_order(table: pa.Table, kind: str) -> pa.Table:
    """``table`` (``kind``: positions or statics) sorted by time, rows of equal time in a
    total order of their content (MMSI, then message key), not of arrival: the order of the
    stages' input never depends on how the input was split into files or chunks."""
    mmsi_col: Any = table.column("mmsi").cast(pa.int64())
    mmsi: Any = pc.fill_null(mmsi_col, pa.scalar(-1, pa.int64()))
    keys = np.asarray(message_keys(table, kind).to_numpy(), np.int64)
    order = np.lexsort((keys, np.asarray(mmsi.to_numpy(), np.int64), ts_us(table)))
    return table.take(order)


class ReorderBuffer:
    """Rows of one table (``kind``: positions or statics) held until released in time
    order; see the module docstring. Rows of equal time are released in the order of their
    MMSI and message key (:func:`seawatch.decode.keys.message_keys`), whatever order they
    came in. Rows without a time are released at once (the stages count or skip them).
    """

    def __init__(self, schema: pa.Schema, kind: str = "positions") -> None:
        self.schema = schema
        self.kind = kind
        self._held: list[pa.Table] = []
        self.horizon_us = _NEVER
        """Everything older than this has been released; a newer row is not late."""

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self._held)

    def push(self, table: pa.Table) -> pa.Table:
        """Hold ``table``'s rows; returns the late ones (older than the horizon)."""
        ts = ts_us(table)
        late = (ts < self.horizon_us) & np.asarray(table.column("ts").is_valid(), bool)
        if late.any():
            self._held.append(table.filter(pa.array(~late)))
            return table.filter(pa.array(late))
        self._held.append(table)
        return table.slice(0, 0)

    def release(self, cutoff_us: int) -> pa.Table:
        """The rows older than ``cutoff_us`` (or without a time), sorted by time, stable."""
        held = pa.concat_tables([self.schema.empty_table(), *self._held])
        self.horizon_us = max(self.horizon_us, cutoff_us)
        ts = ts_us(held)
        out = ts < self.horizon_us
        self._held = [held.filter(pa.array(~out))] if not out.all() else []
        return time_order(held.filter(pa.array(out)), self.kind)


@dataclass
class ChunkResult:
    """What one :meth:`Pipeline.feed` (or :meth:`Pipeline.finish`) produced."""

    positions: pa.Table
    """Released positions: cleaned, sorted by (mmsi, ts), with segment_id and geography."""
    events: pa.Table
    """Events closed in this chunk (after finish: also every event still open)."""
    late: dict[str, pa.Table] = field(default_factory=dict)
    """Rows older than what was already released, by table, for quarantine."""


class ShipTypes:
    """Each MMSI's last reported ship type (statics), for the detectors that filter by it
    (zone rules: ``ship_types``): one entry per vessel, not per message."""

    def __init__(self) -> None:
        self.mmsi = np.empty(0, dtype=np.int64)
        self.code = np.empty(0, dtype=np.int64)

    def add(self, statics: pa.Table) -> None:
        if statics.num_rows == 0 or "ship_type" not in statics.column_names:
            return
        known = statics.filter(
            pc.and_(pc.is_valid(statics.column("ship_type")), pc.is_valid(statics.column("mmsi")))
        )
        if known.num_rows == 0:
            return
        known = known.sort_by([("ts", "ascending")])
        mmsi = np.concatenate([self.mmsi, known.column("mmsi").to_numpy().astype(np.int64)])
        code = np.concatenate([self.code, known.column("ship_type").to_numpy().astype(np.int64)])
        # the last report of each MMSI wins: unique over the reversed order keeps the last
        last, idx = np.unique(mmsi[::-1], return_index=True)
        self.mmsi, self.code = last, code[::-1][idx]

    def attach(self, positions: pa.Table) -> pa.Table:
        """``positions`` with ``ship_type``: the row's own (class B type 19 reports carry
        one), else the MMSI's last reported, else null."""
        if positions.num_rows == 0 or len(self.mmsi) == 0:
            return positions
        col: Any = positions.column("mmsi")
        filled: Any = pc.fill_null(col, 0)
        mmsi = np.asarray(filled.to_numpy(), dtype=np.int64)
        at = np.clip(np.searchsorted(self.mmsi, mmsi), 0, max(len(self.mmsi) - 1, 0))
        looked_up = pa.array(self.code[at], pa.int16(), mask=self.mmsi[at] != mmsi)
        if "ship_type" not in positions.column_names:
            return positions.append_column("ship_type", looked_up)
        i = positions.schema.get_field_index("ship_type")
        own: Any = positions.column(i)
        merged = pc.coalesce(own, looked_up.cast(own.type))
        return positions.set_column(i, positions.schema.field(i), merged)


def _params_for(found: Mapping[str, Detector], given: Mapping[str, Any]) -> dict[str, Any]:
    """Each detector's parameters: ``given``'s, else its defaults; checked against the registry."""
    for name, value in given.items():
        if name not in found:
            raise ConfigError(
                f"params for unknown detector {name!r} (detectors: {', '.join(found)})"
            )
        if not isinstance(value, found[name].params):
            kind = found[name].params.__name__
            raise ConfigError(f"params of {name!r} must be a {kind}, got {type(value).__name__}")
    return {name: given.get(name) or d.params() for name, d in found.items()}


class Pipeline:
    """Chained stages with their states; :meth:`feed` chunks, then :meth:`finish` once.

    ``geography``: run :func:`seawatch.geo.enrich` (with ``zones``); if its packages or
    data are missing, a warning is logged and the pipeline runs without it
    (:attr:`geography` tells which). ``reorder_window_s`` defaults to the setting's default.
    ``params``: detector name → parameter instance (:func:`seawatch.events.registry.
    resolve_params`); a detector left out runs with its defaults.
    ``carry_source``: the chunks carry :data:`SOURCE_ID` (the engine's input number), kept
    on every released row. ``only``: the names of the detectors to run (default: all); a
    partitioned run (:mod:`seawatch.engine.partition_tasks`) runs those that look across
    vessels as their own stages.
    """

    def __init__(
        self,
        *,
        zones: Sequence[Any] = (),
        geography: bool = True,
        reorder_window_s: float | None = None,
        max_attribution_s: float = DEFAULT_MAX_ATTRIBUTION_S,
        params: Mapping[str, Any] | None = None,
        carry_source: bool = False,
        only: Collection[str] | None = None,
    ) -> None:
        from seawatch.decode.schemas import SCHEMAS
        from seawatch.settings import SETTINGS

        if reorder_window_s is None:
            reorder_window_s = float(SETTINGS["reorder_window_s"].default)
        self.window_us = int(reorder_window_s * 1e6)
        self.zones = list(zones)
        source = pa.field(SOURCE_ID, pa.int32())
        self.buffers = {
            name: ReorderBuffer(
                SCHEMAS[name].append(source) if carry_source else SCHEMAS[name], name
            )
            for name in ("positions", "statics")
        }
        self.latest_us = _NEVER
        self.dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)
        self.late: dict[str, int] = dict.fromkeys(self.buffers, 0)
        self.positions = 0
        self._clean: tracks.CleanState | None = None
        self._segment: tracks.SegmenterState | None = None
        self._detectors = {d.name: d for d in detectors() if only is None or d.name in only}
        every = _params_for({d.name: d for d in detectors()}, params or {})
        self.params = {name: every[name] for name in self._detectors}
        self._states: dict[str, Any] = dict.fromkeys(self._detectors)
        self._schemas: dict[str, pa.Schema] = {}
        self._identity = SegmentsAccumulator(max_attribution_s)
        self._ship = ShipTypes()
        self._finished = False
        self.geography = geography and self._probe_geography()

    def _probe_geography(self) -> bool:
        """Whether geo.enrich runs here (it loads its data on the first call)."""
        empty = (
            self.buffers["positions"]
            .schema.empty_table()
            .append_column(SEGMENT_ID, pa.array([], pa.int64()))
        )
        try:
            from seawatch.geo import enrich

            enrich(empty, zones=self.zones)
        except (ImportError, ConfigError, OSError) as exc:
            log.warning(
                "geography skipped (%s): events run without on_land, distance_to_shore_km and "
                "distance_to_port_km, so suspected_disabling finds nothing",
                exc,
            )
            return False
        return True

    def feed(
        self, positions: pa.Table, statics: pa.Table, now_us: int | None = None
    ) -> ChunkResult:
        """Take one chunk; return what it released (see :class:`ChunkResult`).

        ``now_us``: the feed's current time, when the caller knows better than the newest
        row seen (several inputs read side by side: the slowest one's time).
        """
        if self._finished:
            raise RuntimeError("Pipeline.feed after finish(); make a new Pipeline")
        late: dict[str, pa.Table] = {}
        for name, table in (("positions", positions), ("statics", statics)):
            if table.num_rows:
                self.latest_us = max(self.latest_us, int(ts_us(table).max()))
            late[name] = self.buffers[name].push(table)
            self.late[name] += late[name].num_rows
        now = self.latest_us if now_us is None else now_us
        cutoff = max(b.horizon_us for b in self.buffers.values())
        if now > _NEVER:
            cutoff = max(cutoff, now - self.window_us)
        return self._run(cutoff, late, final=False)

    def finish(self, watermark_us: int | None = None) -> ChunkResult:
        """Release every held row and return it with the last closed and all open events.

        ``watermark_us``: the time up to which the whole run's data is complete (a
        partition of it passes the run's, not its own newest time); default the newest
        time seen."""
        if self._finished:
            raise RuntimeError("Pipeline.finish called twice")
        if watermark_us is not None:
            self.latest_us = max(self.latest_us, watermark_us)
        result = self._run(np.iinfo(np.int64).max, {}, final=True)
        self._finished = True
        return result

    def _run(self, cutoff_us: int, late: dict[str, pa.Table], *, final: bool) -> ChunkResult:
        raw = self.buffers["positions"].release(cutoff_us)
        statics = self.buffers["statics"].release(cutoff_us)
        cleaned = tracks.clean(raw, state=self._clean)
        self._clean = cleaned.state
        for reason, n in cleaned.dropped.items():
            self.dropped[reason] = self.dropped.get(reason, 0) + n
        positions, segments = tracks.segment(cleaned.positions, self._segment)
        # segments silent past max_gap_hours before the cutoff can never match a later row
        self._segment = segments if final else segments.open_until(cutoff_us)
        self._identity.add(positions, statics, horizon=None if final else cutoff_us)
        if final:
            self._identity.finish()
        if self.geography:
            from seawatch.geo import enrich

            positions = enrich(positions, zones=self.zones)
        self.positions += positions.num_rows
        self._ship.add(statics)
        inputs = {"positions": self._ship.attach(positions), "statics": statics}
        found = [EVENTS_SCHEMA.empty_table()]
        # the watermark: every row older has been released (a later one is late), so each
        # detector's "now" is the same whatever the chunking; at the end, the newest time seen
        watermark = self.latest_us if final else cutoff_us
        for name, d in self._detectors.items():
            table = inputs[d.reads]
            if table.num_rows:  # closed events only: the open ones come at the end
                events, self._states[name] = d.detect(
                    table,
                    self.params[name],
                    state=self._states[name],
                    open_events=False,
                    watermark_us=watermark,
                )
                found.append(events)
                self._schemas[name] = table.schema
        if final:  # a last call with no rows returns what is still open
            for name, schema in self._schemas.items():
                events, _ = self._detectors[name].detect(
                    schema.empty_table(),
                    self.params[name],
                    state=self._states[name],
                    watermark_us=watermark,
                )
                found.append(events)
        return ChunkResult(positions, pa.concat_tables(found), late)

    def segments(self) -> pa.Table:
        """One row per segment (:data:`seawatch.tracks.schemas.SEGMENTS`), after finish."""
        return self._identity.segments()

    def history(self) -> pa.Table:
        """Identity change points per segment (:data:`seawatch.tracks.schemas.IDENTITY`)."""
        return self._identity.history()
