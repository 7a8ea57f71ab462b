"""Ingest: AIS inputs decoded and stored, once, chunk by chunk, surviving a crash.

In: input files (anything :func:`seawatch.decode.decode_stream` reads), an open
:class:`~seawatch.store.base.Store`, the labelling rules or one label for the run, and
whether to run :class:`seawatch.engine.pipeline.Pipeline` (``detect``). Out: positions and
statics (and with ``detect`` positions with ``segment_id``, segments and events) in the
store, and an :class:`IngestReport`.

Each decoded chunk is written in one transaction together with its ``ingest_log`` row
(input fingerprint = SHA-256 of the file, chunk number), so a crash leaves whole chunks
only. Rows are deduplicated on their message key, so re-running an input, or storing the
same message heard by two receivers, stores it once; a re-run skips the chunks the log
shows committed (without ``detect``) and inputs it shows complete. With ``detect`` the
pipeline sees the run's inputs from their start (its state is not stored between runs),
and its output is deduplicated in the same way. :class:`Ingest` keeps one run going
over inputs that arrive one after another (a live feed's batches).
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

import pyarrow as pa
import pyarrow.compute as pc

from seawatch.decode import decode_stream
from seawatch.decode.schemas import SCHEMAS
from seawatch.errors import InputError
from seawatch.labels import Label, LabelRules
from seawatch.settings import Settings
from seawatch.store.base import Store
from seawatch.store.records import Labeller, message_keys, vessel_rows
from seawatch.store.tables import TABLES

if TYPE_CHECKING:
    from seawatch.engine.pipeline import Pipeline
    from seawatch.geo.zones import ZoneLayer

__all__ = ["Ingest", "IngestReport", "fingerprint", "ingest", "zone_records"]

log = logging.getLogger(__name__)

_ZONE_NAMES = ("name", "NAME", "Name", "zone_name", "GEONAME", "geoname", "TERRITORY1")
_LOG_KEY = pa.schema([pa.field("fingerprint", pa.string()), pa.field("chunk", pa.int32())])  # type: ignore[arg-type]
COMPLETE = -1  # ingest_log.chunk of the row saying an input is fully stored


@dataclass
class IngestReport:
    """What an ingest did, in counts."""

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

    def summary(self) -> str:
        return (
            f"{self.inputs} input(s) ({self.skipped_inputs} already stored), "
            f"{self.chunks} chunk(s) ({self.skipped_chunks} already stored); "
            f"read {self.read['positions']} positions, {self.read['statics']} statics; "
            f"stored {self.stored['positions']} positions, {self.stored['statics']} statics, "
            f"{self.stored['segments']} segments, {self.stored['events']} events"
            + (f", {self.stored['zones']} zones" if self.stored["zones"] else "")
            + (f"; {self.unlabelled} derived rows not labellable" if self.unlabelled else "")
        )


def fingerprint(path: Path) -> str:
    """SHA-256 of the file's bytes (what the ingest log knows an input by)."""
    h = hashlib.sha256()
    try:
        with Path(path).open("rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    except OSError as exc:
        raise InputError(f"cannot read '{path}': {exc.strerror} (check the path)") from None
    return h.hexdigest()


class _Run:
    def __init__(
        self, store: Store, settings: Settings, labeller: Labeller, marking: str | None
    ) -> None:
        self.store = store
        self.settings = settings
        self.labeller = labeller
        self.marking = marking
        self.run_id = uuid.uuid4().hex
        self.report = IngestReport()
        self._done = self._logged()

    def _logged(self) -> set[tuple[str, int]]:
        t = self.store.backend.fetch(
            "SELECT fingerprint, chunk FROM ingest_log",
            (),
            _LOG_KEY,
        )
        fps: list[str] = t.column(0).to_pylist()  # type: ignore[assignment]
        chunks: list[int] = t.column(1).to_pylist()  # type: ignore[assignment]
        return set(zip(fps, chunks, strict=True))

    def done(self, fp: str, chunk: int) -> bool:
        return (fp, chunk) in self._done

    def log_row(self, fp: str, chunk: int, path: Path, rows: int, inserted: int) -> None:
        row = {
            "fingerprint": [fp],
            "chunk": [chunk],
            "input": [str(path)],
            "run_id": [self.run_id],
            "rows": [rows],
            "inserted": [inserted],
            "committed_at": [datetime.now(UTC)],
            "label": [self.marking],
        }
        self.store.write("ingest_log", pa.table(row, schema=TABLES["ingest_log"].arrow_schema()))
        self._done.add((fp, chunk))

    def store_records(self, positions: pa.Table, statics: pa.Table, source: str) -> int:
        n = 0
        for kind, rows in (("positions", positions), ("statics", statics)):
            if rows.num_rows == 0:
                continue
            rows = rows.append_column("msg_key", message_keys(rows, kind))
            stored = self.store.write(kind, self.labeller.records(rows, source))
            self.report.stored[kind] += stored
            n += stored
        return n

    def store_derived(self, events: pa.Table, segments: pa.Table | None) -> None:
        if events.num_rows:
            rows = self.labeller.derived(events, kind="events")
            self.report.stored["events"] += self.store.write("events", rows)
        if segments is not None and segments.num_rows:
            rows = self.labeller.derived(segments, kind="segments")
            self.report.stored["segments"] += self.store.write("segments", rows)


class Ingest:
    """An ingest that goes on: :meth:`add` inputs as they come (files, or a live feed's
    batches), :meth:`finish` once. With ``detect`` one pipeline sees every input in turn,
    so tracks and events span the inputs (a live feed's batches): positions are stored
    with their ``segment_id`` and events as the pipeline releases them, open events and
    segments at :meth:`finish`; labels of derived records combine those of every record
    the session stored. ``label``: give every record this label instead of the settings'
    rules. ``zones``: layers the pipeline tags positions with (zone_entry/zone_exit
    events, with ``detect``), stored in the ``zones`` table (``zone_id`` =
    ``<layer>:<polygon index>``, what the events' ``details`` name) under ``label`` or the
    node's default label."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        detect: bool = False,
        label: Label | None = None,
        zones: Sequence[ZoneLayer] = (),
        progress: Callable[[int], None] | None = None,
    ) -> None:
        store.require_current()
        rules = LabelRules.from_settings(settings, store.policy)
        self.run = _Run(
            store, settings, Labeller(store, rules, label), None if label is None else str(label)
        )
        self.progress = progress
        self.pipeline: Pipeline | None = None
        self._pending: list[tuple[Path, str]] = []  # inputs the pipeline has not finished
        if detect:
            from seawatch.engine.pipeline import Pipeline

            self.pipeline = Pipeline(zones=zones, reorder_window_s=settings.reorder_window_s)
        if zones:
            lid = store.label_id(label if label is not None else rules.default)
            with store.transaction():
                for layer in zones:
                    stored = store.write("zones", zone_records(layer, lid))
                    self.run.report.stored["zones"] += stored

    @property
    def report(self) -> IngestReport:
        """What the session did so far."""
        self.run.report.unlabelled = self.run.labeller.unlabelled
        return self.run.report

    def add(self, inputs: Sequence[str | Path]) -> IngestReport:
        """Decode and store ``inputs`` (every file is read first: an unreadable one stops
        the call before anything is stored)."""
        run = self.run
        paths = [Path(p) for p in inputs]
        fps = [fingerprint(p) for p in paths]
        run.report.inputs += len(paths)
        for path, fp in zip(paths, fps, strict=True):
            if run.done(fp, COMPLETE) and self.pipeline is None:
                log.info("%s: already stored (ingest log), skipped", path)
                run.report.skipped_inputs += 1
                continue
            _ingest_one(run, path, fp, self.pipeline, self.progress)
            if self.pipeline is not None:
                self._pending.append((path, fp))
        return self.report

    def finish(self) -> IngestReport:
        """With ``detect``: the pipeline's last positions, open events and the segments
        stored, and the inputs logged complete. Call once, at the end."""
        if self.pipeline is not None:
            run = self.run
            with run.store.transaction():
                final = self.pipeline.finish()
                positions = vessel_rows(final.positions)
                run.store_records(positions, pa.table({}), "pipeline")
                run.store_derived(final.events, self.pipeline.segments())
                for path, fp in self._pending:
                    if not run.done(fp, COMPLETE):
                        run.log_row(fp, COMPLETE, path, 0, 0)
            self.pipeline = None
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
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Decode ``inputs`` and store them (see the module docstring and :class:`Ingest`)."""
    session = Ingest(store, settings, detect=detect, label=label, zones=zones, progress=progress)
    session.add(inputs)
    return session.finish()


def zone_records(layer: ZoneLayer, label_id: int) -> pa.Table:
    """The ``zones`` rows of a layer: one per polygon, WKT in WGS 84, its name attribute."""
    import shapely

    n = len(layer)
    names: pa.Array[Any] = pa.nulls(n, pa.string())
    for col in _ZONE_NAMES:
        if col in layer.table.column_names:
            names = layer.table.column(col).combine_chunks().cast(pa.string())
            break
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


def _ingest_one(
    run: _Run,
    path: Path,
    fp: str,
    pipeline: Pipeline | None,
    progress: Callable[[int], None] | None,
) -> None:
    source = path.name
    chunk = -1
    for chunk, batch in enumerate(decode_stream(path, settings=run.settings, progress=progress)):
        raw_positions = _table(batch.tables, "positions")
        raw_statics = _table(batch.tables, "statics")
        positions = vessel_rows(raw_positions)
        statics = raw_statics.filter(
            pc.and_(pc.is_valid(raw_statics.column("ts")), pc.is_valid(raw_statics.column("mmsi")))
        )
        run.report.chunks += 1
        run.report.read["positions"] += positions.num_rows
        run.report.read["statics"] += statics.num_rows
        if pipeline is not None:
            result = pipeline.feed(raw_positions, raw_statics)
            late = result.late.get("positions")
            with run.store.transaction():
                inserted = run.store_records(vessel_rows(result.positions), statics, source)
                if late is not None and late.num_rows:  # too late to segment: stored as read
                    inserted += run.store_records(vessel_rows(late), statics.slice(0, 0), source)
                run.store_derived(result.events, None)
                run.log_row(fp, chunk, path, positions.num_rows + statics.num_rows, inserted)
            log.info("%s: chunk %d committed (%d new rows, detect)", path, chunk, inserted)
            continue
        if run.done(fp, chunk):
            run.report.skipped_chunks += 1
            continue
        with run.store.transaction():
            inserted = run.store_records(positions, statics, source)
            run.log_row(fp, chunk, path, positions.num_rows + statics.num_rows, inserted)
        log.info("%s: chunk %d committed (%d new rows)", path, chunk, inserted)
    if pipeline is None:
        with run.store.transaction():
            run.log_row(fp, COMPLETE, path, 0, 0)


def _table(tables: Mapping[str, pa.Table], name: str) -> pa.Table:
    found = tables.get(name)
    return found if found is not None else SCHEMAS[name].empty_table()
