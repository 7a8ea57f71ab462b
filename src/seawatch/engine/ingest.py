"""Ingest: AIS inputs decoded by the engine and stored, once, chunk by chunk, surviving a crash.

In: input files (anything :func:`seawatch.decode.decode_stream` reads), an open
:class:`~seawatch.store.base.Store`, the labelling rules or one label for the run, and
whether to run the pipeline (``detect``). Out: positions and statics (and with ``detect``
positions with ``segment_id``, segments and events) in the store, and an
:class:`IngestReport`.

The reading, the time-ordered merge across inputs and the pipeline are the engine's
(:class:`seawatch.engine.run.Engine`); :class:`StoreSink` is what it hands them to. Each
decoded chunk is written in one transaction together with its ``ingest_log`` row (input
fingerprint = SHA-256 of the file, chunk number), so a crash leaves whole chunks only (with
``detect``, the events the chunk's detectors close commit just after, in one of their own:
the positions are told, once labelled, and stored before the detectors run).
Rows are deduplicated on their message key, so re-running an input, or storing the same
message heard by two receivers, stores it once; a re-run skips the chunks the log shows
committed (without ``detect``) and inputs it shows complete. With ``detect`` the pipeline
sees the run's inputs from their start, unless the run carries state (``states``, a
:class:`~seawatch.engine.state.StateStore`: daily runs): it then resumes from the state the
previous run left (reorder buffer, open segments, detector state) and leaves its own at the
end, at ``watermark_us`` (events open there are stored open, then issued again under the
same id, or removed, by the next run), so runs over successive days store what one run over
all of them would. Its output is deduplicated in the same way. Rows of a day already run
(older than the state's watermark) run that day and the following ones again, until a day's
state is unchanged (:mod:`seawatch.engine.late`). Positions keep the input they came from
through the pipeline (``source_id``), so the labelling rules by source apply to each row as
read, even when two inputs' rows are released together. A batch run (:func:`ingest` without
``states``) is a :meth:`~seawatch.store.base.Store.loading`: on PostgreSQL the days it is
first to write are loaded without indexes and seen by readers only once the run has moved
past them, whole (a crash leaves them unseen, their chunks kept and finished by the next
run); the report then counts a message repeated in two chunks in both. Rows too late to put in
time order are stored as read (without a track), counted and reported, never dropped.
:class:`Ingest` keeps one run going over inputs that arrive one after another (a live feed's
batches).

An unreadable input (missing, binary, cut short) stops nothing: the others are stored (a
damaged one's rows before the damage too), ``engine.findings`` says which and why, and it is
not logged complete. Messages without a receive time are stored only with ``untimed``
(assumed times: in the fingerprint and ``ingest_log.input``; :mod:`seawatch.decode.lacking`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from seawatch.decode.lacking import Untimed
from seawatch.engine.alerts import AlertEngine
from seawatch.engine.fingerprints import fingerprints
from seawatch.engine.late import NAME, Run, merge_wrote, named, rerun_past, wrote
from seawatch.engine.partition_state import check_engine
from seawatch.engine.pipeline import SOURCE_ID
from seawatch.engine.ports import node_ports
from seawatch.engine.run import Engine
from seawatch.engine.sinks import Subscribers
from seawatch.engine.state import Spool, StateStore
from seawatch.engine.store_sink import COMPLETE, IngestReport, StoreSink, fingerprint
from seawatch.engine.zone_rows import zone_records
from seawatch.errors import InputError
from seawatch.labels import Label, LabelRules
from seawatch.settings import Settings
from seawatch.store.base import Store
from seawatch.store.records import Labeller

if TYPE_CHECKING:
    from seawatch.geo.zones import ZoneLayer

__all__ = ["Ingest", "IngestReport", "StoreSink", "fingerprint", "ingest"]

log = logging.getLogger(__name__)


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
    (:func:`seawatch.events.registry.resolve_params`). With ``detect``, distances to port
    are measured against the built-in ports plus those stored in the ``ports`` table
    (imported and derived: :mod:`seawatch.engine.ports`). ``sinks``: more sinks;
    :class:`~seawatch.engine.sinks.Subscribers` among them are told the positions and
    events as stored (with ``label_id``), after each commit (positions: once labelled,
    :meth:`StoreSink.released`). ``states``: resume from the
    latest state of ``bucket`` made without this run's inputs, and keep this run's state
    at ``watermark_us`` with its journal (the rows it took in); rows of past days run those
    days again (see the module docstring). ``detect_process``: the detectors' pass runs in
    a child process (:mod:`seawatch.engine.detect_process`; a live ingest: the setting
    ``live_detect_process``), not with ``states``."""

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
        states: StateStore | None = None,
        bucket: str = "all",
        watermark_us: int | None = None,
        detect_process: bool = False,
    ) -> None:
        store.require_current()
        if states is not None and not detect:
            raise InputError("carrying state between runs needs detect (--incremental --detect)")
        detect_process = detect_process and detect and states is None  # state: in process
        self.states, self.bucket, self.watermark_us = states, bucket, watermark_us
        self._resumed = states is None
        self._prev_us: int | None = None  # the watermark of the state resumed from
        self.untimed = untimed
        rules = LabelRules.from_settings(settings, store.policy)
        self._rules, self._label = rules, label
        self.sink = StoreSink(
            store, Labeller(store, rules, label), None if label is None else str(label)
        )
        told = [s for s in sinks if isinstance(s, Subscribers)]  # told as stored, labelled
        self.sink.subscribers.extend(told)
        self.sink.alerts = AlertEngine(store)  # the rules fire as records are stored
        self.engine = Engine(
            settings,
            sinks=[self.sink, *(s for s in sinks if s not in told)],
            detect=detect,
            zones=zones,
            params=params,
            progress=progress,
            sources=self.sink.sources,
            untimed=untimed,
            ports=node_ports(store) if detect else None,
            detect_process=detect_process,
        )
        self.detect = detect
        self.zones, self.params = tuple(zones), params
        self._spool: Spool | None = None  # the day's rows, kept to run it again (engine.late)
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

    def add(self, inputs: Sequence[str | Path], *, detect_later: bool = False) -> IngestReport:
        """Decode and store ``inputs``, merged in time order. An input that cannot be read
        is named in ``report.engine.findings`` with the reason; the others are stored.
        ``detect_later`` (with ``detect``): store the positions, leave the detectors and
        their events to :meth:`detect_next` (or :meth:`finish`)."""
        todo = self._todo(inputs)
        found = self.engine.report.findings
        if todo:
            self.engine.add(todo, detect_later=detect_later)
        todo = [name for name in todo if name not in found.failed]
        if self.detect:
            self._pending += todo
        else:
            self.sink.complete(todo)
        return self.report

    @property
    def waiting(self) -> int:
        """Chunks stored whose detectors have not run yet (``add(..., detect_later=True)``)."""
        return self.engine.waiting

    def detect_next(self) -> bool:
        """Run the detectors on the oldest chunk waiting for them and store their events;
        False when none waits."""
        return self.engine.detect_next() is not None

    def detect_step(self) -> bool:
        """One step of :meth:`detect_next` (identity or one detector; the events stored
        after the last: :meth:`seawatch.engine.run.Engine.detect_step`); False when none
        waits."""
        return self.engine.detect_step()

    def run_partitioned(
        self, inputs: Sequence[str | Path], engine: str, options: Mapping[str, Any]
    ) -> IngestReport:
        """Decode ``inputs`` into partitions and run tracks and events on them (``engine``:
        ``partitioned`` or ``dask``, with its ``options``); this process stores what the
        tasks wrote; with ``states``, a daily run (:mod:`seawatch.engine.partition_state`).
        The whole session: no :meth:`add` before, no :meth:`finish` after."""
        from seawatch.engine.dask_engine import BUCKETS, run_partitioned
        from seawatch.engine.partition_late import Past
        from seawatch.engine.partition_state import start

        if not self.detect or self._finished or self.engine.report.chunks:
            raise InputError("a partitioned ingest runs tracks and events, once, on its own")
        self._finished = self._resumed = True
        todo = self._todo(inputs)
        self.sink.sources[:] = todo  # source_id: the input's place among these
        carry = past = None
        if self.states is not None:  # a daily run: each bucket's state (engine.partition_state)
            carry = start(self.states, options.get("buckets", BUCKETS), todo,
                          [self.sink.fingerprints[n] for n in todo], self.watermark_us)  # fmt: skip
            self.sink.sources = carry.sources  # then the inputs of the rows held (one list:
            past = Past(self.sink.store, self._rerun_sink)  # past days run again add theirs)
        if todo:
            run_partitioned(todo, self.engine.settings, sinks=self.engine.sinks,
                            engine=engine, zones=self.zones, params=self.params,
                            report=self.engine.report, untimed=self.untimed,
                            carry=carry, past=past, **options)  # fmt: skip
        if past is not None:
            self.sink.report.rerun = past.report
        self.sink.read_by_tasks(self.engine.report)
        self.sink.complete([n for n in todo if n not in self.engine.report.findings.failed])
        return self.report

    def _todo(self, inputs: Sequence[str | Path]) -> list[str]:
        """The inputs to read: fingerprinted (an unreadable one told in the findings),
        those the log shows stored skipped (without ``detect``)."""
        sink = self.sink
        found = self.engine.report.findings
        names, given = [], [str(i) for i in inputs]
        for name, got in zip(given, fingerprints(given, self.untimed), strict=True):
            if isinstance(got, InputError):
                found.errors.append(str(got))
                found.failed.add(name)
                continue
            sink.fingerprints[name] = got
            if self.untimed is not None:
                sink.notes[name] = self.untimed.describe()
            names.append(name)
        sink.report.inputs += len(names)
        if not self._resumed:
            self._resume({sink.fingerprints[n] for n in names})
        todo = []
        for name in names:
            if sink.done(sink.fingerprints[name], COMPLETE) and not self.detect:
                log.info("%s: already stored (ingest log), skipped", name)
                sink.report.skipped_inputs += 1
            else:
                todo.append(name)
        return todo

    def finish(self) -> IngestReport:
        """With ``detect``: the pipeline's last positions, open events and the segments
        stored, and the inputs logged complete. Call once, at the end."""
        if not self._finished:
            self._finished = True
            if self.states is None:
                try:
                    self.engine.finish()
                finally:  # the last batch's transaction has ended, whatever happened
                    self.sink.settle()
            else:  # stored first: a run killed before its state is kept runs again as it was
                if not self._resumed:
                    self._resume(set())
                self.engine.finish(checkpoint=True, watermark_us=self.watermark_us)
                self._keep_state()
            self.sink.complete(self._pending)
            self._pending = []
        return self.report

    def _keep_state(self) -> None:
        """Keep this run's state and journal; with rows of past days, run those days again
        (:mod:`seawatch.engine.late`)."""
        assert self.states is not None
        assert self.engine.pipeline is not None
        states, bucket = self.states, self.bucket
        state = self.engine.state()
        state |= {"inputs": sorted(set(self.sink.fingerprints.values())),
                  "prev_us": self._prev_us, "wrote": wrote(self.sink.wrote)}  # fmt: skip
        journal = self._spool
        assert journal is not None
        mark = self.engine.pipeline.watermark_us
        took = any(journal.rows.values())
        current = None if mark == self._prev_us and not took else Run(mark, state, journal)
        if current is None:
            journal.discard()
        if current is not None and mark == self._prev_us:  # no day of its own: that day grows
            prior = states.load(bucket, mark)
            rows = states.load_journal(bucket, mark)
            if prior is None or rows is None or "prev_us" not in prior[1]:
                del state["prev_us"]  # cannot be run again
                current.journal = None
            else:
                mine = journal.tables()
                journal.discard()
                current.journal = {k: pa.concat_tables([rows[k], mine[k]]) for k in rows}
                state["inputs"] = sorted(set(prior[1]["inputs"]) | set(state["inputs"]))
                state["prev_us"] = prior[1]["prev_us"]
                state["wrote"] = merge_wrote(prior[1]["wrote"], state["wrote"])
        past = {k: named(pa.concat_tables(t), self.sink.sources) if t else None
                for k, t in self.sink.past.items()}  # fmt: skip
        if not any(t is not None and t.num_rows for t in past.values()):
            if current is not None:
                states.save(bucket, mark, current.state, current.journal)
            return
        buffers = self.engine.pipeline.buffers
        empty = {k: named(b.schema.empty_table(), []) for k, b in buffers.items()}
        late = {k: empty[k] if t is None else t for k, t in past.items()}
        report, unreachable = rerun_past(
            self.sink.store, states, bucket, late, current, self._rerun_engine, self._rerun_sink
        )
        self.sink.report.rerun = report
        if unreachable.num_rows:
            ids = [self.engine.source_id(str(n)) for n in unreachable.column(NAME).to_pylist()]
            kept = unreachable.drop_columns([NAME])
            self.sink.store_late(kept.append_column(SOURCE_ID, pa.array(ids, pa.int32())))
            log.warning(
                "%d positions were older than any day that can be run again (states and "
                "journals are kept for %d days): stored without a track",
                unreachable.num_rows,
                states.keep,
            )

    def _rerun_engine(self, sinks: Sequence[Any]) -> Engine:
        assert self.engine.pipeline is not None
        return Engine(self.engine.settings, sinks=sinks, detect=True, zones=self.zones,
                      params=self.params, ports=self.engine.pipeline.ports)  # fmt: skip

    def _rerun_sink(self) -> StoreSink:
        label = self._label
        return StoreSink(self.sink.store, Labeller(self.sink.store, self._rules, label),
                         None if label is None else str(label))  # fmt: skip

    def _resume(self, fingerprints: set[str]) -> None:
        """The engine resumed from the bucket's latest state made without any of this run's
        inputs: running the same inputs again (a run killed before it was logged complete)
        resumes from the state before them, so it gives what it gave."""
        assert self.states is not None
        self._resumed = True
        check_engine(self.states, partitioned=False)
        self._resume_from(fingerprints)
        pipeline = self.engine.pipeline
        assert pipeline is not None
        schemas = {k: b.schema for k, b in pipeline.buffers.items()}
        self._spool = self.states.spool(self.bucket, self.engine.sources, schemas)
        for kind, buffer in pipeline.buffers.items():  # after the held rows the state gave
            buffer.taken = self._spool.writer(kind)

    def _resume_from(self, fingerprints: set[str]) -> None:
        assert self.states is not None
        for mark in reversed(self.states.watermarks(self.bucket)):
            found = self.states.load(self.bucket, mark)
            if found is None:
                break
            if fingerprints & set(found[1].get("inputs", ())):
                log.info("%s: state at %d already holds these inputs; an older one", self.bucket,
                         mark)  # fmt: skip
                continue
            self.engine.resume(found[1], str(self.states.path(self.bucket, mark)))
            self._prev_us = self.sink.past_us = self.engine.past_us = mark
            log.info("resumed %s from %s", self.bucket, self.states.path(self.bucket, mark))
            return


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
    states: StateStore | None = None,
    watermark_us: int | None = None,
    engine: str = "local",
    options: Mapping[str, Any] | None = None,
) -> IngestReport:
    """Decode ``inputs`` and store them (see the module docstring and :class:`Ingest`).
    ``engine``: ``local`` (the streaming engine) or, with ``detect``, ``partitioned`` or
    ``dask`` (:meth:`Ingest.run_partitioned`, ``options`` for it)."""
    session = Ingest(store, settings, detect=detect, label=label, zones=zones, params=params,
                     progress=progress, untimed=untimed, states=states,
                     watermark_us=watermark_us)  # fmt: skip
    # a batch run: days new to the store loaded whole (Store.loading); a daily run with a
    # state store reads back the past days it runs again, so its rows go in as before
    with store.loading() if states is None else contextlib.nullcontext():
        if engine != "local":
            return session.run_partitioned(inputs, engine, options or {})
        session.add(inputs)
        return session.finish()
