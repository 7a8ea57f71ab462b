"""Late data for a past day: that day and the following ones run again, until nothing changes.

In: the positions and statics a daily run (``seawatch ingest --detect --incremental``) read
that are older than the watermark of the state it resumed from (rows of a day already run),
the store, the bucket's states (:class:`~seawatch.engine.state.StateStore`: each run's
state, the rows it took in, its *journal*, and the ids of what it wrote) and the run's own
state, journal and ids when it took in rows of its own. Out: the store and the states as one
run over all the data would have left them, and a :class:`Rerun` report.

A day is one run: from the watermark of the state it resumed from (``prev_us``) to its own.
The late rows go to the day whose span holds them. From the first such day on, each day is
run again from the state before it (:meth:`StateStore.load`) over its journal plus its late
rows (those already in the journal, the same message from the same station, left out: a
late file read twice changes nothing the second time), and its new end-of-day state is
compared with the one stored (:func:`state_digest`: independent of row order, of the order
of dict keys and of input numbering). The first day whose state is unchanged, with no late
rows left for later days, ends the re-run: the following days' outputs cannot change.

What is written, in one transaction: positions of the re-run days whose segment changed, or
that the cleaner now drops, are replaced (delete + insert; the others are left alone); the
late positions are stored. Events and segments: each id's last version of the re-run days
is written, unless a later day (not re-run) wrote or retracted it (its version stands); ids
the old runs of those days wrote or the re-run retracted, that no re-run day or later day
writes, are removed (an event that no longer exists). Then the days' states and journals are
replaced together (:meth:`StateStore.save_all`). A run killed before the commit leaves the
store and the states as they were (running it again does it all again); killed between
the commit and the states' replacement, running it again computes the same from the old
states and writes the same.

Not re-run: rows older than the oldest day whose state before it and journal are kept
(:data:`seawatch.engine.state.KEEP` days, and only states written by a version that keeps
journals): they are returned and stored as late, without a track, as before. The alert rules
are not fired again for re-run days.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.decode import DecodeStats
from seawatch.decode.keys import message_keys
from seawatch.engine.canonical import canonical
from seawatch.engine.inputs import Piece
from seawatch.engine.late_store import NAME, Outputs, between, derived, named, positions
from seawatch.engine.pipeline import SOURCE_ID
from seawatch.engine.reorder import ts_column
from seawatch.engine.run import Engine, Sink
from seawatch.engine.state import Spool, StateStore
from seawatch.engine.state_codec import dumps, loads
from seawatch.store.base import Store

if TYPE_CHECKING:
    from seawatch.engine.store_sink import StoreSink

__all__ = ["NAME", "Rerun", "Run", "dedup", "journal_of", "merge_wrote", "named", "rerun_past",
           "state_digest", "tree_digest", "wrote"]  # fmt: skip

log = logging.getLogger(__name__)

_NOT_COMPARED = ("inputs", "wrote", "prev_us")


@dataclass
class Run:
    """A day: its watermark, its state (as kept: with ``prev_us``, ``inputs``, ``wrote``) and
    its journal (None: read from the store of states when needed)."""

    mark: int
    state: dict[str, Any]
    journal: Any = None
    """Tables by kind, a :class:`~seawatch.engine.state.Spool` or None."""


@dataclass
class Rerun:
    """What re-running past days did."""

    days: int = 0
    """Days run again (the last one's state unchanged, or the latest day)."""
    first_us: int | None = None
    """Start of the first day run again."""
    unreachable: int = 0
    """Late positions older than any day that can be run again (stored without a track)."""
    buckets: int = 0
    """(day, bucket) chains run again (the partitioned engine's: a bucket whose state comes
    out unchanged stops there, :mod:`seawatch.engine.partition_late`)."""
    changed: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("positions", "events", "removed", "segments"), 0)
    )


def _numbered(table: pa.Table, engine: Engine) -> pa.Table:
    """``table`` with :data:`SOURCE_ID` numbering its inputs among ``engine``'s."""
    names = table.column(NAME).to_pylist()
    ids = [engine.source_id(str(n)) for n in names]
    return table.drop_columns([NAME]).append_column(SOURCE_ID, pa.array(ids, pa.int32()))


