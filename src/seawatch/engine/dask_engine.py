"""The partitioned engine: partitions written once, tasks scheduled in-process or by Dask.

In: AIS inputs, the settings, zones, detector parameters, the sinks (the store's or a
Parquet directory's, as for :class:`seawatch.engine.run.Engine`), a bucket count and where
to run (:class:`InProcess`, or a ``dask.distributed`` cluster at ``scheduler``, a
loopback-only ``LocalCluster`` when no address is given). Out: the sinks fed, and an
:class:`~seawatch.engine.run.EngineReport`.

The steps: decode into (day, MMSI bucket) partitions (:mod:`seawatch.engine.partitions`:
a task per input, then one per bucket);
one task per (day, bucket), each resuming its bucket's previous day; one task per time slot
for encounters' close steps (each reading the days that can hold its grid steps, so it
starts once those are done, not at the run's end), then their runs; one task per day for
identity changes over every bucket's statics, each resuming the day before's
(:mod:`seawatch.engine.partition_tasks`: memory follows an hour of statics, not the run's
length), every task given the run's explicit global watermark. Tasks write files and
return paths; this process (the loader) reads them in a fixed order and is the only
writer of the sinks, so one DuckDB file is never written by two processes. In-process and
on any cluster, with any bucket count and task order, the canonical outputs are
byte-identical (:func:`seawatch.engine.canonical.digests`). Workers of a remote cluster
must see the work directory (a shared filesystem). Rows are put in time order per
partition, so nothing is late: late-row quarantine is the streaming engine's (``--engine
local``).

A daily run (``carry``, ``ingest --incremental``) resumes each bucket's chain from the state
the last run kept, ends it at the run's watermark (events open there issued open, issued
again or retracted by the next run) and keeps it; the detectors across vessels run a day at
a time, carried too (:mod:`seawatch.engine.across`); the states and the refusals are
:mod:`seawatch.engine.partition_state`'s; its rows of past days run those days again first,
bucket by bucket (:mod:`seawatch.engine.partition_late`). Workers must then see the store's
state directory.
"""

from __future__ import annotations

import logging
import operator
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from seawatch.decode.lacking import Untimed
from seawatch.engine.across import across_task
from seawatch.engine.loader import load
from seawatch.engine.partition_journal import journal
from seawatch.engine.partition_late import Past, Tasks, settle_past
from seawatch.engine.partition_state import Carry, carried_buckets, keep_record
from seawatch.engine.partition_tasks import (
    TaskConfig,
    VesselOut,
    checked_runs,
    slot_days,
    slot_task,
    slots,
    statics_task,
    vessel_task,
)
from seawatch.engine.partitions import DAY_US, Manifest, Run, write_partitions
from seawatch.engine.rebucket import rebucket
from seawatch.engine.run import EngineReport, Sink
from seawatch.events.registry import detectors, resolve_params
from seawatch.events.schema import EVENTS_SCHEMA

if TYPE_CHECKING:
    from seawatch.settings import Settings

__all__ = ["BUCKETS", "ENGINES", "InProcess", "local_cluster", "run_partitioned"]

log = logging.getLogger(__name__)

ENGINES = ("local", "partitioned", "dask")
"""``local``: the streaming engine (one pipeline); ``partitioned``: this engine's tasks in
this process; ``dask``: this engine's tasks on a dask.distributed cluster."""
BUCKETS = 64
"""MMSI buckets (tasks per day) unless told."""
DEFAULT_SLOT_S = 6 * 3600


class InProcess:
    """Runs tasks at once in this process (``shuffle``: dependencies first, else in a
    random order, to show the order never matters). Futures are plain values."""

    def __init__(self, shuffle: int | None = None) -> None:
        self.rng = None if shuffle is None else random.Random(shuffle)

    def chains(self, chains: list[list[Callable[[Any], Any]]]) -> list[list[Any]]:
        """Run each chain's steps in order (each given the previous one's result), the
        chains interleaved in a random order when shuffling."""
        results: list[list[Any]] = [[] for _ in chains]
        todo = [(i, 0) for i in range(len(chains)) if chains[i]]
        prev: dict[int, Any] = {}
        while todo:
            k = self.rng.randrange(len(todo)) if self.rng else 0
            i, j = todo.pop(k)
            prev[i] = chains[i][j](prev.get(i))
            results[i].append(prev[i])
            if j + 1 < len(chains[i]):
                todo.insert(k if self.rng else 0, (i, j + 1))
        return results

    def gather(self, values: Any) -> Any:
        return values

    def map(self, fn: Callable[..., Any], args: list[tuple[Any, ...]]) -> list[Any]:
        """``fn`` over each argument tuple (in a random order when shuffling)."""
        order = list(range(len(args)))
        if self.rng:
            self.rng.shuffle(order)
        out: dict[int, Any] = {k: fn(*args[k]) for k in order}
        return [out[k] for k in range(len(args))]


