"""Daily runs of the partitioned engine: each bucket's state kept at the end of a run, and
resumed by the next.

In: the store's states (:class:`~seawatch.engine.state.StateStore`), the run's bucket count,
its inputs' fingerprints and names, its watermark. Out: the run to resume from
(:func:`previous`), each (day, bucket) chain resumed from its bucket's file
(:func:`resume_bucket`) and its state kept at the run's end (:func:`keep_bucket`), and,
once the store holds the run's output, the run's *record* (:func:`keep_record`).

Under the store's state directory a partitioned run with N buckets keeps one versioned file
per bucket, ``pNNNN-bBBBB/<watermark>.arrow`` (the bucket's pipeline, its held rows naming
their input), one for the detectors across vessels, ``pNNNN-across/``
(:mod:`seawatch.engine.across`), and last the record, ``pNNNN-run/<watermark>.arrow``: the
bucket count, the buckets kept, the run's input fingerprints, the inputs the held rows came from,
the newest time read. Each file is written under a temporary name, fsynced and renamed
(:meth:`StateStore.save`); the tasks write their buckets' files, the loader (this process)
the record, after the store holds the run. A run resumes from the latest record made without
any of its inputs (of any bucket count: at equal watermarks its own first), and reads the
file, *at that record's watermark*, of each bucket the record names as kept: a run killed
before its record (an exception in a task, the process killed) leaves files no record names,
which nothing reads; the previous state is intact and running the day again gives what a
clean run gives.

Rows older than the watermark the run resumes from (late data for a past day) run the runs
they fall in again, and the following ones while a bucket's state changes
(:mod:`seawatch.engine.partition_late`): each run therefore keeps, beside each bucket's
state, its *journal* (the bucket's partitions and the positions it released, per day) and
the ids each bucket and the stage across vessels wrote (its record's ``wrote``).

Another bucket count than the run resumed from was made with: its states are re-split per
vessel into the new buckets first, at the same watermark, under the new count's names, with
a record of its own (:mod:`seawatch.engine.rebucket`); the old count's files stay as they
are. Rows older than that change are refused (the runs before it keep their journals per
old bucket).

Refused with an :class:`~seawatch.errors.InputError` (nothing stored): daily runs
made by the other engine (``--engine local`` keeps one pipeline's state, ``all/``); rows
older than any run that can be run again (its record, its journals and the state before it
kept: :data:`~seawatch.engine.state.KEEP` runs, made by a version that keeps journals);
a run that would end where the one it resumes from ended (all its rows waiting in the
state: its files would replace that run's; the local engine grows that day instead).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from seawatch.engine.pipeline import SOURCE_ID
from seawatch.engine.reorder import NEVER_US
from seawatch.engine.state import StateStore
from seawatch.errors import InputError

if TYPE_CHECKING:
    from seawatch.engine.pipeline import Pipeline

__all__ = ["Carry", "across_name", "bucket_name", "carried_buckets", "check_engine",
           "keep_bucket", "keep_record", "portable", "previous", "record_name", "resume_bucket",
           "start"]  # fmt: skip

log = logging.getLogger(__name__)

LOCAL = "all"
"""The bucket of the local engine's daily runs (one pipeline)."""
_RUN = re.compile(r"^p(\d{4})-run$")


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bucket_name(buckets: int, bucket: int) -> str:
    return f"p{buckets:04d}-b{bucket:04d}"


def across_name(buckets: int) -> str:
    return f"p{buckets:04d}-across"


def record_name(buckets: int) -> str:
    return f"p{buckets:04d}-run"