def journal_of(engine: Engine) -> dict[str, Any]:
    """The rows ``engine``'s pipeline took in (its buffers' ``taken``), by input name."""
    assert engine.pipeline is not None
    out: dict[str, Any] = {}
    for kind, buffer in engine.pipeline.buffers.items():
        rows = pa.concat_tables([buffer.schema.empty_table(), *(buffer.taken or [])])
        out[kind] = named(rows, engine.sources)
    return out


def wrote(ids: Mapping[str, set[Any]]) -> dict[str, Any]:
    """A run's ids of events and segments written and events retracted, as kept in its state."""
    return {
        "events": pa.array(sorted(ids["events"]), pa.string()),
        "retracted": pa.array(sorted(ids["retracted"]), pa.string()),
        "segments": pa.array(sorted(ids["segments"]), pa.int64()),
    }


def merge_wrote(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """The ids written by a run ``a`` then a run ``b`` of the same day."""
    ea, eb = set(a["events"].to_pylist()), set(b["events"].to_pylist())
    ra, rb = set(a["retracted"].to_pylist()), set(b["retracted"].to_pylist())
    segments = set(a["segments"].to_pylist()) | set(b["segments"].to_pylist())
    return wrote({"events": (ea - rb) | eb, "retracted": (ra - eb) | rb, "segments": segments})


def _ids(state: Mapping[str, Any], kind: str) -> set[Any]:
    return set(state["wrote"][kind].to_pylist())


def state_digest(state: Mapping[str, Any]) -> str:
    """A hash of what a day's state holds that a next day reads: tables by their rows in a
    total order, dicts and sets in key order, held rows by input name; not its inputs, the
    ids it wrote or the day it resumed from."""
    tree = dict(state)
    pipeline = dict(tree["pipeline"])
    names = tree.get("sources", [])
    pipeline["held"] = {k: (hz, named(t, names)) for k, (hz, t) in pipeline["held"].items()}
    tree["pipeline"], tree["sources"] = pipeline, None
    for k in _NOT_COMPARED:
        tree.pop(k, None)
    return tree_digest(tree)


def tree_digest(tree: Any) -> str:
    """A hash of a state's tree (tables by their rows in a total order, dicts and sets in
    key order) as :func:`state_digest` takes it: for states without held rows to name."""
    h = hashlib.sha256()
    _feed(h, tree)
    return h.hexdigest()


def _table(h: Any, table: pa.Table) -> None:
    """Feed ``table``'s schema and rows, in a total order, column by column: numbers, times
    and flags as their bytes (nulls as zero beside a validity mask), the rest as JSON."""
    table = canonical(table)
    h.update(b"T%d" % table.num_rows + str(table.schema).encode())
    for col in table.columns:
        arr: Any = col.combine_chunks()
        h.update(np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), bool).tobytes())
        kind = arr.type
        if pa.types.is_temporal(kind) and kind.bit_width == 64:
            arr, kind = arr.cast(pa.int64()), pa.int64()
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
            filled: Any = pc.fill_null(arr, pa.scalar(0 if not pa.types.is_boolean(kind)
                                                      else False, kind))  # fmt: skip
            h.update(np.ascontiguousarray(filled.to_numpy(zero_copy_only=False)).tobytes())
        else:
            h.update(json.dumps(arr.to_pylist(), default=str, sort_keys=True).encode())


