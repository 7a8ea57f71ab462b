"""The engine: one driver for every pipeline run, whoever starts it.

In: sources (:mod:`seawatch.engine.inputs`: files merged in time order, a live feed's
batches as they come, or decoded tables handed over directly), the settings, zone layers,
detector parameters, and sinks. Out: each chunk's result handed to every sink as it is
released, the run's end (open events, segments, identity history) at :meth:`Engine.finish`,
and an :class:`EngineReport` of what happened, late rows included.

A sink is anything with ``chunk(piece, result)`` and ``finish(final)``
(:class:`Sink`): the store (:class:`seawatch.engine.ingest.StoreSink`), a Parquet
directory (:class:`seawatch.engine.sinks.ParquetDirSink`), subscribers such as a live
stream or alert rules (:class:`seawatch.engine.sinks.Subscribers`). ``seawatch detect``,
``ingest``, ``run`` and the server all drive this class; none has its own loop.

Without ``detect`` (a plain ingest) the engine decodes and hands each piece to the sinks
with no pipeline result: nothing is reordered, segmented or detected.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.decode import DecodeStats
from seawatch.decode.lacking import Untimed
from seawatch.engine.chunks import ran
from seawatch.engine.inputs import Findings, Piece, merged
from seawatch.engine.partition_state import portable
from seawatch.engine.pipeline import SOURCE_ID, ChunkResult, Pipeline, Released
from seawatch.engine.reorder import ts_column
from seawatch.events.registry import detectors, resolve_params

if TYPE_CHECKING:
    from seawatch.geo.ports import PortTable
    from seawatch.geo.zones import ZoneLayer
    from seawatch.settings import Settings

__all__ = ["JOIN_ROWS", "Engine", "EngineReport", "Final", "Sink"]

log = logging.getLogger(__name__)

JOIN_ROWS = 200_000
"""Positions of the pieces waiting for the detectors (``feed(..., detect_later=True)``)
joined into one pass at most (the first piece whatever its size)."""


@dataclass
class Final:
    """What the pipeline releases at the end: the last chunk (with every open event), the
    segments and the identity history."""

    result: ChunkResult
    segments: pa.Table
    history: pa.Table


class Sink(Protocol):
    """Where the engine's output goes. ``result`` is None without detection. A sink may
    also have ``released(piece, released)``: called with the chunk's positions as the
    pipeline releases them (:class:`~seawatch.engine.pipeline.Released`), before the
    detectors run on them; ``chunk`` follows with the whole result."""

    def chunk(self, piece: Piece, result: ChunkResult | None) -> None: ...

    def finish(self, final: Final | None) -> None: ...


@dataclass
class EngineReport:
    """What a run did, in counts (every entry point prints from this)."""

    inputs: int = 0
    chunks: int = 0
    decode: DecodeStats = field(default_factory=DecodeStats)
    read: dict[str, int] = field(default_factory=lambda: {"positions": 0, "statics": 0})
    """Rows decoded, before cleaning."""
    vessel_read: int | None = None
    """Of the positions decoded, a vessel's (:func:`seawatch.store.records.vessel_rows`):
    what a store sink counts as read. Set by the partitioned engines, whose store sees only
    the tasks' outputs; ``None`` when the sink counted them itself."""
    positions: int = 0
    """Positions released by the pipeline (cleaned, segmented); 0 without detection."""
    dropped: dict[str, int] = field(default_factory=dict)
    """Positions the cleaning dropped, by reason."""
    late: dict[str, int] = field(default_factory=lambda: {"positions": 0, "statics": 0})
    """Rows older than what was already released: quarantined by the sinks, never dropped."""
    past: dict[str, int] = field(default_factory=lambda: {"positions": 0, "statics": 0})
    """Of the rows older than what was released, those of a day a previous run ended
    (daily runs: run again, :mod:`seawatch.engine.late`); not in ``late``."""
    segments: int = 0
    events_by_type: dict[str, int] = field(default_factory=dict)
    geography: bool = False
    elapsed_s: float = 0.0
    findings: Findings = field(default_factory=Findings)
    """Inputs that could not be read (or only in part), and inputs without AIS."""

    @property
    def messages(self) -> int:
        return self.decode.messages

    @property
    def rejected(self) -> int:
        return self.decode.rejected

    @property
    def events(self) -> int:
        return sum(self.events_by_type.values())

    def late_text(self) -> str:
        """One line on the late rows, or '' when none."""
        n = sum(self.late.values())
        if not n:
            return ""
        return (
            f"{self.late['positions']:,} positions and {self.late['statics']:,} statics came "
            "more than reorder_window_s after newer rows: quarantined, not in tracks "
            "or events (sort the input by time or raise SEAWATCH_REORDER_WINDOW_S)"
        )

    @property
    def untimed(self) -> int:
        """Messages left without a receive time (no ``--untimed``): no track, not stored."""
        return self.decode.untimed - self.decode.assumed