def _mapper(runner: Any) -> Run:
    """How :func:`write_partitions` runs its tasks: here, or one Dask task each."""
    if isinstance(runner, InProcess):
        return runner.map
    return lambda fn, args: runner.gather([runner.submit(fn, *a, pure=False) for a in args])


def local_cluster(workers: int) -> Any:
    """A new ``LocalCluster`` of ``workers`` single-threaded processes, on loopback only.

    Its workers do not sample their tasks' stacks for the dashboard's profile (Dask's
    default, every 10 ms): measured on bench/scale.py's run that sampling cost about a
    seventh of a worker's CPU (7.6 → 6.6 CPU-s). Its processes also check their event
    loop's lag every second, not every 20 ms (Dask's default, which only feeds the warning
    of a loop blocked for seconds), sample their CPU and memory for the dashboard every 2 s
    (not 0.5 s) and watch a worker's memory every 0.5 s (not 0.1 s; the tasks return paths,
    so there is nothing to spill): an idle 2-worker cluster then costs 0.14 instead of 0.72
    CPU-s per 10 s (bench/RESULTS.md, 2026-12-06 16:00).

    Its worker processes keep glibc's own malloc trimming: Dask's nanny starts them with
    ``MALLOC_TRIM_THRESHOLD_=65536``, which returns every freed 64 KiB at the heap's top to
    the system and, being set, turns off glibc's adaptive ``mmap`` threshold, so each large
    temporary array of a task is mapped, faulted in page by page and unmapped again: on
    sim2 (bench/scale.py) ~530 k page faults and ~2.8 of a worker's ~11 CPU-s, against
    ~50 k and ~0.9 without (bench/RESULTS.md, 2026-12-07 session 4). A cluster started
    elsewhere (``--scheduler``) should unset it the same way
    (``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_: null``)."""
    import dask
    from distributed import LocalCluster

    quiet = {
        "distributed.worker.profile.enabled": False,
        "distributed.admin.tick.interval": "1s",
        "distributed.admin.system-monitor.interval": "2s",
        "distributed.worker.memory.monitor-interval": "500ms",
        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    }
    with dask.config.set(quiet):  # the nannies copy it
        return LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",  # loopback only
            # the scheduler's HTTP server (/metrics, and the dashboard when bokeh is
            # installed) starts whatever this says: on loopback, on a free port (never
            # 8787 on all interfaces)
            dashboard_address="127.0.0.1:0",
        )


def _dask_client(scheduler: str | None, workers: int) -> tuple[Any, Any]:
    """A client of the cluster at ``scheduler``, or of a new loopback LocalCluster."""
    from distributed import Client

    if scheduler:
        return Client(scheduler), None  # type: ignore[no-untyped-call]
    cluster = local_cluster(workers)
    return Client(cluster), cluster  # type: ignore[no-untyped-call]


