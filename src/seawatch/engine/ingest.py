"""Ingest: AIS inputs decoded by the engine and stored, once, chunk by chunk, surviving a crash.

In: input files (anything :func:`seawatch.decode.decode_stream` reads), an open
:class:`~seawatch.store.base.Store`, the labelling rules or one label for the run, and
whether to run the pipeline (``detect``). Out: positions and statics (and with ``detect``
positions with ``segment_id``, segments and events) in the store, and an
:class:`IngestReport`.

The reading, the time-ordered merge across inputs and the pipeline are the engine's
(:class:`seawatch.engine.run.Engine`); :class:`StoreSink` is what it hands them to. Each
decoded chunk is written in one transaction together with its ``ingest_log`` row (input
fingerprint = SHA-256 of the file, chunk number), so a crash leaves whole chunks only.
Rows are deduplicated on their message key, so re-running an input, or storing the same
message heard by two receivers, stores it once; a re-run skips the chunks the log shows
committed (without ``detect``) and inputs it shows complete. With ``detect`` the pipeline
sees the run's inputs from their start (its state is not stored between runs), and its
output is deduplicated in the same way. Positions keep the input they came from through the
pipeline (``source_id``), so the labelling rules by source apply to each row as read, even
when two inputs' rows are released together. Rows too late to put in time order are stored
as read (without a track), counted and reported, never dropped. :class:`Ingest` keeps one
run going over inputs that arrive one after another (a live feed's batches).

An unreadable input (missing, binary, cut short) stops nothing: the others are stored (a
damaged one's rows before the damage too), ``engine.findings`` says which and why, and it is
not logged complete. Messages without a receive time are stored only with ``untimed``
(assumed times: in the fingerprint and ``ingest_log.input``; :mod:`seawatch.decode.lacking`).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.decode.keys import message_keys
from seawatch.decode.lacking import Untimed
from seawatch.engine.inputs import SOURCE_ID, Piece
from seawatch.engine.pipeline import ChunkResult
from seawatch.engine.run import Engine, EngineReport, Final
from seawatch.errors import InputError
from seawatch.labels import Label, LabelRules
from seawatch.settings import Settings
from seawatch.store.base import Store
from seawatch.store.records import Labeller, vessel_rows
from seawatch.store.tables import TABLES

if TYPE_CHECKING:
    from seawatch.geo.zones import ZoneLayer

__all__ = ["Ingest", "IngestReport", "StoreSink", "fingerprint", "ingest", "zone_records"]

log = logging.getLogger(__name__)

_LOG_KEY = pa.schema([pa.field("fingerprint", pa.string()), pa.field("chunk", pa.int32())])  # type: ignore[arg-type]
COMPLETE = -1  # ingest_log.chunk of the row saying an input is fully stored


@dataclass
class IngestReport:
    """What an ingest did, in counts; ``engine``: the engine's own (late rows, events...)."""

    inputs: int = 0
    skipped_inputs: int = 0
    chunks: int = 0
    skipped_chunks: int = 0
    read: dict[str, int] = field(default_factory=lambda: {"positions": 0, "statics": 0})
    stored: dict[str, int] = field(
        default_factory=lambda: {
            "positions": 0,
            "statics": 0,
            "events": 0,
            "segments": 0,
            "zones": 0,
        }
    )
    unlabelled: int = 0
    late: int = 0
    """Positions too late for the pipeline (stored as read, without a track)."""
    engine: EngineReport = field(default_factory=EngineReport)

    def summary(self, new: Mapping[str, int] | None = None) -> str:
        """One line: what was read and what the store gained.

        Positions and statics are inserted once (a row already stored is not counted);
        segments and events replace the stored ones by key, so what was written is not what
        is new: ``new`` is the rows each of those tables gained (counted by the caller
        before and after). With it, a run that stored nothing new says "segments and events
        unchanged"."""
        st = self.stored
        derived = ""
        if new is not None and not (st["positions"] or st["statics"]) and not any(new.values()):
            derived = "; segments and events unchanged" if st["segments"] or st["events"] else ""
        elif new is not None:
            derived = f"; {new.get('segments', 0)} new segments, {new.get('events', 0)} new events"
            rewritten = st["segments"] - new.get("segments", 0), st["events"] - new.get("events", 0)
            if any(n > 0 for n in rewritten):
                derived += f" ({rewritten[0]} segments, {rewritten[1]} events rewritten)"
        elif st["segments"] or st["events"]:
            derived = f"; {st['segments']} segments, {st['events']} events written"
        return (
            f"{self.inputs} input(s) ({self.skipped_inputs} already stored), "
            f"{self.chunks} chunk(s) ({self.skipped_chunks} already stored); "
            f"read {self.read['positions']} positions, {self.read['statics']} statics; "
            f"stored {st['positions']} new positions (of {self.read['positions']} read), "
            f"{st['statics']} new statics"
            + derived
            + (f", {st['zones']} zones" if st["zones"] else "")
            + (f"; {self.unlabelled} derived rows not labellable" if self.unlabelled else "")
            + (
                f"; {self.late} positions came too late to put in time order: stored without "
                "a track (raise reorder_window_s or sort the inputs)"
                if self.late
                else ""
            )
        )


