"""The detect pipeline, one chunk at a time: decoded tables in, segmented positions and events out.

In: successive chunks of decoded ``positions`` and ``statics``
(:data:`seawatch.decode.schemas.SCHEMAS`), roughly in time order, as a feed or a file
gives them. Out, per chunk (:meth:`Pipeline.feed`): the positions released so far, cleaned,
with ``segment_id`` and (when geography runs) the geography columns, the events closed in
the chunk and the rows that came too late; at the end (:meth:`Pipeline.finish`): the rest,
the events still open, then :meth:`Pipeline.segments` and :meth:`Pipeline.history`.
A run that the next continues (daily runs) ends with :meth:`Pipeline.checkpoint` instead
and hands :meth:`Pipeline.state` to the next run's :meth:`Pipeline.resume` (:mod:`.state`).

Stages: reorder buffer → tracks.clean → tracks.segment → geo.enrich → every detector of
:mod:`seawatch.events.registry` with its parameters (``params``); statics go to the detectors
that read them (``identity_change``) and to the segments' identity
(:class:`seawatch.tracks.identity.SegmentsAccumulator`). Each stage carries its state, so
memory is one chunk plus that state, never the whole input.

Every stage needs time order. A row is held until it is older than the newest time seen
minus ``reorder_window_s``, then released with the others sorted by time (equal times in
the order of their MMSI and message key, not of arrival). A row older than what was
already released is *late*: returned for quarantine and counted, never dropped. Given the
same rows, none late, in any order and chunks, the outputs equal one pass's.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Collection, Generator, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from seawatch import tracks
from seawatch.engine.chunks import ChunkResult, Released, joined, ran
from seawatch.engine.reorder import NEVER_US, ReorderBuffer, time_order, ts_us
from seawatch.engine.ship_types import ShipTypes
from seawatch.errors import ConfigError
from seawatch.events.registry import Detector, detectors
from seawatch.events.schema import EVENTS_SCHEMA
from seawatch.events.tracks_in import advancing_in_place
from seawatch.tracks.clean import DROP_REASONS
from seawatch.tracks.identity import DEFAULT_MAX_ATTRIBUTION_S, SegmentsAccumulator
from seawatch.tracks.schemas import SEGMENT_ID

__all__ = [
    "DETECTORS",
    "SOURCE_ID",
    "ChunkResult",
    "Pipeline",
    "Released",
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
    on every released row. ``ports``: the :class:`seawatch.geo.ports.PortTable` that
    ``distance_to_port_km`` is measured against (default: the built-in list; the engine
    gives the node's, built-in + imported + derived: :mod:`seawatch.engine.ports`).
    ``only``: the detectors to run (default: all; a partitioned run runs those across vessels
    on their own).
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
        ports: Any = None,
        only: Collection[str] | None = None,
    ) -> None:
        from seawatch.decode.schemas import SCHEMAS
        from seawatch.settings import SETTINGS

        if reorder_window_s is None:
            reorder_window_s = float(SETTINGS["reorder_window_s"].default)
        self.window_us = int(reorder_window_s * 1e6)
        self.zones = list(zones)
        self.ports = ports
        source = pa.field(SOURCE_ID, pa.int32())
        self.buffers = {
            name: ReorderBuffer(
                SCHEMAS[name].append(source) if carry_source else SCHEMAS[name], name
            )
            for name in ("positions", "statics")
        }
        self.latest_us = NEVER_US
        self.watermark_us = NEVER_US
        """Where :meth:`checkpoint` ended the run: every row older was taken in."""
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
        self._open_ids: set[str] = set()  # left open by the run this one resumed
        self._reissued: set[str] = set()  # of those, issued again by this run
        self._ended: tuple[pa.Table, pa.Table] | None = None  # segments, history at checkpoint
        self._waiting: deque[Released] = deque()  # released, not yet through the detectors
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
        """Take one chunk; return what it released (see :class:`ChunkResult`):
        :meth:`release`, then :meth:`detect`.

        ``now_us``: the feed's current time, when the caller knows better than the newest
        row seen (several inputs read side by side: the slowest one's time).
        """
        return self.detect(self.release(positions, statics, now_us))

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
        result.retract = sorted(self._open_ids - self._reissued)
        self._finished = True
        return result

    def checkpoint(self, watermark_us: int | None = None) -> ChunkResult:
        """End a run that the next one resumes (:meth:`state`, :meth:`resume`): release the
        rows older than ``watermark_us`` (default: what :meth:`feed` would) and return them
        with the events closed, then every event open at the watermark (the next run issues
        each again under its id, open or closed, or retracts it: :attr:`ChunkResult.retract`).
        Then :meth:`segments` are those that may have changed since the run began and
        :meth:`history` the identity changes found in it; the pipeline forgets what can no
        longer change, and is finished."""
        if self._finished:
            raise RuntimeError("Pipeline.checkpoint after finish(); make a new Pipeline")
        cutoff = max(b.horizon_us for b in self.buffers.values())
        if watermark_us is not None:
            cutoff = max(cutoff, watermark_us)
        elif self.latest_us > NEVER_US:
            cutoff = max(cutoff, self.latest_us - self.window_us)
        result = self._run(cutoff, {}, final=False)
        opened = self._still_open(cutoff)
        result.events = pa.concat_tables([result.events, opened])
        ids = {str(i) for i in opened.column("event_id").to_pylist()}
        result.retract = sorted(self._open_ids - self._reissued - ids)
        self._open_ids, self._reissued = ids, set()
        self._ended = (self._identity.segments(), self._identity.take_history())
        open_segments = self._segment.seg if self._segment is not None else np.empty(0, np.int64)
        self._identity.forget(cutoff, open_segments)
        self.watermark_us = cutoff
        self._finished = True
        return result

    def release(
        self, positions: pa.Table, statics: pa.Table, now_us: int | None = None
    ) -> Released:
        """The first half of :meth:`feed`: take one chunk and return the positions it
        releases, cleaned and segmented, before any detector has seen them (a live server
        stores and sends them first; the geography columns are added by the detectors' pass:
        :meth:`_geography`). Each release is then given to
        :meth:`detect`, in the order released; more chunks may be released meanwhile (the
        stages before the detectors keep a state of their own)."""
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
        if now > NEVER_US:
            cutoff = max(cutoff, now - self.window_us)
        return self._release(cutoff, late, final=False)

    def detect(self, released: Released) -> ChunkResult:
        """The second half of :meth:`feed`: identity and every detector over what
        :meth:`release` gave; the chunk's result (its positions are ``released``'s)."""
        return ran(self.detect_steps(released))

    def detect_steps(self, released: Released) -> Generator[None, None, ChunkResult]:
        """:meth:`detect` a step at a time: identity, then each detector, pausing between
        (a live feed stores a batch that came meanwhile: :meth:`release` may be called
        between steps); returns the chunk's result. Run to its end before the next
        release's."""
        if not self._waiting or released is not self._waiting[0]:
            raise RuntimeError("Pipeline.detect: not the oldest release waiting for it")
        self._waiting.popleft()
        return (yield from self._detect_steps(released))

    def join_waiting(self, count: int) -> Released:
        """The ``count`` oldest releases waiting for the detectors made one
        (:func:`~seawatch.engine.chunks.joined`), to be detected in one pass: its result holds
        the events of them all (the detectors' cost is mostly per pass, not per row)."""
        if not 0 < count <= len(self._waiting):
            raise RuntimeError(f"Pipeline.join_waiting: {count} of {len(self._waiting)} waiting")
        one = joined([self._waiting.popleft() for _ in range(count)])
        self._waiting.appendleft(one)
        return one

    def _run(self, cutoff_us: int, late: dict[str, pa.Table], *, final: bool) -> ChunkResult:
        if self._waiting:
            raise RuntimeError("Pipeline: detect() every release before finish or checkpoint")
        released = self._release(cutoff_us, late, final=final)
        self._waiting.popleft()
        return ran(self._detect_steps(released))

    def _release(self, cutoff_us: int, late: dict[str, pa.Table], *, final: bool) -> Released:
        raw = self.buffers["positions"].release(cutoff_us)
        statics = self.buffers["statics"].release(cutoff_us)
        cleaned = tracks.clean(raw, state=self._clean)
        self._clean = cleaned.state
        for reason, n in cleaned.dropped.items():
            self.dropped[reason] = self.dropped.get(reason, 0) + n
        positions, segments = tracks.segment(
            cleaned.positions, self._segment, order=cleaned.order, in_place=True
        )  # the pipeline never uses a state again once advanced
        # segments silent past max_gap_hours before the cutoff can never match a later row
        self._segment = segments if final else segments.open_until(cutoff_us)
        self.positions += positions.num_rows
        self._waiting.append(Released(positions, statics, late, cutoff_us, final, positions))
        return self._waiting[-1]

    def _geography(self, positions: pa.Table) -> pa.Table:
        """``positions`` with the geography columns the detectors read (when geography
        runs). Added by the detectors' pass, not at the release: the positions released are
        stored and sent without them (the store's table has none), so a live batch is told
        ~3 ms sooner, and a pass joining several releases enriches them at once (the same
        values: each row's own)."""
        if not self.geography:
            return positions
        from seawatch.geo import enrich

        return enrich(positions, ports=self.ports, zones=self.zones)

    def _detect_steps(self, released: Released) -> Generator[None, None, ChunkResult]:
        statics, final = released.statics, released.final
        positions = self._geography(released.positions)
        if positions is not released.positions and positions.num_rows:
            yield  # a step done (the caller may store a newer release first)
        cutoff_us = released.cutoff_us
        self._identity.add(released.segmented, statics, horizon=None if final else cutoff_us)
        if final:
            self._identity.finish()
        self._ship.add(statics)
        inputs = {"positions": self._ship.attach(positions), "statics": statics}
        found = [EVENTS_SCHEMA.empty_table()]
        # the watermark: every row older has been released (a later one is late), so each
        # detector's "now" is the same whatever the chunking; at the end, the newest time seen
        watermark = self.latest_us if final else cutoff_us
        for name, d in self._detectors.items():
            table = inputs[d.reads]
            if not table.num_rows:  # closed events only: the open ones come at the end
                continue
            yield  # a step done: the caller may store a newer release first
            with advancing_in_place():  # each state is replaced by the one its detector returns
                events, self._states[name] = d.detect(
                    table,
                    self.params[name],
                    state=self._states[name],
                    open_events=False,
                    watermark_us=watermark,
                )
            found.append(events)
            self._schemas[name] = table.schema
        if final:
            found.append(self._still_open(watermark))
        events = pa.concat_tables(found)
        if self._open_ids and events.num_rows:
            self._reissued |= self._open_ids & set(events.column("event_id").to_pylist())
        return ChunkResult(positions, events, released.late)

    def _still_open(self, watermark_us: int) -> pa.Table:
        """The events open at ``watermark_us``: a last call with no rows returns them (its
        state is dropped, so the run can go on)."""
        found = [EVENTS_SCHEMA.empty_table()]
        for name, schema in self._schemas.items():
            events, _ = self._detectors[name].detect(
                schema.empty_table(),
                self.params[name],
                state=self._states[name],
                watermark_us=watermark_us,
            )
            found.append(events)
        return pa.concat_tables(found)

    def segments(self) -> pa.Table:
        """One row per segment (:data:`seawatch.tracks.schemas.SEGMENTS`), after finish."""
        return self._identity.segments() if self._ended is None else self._ended[0]

    def history(self) -> pa.Table:
        """Identity change points per segment (:data:`seawatch.tracks.schemas.IDENTITY`)."""
        return self._identity.history() if self._ended is None else self._ended[1]

    # --- carried between runs (seawatch.engine.state) ----------------------------------
    _CARRIED = ("latest_us", "_clean", "_segment", "_states", "_schemas", "_identity", "_ship",
                "_open_ids")  # fmt: skip

    def _made_with(self) -> str:
        """What the state depends on besides the data: detectors, parameters, window, zones."""
        zones = [getattr(z, "name", repr(z)) for z in self.zones]
        text = repr((sorted(self.params.items()), self.window_us, self.geography, zones))
        return hashlib.sha256(text.encode()).hexdigest()

    def state(self) -> dict[str, Any]:
        """What the next run needs to go on as if it were this one, after :meth:`checkpoint`
        (:mod:`seawatch.engine.state` keeps it in a file)."""
        if self._ended is None:
            raise RuntimeError("Pipeline.state before checkpoint()")
        held = {k: (b.horizon_us, b.held()) for k, b in self.buffers.items()}
        return {"made_with": self._made_with(), "watermark_us": self.watermark_us,
                "held": held, **{k: getattr(self, k) for k in self._CARRIED}}  # fmt: skip

    def resume(self, state: dict[str, Any], name: str = "state") -> None:
        """Go on from ``state`` (:meth:`state` of the previous run), before the first feed;
        ``name`` (the file) is told when it was made with other detectors or parameters."""
        if self._finished or self.latest_us > NEVER_US:
            raise RuntimeError("Pipeline.resume after feed or finish; resume a new Pipeline")
        if state.get("made_with") != self._made_with():
            raise ConfigError(
                f"{name} was made with other detectors, parameters, reorder window or zones: "
                "run with those, or run the period again from its start"
            )
        for k in self._CARRIED:
            setattr(self, k, state[k])
        for k, (horizon, held) in state["held"].items():
            self.buffers[k].horizon_us = horizon
            self.buffers[k].push(held.cast(self.buffers[k].schema))
