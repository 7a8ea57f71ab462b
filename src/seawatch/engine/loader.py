"""The loader: the partitioned run's task files fed to the sinks, in a fixed order.

In: the vessel tasks' outputs (futures on a cluster, or values) with their days, the stages
across vessels and the ids they retract, the runner, the work directory and manifest, the
sinks and the run's report. Out: the sinks fed a day at a time, each day as soon as its
tasks are done (on a cluster, while it works on later days and on encounters), a window of
time of every bucket at a time (:func:`load_step_us`: the day, or less where the day holds
more than ~2 M positions), then the stages across vessels and the run's end. This process
is the only writer of the sinks (:mod:`seawatch.engine.dask_engine`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from seawatch.decode import DecodeStats
from seawatch.engine import arrowfile
from seawatch.engine.across import Cursor, window
from seawatch.engine.inputs import Piece
from seawatch.engine.partition_tasks import VesselOut
from seawatch.engine.partitions import DAY_US, Manifest, read_part
from seawatch.engine.pipeline import ChunkResult
from seawatch.engine.run import EngineReport, Final, Sink
from seawatch.events.schema import EVENTS_SCHEMA
from seawatch.tracks.schemas import IDENTITY, SEGMENTS

__all__ = ["load", "load_step_us"]

_LOAD_US = DAY_US  # the loader's longest window: the day of every bucket
_LOAD_ROWS = 2_000_000  # ... and about this many positions: a global hour is ~20 M
_LOAD_MIN_US = 60 * 1_000_000  # ... and never less than a minute


def _read(path: str | None, schema: pa.Schema) -> pa.Table:
    return schema.empty_table() if path is None else arrowfile.read(path)


def load(
    planned: list[tuple[int, Any]], across: list[Any], ends: list[Any], runner: Any,
    root: Path, manifest: Manifest, sinks: Sequence[Sink], report: EngineReport,
) -> tuple[list[VesselOut], pa.Table, list[str]]:  # fmt: skip
    """Feed the sinks the tasks' files a day at a time, each day as soon as its tasks are
    done (on a cluster, while it works on later days and on encounters), a window of every
    bucket at a time (:func:`load_step_us`; the store's duplicate check then looks at that
    window only); the stages across vessels and the run's end last. Returns the vessel
    tasks' outputs, the stages' events and the ids they retract."""
    empty = read_part(root, None, "positions")
    no_statics = read_part(root, None, "statics")
    outs: list[VesselOut | None] = [None] * len(planned)
    for day in manifest.days:
        at = [k for k, (d, _) in enumerate(planned) if d == day]
        mine: list[VesselOut] = runner.gather([planned[k][1] for k in at])
        for k, out in zip(at, mine, strict=True):
            outs[k] = out
        files = [o.files["positions"] for o in mine if "positions" in o.files]
        statics = [root / r for r, f in manifest.files.items()
                   if f["kind"] == "statics" and f["day"] == day]  # fmt: skip
        found = [_read(o.files.get("events"), EVENTS_SCHEMA) for o in mine]
        events = pa.concat_tables([EVENTS_SCHEMA.empty_table(), *found])
        spans = [o.span for o in mine if o.span]
        first = min([s[0] for s in spans], default=day * DAY_US)
        last = max([s[1] for s in spans], default=first)
        rows = sum(f["rows"] for f in manifest.files.values()
                   if f["kind"] == "positions" and f["day"] == day)  # fmt: skip
        step = load_step_us(rows, first, last)
        pos_at, st_at = [Cursor(f) for f in files], [Cursor(f) for f in statics]
        name = f"day {np.datetime64(day * DAY_US, 'us').astype('datetime64[D]')}, load window"
        # windows up to the day's newest position, the rest (statics after it) in the last:
        # not a transaction for each empty window up to midnight (a 6-minute input of 2.4 M
        # messages had 284 windows, all but a few empty)
        bounds = [*range(first + step, last + 1, step), np.iinfo(np.int64).max]
        for k, end in enumerate(bounds):  # logged by the sinks as "<name>: chunk <k> committed"
            piece = Piece(empty.slice(0, 0), window(st_at, end, no_statics), DecodeStats(),
                          name, k, last_of_chunk=False)  # fmt: skip
            result = ChunkResult(window(pos_at, end, empty), events)
            _count(report, events)
            events = events.slice(0, 0)
            report.chunks += 1
            for sink in sinks:
                sink.chunk(piece, result)
    done = [o for o in outs if o is not None]
    report.positions = sum(o.positions for o in done)
    for o in done:
        for reason, n in o.dropped.items():
            report.dropped[reason] = report.dropped.get(reason, 0) + n
    report.geography = any(o.geography for o in done)
    segments = pa.concat_tables([_read(o.files.get("segments"), SEGMENTS) for o in done]
                                or [SEGMENTS.empty_table()])  # fmt: skip
    history = pa.concat_tables([_read(o.files.get("identity"), IDENTITY) for o in done]
                               or [IDENTITY.empty_table()])  # fmt: skip
    events = pa.concat_tables(runner.gather(across))
    _count(report, events)
    final = Final(ChunkResult(empty.slice(0, 0), events), segments, history)
    across_retract = [r for rs in runner.gather(ends) for r in rs]
    final.result.retract = sorted({r for o in done for r in o.retract} | set(across_retract))
    report.segments = segments.num_rows
    for sink in sinks:
        sink.finish(final)
    return done, events, across_retract


def load_step_us(rows: int, first_us: int, last_us: int) -> int:
    """The loader's window (µs) for a day of ``rows`` positions between ``first_us`` and
    ``last_us``: the whole day, shorter where it would hold more than ~:data:`_LOAD_ROWS`
    (the loader's memory follows the window; at global density an hour is ~20 M positions),
    at least a minute. The stored result does not depend on it: a message's duplicates share
    its time, so they share a window. Few large windows cost the store less than many small
    ones: DuckDB writes a transaction's rows straight into compressed row groups once they
    fill some (~123 k rows each), while smaller ones go through its write-ahead log and are
    compressed again by the next checkpoint (a sparse day in hourly windows of ~160 k
    positions: about twice the store's CPU, half of it in the close's checkpoint; RESULTS.md,
    2026-12-07 session 3)."""
    if rows <= _LOAD_ROWS:
        return _LOAD_US
    step = max(1, last_us - first_us) * _LOAD_ROWS // rows
    return int(min(_LOAD_US, max(_LOAD_MIN_US, step)))


def _count(report: EngineReport, events: pa.Table) -> None:
    for t in events.column("event_type").to_pylist():
        if t is not None:
            report.events_by_type[t] = report.events_by_type.get(t, 0) + 1
