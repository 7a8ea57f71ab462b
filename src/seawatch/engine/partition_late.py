"""Late data for a past day on the partitioned engine: the runs it falls in run again, bucket
by bucket, until each bucket's state is the one kept.

In: a partitioned daily run's :class:`~seawatch.engine.partition_state.Carry` and partitions
(:mod:`seawatch.engine.partitions`) holding rows older than the watermark it resumes from,
the store, and what each past run kept: its record, each bucket's state and *journal* (the
bucket's partitions and the positions it released, per day: :func:`journal`). Out: those
rows taken out of the run's partitions (:func:`split_past`); the store and the states as one
run over all the data would have left them (:func:`rerun_past`), after which the run goes on
over its own rows; a :class:`~seawatch.engine.late.Rerun` report.

The rule is the local engine's (:mod:`seawatch.engine.late`: its :func:`~.late.dedup`,
:func:`~.late.state_digest`, :func:`~.late_store.positions` and :func:`~.late_store.derived`),
per bucket. The first run the late rows fall in runs again, from the states before it, in
the buckets that have late rows, over their journals plus those rows; each following run
runs again in the buckets whose state came out different from the one kept (or that have
late rows of that run), a bucket whose state is unchanged stops there. The stage across
vessels (:mod:`seawatch.engine.across`) runs again for each of those runs, and one more while
its own state differs, fed the released positions of the buckets not run again from their
journals. The changed positions, events and segments (each bucket's and the stage's ids, as
its record's ``wrote`` lists them) are rewritten in one transaction of the store.

The new states, journals and records are written under their final names in a directory of
their own (``.rerun-<token>/``); once the store committed, a record of the renames is kept
(``.rerun.json``), then they replace the old files, then the record goes (a run killed
meanwhile has them finished by the next, :func:`roll_forward`). Killed before the commit, the
store and the states are as they were; between the commit and the renames, running it again
computes the same from the old states and writes the same.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.decode.keys import message_keys
from seawatch.engine import arrowfile
from seawatch.engine.chunks import ChunkResult
from seawatch.engine.late import Rerun, dedup, state_digest, tree_digest, wrote
from seawatch.engine.late_store import NAME, Outputs, between, derived, named, positions
from seawatch.engine.partition_journal import (
    NO_IDS,
    commit,
    journal_path,
    journals,
    keep_file,
    released,
    split_past,
    unit_wrote,
)
from seawatch.engine.partition_state import (
    Carry,
    _iso,
    across_name,
    bucket_name,
    record_name,
)
from seawatch.engine.partitions import DAY_US, Manifest, part_rel, read_part
from seawatch.engine.pipeline import SOURCE_ID, time_order, ts_us
from seawatch.engine.rebucket import past_refused
from seawatch.engine.reorder import ts_column
from seawatch.engine.run import Final
from seawatch.engine.state import KEEP, StateStore
from seawatch.errors import InputError
from seawatch.events.schema import EVENTS_SCHEMA
from seawatch.tracks.schemas import IDENTITY, SEGMENTS

if TYPE_CHECKING:
    from seawatch.engine.partition_tasks import TaskConfig, VesselOut
    from seawatch.engine.store_sink import StoreSink
    from seawatch.settings import Settings
    from seawatch.store.base import Store

__all__ = ["Past", "Tasks", "rerun_past", "settle_past"]

log = logging.getLogger(__name__)

Tasks = Callable[
    [Manifest, "TaskConfig", list[int], set[int], dict[int, list["VesselOut"]]],
    tuple[list["VesselOut"], pa.Table, list[str]],
]
"""Runs a run's tasks (:func:`seawatch.engine.dask_engine._run_tasks`, gathered): the
manifest, the config, the buckets carried, the buckets to run, the other buckets' released
positions by day (for the stage across vessels); the vessel tasks' outputs, the stage's
events and the ids it retracts."""


@dataclass
class Past:
    """What running past days again writes to: the store, a sink for its labels (a new
    :class:`~seawatch.engine.store_sink.StoreSink` each run), and the report once done."""

    store: Store
    make_sink: Callable[[], StoreSink]
    report: Rerun | None = None


def _chain(
    states: StateStore, buckets: int, resume_us: int, oldest_us: int
) -> list[dict[str, Any]]:
    """The records of the runs to run again, oldest first: back from the one resumed from to
    the one holding ``oldest_us``; refused when one of them (or the state before the first)
    is not kept, or keeps no journal."""
    name = record_name(buckets)
    marks = set(states.watermarks(name))
    chain: list[dict[str, Any]] = []
    mark = resume_us
    while True:
        found = states.load(name, mark) if mark in marks else None
        if found is not None and "rebucketed_from" in found[1]:
            raise past_refused(found[1], mark, oldest_us)
        if found is None or not found[1].get("journal"):
            raise InputError(
                f"rows from {_iso(oldest_us)} on are older than any daily run this store can "
                f"run again (each keeps its journal and the state before it, for {KEEP} runs, "
                "when made by a version that keeps journals): leave those rows out, or run "
                "the period again from its start in a new store"
            )
        chain.append(found[1] | {"mark": mark})
        prev = found[1]["prev_us"]
        if prev is None or (prev <= oldest_us and prev in marks):
            return chain[::-1]
        mark = prev


def _partitions(
    states: StateStore, rec: dict[str, Any], late: Mapping[tuple[str, int], pa.Table],
    active: set[int], root: Path, compression: str, newest_us: int,
) -> Manifest:  # fmt: skip
    """Run ``rec``'s partitions again under ``root``: the ``active`` buckets' journal plus
    their late rows (those not in it already), every bucket's statics (the stage across
    vessels reads them)."""
    buckets, mark = int(rec["buckets"]), int(rec["mark"])
    sources = list(rec["journal_sources"])
    for t in late.values():
        sources += [n for n in dict.fromkeys(t.column(NAME).to_pylist()) if n not in sources]
    parts: dict[tuple[str, int, int], list[pa.Table]] = {}
    for bucket, what, day, path in journals(states, buckets, mark):
        if what == "statics" or (what == "positions" and bucket in active):
            parts.setdefault((what, day, bucket), []).append(arrowfile.read(path))
    for (kind, bucket), rows in late.items():
        known = [t for (k, _, b), ts in parts.items() if k == kind and b == bucket for t in ts]
        empty = read_part(root, None, kind)
        rows = dedup(rows, pa.concat_tables([empty, *known]), kind)
        ids = pa.array([sources.index(n) for n in rows.column(NAME).to_pylist()], pa.int32())
        rows = rows.drop_columns([NAME]).append_column(SOURCE_ID, ids).cast(empty.schema)
        on = ts_us(rows) // DAY_US
        for d in np.unique(on).tolist():
            parts.setdefault((kind, int(d), bucket), []).append(rows.filter(pa.array(on == d)))
    manifest = Manifest(buckets=buckets, sources=sources, watermark_us=newest_us)
    root.mkdir(parents=True, exist_ok=True)
    for (kind, day, bucket), tables in sorted(parts.items()):
        rows = time_order(pa.concat_tables(tables), kind)
        rel = part_rel(kind, day, bucket)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        arrowfile.write(rows, root / rel, compression)
        ts = ts_us(rows)
        manifest.files[rel] = {"kind": kind, "day": day, "bucket": bucket, "rows": rows.num_rows,
                               "min_ts_us": int(ts.min()), "max_ts_us": int(ts.max())}  # fmt: skip
    manifest.days = sorted(set(rec["days"]) | {int(f["day"]) for f in manifest.files.values()})
    manifest.save(root)
    return manifest


def _load(states: StateStore, name: str, mark: int) -> Any:
    found = states.load(name, mark)
    return found[1] if found is not None and found[0] == mark else None


def _differs(old: Any, new: Any, digest: Callable[[Any], str]) -> bool:
    return old is None or new is None or digest(old) != digest(new)


@dataclass
class _Ran:
    """One past run run again: its old and new record, the label sink and what the store
    is to hold of it."""

    old: dict[str, Any]
    sink: StoreSink
    released: Outputs
    taken: pa.Table
    statics: pa.Table
    late_statics: pa.Table
    units: dict[str, Outputs]


def _outputs(positions: pa.Table | None, events: pa.Table, retract: Sequence[str],
             segments: pa.Table) -> Outputs:  # fmt: skip
    out = Outputs()
    empty = positions.slice(0, 0) if positions is not None else pa.table({})
    out.results = [ChunkResult(empty if positions is None else positions, events)]
    out.final = Final(ChunkResult(empty, EVENTS_SCHEMA.empty_table(), retract=list(retract)),
                      segments, IDENTITY.empty_table())  # fmt: skip
    return out


def _concat(paths: Sequence[str], empty: pa.Table | None) -> pa.Table | None:
    tables = [arrowfile.read(p) for p in paths]
    if not tables:
        return empty
    return pa.concat_tables(tables, promote_options="default")


def settle_past(
    carry: Carry, manifest: Manifest, root: Path, tasks: Tasks,
    make_cfg: Callable[[Path, Path, int, Carry], TaskConfig], work: Path, past: Past | None,
    settings: Settings, newest: int,
) -> int:  # fmt: skip
    """A daily run's rows of past days taken out of its partitions and those days run again
    (:func:`rerun_past`), its end set (refused before anything is run again when it would
    end where the last run did); the newest time read (``newest``: its own)."""
    late = split_past(carry, manifest, root, settings.work_compression)
    window_us = int(settings.reorder_window_s * 1e6)
    if manifest.days:
        carry.end(max(newest, carry.record.get("latest_us") or 0), window_us)
    if late:
        if past is None:
            raise InputError("rows of past days need the store to run them again")
        rerun_past(carry, late, tasks, make_cfg, work, past, settings.work_compression)
    newest = max(newest, carry.record.get("latest_us") or 0)
    if manifest.days:
        carry.end(newest, window_us)
    return newest


def rerun_past(
    carry: Carry, late: dict[tuple[str, int], pa.Table], tasks: Tasks,
    make_cfg: Callable[[Path, Path, int, Carry], TaskConfig], work: Path, past: Past,
    compression: str,
) -> Rerun:  # fmt: skip
    """Run again the past runs ``late`` (:func:`split_past`) falls in, bucket by bucket,
    and rewrite what the store holds of them (see the module docstring); then ``carry``
    resumes from the new states."""
    report = Rerun()
    assert carry.resume_us is not None
    main, n = carry.states(), carry.buckets
    oldest = min(int(pc.min(ts_column(t)).as_py()) for t in late.values())
    chain = _chain(main, n, carry.resume_us, oldest)
    staged = Path(carry.root) / f".rerun-{uuid.uuid4().hex}"
    new = StateStore(staged)
    first = chain[0]["prev_us"]
    prior = {} if first is None else _load(main, record_name(n), first)
    changed: set[int] = set()
    across_changed = False
    ran: list[tuple[int, _Ran]] = []
    for i, rec in enumerate(chain):
        prev, mark = rec["prev_us"], rec["mark"]
        mine = {k: between(t, prev, mark) for k, t in late.items()}
        mine = {k: t for k, t in mine.items() if t.num_rows}
        active = changed | {b for _, b in mine}
        if not active and not across_changed:
            prior = rec
            continue
        newest = max(
            [rec["latest_us"], *(int(pc.max(ts_column(t)).as_py()) for t in mine.values())]
        )
        root = work / f"rerun-{i}"
        manifest = _partitions(main, rec, mine, active, root / "partitions", compression, newest)
        held = [s for s in prior.get("sources", []) if s not in manifest.sources]
        step = Carry(carry.root, n, prev, prior, until_us=mark, sources=manifest.sources + held,
                     inputs=rec["inputs"], staged=str(staged))  # fmt: skip
        cfg = make_cfg(root / "partitions", root / "tasks", newest, step)
        carried = sorted(active & set(prior.get("kept", [])))
        outs, events, retract = tasks(
            manifest, cfg, carried, active, released(main, n, mark, active)
        )
        outs = [o for o in outs if o is not None]
        # what it wrote and kept: journals, record; which buckets come out changed
        for rel, f in manifest.files.items():
            if f["bucket"] in active:
                keep_file(root / "partitions" / rel,
                      journal_path(new, n, f["bucket"], mark, f["kind"], f["day"]))  # fmt: skip
        for o in outs:
            if "positions" in o.files:
                keep_file(
                    Path(o.files["positions"]),
                    journal_path(new, n, o.bucket, mark, "released", o.day),
                )
        kept = {o.bucket: o.held for o in outs if o.held is not None}
        record = dict(rec) | {
            "kept": sorted(set(rec["kept"]) | set(kept)), "latest_us": newest,
            "sources": sorted(set(rec["sources"]).union(*kept.values())),
            "days": manifest.days, "journal_sources": manifest.sources,
            "wrote": rec["wrote"] | unit_wrote(outs, events, retract),
        }  # fmt: skip
        del record["mark"]
        new.save(record_name(n), mark, record)
        changed = {b for b in active
                   if _differs(_load(main, bucket_name(n, b), mark),
                               _load(new, bucket_name(n, b), mark), state_digest)}  # fmt: skip
        across_changed = _differs(_load(main, across_name(n), mark),
                                  _load(new, across_name(n), mark), tree_digest)  # fmt: skip
        log.info("ran again the run to %s in %d bucket(s): %d changed%s", _iso(mark),
                 len(active), len(changed),
                 ", the stage across vessels too" if across_changed else "")  # fmt: skip
        report.first_us = prev if not ran else report.first_us
        report.days += 1
        report.buckets += len(active)
        ran.append((i, _ran(rec, step, past.make_sink(), root / "partitions", manifest, outs,
                            events, retract, active, mine)))  # fmt: skip
        prior = record
    with past.store.transaction():
        for _, r in ran:
            if r.released.results[0].positions.num_columns:  # its buckets released rows
                report.changed["positions"] += positions(past.store, r.sink, r.released,
                                                         r.taken, r.statics)  # fmt: skip
            if r.late_statics.num_rows:
                rows = r.late_statics.append_column("msg_key", message_keys(r.late_statics,
                                                                            "statics"))  # fmt: skip
                past.store.write("statics", r.sink.labelled(rows))
        units = sorted({u for _, r in ran for u in r.units})
        for unit in units:
            for days, later in _blocks(unit, ran, chain):
                for k, v in derived(past.store, days, later).items():
                    report.changed[k] += v
    replaced = [(bucket_name(n, b), chain[i]["mark"]) for i, r in ran for b in _buckets(r)]
    commit(main.root, staged, replaced)
    carry.record = _load(main, record_name(n), carry.resume_us)
    carry.sources += [s for s in carry.record["sources"] if s not in carry.sources]
    log.info("late rows: %d run(s) run again from %s, %d (run, bucket) chains",
             report.days, _iso(report.first_us or 0), report.buckets)  # fmt: skip
    past.report = report
    return report


def _buckets(r: _Ran) -> list[int]:
    return [int(u) for u in r.units if u != "across"]


def _ran(
    rec: dict[str, Any], step: Carry, sink: StoreSink, root: Path, manifest: Manifest,
    outs: Sequence[VesselOut], events: pa.Table, retract: Sequence[str], active: set[int],
    late: Mapping[tuple[str, int], pa.Table],
) -> _Ran:  # fmt: skip
    """What the store is to hold of a run run again (its outputs by bucket and across)."""
    sink.sources[:] = step.sources
    no_events = EVENTS_SCHEMA.empty_table()
    units: dict[str, Outputs] = {}
    for b in sorted(active):
        mine = [o for o in outs if o.bucket == b]
        ev = _concat([o.files["events"] for o in mine if "events" in o.files], no_events)
        seg = _concat([o.files["segments"] for o in mine if "segments" in o.files],
                      SEGMENTS.empty_table())  # fmt: skip
        assert ev is not None
        assert seg is not None
        units[str(b)] = _outputs(None, ev, [r for o in mine for r in o.retract], seg)
    units["across"] = _outputs(None, events, retract, SEGMENTS.empty_table())
    own = _concat([o.files["positions"] for o in outs if "positions" in o.files], None)
    taken = [named(read_part(root, None, "positions"), step.sources)]
    statics = [named(read_part(root, None, "statics"), step.sources)]
    for rel, f in manifest.files.items():
        if f["bucket"] in active:
            rows = named(arrowfile.read(root / rel), step.sources)
            (taken if f["kind"] == "positions" else statics).append(rows)
    for b in active & set(step.record.get("kept", [])):  # the rows its state held
        name = bucket_name(step.buckets, b)
        state = _load(step.reading(name, step.resume_us or 0), name, step.resume_us or 0)
        held = state["pipeline"]["held"]["positions"][1]
        taken.append(named(held, state["sources"]))
    late_statics = [t for (k, _), t in late.items() if k == "statics"]
    numbered = [t.drop_columns([NAME]).append_column(
        SOURCE_ID, pa.array([step.sources.index(str(s)) for s in t.column(NAME).to_pylist()],
                            pa.int32())) for t in late_statics]  # fmt: skip
    return _Ran(
        old=rec, sink=sink, released=_outputs(own, no_events, [], SEGMENTS.empty_table()),
        taken=between(pa.concat_tables(taken, promote_options="default"), None, int(rec["mark"])),
        statics=pa.concat_tables(statics, promote_options="default"),
        late_statics=pa.concat_tables([read_part(root, None, "statics"), *numbered]),
        units=units,
    )  # fmt: skip


def _blocks(unit: str, ran: list[tuple[int, _Ran]], chain: list[dict[str, Any]]) -> Iterator[
    tuple[list[tuple[Mapping[str, Any], StoreSink, Outputs]], list[Mapping[str, Any]]]
]:  # fmt: skip
    """The runs ``unit`` ran again, in blocks of consecutive runs, each with the ids the
    later runs wrote of it (:func:`~seawatch.engine.late_store.derived`'s days and later)."""
    empty = wrote(NO_IDS)
    runs = [(i, r) for i, r in ran if unit in r.units]
    while runs:
        block = [runs.pop(0)]
        while runs and runs[0][0] == block[-1][0] + 1:
            block.append(runs.pop(0))
        days: list[tuple[Mapping[str, Any], StoreSink, Outputs]] = [
            ({"wrote": r.old["wrote"].get(unit, empty)}, r.sink, r.units[unit]) for _, r in block
        ]
        later: list[Mapping[str, Any]] = [
            {"wrote": rec["wrote"].get(unit, empty)} for rec in chain[block[-1][0] + 1 :]
        ]
        yield days, later