@dataclass
class Carry:
    """A partitioned daily run: where its states are and what it resumes from (pickled to
    the tasks with their :class:`~seawatch.engine.partition_tasks.TaskConfig`)."""

    root: str
    """The store's states (:attr:`StateStore.root`)."""
    buckets: int
    resume_us: int | None = None
    """The watermark of the run resumed from (None: a first run)."""
    record: dict[str, Any] = field(default_factory=dict)
    """That run's record."""
    watermark_us: int | None = None
    """As given (``--watermark``); None: the newest time read minus the reorder window."""
    until_us: int = 0
    """Where this run ends (its checkpoint): set once the partitions are written."""
    sources: list[str] = field(default_factory=list)
    """The run's inputs by ``source_id``: its own, then those of rows held by the last run."""
    inputs: list[str] = field(default_factory=list)
    """The fingerprints of this run's inputs."""
    staged: str | None = None
    """A past run run again (:mod:`seawatch.engine.partition_late`): where its states are
    written, under their final names, until they replace the old ones together."""
    rebucket_from: int | None = None
    """The run resumed from was made with this other bucket count: its states are re-split
    (:mod:`seawatch.engine.rebucket`) before this run's tasks."""

    def states(self) -> StateStore:
        """Where this run's states are written."""
        return StateStore(Path(self.staged or self.root))

    def reading(self, name: str, mark: int) -> StateStore:
        """Where ``name``'s state at ``mark`` is read: the one a re-run wrote, else the
        store's."""
        if self.staged and StateStore(Path(self.staged)).path(name, mark).exists():
            return StateStore(Path(self.staged))
        return StateStore(Path(self.root))

    def end(self, newest_us: int, window_us: int) -> None:
        """Set :attr:`until_us` as the local engine's checkpoint would: the watermark given,
        at least the newest time read minus the reorder window, never before the run resumed
        from (whose files a run ending there would replace: refused)."""
        given = NEVER_US if self.watermark_us is None else self.watermark_us
        self.until_us = max(self.resume_us or NEVER_US, newest_us - window_us, given)
        if self.until_us == self.resume_us:
            raise InputError(
                f"this run would end at {_iso(self.until_us)}, where the last daily run ended "
                "(its rows all wait in the state): give a later --watermark"
            )


def check_engine(states: StateStore, partitioned: bool) -> None:
    """Refuse daily runs of the other engine than the store's were made with."""
    if not states.root.is_dir():
        return
    names = [p.name for p in states.root.iterdir() if p.is_dir()]
    if partitioned and states.watermarks(LOCAL):
        raise InputError("this store's daily runs were made by --engine local (one pipeline's "
                         "state): go on with --engine local, or run the period again from its "
                         "start in a new store")  # fmt: skip
    made = [n for n in names if _RUN.match(n) and states.watermarks(n)]
    if not partitioned and made:
        raise InputError("this store's daily runs were made by the partitioned engine (a state "
                         f"per bucket): go on with --engine partitioned or dask --buckets "
                         f"{int(made[0][1:5])}")  # fmt: skip


def previous(states: StateStore, buckets: int, fingerprints: set[str]) -> Carry:
    """The run to resume from: the latest record, of any bucket count (``buckets`` first at
    equal watermarks), made without any of ``fingerprints`` (a run killed before its record,
    or run again, resumes before them); made with another count, its states are re-split
    into ``buckets`` before the run (:attr:`Carry.rebucket_from`)."""
    from seawatch.engine.partition_journal import roll_forward

    roll_forward(states.root)  # a re-run of past days killed while its files were renamed
    check_engine(states, partitioned=True)
    counts = sorted(int(m.group(1)) for p in states.root.iterdir()
                    if (m := _RUN.match(p.name))) if states.root.is_dir() else []  # fmt: skip
    carry = Carry(str(states.root), buckets)
    best: tuple[tuple[int, bool], int, dict[str, Any]] | None = None
    for count in counts:
        name = record_name(count)
        for mark in reversed(states.watermarks(name)):
            found = states.load(name, mark)
            assert found is not None
            if fingerprints & set(found[1]["inputs"]):
                log.info("the run at %d already holds these inputs; an older one", mark)
                continue
            if best is None or (mark, count == buckets) > best[0]:
                best = (mark, count == buckets), count, found[1]
            break
    if best is not None:
        (carry.resume_us, _), count, carry.record = best
        carry.rebucket_from = None if count == buckets else count
        log.info("resuming %d bucket(s) of %d from the run that ended at %s",
                 len(carry.record["kept"]), count, _iso(carry.resume_us))  # fmt: skip
    return carry


