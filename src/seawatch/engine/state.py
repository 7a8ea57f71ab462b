"""State carried from one run to the next, per partition: daily runs that resume.

In: a partition's name (a *bucket*: ``"all"`` while a node runs as one partition; the
(day, MMSI bucket) engine names its own), the watermark a run ended at (µs since the epoch,
UTC: every row older was taken in) and the pipeline's state
(:meth:`seawatch.engine.pipeline.Pipeline.state`). Out: one versioned file per bucket and
watermark under the store's state directory, written whole (temporary name, fsync, rename,
fsync of the directory), with the run's *journal* (the rows it took in, to run that day
again: :mod:`seawatch.engine.late`) beside it, and, for the next run, the latest one (or
the latest at or before a time, to run a past day again) read back
(:mod:`seawatch.engine.state_codec`). Several days' states are replaced together by
:meth:`StateStore.save_all` (a record of the renames, finished by the next reader if the
writer was killed).

The directory is ``<data_dir>/state/<store key>/<bucket>/`` (:func:`state_dir`): a store's
state never resumes another store's run. The last :data:`KEEP` states of a bucket are kept,
the older ones removed. A damaged file or one of another format version is a
:class:`~seawatch.engine.state_codec.StateFileError` naming it, never a traceback.

A partition's run (one task of a partitioned engine, or ``seawatch ingest --incremental``
through :class:`seawatch.engine.ingest.Ingest`)::

    states = StateStore(state_dir(settings.data_dir, store.backend.display))
    pipe = Pipeline(...)
    found = states.load(bucket, at_or_before_us=day_start_us)  # (watermark, state) or None
    if found is not None:
        pipe.resume(found[1], str(states.path(bucket, found[0])))
    ...pipe.feed(positions, statics)...
    result = pipe.checkpoint(day_end_us)  # released rows, closed + open events, .retract
    states.save(bucket, pipe.watermark_us, pipe.state())
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.durable import fsync_dir
from seawatch.engine.state_codec import StateFileError, dumps, loads

__all__ = ["JOURNAL", "KEEP", "Spool", "StateFileError", "StateStore", "state_dir"]

log = logging.getLogger(__name__)

JOURNAL = ("positions", "statics")
"""The tables of a run's journal, one file each."""
NAME = "source_name"
"""A journal names each row's input by this column (not by the run's input number)."""

KEEP = 45
"""States kept per bucket (with daily runs: a month and a half to run again from)."""

_NAME = re.compile(r"^(\d{8}T\d{6}\d{6}Z)\.arrow$")
_BUCKET = re.compile(r"^[A-Za-z0-9_.=-]{1,100}$")
_RECORD = "replacing.json"  # the renames of a group replacement (StateStore.save_all)


def state_dir(data_dir: Path, store_display: str) -> Path:
    """``<data_dir>/state/<store key>``: the key a hash of the store's (redacted) location."""
    key = hashlib.sha256(store_display.encode()).hexdigest()[:16]
    return Path(data_dir) / "state" / key