def fingerprint(path: Path, untimed: Untimed | None = None) -> str:
    """SHA-256 of the file's bytes (what the ingest log knows an input by), and of the
    times assumed for its untimed messages, when given (other times, other rows)."""
    h = hashlib.sha256()
    if untimed is not None:
        h.update(f"untimed:{untimed.start_us},{untimed.end_us}\n".encode())
    try:
        with Path(path).open("rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}; check the path)") from None
    return h.hexdigest()


class StoreSink:
    """The engine's output into the store: one transaction per chunk with its log row."""

    def __init__(self, store: Store, labeller: Labeller, marking: str | None) -> None:
        self.store = store
        self.labeller = labeller
        self.marking = marking
        self.run_id = uuid.uuid4().hex
        self.report = IngestReport()
        self.notes: dict[str, str] = {}
        """Input → what its ``ingest_log.input`` adds to its name (assumed times)."""
        self.fingerprints: dict[str, str] = {}
        """Input (as the engine names it) → fingerprint, for the inputs being read."""
        self.sources: list[str] = []
        """Names of the inputs by ``source_id`` (what label rules by source match)."""
        self._done = self._logged()

    def _logged(self) -> set[tuple[str, int]]:
        t = self.store.backend.fetch("SELECT fingerprint, chunk FROM ingest_log", (), _LOG_KEY)
        fps: list[str] = t.column(0).to_pylist()  # type: ignore[assignment]
        chunks: list[int] = t.column(1).to_pylist()  # type: ignore[assignment]
        return set(zip(fps, chunks, strict=True))

    def done(self, fp: str, chunk: int) -> bool:
        return (fp, chunk) in self._done

    def log_row(self, fp: str, chunk: int, path: str, rows: int, inserted: int) -> None:
        row = {
            "fingerprint": [fp],
            "chunk": [chunk],
            "input": [f"{path} ({self.notes[path]})" if path in self.notes else path],
            "run_id": [self.run_id],
            "rows": [rows],
            "inserted": [inserted],
            "committed_at": [datetime.now(UTC)],
            "label": [self.marking],
        }
        self.store.write("ingest_log", pa.table(row, schema=TABLES["ingest_log"].arrow_schema()))
        self._done.add((fp, chunk))

    # --- the engine's calls -----------------------------------------------------------
    def chunk(self, piece: Piece, result: ChunkResult | None) -> None:
        source = str(piece.source)
        fp = self.fingerprints[source]
        positions = vessel_rows(piece.positions)
        statics = piece.statics.filter(
            pc.and_(
                pc.is_valid(piece.statics.column("ts")), pc.is_valid(piece.statics.column("mmsi"))
            )
        )
        r = self.report
        r.chunks += piece.last_of_chunk
        r.read["positions"] += positions.num_rows
        r.read["statics"] += statics.num_rows
        rows = positions.num_rows + statics.num_rows
        if result is None:  # stored as read; a re-run skips what the log shows committed
            if self.done(fp, piece.chunk):
                r.skipped_chunks += piece.last_of_chunk
                return
            with self.store.transaction():
                inserted = self._records(positions, statics)
                if piece.last_of_chunk:
                    self.log_row(fp, piece.chunk, source, rows, inserted)
            log.info("%s: chunk %d committed (%d new rows)", source, piece.chunk, inserted)
            return
        late = result.late.get("positions")
        with self.store.transaction():
            inserted = self._records(vessel_rows(result.positions), statics)
            if late is not None and late.num_rows:  # too late to segment: stored as read
                r.late += late.num_rows
                inserted += self._records(vessel_rows(late), statics.slice(0, 0))
            self._derived(result.events, None)
            if piece.last_of_chunk:
                self.log_row(fp, piece.chunk, source, rows, inserted)
        log.info("%s: chunk %d committed (%d new rows, detect)", source, piece.chunk, inserted)

    def finish(self, final: Final | None) -> None:
        if final is None:
            return
        with self.store.transaction():
            self._records(vessel_rows(final.result.positions), pa.table({}))
            self._derived(final.result.events, final.segments)

    def complete(self, paths: Sequence[str]) -> None:
        """Log ``paths`` as fully stored."""
        with self.store.transaction():
            for path in paths:
                fp = self.fingerprints[path]
                if not self.done(fp, COMPLETE):
                    self.log_row(fp, COMPLETE, path, 0, 0)

    # --- writing ----------------------------------------------------------------------
    def _records(self, positions: pa.Table, statics: pa.Table) -> int:
        n = 0
        for kind, rows in (("positions", positions), ("statics", statics)):
            if rows.num_rows == 0:
                continue
            rows = rows.append_column("msg_key", message_keys(rows, kind))
            stored = self.store.write(kind, self._labelled(rows))
            self.report.stored[kind] += stored
            n += stored
        return n

    def _labelled(self, rows: pa.Table) -> pa.Table:
        """``rows`` with ``label_id``, by the input each row was read from."""
        ids: Any = rows.column(SOURCE_ID)
        rows = rows.drop_columns([SOURCE_ID])
        values = np.asarray(pc.fill_null(ids, -1).to_numpy(zero_copy_only=False))
        parts = []
        for sid in np.unique(values).tolist():
            name = Path(self.sources[sid]).name if sid >= 0 else "pipeline"
            part = rows if len(values) and (values == sid).all() else rows.filter(values == sid)
            parts.append(self.labeller.records(part, name))
        return pa.concat_tables(parts) if parts else self.labeller.records(rows, "pipeline")

    def _derived(self, events: pa.Table, segments: pa.Table | None) -> None:
        if events.num_rows:
            rows = self.labeller.derived(events, kind="events")
            self.report.stored["events"] += self.store.write("events", rows)
        if segments is not None and segments.num_rows:
            rows = self.labeller.derived(segments, kind="segments")
            self.report.stored["segments"] += self.store.write("segments", rows)