def start(
    states: StateStore, buckets: int, inputs: list[str], fingerprints: list[str],
    watermark_us: int | None,
) -> Carry:  # fmt: skip
    """A daily run of ``inputs`` (with their ``fingerprints``) resumed from :func:`previous`;
    its inputs by ``source_id``: ``inputs``, then those of the rows the last run held."""
    carry = previous(states, buckets, set(fingerprints))
    carry.watermark_us, carry.inputs = watermark_us, fingerprints
    carry.sources = inputs + [n for n in carry.record.get("sources", []) if n not in inputs]
    return carry


def carried_buckets(carry: Carry) -> list[int]:
    """The buckets whose state the run resumed from kept (files at that watermark that its
    record does not name are a killed run's, never read)."""
    kept: list[int] = carry.record.get("kept", [])
    return kept


def portable(state: dict[str, Any], sources: list[str]) -> dict[str, Any]:
    """A pipeline's state (:meth:`Pipeline.state`) with its held rows naming only the inputs
    they came from, renumbered from 0: ``{"pipeline": ..., "sources": names}``."""
    held = {k: t for k, (_, t) in state["held"].items()}
    used = np.unique(np.concatenate([np.asarray(t.column(SOURCE_ID), np.int64)
                                     for t in held.values()]))  # fmt: skip
    for k, (horizon, table) in state["held"].items():
        i = table.schema.get_field_index(SOURCE_ID)
        new = np.searchsorted(used, np.asarray(table.column(i), np.int64)).astype(np.int32)
        state["held"][k] = (horizon, table.set_column(i, table.schema.field(i), pa.array(new)))
    return {"pipeline": state, "sources": [sources[i] for i in used.tolist()]}


def resume_bucket(carry: Carry, bucket: int, pipe: Pipeline) -> bool:
    """``pipe`` resumed from ``bucket``'s state at the watermark resumed from; False when
    the bucket has none (its first run)."""
    if carry.resume_us is None or bucket not in carried_buckets(carry):
        return False
    name = bucket_name(carry.buckets, bucket)
    states = carry.reading(name, carry.resume_us)
    path = states.path(name, carry.resume_us)
    found = states.load(name, carry.resume_us)
    assert found is not None
    state = found[1]["pipeline"]
    ids = np.array([carry.sources.index(n) for n in found[1]["sources"]] or [0], np.int32)
    for k, (horizon, table) in state["held"].items():
        i = table.schema.get_field_index(SOURCE_ID)
        column = pa.array(ids[np.asarray(table.column(i), np.int64)], pa.int32())
        state["held"][k] = (horizon, table.set_column(i, table.schema.field(i), column))
    pipe.resume(state, str(path))
    return True


def keep_bucket(carry: Carry, bucket: int, pipe: Pipeline) -> list[str]:
    """``bucket``'s state at the run's end kept (after :meth:`Pipeline.checkpoint`); the
    inputs its held rows came from."""
    state = portable(pipe.state(), carry.sources)
    carry.states().save(bucket_name(carry.buckets, bucket), carry.until_us, state)
    names: list[str] = state["sources"]
    return names


def keep_record(
    carry: Carry, kept: dict[int, list[str]], newest_us: int, more: dict[str, Any]
) -> None:
    """The run's record, last, once the store holds the run: a next run resumes from it.
    ``kept``: the buckets whose state the run kept, with the inputs of their held rows;
    ``more``: what running it again reads (:func:`seawatch.engine.partition_late.journal`)."""
    held = sorted({n for names in kept.values() for n in names})
    record = {"buckets": carry.buckets, "inputs": sorted(carry.inputs), "sources": held,
              "kept": sorted(kept), "latest_us": newest_us, "prev_us": carry.resume_us,
              **more}  # fmt: skip
    carry.states().save(record_name(carry.buckets), carry.until_us, record)