def _stamp(watermark_us: int) -> str:
    dt = datetime.fromtimestamp(watermark_us // 1_000_000, UTC)
    return dt.strftime("%Y%m%dT%H%M%S") + f"{watermark_us % 1_000_000:06d}Z"


def _watermark(stamp: str) -> int:
    dt = datetime.strptime(stamp[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return int(dt.timestamp()) * 1_000_000 + int(stamp[15:21])


class StateStore:
    """The states of a store's partitions in ``root`` (:func:`state_dir`)."""

    def __init__(self, root: Path, keep: int = KEEP) -> None:
        self.root = Path(root)
        self.keep = keep

    def __repr__(self) -> str:
        return f"StateStore({str(self.root)!r})"

    def _dir(self, bucket: str) -> Path:
        if not _BUCKET.match(bucket):
            raise StateFileError(f"bucket name {bucket!r}: letters, digits and _.=- only")
        return self.root / bucket

    def watermarks(self, bucket: str) -> list[int]:
        """The watermarks of the states kept for ``bucket``, oldest first."""
        folder = self._dir(bucket)
        if not folder.is_dir():
            return []
        self._roll_forward(folder)
        found = (_NAME.match(p.name) for p in folder.iterdir())
        return sorted(_watermark(m.group(1)) for m in found if m)

    def path(self, bucket: str, watermark_us: int) -> Path:
        return self._dir(bucket) / f"{_stamp(watermark_us)}.arrow"

    def journal_path(self, bucket: str, watermark_us: int, kind: str = "positions") -> Path:
        """The ``kind`` rows (positions, statics) the run that ended at ``watermark_us`` took
        in (its *journal*, :meth:`save`), beside its state: an Arrow IPC stream, zstd."""
        return self._dir(bucket) / f"{_stamp(watermark_us)}.{kind}.arrow"

    def spool(self, bucket: str, sources: list[str], schemas: dict[str, pa.Schema]) -> Spool:
        """A journal written as the run goes (:class:`Spool`), kept by :meth:`save`."""
        folder = self._dir(bucket)
        folder.mkdir(parents=True, exist_ok=True)
        return Spool(folder, sources, schemas)

    def _staged(self, path: Path, tree: Any, compress: bool = False) -> Path:
        """``tree`` written and fsynced under a temporary name beside ``path``."""
        data = dumps(tree, compress=compress)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StateFileError(
                f"cannot write state '{path}': {exc.strerror} (check data_dir)"
            ) from None
        return tmp

    def save(self, bucket: str, watermark_us: int, state: Any, journal: Any = None) -> Path:
        """Keep ``state`` as ``bucket``'s at ``watermark_us``, whole or not at all;
        ``journal`` (the rows the run took in, to run it again: :mod:`seawatch.engine.late`)
        first, beside it."""
        folder = self._dir(bucket)
        path = self.path(bucket, watermark_us)
        for temp, final in self._journal(bucket, watermark_us, journal):
            os.replace(folder / temp, folder / final)
        tmp = self._staged(path, state)
        data_len = tmp.stat().st_size
        os.replace(tmp, path)
        fsync_dir(folder)
        for old in self.watermarks(bucket)[: -self.keep]:
            self.path(bucket, old).unlink(missing_ok=True)
            for kind in JOURNAL:
                self.journal_path(bucket, old, kind).unlink(missing_ok=True)
        log.info("state of %s at %s kept in %s (%d bytes)", bucket, _stamp(watermark_us), path,
                 data_len)  # fmt: skip
        return path

    def save_all(self, bucket: str, runs: list[tuple[int, Any, Any]]) -> None:
        """Replace several runs' states and journals (watermark, state, journal) together:
        all are written under temporary names, then a record of the renames is kept, then
        they are renamed and the record removed. A process killed after the record was kept
        has its renames done by the next :meth:`watermarks` (roll forward); killed before,
        the old files stand (the temporary ones are left, then removed)."""
        folder = self._dir(bucket)
        pairs: list[tuple[str, str]] = []
        for mark, state, journal in runs:
            pairs += self._journal(bucket, mark, journal)
            path = self.path(bucket, mark)
            pairs.append((self._staged(path, state).name, path.name))
        record = folder / _RECORD
        tmp = record.with_name(f".{_RECORD}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(pairs))
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, record)
        fsync_dir(folder)
        self._roll_forward(folder)
        log.info("states of %s replaced at %d watermarks", bucket, len(runs))

    def _roll_forward(self, folder: Path) -> None:
        """Finish the renames a kept record lists (:meth:`save_all`), then remove it."""
        record = folder / _RECORD
        if not record.exists():
            return
        pairs = json.loads(record.read_text())
        for tmp, final in pairs:
            if (folder / tmp).exists():
                os.replace(folder / tmp, folder / final)
        fsync_dir(folder)
        record.unlink()
        fsync_dir(folder)
        for stale in folder.glob(".*.tmp"):  # of runs killed before their record
            stale.unlink(missing_ok=True)

    def _journal(self, bucket: str, mark: int, journal: Any) -> list[tuple[str, str]]:
        """``journal`` (a :class:`Spool`, or tables by kind) written under temporary names:
        (temporary, final) names."""
        if journal is None:
            return []
        if not isinstance(journal, Spool):
            spool = self.spool(bucket, [], {k: t.schema for k, t in journal.items()})
            for kind, table in journal.items():
                spool.write(kind, table)
            journal = spool
        temps = journal.close()
        return [(temps[k].name, self.journal_path(bucket, mark, k).name) for k in JOURNAL]

    def has_journal(self, bucket: str, watermark_us: int) -> bool:
        return all(self.journal_path(bucket, watermark_us, k).exists() for k in JOURNAL)

    def load_journal(self, bucket: str, watermark_us: int) -> dict[str, pa.Table] | None:
        """The rows the run ending at ``watermark_us`` took in, by kind; None when not kept."""
        out = {}
        for kind in JOURNAL:
            path = self.journal_path(bucket, watermark_us, kind)
            try:
                with pa.ipc.open_stream(pa.memory_map(str(path))) as reader:
                    out[kind] = reader.read_all()
            except FileNotFoundError:
                return None
            except (OSError, pa.ArrowInvalid) as exc:
                raise StateFileError(f"journal '{path}' cannot be read ({exc})") from None
        return out

    def load(self, bucket: str, at_or_before_us: int | None = None) -> tuple[int, Any] | None:
        """(watermark, state) of ``bucket``'s latest state, or of the latest at or before
        ``at_or_before_us``; None when there is none (a first run)."""
        marks = [
            w for w in self.watermarks(bucket) if at_or_before_us is None or w <= at_or_before_us
        ]
        if not marks:
            return None
        path = self.path(bucket, marks[-1])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StateFileError(f"cannot read state '{path}': {exc.strerror}") from None
        return marks[-1], loads(data, str(path))


class Spool:
    """A run's journal written as it goes: per kind an Arrow IPC stream (zstd) under a
    temporary name in ``folder``, each row naming its input (:data:`NAME`, from ``sources``,
    the run's inputs by number, which :data:`seawatch.engine.pipeline.SOURCE_ID` gives).
    :meth:`writer` gives what a reorder buffer appends the rows it takes in to."""

    def __init__(self, folder: Path, sources: list[str], schemas: dict[str, pa.Schema]) -> None:
        self.sources = sources
        self.rows = dict.fromkeys(JOURNAL, 0)
        self.paths: dict[str, Path] = {}
        self._writers: dict[str, Any] = {}
        self._files: dict[str, Any] = {}
        self._schemas: dict[str, pa.Schema] = {}
        options = pa.ipc.IpcWriteOptions(compression="zstd")
        token = uuid.uuid4().hex  # each spool its own files, however many a process makes
        for kind in JOURNAL:
            schema = schemas[kind]
            if "source_id" in schema.names:
                schema = schema.remove(schema.get_field_index("source_id"))
            if NAME not in schema.names:
                schema = schema.append(pa.field(NAME, pa.string()))
            self.paths[kind] = folder / f".{os.getpid()}.{token}.{kind}.journal.tmp"
            self._files[kind] = pa.OSFile(str(self.paths[kind]), "wb")
            self._writers[kind] = pa.ipc.new_stream(self._files[kind], schema, options=options)
            self._schemas[kind] = schema

    def writer(self, kind: str) -> _Appender:
        return _Appender(self, kind)

    def write(self, kind: str, table: pa.Table) -> None:
        """Append ``table`` (with ``source_id`` numbers, or already by :data:`NAME`)."""
        if "source_id" in table.column_names:
            i = table.schema.get_field_index("source_id")
            column: Any = table.column(i)
            filled: Any = pc.fill_null(column, 0)
            ids = np.asarray(filled.to_numpy(zero_copy_only=False), np.int64)
            lookup: Any = pa.array(list(self.sources) or [""], pa.string())
            table = table.remove_column(i).append_column(NAME, lookup.take(pa.array(ids)))
        self._writers[kind].write_table(table.cast(self._schemas[kind]))
        self.rows[kind] += table.num_rows

    def close(self) -> dict[str, Path]:
        """Finish the files (fsynced); their temporary paths."""
        for kind, writer in list(self._writers.items()):
            writer.close()
            self._files[kind].close()
            with self.paths[kind].open("rb+") as fh:
                os.fsync(fh.fileno())
        self._writers.clear()
        return self.paths

    def discard(self) -> None:
        """Close and remove the files (a run that keeps no journal)."""
        self.close()
        for path in self.paths.values():
            path.unlink(missing_ok=True)

    def tables(self) -> dict[str, pa.Table]:
        """The rows written so far, by kind (closes the spool)."""
        self.close()
        out = {}
        for kind, path in self.paths.items():
            with pa.ipc.open_stream(pa.OSFile(str(path), "rb")) as reader:
                out[kind] = reader.read_all()
        return out


class _Appender:
    """``append(table)``: the rows a reorder buffer takes in, into a :class:`Spool`."""

    def __init__(self, spool: Spool, kind: str) -> None:
        self.spool, self.kind = spool, kind

    def append(self, table: pa.Table) -> None:
        if table.num_rows:
            self.spool.write(self.kind, table)