def _feed(h: Any, v: Any) -> None:
    if isinstance(v, pa.Table):
        _table(h, v)
    elif isinstance(v, pa.Schema):
        h.update(b"S" + str(v).encode())
    elif isinstance(v, pa.Array | pa.ChunkedArray):
        h.update(b"A" + json.dumps(v.to_pylist(), default=str).encode())
    elif isinstance(v, np.ndarray):
        h.update(f"N{v.dtype.str}{v.shape}".encode())
        h.update(repr(v.tolist()).encode() if v.dtype == object else v.tobytes())
    elif isinstance(v, dict):
        h.update(b"D")
        for k in sorted(v, key=repr):
            h.update(repr(k).encode())
            _feed(h, v[k])
    elif isinstance(v, set | frozenset):
        h.update(b"E" + repr(sorted(v, key=repr)).encode())
    elif isinstance(v, list | tuple):
        h.update(b"L%d" % len(v))
        for x in v:
            _feed(h, x)
    elif v is None or isinstance(v, bool | int | float | str | np.generic):
        h.update(b"V" + repr(v).encode())
    else:
        h.update(f"O{type(v).__module__}.{type(v).__qualname__}".encode())
        _feed(h, vars(v))


def dedup(late: pa.Table, journal: pa.Table, kind: str) -> pa.Table:
    """``late`` without the rows ``journal`` holds (same message key and station)."""
    if not late.num_rows or not journal.num_rows:
        return late
    lk = np.asarray(message_keys(late, kind).to_numpy(), np.int64)
    jk = np.asarray(message_keys(journal, kind).to_numpy(), np.int64)
    near = np.isin(jk, lk)  # the day's rows with a late row's key: few
    if not near.any():
        return late

    def keys(t: pa.Table, k: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        st = t.column("station").to_pylist() if "station" in t.column_names else [None] * len(k)
        return np.array([f"{a}|{b}" for a, b in zip(k.tolist(), st, strict=True)], dtype=object)

    known = keys(journal.filter(pa.array(near)), jk[near])
    return late.filter(pa.array(~np.isin(keys(late, lk), known)))


def _chain(states: StateStore, bucket: str, current: Run | None, oldest_us: int) -> list[Run]:
    """The days that can be run again, oldest first, back to the one holding ``oldest_us``
    (or as far back as journals and states before them are kept)."""
    marks = states.watermarks(bucket)

    def candidates() -> Iterator[Run]:  # newest first, read only as far back as needed
        if current is not None:
            yield current
        for mark in reversed(marks):
            if current is None or mark < current.mark:
                found = states.load(bucket, mark)
                assert found is not None
                yield Run(mark, found[1])

    chain: list[Run] = []
    for run in candidates():
        prev = run.state.get("prev_us", "missing")
        kept = run.journal is not None or states.has_journal(bucket, run.mark)
        if prev == "missing" or not kept or (chain and chain[-1].state["prev_us"] != run.mark):
            break
        if prev is not None and (prev >= run.mark or prev not in marks):
            break
        chain.append(run)
        if prev is None or prev <= oldest_us:
            break
    return chain[::-1]


def rerun_past(
    store: Store,
    states: StateStore,
    bucket: str,
    late: Mapping[str, pa.Table],
    current: Run | None,
    make_engine: Callable[[Sequence[Sink]], Engine],
    make_sink: Callable[[], StoreSink],
) -> tuple[Rerun, pa.Table]:
    """Run again the days ``late`` (positions and statics by input name, :data:`NAME`) falls
    in, and those after them until a day's state is unchanged; ``current``: this run's day
    when it took in rows of its own (not kept yet; kept here). Returns the report and the
    late positions older than any day that can be run again (to store as late)."""
    report = Rerun()
    chain = _chain(states, bucket, current, _oldest(late))
    unreachable = late["positions"].slice(0, 0)
    start = chain[0].state["prev_us"] if chain else None
    if not chain or start is not None:
        cut = int(start) if chain and start is not None else 2**62
        unreachable = between(late["positions"], None, cut)
        late = {k: between(t, cut, 2**62) for k, t in late.items()}
        report.unreachable = unreachable.num_rows
    if not chain or not any(t.num_rows for t in late.values()):
        if current is not None:
            states.save(bucket, current.mark, current.state, current.journal)
        return report, unreachable
    oldest = _oldest(late)
    while chain[0].mark <= oldest:
        chain.pop(0)
    report.first_us = chain[0].state["prev_us"]
    before: bytes | None = None  # the state a day resumes from, kept whole (resume takes it over)
    prior: Mapping[str, Any] | None = None  # the same, read
    if report.first_us is not None:
        found = states.load(bucket, report.first_us)
        assert found is not None
        before, prior = dumps(found[1]), found[1]
    days: list[tuple[Mapping[str, Any], StoreSink, Outputs]] = []
    kept: list[tuple[int, Any, Any]] = []
    with store.transaction():
        for old in chain:
            journal = old.journal or states.load_journal(bucket, old.mark)
            if isinstance(journal, Spool):
                journal = journal.tables()
            assert journal is not None
            mine = {k: between(t, old.state["prev_us"], old.mark) for k, t in late.items()}
            new, sink, out = _day(old, before, journal, mine, make_engine, make_sink)
            assert new.journal is not None
            taken = new.journal["positions"]
            if prior is not None:
                held = named(prior["pipeline"]["held"]["positions"][1], prior["sources"])
                taken = pa.concat_tables([held, taken], promote_options="default")
            taken = between(taken, None, old.mark)
            statics = between(new.journal["statics"], None, old.mark)
            report.changed["positions"] += positions(store, sink, out, taken, statics)
            days.append((old.state, sink, out))
            kept.append((new.mark, new.state, new.journal))
            report.days += 1
            left = any(between(t, old.mark, 2**62).num_rows for t in late.values())
            same = state_digest(new.state) == state_digest(old.state)
            log.info("ran again the day to %s: its state %s", bucket_time(old.mark),
                     "unchanged" if same else "changed")  # fmt: skip
            if not left and same:
                break
            before, prior = dumps(new.state), new.state
        later = [r.state for r in chain if r.mark > kept[-1][0]]
        for k, n in derived(store, days, later).items():
            report.changed[k] += n
    if current is not None and current.mark > kept[-1][0]:
        kept.append((current.mark, current.state, current.journal))
    states.save_all(bucket, kept)
    log.info("late rows: %d day(s) run again from %s", report.days, bucket_time(report.first_us))
    return report, unreachable


def _oldest(late: Mapping[str, pa.Table]) -> int:
    return min(int(pc.min(ts_column(t)).as_py()) for t in late.values() if t.num_rows)


def _day(
    old: Run,
    before: bytes | None,
    journal: Mapping[str, Any],
    late: Mapping[str, pa.Table],
    make_engine: Callable[[Sequence[Sink]], Engine],
    make_sink: Callable[[], StoreSink],
) -> tuple[Run, StoreSink, Outputs]:
    """One day run again from ``before`` over its journal and its late rows."""
    out = Outputs()
    engine = make_engine([out])
    if before is not None:
        name = f"state of {bucket_time(old.state['prev_us'])}"
        engine.resume(loads(before, name), name)
    assert engine.pipeline is not None
    for buffer in engine.pipeline.buffers.values():
        buffer.taken = []
    rows = {
        k: pa.concat_tables([journal[k], dedup(late[k], journal[k], k).cast(journal[k].schema)])
        for k in ("positions", "statics")
    }
    piece = Piece(_numbered(rows["positions"], engine), _numbered(rows["statics"], engine),
                  DecodeStats(), "late data", 0)  # fmt: skip
    engine.feed(piece)
    engine.finish(checkpoint=True, watermark_us=old.mark)
    state = engine.state()
    sink = make_sink()
    sink.sources[:] = engine.sources
    ids: dict[str, set[Any]] = {
        "events": set(out.events().column("event_id").to_pylist()),
        "retracted": set(out.end.result.retract),
        "segments": set(out.end.segments.column("segment_id").to_pylist()),
    }
    state |= {"prev_us": old.state["prev_us"], "inputs": old.state.get("inputs", []),
              "wrote": wrote(ids)}  # fmt: skip
    # a copy: the next day's engine takes over (and changes) the objects it resumes from
    return Run(old.mark, loads(dumps(state), "state"), journal_of(engine)), sink, out


def bucket_time(us: int | None) -> str:
    """``us`` as an ISO time (for messages)."""
    if us is None:
        return "the start"
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
