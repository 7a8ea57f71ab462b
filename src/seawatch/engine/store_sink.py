"""The store sink: the engine's output written into the store, a chunk per transaction.

In: each chunk's :class:`~seawatch.engine.inputs.Piece` and pipeline result (or none, a plain
ingest), the end of the run, an open store and its labeller. Out: positions and statics (with
their ``msg_key`` and ``label_id``), events and segments (with the combined label of what they
were built from) in the store, each chunk committed with its ``ingest_log`` row, and an
:class:`IngestReport`. Used by :class:`seawatch.engine.ingest.Ingest`; the module docstring
there tells the guarantees (idempotent, crash-safe, late rows kept).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.decode.keys import message_keys
from seawatch.decode.lacking import Untimed
from seawatch.engine.alerts import AlertEngine
from seawatch.engine.chunks import ChunkResult, Released, without_geography
from seawatch.engine.ingest_report import IngestReport
from seawatch.engine.inputs import SOURCE_ID, Piece
from seawatch.engine.reorder import ts_column
from seawatch.engine.run import EngineReport, Final
from seawatch.engine.sinks import Subscribers
from seawatch.errors import InputError
from seawatch.store.base import Store
from seawatch.store.records import Labeller, vessel_rows
from seawatch.store.tables import TABLES

__all__ = ["COMPLETE", "IngestReport", "StoreSink", "fingerprint"]

log = logging.getLogger(__name__)

_LOG_KEY = pa.schema([pa.field("fingerprint", pa.string()), pa.field("chunk", pa.int32())])  # type: ignore[arg-type]
COMPLETE = -1  # ingest_log.chunk of the row saying an input is fully stored


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
        self._done, self._pending = self._logged(), set[tuple[str, int]]()
        self.subscribers: list[Subscribers] = []
        """Told the positions and events stored (with ``label_id``) after each commit."""
        self.alerts: AlertEngine | None = None
        """Fires the alert rules on what each transaction stores, in that transaction."""
        self._stored: list[tuple[str, pa.Table]] = []
        self._early_tell = False  # within :meth:`released`: positions told before stored
        self._told: list[pa.Table] = []  # positions this transaction told before storing
        self._known_labels: set[int] = set()  # label ids committed (the streams can read)
        self._early: deque[Piece] = deque()  # pieces whose rows :meth:`released` stored
        self.overlap = False
        """Live: :meth:`released` returns once the positions are told, their transaction going
        on on a thread of its own (the insert and commit let go of the GIL) while the caller
        releases the next batch (no store use); the next call here waits for it first."""
        self._writer: ThreadPoolExecutor | None = None
        self._writing: Future[None] | None = None
        self._reached: threading.Event | None = None  # set when the writes begin
        self.past_us: int | None = None
        """With daily runs: the watermark of the state resumed from; positions older come
        for a past day and are kept in :attr:`past` (run again: :mod:`seawatch.engine.late`),
        not stored here."""
        self.past: dict[str, list[pa.Table]] = {"positions": [], "statics": []}
        self.wrote: dict[str, set[Any]] = {"events": set(), "retracted": set(), "segments": set()}
        """Ids of the events and segments written, and of the events retracted, this run."""

    def _logged(self) -> set[tuple[str, int]]:
        t = self.store.backend.fetch("SELECT fingerprint, chunk FROM ingest_log", (), _LOG_KEY)
        fps: list[str] = t.column(0).to_pylist()  # type: ignore[assignment]
        chunks: list[int] = t.column(1).to_pylist()  # type: ignore[assignment]
        return set(zip(fps, chunks, strict=True))

    def done(self, fp: str, chunk: int) -> bool:
        return (fp, chunk) in self._done

    def log_row(self, fp: str, chunk: int, path: str, rows: int, inserted: int) -> None:
        """The ``ingest_log`` row of ``(fp, chunk)``, in :meth:`_committing`'s transaction
        (known done once it commits); one already stored is kept. A plain ``INSERT``: on
        DuckDB (``ON CONFLICT`` costs 2-3 times as much) the rows this session knows stored
        are left out instead; PostgreSQL keeps a row another process stored meanwhile."""
        if (fp, chunk) in self._done or (fp, chunk) in self._pending:
            return
        duck = self.store.backend.dialect.name == "duckdb"
        self.store.append("ingest_log", self._log(fp, chunk, path, rows, inserted),
                          keep_stored=not duck)  # fmt: skip
        self._pending.add((fp, chunk))

    def _log(self, fp: str, chunk: int, path: str, rows: int, inserted: int) -> dict[str, Any]:
        return {
            "fingerprint": fp,
            "chunk": chunk,
            "input": f"{path} ({self.notes[path]})" if path in self.notes else path,
            "run_id": self.run_id,
            "rows": rows,
            "inserted": inserted,
            "committed_at": datetime.now(UTC),
            "label": self.marking,
        }

    # --- the engine's calls -----------------------------------------------------------
    def released(self, piece: Piece, released: Released) -> None:
        """The chunk's positions (as the pipeline released them) and statics stored, with
        the chunk's log row, in a transaction of their own, before the detectors run on
        them. :meth:`chunk` then stores the chunk's events.

        The positions are told to the subscribers' ``labelled`` (the live streams) as soon
        as they are labelled, before they are written (a live frame does not wait for the
        store's insert and commit): the same rows with the same ``label_id`` the store
        gets, whose labels the subscribers can already read (a label this transaction adds
        is not committed yet: those rows are told after the commit). Their ``positions``
        (which may read the store back: the CoT feed) are told after the commit, as every
        other kind. Should the transaction fail, the rows were sent but not stored; the
        batch file is kept and the feed stops (:mod:`.live`)."""
        self.settle()
        if not self.overlap:
            self._released(piece, released)
            return
        self._writer = self._writer or ThreadPoolExecutor(1, thread_name_prefix="store-write")
        reached = self._reached = threading.Event()
        self._writing = self._writer.submit(self._released, piece, released)
        self._writing.add_done_callback(lambda _: reached.set())
        reached.wait()  # told (or failed, or nothing to write)
        if self._writing.done():
            self.settle()

    def when_written(self, fn: Callable[[], None]) -> None:
        """``fn()`` once the transaction :meth:`released` began is done (now, if it is)."""
        if (writing := self._writing) is None:
            return fn()
        writing.add_done_callback(lambda _: fn())

    def settle(self) -> None:
        """The transaction :meth:`released` left going on, done (its error raised)."""
        writing, self._writing, self._reached = self._writing, None, None
        if writing is not None:
            writing.result()

    def _released(self, piece: Piece, released: Released) -> None:
        self._early_tell = bool(self.subscribers)
        try:
            with self._committing():
                inserted = self._rows(piece, released.positions, released.late)
        finally:
            self._early_tell = False
        self._early.append(piece)
        log.info("%s: chunk %d committed (%d new, detect)", piece.source, piece.chunk, inserted)

    def chunk(self, piece: Piece, result: ChunkResult | None) -> None:
        self.settle()
        if result is not None and self._early and self._early[0] is piece:  # the events now
            self._early.popleft()
            if result.events.num_rows:
                with self._committing():
                    self._derived(result.events, None)
            return
        if result is None:  # stored as read; a re-run skips what the log shows committed
            fp = self.fingerprints[str(piece.source)]
            if self.done(fp, piece.chunk):
                self._count(piece)
                self.report.skipped_chunks += piece.last_of_chunk
                return
            with self._committing():
                inserted = self._rows(piece, None, {})
            log.info("%s: chunk %d committed (%d new rows)", piece.source, piece.chunk, inserted)
            return
        with self._committing():
            inserted = self._rows(piece, result.positions, result.late)
            self._derived(result.events, None)
        log.info("%s: chunk %d committed (%d new rows, detect)", piece.source, piece.chunk,
                 inserted)  # fmt: skip

    def _count(self, piece: Piece) -> tuple[pa.Table, pa.Table]:
        """The piece's positions and statics (those with a time and an MMSI), counted read."""
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
        return positions, statics

    def _rows(
        self, piece: Piece, released: pa.Table | None, late_rows: Mapping[str, pa.Table]
    ) -> int:
        """In the caller's transaction: the piece's statics and positions (as read, or
        ``released`` by the pipeline with its ``late_rows``), its log row when it ends a
        chunk; the rows inserted."""
        positions, statics = self._count(piece)
        if released is None:
            inserted = self._records(positions, statics)
        else:
            late = self._past(late_rows)
            inserted = self._records(vessel_rows(released), statics)
            if late is not None and late.num_rows:  # too late to segment: stored as read
                self.report.late += late.num_rows
                inserted += self._records(vessel_rows(late), statics.slice(0, 0))
        if piece.last_of_chunk:
            source = str(piece.source)
            rows = positions.num_rows + statics.num_rows
            self.log_row(self.fingerprints[source], piece.chunk, source, rows, inserted)
        return inserted

    def read_by_tasks(self, engine: EngineReport) -> None:
        """A partitioned run's counts of what was read: this sink saw the tasks' outputs
        (released positions), so the positions read are the partitions' vessel rows."""
        self.report.read["positions"] = engine.vessel_read or 0
        self.report.chunks = engine.chunks

    def _past(self, late: Mapping[str, pa.Table]) -> pa.Table | None:
        """The late positions to store as read; those older than :attr:`past_us` (and such
        statics: already stored as read) kept in :attr:`past` instead."""
        if self.past_us is None:
            return late.get("positions")
        for kind, rows in late.items():
            if rows.num_rows:
                old = pc.less(ts_column(rows), pa.scalar(self.past_us))
                self.past[kind].append(rows.filter(pc.fill_null(old, False)))
                if kind == "positions":
                    rest: Any = pc.invert(pc.fill_null(old, False))
                    late = {**late, kind: rows.filter(rest)}
        return late.get("positions")

    def finish(self, final: Final | None) -> None:
        if self._writer is not None:
            self._writer.shutdown()  # what it was doing done: settled next
        self.settle()
        if final is None:
            return
        with self._committing():
            self._records(vessel_rows(final.result.positions), pa.table({}))
            self._retract(final.result.retract)
            self._derived(final.result.events, final.segments)

    def store_late(self, positions: pa.Table) -> None:
        """Store ``positions`` (with :data:`SOURCE_ID`) as read, without a track: late."""
        self.settle()
        with self._committing():
            self._records(vessel_rows(positions), pa.table({}))
        self.report.late += positions.num_rows

    def _retract(self, event_ids: Sequence[str]) -> None:
        """Remove events a previous run left open that this one found are no events."""
        for at in range(0, len(event_ids), 500):
            part = list(event_ids[at : at + 500])
            marks = ", ".join("?" * len(part))
            self.store.backend.execute(f"DELETE FROM events WHERE event_id IN ({marks})", part)
        self.report.retracted += len(event_ids)
        self.wrote["retracted"] |= set(event_ids)
        self.wrote["events"] -= set(event_ids)

    def complete(self, paths: Sequence[str]) -> None:
        """Log ``paths`` as fully stored: one write of every row (a live feed's session
        logs each of its batches complete when it finishes: 36,000 an hour at 0.1 s)."""
        self.settle()
        keys = {(self.fingerprints[p], COMPLETE): p for p in paths}
        rows = [self._log(fp, c, p, 0, 0) for (fp, c), p in keys.items() if not self.done(fp, c)]
        if rows:
            schema = TABLES["ingest_log"].arrow_schema()
            self.store.write("ingest_log", pa.Table.from_pylist(rows, schema=schema))
        self._done |= set(keys)

    # --- writing ----------------------------------------------------------------------
    @contextlib.contextmanager
    def _committing(self) -> Iterator[None]:
        """A transaction; once committed, the subscribers told what it stored."""
        self._stored.clear()
        self._told.clear()
        self._pending.clear()  # log rows of a transaction rolled back were not stored
        with self.store.transaction():
            yield
            if self.alerts is not None and self._stored:
                fired = self.alerts.fire(
                    *(self._kept(k) for k in ("positions", "statics", "events"))
                )
                self.report.stored["alerts"] += self.store.write("alerts", fired)
                self._stored.append(("alerts", fired))
        self._done |= self._pending
        if not self.subscribers or not self._stored:
            self._stored = []
            return
        told = {k: self._kept(k) for k in ("positions", "events", "alerts")}
        early = {id(t) for t in self._told}
        self._stored = [(k, t) for k, t in self._stored if k == "positions" and id(t) not in early]
        labelled = self._kept("positions")  # not told before the commit
        self._stored, self._told = [], []
        for rows in (told["positions"], told["events"], told["alerts"]):
            if "label_id" in rows.column_names:  # committed: the streams can read them now
                self._known_labels |= _label_ids(rows)
        for subscribers in self.subscribers:
            subscribers.tell(told["positions"], told["events"], told["alerts"], labelled)

    def _kept(self, kind: str) -> pa.Table:
        """What this transaction stored of ``kind`` (an empty table when nothing)."""
        parts = [t for k, t in self._stored if k == kind]
        if not parts:
            return pa.table({})
        return pa.concat_tables(parts, promote_options="default")

    def _records(self, positions: pa.Table, statics: pa.Table) -> int:
        n = 0
        for kind, rows in (("positions", positions), ("statics", statics)):
            if rows.num_rows == 0:
                continue
            rows = without_geography(rows) if kind == "positions" else rows  # told alike
            rows = rows.append_column("msg_key", message_keys(rows, kind))
            rows = self.labelled(rows)
            if kind == "positions" and self._early_tell and self._labels_known(rows):
                self._told.append(rows)
                for subscribers in self.subscribers:
                    for fn in subscribers.labelled:
                        fn(rows)
            if self._reached is not None:  # told: the caller goes on (:attr:`overlap`)
                self._reached.set()
            stored = self.store.write(kind, rows)
            if self.subscribers or self.alerts is not None:
                self._stored.append((kind, rows))
            self.report.stored[kind] += stored
            n += stored
        return n

    def _labels_known(self, rows: pa.Table) -> bool:
        """Whether every ``label_id`` of ``rows`` was committed (a subscriber reads them)."""
        return _label_ids(rows) <= self._known_labels

    def labelled(self, rows: pa.Table) -> pa.Table:
        """``rows`` with ``label_id``, by the input each row was read from."""
        ids: Any = rows.column(SOURCE_ID)
        rows = rows.drop_columns([SOURCE_ID])
        if not self.labeller.by_source:  # one call, however many inputs the rows came from
            return self.labeller.records(rows, "pipeline")
        values = np.asarray(pc.fill_null(ids, -1).to_numpy(zero_copy_only=False))
        parts = []
        for sid in np.unique(values).tolist():
            name = Path(self.sources[sid]).name if sid >= 0 else "pipeline"
            part = rows if len(values) and (values == sid).all() else rows.filter(values == sid)
            parts.append(self.labeller.records(part, name))
        return pa.concat_tables(parts) if parts else self.labeller.records(rows, "pipeline")

    def _derived(self, events: pa.Table, segments: pa.Table | None) -> None:
        if events.num_rows:
            ids = set(events.column("event_id").to_pylist())
            self.wrote["events"] |= ids
            self.wrote["retracted"] -= ids
            rows = self.labeller.derived(events, kind="events")
            self.report.stored["events"] += self.store.write("events", rows)
            if (self.subscribers or self.alerts is not None) and rows.num_rows:
                self._stored.append(("events", rows))
        if segments is not None and segments.num_rows:
            self.wrote["segments"] |= set(segments.column("segment_id").to_pylist())
            rows = self.labeller.derived(segments, kind="segments")
            self.report.stored["segments"] += self.store.write("segments", rows)


def _label_ids(rows: pa.Table) -> set[int]:
    """The distinct ``label_id`` values of ``rows``."""
    ids: Any = pc.unique(rows.column("label_id")).drop_null()
    return {int(i) for i in ids.to_pylist()}