class Ingest:
    """An ingest that goes on: :meth:`add` inputs as they come (files, or a live feed's
    batches), :meth:`finish` once. The inputs of one :meth:`add` are merged in time order;
    with ``detect`` one pipeline sees every input, so tracks and events span the inputs
    (a live feed's batches): positions are stored with their ``segment_id`` and events as
    the pipeline releases them, open events and segments at :meth:`finish`; labels of
    derived records combine those of every record the session stored. ``label``: give
    every record this label instead of the settings' rules. ``zones``: layers the pipeline
    tags positions with (zone_entry/zone_exit events, with ``detect``), stored in the
    ``zones`` table (``zone_id`` = ``<layer>:<polygon index>``, what the events' ``details``
    name) under ``label`` or the node's default label. ``params``: detector parameters
    (:func:`seawatch.events.registry.resolve_params`). ``sinks``: more sinks (subscribers)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        detect: bool = False,
        label: Label | None = None,
        zones: Sequence[ZoneLayer] = (),
        params: Mapping[str, Any] | None = None,
        sinks: Sequence[Any] = (),
        progress: Callable[[int], None] | None = None,
        untimed: Untimed | None = None,
    ) -> None:
        store.require_current()
        self.untimed = untimed
        rules = LabelRules.from_settings(settings, store.policy)
        self.sink = StoreSink(
            store, Labeller(store, rules, label), None if label is None else str(label)
        )
        self.engine = Engine(
            settings,
            sinks=[self.sink, *sinks],
            detect=detect,
            zones=zones,
            params=params,
            progress=progress,
            sources=self.sink.sources,
            untimed=untimed,
        )
        self.detect = detect
        self._pending: list[str] = []  # inputs logged complete once the pipeline finishes
        self._finished = False
        if zones:
            lid = store.label_id(label if label is not None else rules.default)
            with store.transaction():
                for layer in zones:
                    stored = store.write("zones", zone_records(layer, lid))
                    self.sink.report.stored["zones"] += stored

    @property
    def report(self) -> IngestReport:
        """What the session did so far."""
        r = self.sink.report
        r.unlabelled = self.sink.labeller.unlabelled
        r.engine = self.engine.report
        return r

    def add(self, inputs: Sequence[str | Path]) -> IngestReport:
        """Decode and store ``inputs``, merged in time order. An input that cannot be read
        is named in ``report.engine.findings`` with the reason; the others are stored."""
        sink = self.sink
        found = self.engine.report.findings
        names = []
        for name in map(str, inputs):
            try:
                sink.fingerprints[name] = fingerprint(Path(name), self.untimed)
            except InputError as e:
                found.errors.append(str(e))
                found.failed.add(name)
                continue
            if self.untimed is not None:
                sink.notes[name] = self.untimed.describe()
            names.append(name)
        sink.report.inputs += len(names)
        todo = []
        for name in names:
            if sink.done(sink.fingerprints[name], COMPLETE) and not self.detect:
                log.info("%s: already stored (ingest log), skipped", name)
                sink.report.skipped_inputs += 1
            else:
                todo.append(name)
        if todo:
            self.engine.add(todo)
        todo = [name for name in todo if name not in found.failed]
        if self.detect:
            self._pending += todo
        else:
            sink.complete(todo)
        return self.report

    def finish(self) -> IngestReport:
        """With ``detect``: the pipeline's last positions, open events and the segments
        stored, and the inputs logged complete. Call once, at the end."""
        if not self._finished:
            self._finished = True
            self.engine.finish()
            self.sink.complete(self._pending)
            self._pending = []
        return self.report


def ingest(
    store: Store,
    inputs: Sequence[str | Path],
    settings: Settings,
    *,
    detect: bool = False,
    label: Label | None = None,
    zones: Sequence[ZoneLayer] = (),
    params: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
    untimed: Untimed | None = None,
) -> IngestReport:
    """Decode ``inputs`` and store them (see the module docstring and :class:`Ingest`)."""
    session = Ingest(
        store,
        settings,
        detect=detect,
        label=label,
        zones=zones,
        params=params,
        progress=progress,
        untimed=untimed,
    )
    session.add(inputs)
    return session.finish()


def zone_records(layer: ZoneLayer, label_id: int) -> pa.Table:
    """The ``zones`` rows of a layer: one per polygon, WKT in WGS 84, its name (the layer's
    ``name_field``, :meth:`ZoneLayer.names`)."""
    import shapely

    n = len(layer)
    names = layer.names()
    wkt = shapely.to_wkt(layer.geometries, rounding_precision=7)
    return pa.table(
        {
            "zone_id": pa.array([f"{layer.name}:{i}" for i in range(n)], pa.string()),
            "name": names,
            "kind": pa.array([layer.name] * n, pa.string()),
            "geometry_wkt": pa.array(wkt.tolist(), pa.string()),
            "label_id": pa.array([label_id] * n, pa.int32()),
        },
        schema=TABLES["zones"].arrow_schema(),
    )