class Engine:
    """One run: :meth:`add` inputs (files, merged in time order within each call) or
    :meth:`feed` decoded pieces, as they come; :meth:`finish` once.

    One pipeline spans every call, so tracks and events cross inputs and a live feed's
    batches. ``params``: detector parameters by detector name (default: the settings'
    ``detectors``, :func:`seawatch.events.registry.resolve_params`). ``untimed``: times
    assumed for messages without one (:mod:`seawatch.decode.lacking`). ``ports``: the port
    list for ``distance_to_port_km`` (default: the built-in one). An input that
    cannot be read is told in ``report.findings`` and the others go on.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        sinks: Sequence[Sink] = (),
        detect: bool = True,
        zones: Sequence[ZoneLayer] = (),
        params: Mapping[str, Any] | None = None,
        chunk_rows: int | None = None,
        progress: Callable[[int], None] | None = None,
        sources: list[str] | None = None,
        untimed: Untimed | None = None,
        ports: PortTable | None = None,
        detect_process: bool = False,
    ) -> None:
        self.settings = settings
        self.untimed = untimed
        self.sources: list[str] = [] if sources is None else sources
        """Every input's name by its :data:`SOURCE_ID` (the number on its rows)."""
        self.sinks = list(sinks)
        self.chunk_rows = chunk_rows
        self.progress = progress
        self.report = EngineReport(events_by_type={d.name: 0 for d in detectors()})
        self.pipeline: Pipeline | None = None
        self.past_us: int | None = None
        """Rows older are counted as ``past`` (a day already run), not ``late``."""
        if detect:
            made: type[Pipeline] = Pipeline
            if detect_process:  # the detectors' pass in a child process (a live ingest)
                from seawatch.engine.detect_process import ProcessPipeline as made  # noqa: N813
            self.pipeline = made(
                zones=zones,
                reorder_window_s=settings.reorder_window_s,
                params=resolve_params(settings) if params is None else params,
                carry_source=True,
                ports=ports,
            )
            self.report.geography = self.pipeline.geography
        self._ids = {name: i for i, name in enumerate(self.sources)}
        self._waiting: deque[tuple[Piece, Released]] = deque()
        self._pass: Generator[None, None, ChunkResult] | None = None  # of _waiting[0]
        self._joined = 1  # the pieces waiting that _pass detects (the oldest), joined
        self._failed: BaseException | None = None  # the error a pass ended with
        self._started = time.perf_counter()
        self._finished = False

    def add(self, sources: Sequence[str | Path], *, detect_later: bool = False) -> EngineReport:
        """Decode ``sources``, merged in time order, and run them through (``detect_later``:
        see :meth:`feed`)."""
        self.report.inputs += len(sources)
        found = self.report.findings
        for piece, now in merged(
            sources, self.settings, self.chunk_rows, self.progress, self.untimed, found
        ):
            self.feed(piece, now, detect_later=detect_later)
        return self.report

    def feed(
        self, piece: Piece, now_us: int | None = None, *, detect_later: bool = False
    ) -> ChunkResult | None:
        """Run one decoded piece through; ``now_us``: the time every input has reached.
        ``detect_later``: hand the sinks its released positions and leave the detectors
        for :meth:`detect_next` (a live feed stores and sends the next batch's positions
        first when it has come meanwhile); returns None then."""
        if self._finished:
            raise RuntimeError("Engine.feed after finish(); make a new Engine")
        piece = self._tagged(piece)
        r = self.report
        r.decode = r.decode.merge(piece.stats)
        r.chunks += 1
        r.read["positions"] += piece.positions.num_rows
        r.read["statics"] += piece.statics.num_rows
        if self.pipeline is None:
            for sink in self.sinks:
                sink.chunk(piece, None)
            return None
        released = self.pipeline.release(piece.positions, piece.statics, now_us)
        for sink in self.sinks:  # the positions first, before the detectors run
            early = getattr(sink, "released", None)
            if early is not None:
                early(piece, released)
        self._waiting.append((piece, released))
        if detect_later:
            return None
        result = None
        while self._waiting:
            result = self.detect_next()
        return result

    @property
    def waiting(self) -> int:
        """Pieces released whose detectors have not run yet (:meth:`detect_next`)."""
        return len(self._waiting)

    @property
    def elsewhere(self) -> bool:
        """A detectors' pass is under way in a child process (``detect_process``): a step
        only asks whether it is done."""
        return bool(getattr(self.pipeline, "busy", False))

    def detect_next(self) -> ChunkResult | None:
        """Run the detectors on the oldest pieces waiting for them (every piece waiting,
        joined in one pass, or the rest of the pass :meth:`detect_step` began) and hand the
        sinks each piece's result; the last piece's, or None when none waits."""
        if not self._waiting:
            return None
        return self._handed(self._failing(ran, self._steps()))

    def detect_step(self) -> bool:
        """One step of the detectors on the oldest pieces waiting for them (identity, or
        one detector: :meth:`~seawatch.engine.pipeline.Pipeline.detect_steps`; a pass
        begins on every piece waiting, joined: :meth:`_steps`); after its last step the
        sinks are handed each piece's result. A live feed stores a batch that came
        meanwhile between two steps, so it waits for one step at most, not a whole pass.
        False when none waits."""
        if not self._waiting:
            return False
        steps = self._steps()
        try:
            self._failing(next, steps)
        except StopIteration as done:
            self._handed(done.value)
        return True

    def _failing(self, step: Callable[[Any], Any], steps: Any) -> Any:
        """``step(steps)``; an error of the pass is kept and raised again by every later
        step (the pass cannot go on: a child process of the detectors died)."""
        if self._failed is not None:
            raise self._failed
        try:
            return step(steps)
        except StopIteration:
            raise
        except BaseException as exc:
            self._failed = exc
            raise

    def _steps(self) -> Generator[None, None, ChunkResult]:
        """The detection of the oldest pieces waiting, begun or going on: when it begins,
        every piece waiting (up to :data:`JOIN_ROWS` positions) in one pass (the detectors'
        cost is mostly per pass: a feed that fell behind catches up)."""
        if self._pass is None:
            assert self.pipeline is not None
            count, rows = 1, self._waiting[0][1].positions.num_rows
            for _, released in list(self._waiting)[1:]:
                rows += released.positions.num_rows
                if rows > JOIN_ROWS:
                    break
                count += 1
            self._joined = count
            self._pass = self.pipeline.detect_steps(self.pipeline.join_waiting(count))
        return self._pass

    def _handed(self, result: ChunkResult) -> ChunkResult:
        """The oldest pieces' detection is done: to the sinks, each piece its own positions
        and rows late, the events with the last of them (when several were joined)."""
        joined = [self._waiting.popleft() for _ in range(self._joined)]
        self._pass, self._joined = None, 1
        none = result.events.slice(0, 0)
        at = 0  # each piece's rows of the joined positions (in order), with geography
        for n, (piece, released) in enumerate(joined):
            last, rows = n == len(joined) - 1, released.positions.num_rows
            own = result if len(joined) == 1 else ChunkResult(
                result.positions.slice(at, rows), result.events if last else none, released.late
            )  # fmt: skip
            at += rows
            self._count(own)
            for sink in self.sinks:
                sink.chunk(piece, own)
        return own

    def resume(self, state: Mapping[str, Any], name: str = "state") -> None:
        """Go on from what :meth:`state` gave at the end of the previous run (before the
        first input; ``name``, the state file, is told in errors)."""
        if self.pipeline is None or self.report.chunks:
            raise RuntimeError("Engine.resume needs detect and comes before any input")
        self.pipeline.resume(state["pipeline"], name)
        self.sources[:] = state["sources"]  # held rows name their input by number
        self._ids = {src: i for i, src in enumerate(self.sources)}

    def state(self) -> dict[str, Any]:
        """What the next run resumes from (after :meth:`finish` with a watermark)."""
        if self.pipeline is None:
            raise RuntimeError("Engine.state needs detect")
        # only the inputs of the rows still held are named, renumbered from 0: the state
        # stays the size of what waits, not of every input ever read
        return portable(self.pipeline.state(), self.sources)

    def finish(self, checkpoint: bool = False, watermark_us: int | None = None) -> EngineReport:
        """Release what the pipeline holds, hand the end to the sinks; the report.

        ``checkpoint``: the run ends where a next run resumes (:meth:`state`): only rows
        older than ``watermark_us`` are released (default: the newest time read minus the
        reorder window), events open there are issued as open (see
        :meth:`seawatch.engine.pipeline.Pipeline.checkpoint`)."""
        if self._finished:
            raise RuntimeError("Engine.finish called twice")
        final = None
        try:
            while self._waiting:
                self.detect_next()
            self._finished = True
            if self.pipeline is not None:
                if checkpoint:
                    result = self.pipeline.checkpoint(watermark_us)
                else:
                    result = self.pipeline.finish()
                final = Final(result, self.pipeline.segments(), self.pipeline.history())
        finally:  # a child process of the detectors ends here, whatever happened
            if (close := getattr(self.pipeline, "close", None)) is not None:
                close()
        if final is not None and self.pipeline is not None:
            self._count(final.result)
            self.report.segments = final.segments.num_rows
            self.report.positions = self.pipeline.positions
            self.report.dropped = dict(self.pipeline.dropped)
        for sink in self.sinks:
            sink.finish(final)
        self.report.elapsed_s = time.perf_counter() - self._started
        if sum(self.report.late.values()):
            log.warning("%s", self.report.late_text())
        return self.report

    def _count(self, result: ChunkResult) -> None:
        r = self.report
        for name, table in result.late.items():
            past = 0
            if self.past_us is not None and table.num_rows:
                old: Any = pc.less(ts_column(table), pa.scalar(self.past_us))
                past = int(pc.sum(pc.fill_null(old, False).cast(pa.int64())).as_py() or 0)
            r.past[name] = r.past.get(name, 0) + past
            r.late[name] = r.late.get(name, 0) + table.num_rows - past
        if result.events.num_rows:
            counts = result.events.group_by("event_type").aggregate([("event_id", "count")])
            for row in counts.to_pylist():
                t = row["event_type"]
                r.events_by_type[t] = r.events_by_type.get(t, 0) + row["event_id_count"]

    def source_id(self, name: str) -> int:
        """The number of input ``name`` on this run's rows (a new input numbered next)."""
        if name not in self._ids:
            self._ids[name] = len(self.sources)
            self.sources.append(name)
        return self._ids[name]

    def _tagged(self, piece: Piece) -> Piece:
        """``piece`` with :data:`SOURCE_ID` on its rows (its input's number)."""
        sid = self.source_id(str(piece.source))
        for attr in ("positions", "statics"):
            table: pa.Table = getattr(piece, attr)
            if SOURCE_ID not in table.column_names:
                ids = pa.array(np.full(table.num_rows, sid, np.int32), pa.int32())
                setattr(piece, attr, table.append_column(SOURCE_ID, ids))
        return piece