def _run_tasks(
    manifest: Manifest, cfg: TaskConfig, runner: Any, slot_s: int, carried: Sequence[int] = (),
    only: set[int] | None = None, extra: Mapping[int, list[VesselOut]] | None = None,
) -> tuple[list[tuple[int, Any]], list[Any], list[Any]]:  # fmt: skip
    """Every task of the run, submitted: the vessel tasks' (day, output) in a fixed order
    (bucket by bucket, the largest first, each day by day), the stages across vessels
    (encounters, identity changes) and the ids they retract (a daily run's), all as futures
    on a cluster (``runner.gather`` them) or as values in this process. ``carried``: the
    buckets a daily run resumes a state of (they run from the first day, rows or not);
    ``only``: the buckets to run (a past run run again, :mod:`.partition_late`), ``extra``:
    the others' released positions by day, for the stage across vessels."""
    sizes: dict[int, int] = dict.fromkeys(carried, 0)
    first: dict[int, int] = dict.fromkeys(carried, manifest.days[0] if manifest.days else 0)
    extra = extra or {}
    for f in manifest.files.values():
        if only is not None and f["bucket"] not in only:
            continue
        sizes[f["bucket"]] = sizes.get(f["bucket"], 0) + f["rows"]
        first[f["bucket"]] = min(first.get(f["bucket"], f["day"]), f["day"])
    buckets = sorted(sizes, key=lambda b: (-sizes[b], b))  # the largest first
    last_day = manifest.days[-1] if manifest.days else 0
    plan = [[d for d in manifest.days if d >= first[b]] for b in buckets]
    found: list[Any] = []
    if isinstance(runner, InProcess):
        steps = [
            [_step(cfg, day, b, day == last_day) for day in days]
            for b, days in zip(buckets, plan, strict=True)
        ]
        outs = [r[1] for chain in runner.chains(steps) for r in chain]
        if cfg.carry is not None:  # a daily run: the stage across vessels a day at a time
            prev: Any = None
            for day in manifest.days:
                mine = [o for o in outs if o.day == day] + extra.get(day, [])
                prev = across_task(prev, cfg, day, mine, day == last_day)
                found.append(prev[1])
            return [(o.day, o) for o in outs], found, [prev[2]] if prev else []
        spans = slots(manifest, slot_s)
        reads = _slot_reads(cfg, spans, [o.day for o in outs], last_day)
        close = [slot_task([outs[k] for k in r], cfg, *span)
                 for r, span in zip(reads, spans, strict=True)]  # fmt: skip
        found = [checked_runs(close, cfg, outs, reads, spans)]
        step = None
        for day in manifest.days:  # identity changes: a day after another, carried
            step = statics_task(step, cfg, day, day == last_day)
            found.append(step[1])
        return [(o.day, o) for o in outs], found, []
    futures = []
    rank = {day: len(manifest.days) - k for k, day in enumerate(manifest.days)}
    for b, days in zip(buckets, plan, strict=True):
        prev = None
        for day in days:
            # earlier days first (the loader stores a day once all its buckets are done,
            # while the cluster works on the next), then the largest buckets first
            priority = rank[day] * 2**40 + sizes[b]
            prev = runner.submit(_chain, prev, cfg, day, b, day == last_day,
                                 priority=priority, pure=False)  # fmt: skip
            # its output as soon as it ends (priority 0 would wait for every chain's task):
            # the loader stores a day, and a slot task starts, while later days run
            futures.append((day, runner.submit(operator.itemgetter(1), prev, priority=priority,
                                               pure=False)))  # fmt: skip
    if cfg.carry is not None:  # a daily run: the stage across vessels a day at a time
        step = None
        for day in manifest.days:
            mine = [f for d, f in futures if d == day] + extra.get(day, [])
            step = runner.submit(across_task, step, cfg, day, mine, day == last_day,
                                 priority=rank[day] * 2**40, pure=False)  # fmt: skip
            found.append(runner.submit(operator.itemgetter(1), step, priority=rank[day] * 2**40,
                                       pure=False))  # fmt: skip
        ends = [] if step is None else [runner.submit(operator.itemgetter(2), step, pure=False)]
        return futures, found, ends
    spans = slots(manifest, slot_s)  # each slot task starts once the days it reads are done
    reads = _slot_reads(cfg, spans, [d for d, _ in futures], last_day)
    close = [runner.submit(slot_task, [futures[k][1] for k in r], cfg, *span, pure=False,
                           priority=rank[span[0] // DAY_US] * 2**40)
             for r, span in zip(reads, spans, strict=True)]  # fmt: skip
    outs = [f for _, f in futures]
    found = [runner.submit(checked_runs, close, cfg, outs, reads, spans, pure=False)]
    step = None
    for day in manifest.days:  # identity changes: a day after another, carried, each day
        at = rank[day] * 2**40  # beside that day's vessel tasks (not all at the run's end)
        step = runner.submit(statics_task, step, cfg, day, day == last_day, priority=at,
                             pure=False)  # fmt: skip
        found.append(runner.submit(operator.itemgetter(1), step, priority=at, pure=False))
    return futures, found, []


def _slot_reads(cfg: TaskConfig, spans: list[tuple[int, int]], days: list[int],
                last_day: int) -> list[list[int]]:  # fmt: skip
    """The vessel outputs (indices into ``days``, their days) each slot's task reads."""
    keep = [set(slot_days(cfg, t0, t1, last_day)) for t0, t1 in spans]
    return [[k for k, d in enumerate(days) if d in want] for want in keep]


def _gathered(runner: Any, slot_s: int) -> Tasks:
    """:func:`_run_tasks` for a past run run again, its results gathered."""

    def run(
        manifest: Manifest, cfg: TaskConfig, carried: list[int], only: set[int],
        extra: dict[int, list[VesselOut]],
    ) -> tuple[list[VesselOut], pa.Table, list[str]]:  # fmt: skip
        planned, across, ends = _run_tasks(manifest, cfg, runner, slot_s, carried, only, extra)
        outs = runner.gather([f for _, f in planned])
        events = pa.concat_tables([EVENTS_SCHEMA.empty_table(), *runner.gather(across)])
        return outs, events, [r for rs in runner.gather(ends) for r in rs]

    return run


def _chain(prev: Any, cfg: TaskConfig, day: int, bucket: int, last: bool) -> Any:
    return vessel_task(None if prev is None else prev[0], cfg, day, bucket, last)


def _step(cfg: TaskConfig, day: int, bucket: int, last: bool) -> Callable[[Any], Any]:
    return lambda prev: _chain(prev, cfg, day, bucket, last)


def run_partitioned(
    sources: Sequence[str | Path],
    settings: Settings,
    *,
    sinks: Sequence[Sink] = (),
    engine: str = "partitioned",
    scheduler: str | None = None,
    workers: int = 2,
    buckets: int = BUCKETS,
    slot_s: int = DEFAULT_SLOT_S,
    zones: Sequence[Any] = (),
    params: Mapping[str, Any] | None = None,
    chunk_rows: int | None = None,
    untimed: Untimed | None = None,
    work_dir: Path | None = None,
    shuffle: int | None = None,
    client: Any = None,
    report: EngineReport | None = None,
    carry: Carry | None = None,
    past: Past | None = None,
) -> EngineReport:
    """Run ``sources`` partitioned (see the module docstring) into ``sinks``.

    ``engine``: ``partitioned`` (in this process; ``shuffle``: a seed for a random task
    order) or ``dask`` (``client``: an existing ``distributed.Client``; else one of the
    cluster at ``scheduler``, or of a new LocalCluster of ``workers`` processes, closed at
    the end). ``work_dir``: for the partitions and the tasks' files (default: a temporary
    directory, removed at the end). ``carry``: a daily run, resumed from and kept in the
    store's states (:mod:`seawatch.engine.partition_state`); its rows of past days run those
    again into ``past`` (:mod:`seawatch.engine.partition_late`)."""
    report = report or EngineReport(events_by_type={d.name: 0 for d in detectors()})
    started = time.perf_counter()
    tmp = None
    if work_dir is None:
        tmp = work_dir = Path(tempfile.mkdtemp(prefix="seawatch-run-"))
    try:
        root = work_dir / "partitions"
        own = engine == "dask" and client is None
        cluster = None
        if own:
            client, cluster = _dask_client(scheduler, workers)
        try:
            runner = client if engine == "dask" else InProcess(shuffle)
            manifest, stats = write_partitions(sources, settings, root, buckets=buckets,
                                               chunk_rows=chunk_rows, untimed=untimed,
                                               findings=report.findings,
                                               run=_mapper(runner))  # fmt: skip
            report.inputs += len(sources)
            report.decode = report.decode.merge(stats)
            for f in manifest.files.values():
                report.read[f["kind"]] += f["rows"]
            report.vessel_read = sum(f.get("vessel_rows", 0) for f in manifest.files.values())
            newest = manifest.watermark_us or 0
            cfg = TaskConfig(
                root=str(root), work=str(work_dir / "tasks"),
                watermark_us=newest, zones=tuple(zones),
                params=resolve_params(settings) if params is None else dict(params),
                reorder_window_s=settings.reorder_window_s, chunk_rows=chunk_rows,
                compression=settings.work_compression, carry=carry,
            )  # fmt: skip
            if carry is not None:  # rows of past days run those again first, then its end
                make = lambda r, w, t, c: replace(cfg, root=str(r), work=str(w),  # noqa: E731
                                                  watermark_us=t, carry=c)  # fmt: skip
                newest = settle_past(carry, manifest, root, _gathered(runner, slot_s), make,
                                     work_dir, past, settings, newest)  # fmt: skip
                cfg = replace(cfg, watermark_us=newest)
                if carry.rebucket_from is not None:  # another --buckets: states re-split
                    rebucket(carry, cfg)
            carried = carried_buckets(carry) if carry is not None else []
            if manifest.days or carry is None:
                planned, across, ends = _run_tasks(manifest, cfg, runner, slot_s, carried)
                done, events, retract = load(planned, across, ends, runner, root, manifest,
                                              sinks, report)  # fmt: skip
            if carry is not None and manifest.days:  # the store holds the run: its record
                more = journal(carry, manifest, root, done, events, retract)
                keep_record(carry, {o.bucket: o.held for o in done if o.held is not None},
                            newest, more)  # fmt: skip
        finally:
            if own:
                client.close()
            if cluster is not None:
                cluster.close()
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    report.elapsed_s = time.perf_counter() - started
    return report
