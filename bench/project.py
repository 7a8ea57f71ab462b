"""What 64 and 256 Dask workers would do with a year of global AIS, projected from the
partitioned engine's measured per-task costs (issue 17), and one worker's peak memory over 1
day and over every day of a run.

1. **Per-task costs.** The partitioned engine runs in this process (``engine="partitioned"``,
   the same tasks a Dask cluster runs) into a fresh DuckDB store; each kind of task is timed
   by wrapping the engine's own functions: decode + partitioning (``write_partitions``), the
   per-vessel task of one (day, bucket) (``vessel_task``), the encounter close steps of one
   time slot (``slot_task``), the encounter runs (``checked_runs``), identity changes over
   every bucket's statics of one day (``statics_task``), and the loader (``load``: the one
   process that writes the store). CPU time is ``time.process_time`` of each call.
2. **Peak memory per worker.** A LocalCluster of one worker process (``threads_per_worker=1``)
   runs the first day, then a new one runs every day; the worker's peak RSS
   (``ru_maxrss``) is read from it after each run, with each kind of task's own peak
   (:class:`TaskPeaks`: the kernel's high-water mark reset as a task starts) and this
   process's (the loader's).
3. **Projection.** For ``--days`` days of ``--global-msgs`` messages a day on W workers:
   per-vessel tasks are chained by bucket (day d needs day d-1's state), so at most
   ``buckets`` of them run at once and a bucket's year is a sequence of days; the largest
   bucket is ``--skew`` times the mean (../shared/docs/SCALE.md §5: 5.2 for 256 buckets on
   a synthetic day); the slot tasks run in parallel; the loader is one process; each Dask
   task costs ~3 ms of scheduling (SCALE.md §4). The figures are CPU-seconds per message
   measured here, scaled linearly: the encounter stage grows with the density of ships per
   cell, which a sparse simulation understates.

    .venv/bin/python bench/project.py --vessels 1000 --hours 6 --mem-days 1,10,30
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from scale import _simulate
from seawatch.engine import dask_engine
from seawatch.engine.ingest import ingest
from seawatch.settings import load_settings
from seawatch.store import open_store

STAGES = ("write_partitions", "vessel_task", "slot_task", "checked_runs", "statics_task", "load")
TASK_OVERHEAD_S = 0.003  # a no-op Dask task, measured on this kind of machine (SCALE.md §4)


def _timed(costs: dict[str, list[float]], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            costs[name].append(time.process_time() - t0)

    return wrapper


def task_costs(files: list[Path], buckets: int, work: Path) -> tuple[dict[str, list[float]], Any]:
    """Each stage's CPU-seconds per call, for one in-process partitioned run of ``files``."""
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    costs: dict[str, list[float]] = defaultdict(list)
    saved = {name: getattr(dask_engine, name) for name in STAGES}
    try:
        for name, fn in saved.items():
            setattr(dask_engine, name, _timed(costs, name, fn))
        work.mkdir(parents=True, exist_ok=True)
        with open_store(str(work / "costs.duckdb"), settings) as store:
            report = ingest(store, files, settings, detect=True, engine="partitioned",
                            options={"buckets": buckets})  # fmt: skip
    finally:
        for name, fn in saved.items():
            setattr(dask_engine, name, fn)
    return costs, report


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mib(field: str) -> float:
    """A field of /proc/self/status (VmRSS, VmHWM: the resident high-water mark), in MiB."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _reset_hwm() -> None:
    """The kernel's resident high-water mark (VmHWM) set back to the current RSS."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")


class TaskPeaks(WorkerPlugin):  # type: ignore[misc]
    """A worker plugin: each task's peak RSS (VmHWM reset when the task starts executing,
    read when it stops; the worker runs one task at a time) and its RSS at the start, by
    the task's function name (``key_split``)."""

    name = "seawatch-task-peaks"

    def __init__(self) -> None:
        self.peaks: list[tuple[str, float, float]] = []
        self.start = 0.0

    def setup(self, worker: Any) -> None:
        self.peaks = []

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish == "executing":
            _reset_hwm()
            self.start = _status_mib("VmRSS")
        elif start == "executing":
            from distributed.utils import key_split

            self.peaks.append((key_split(key), self.start, _status_mib("VmHWM")))


def _task_peaks(dask_worker: Any) -> list[tuple[str, float, float]]:
    return list(dask_worker.plugins[TaskPeaks.name].peaks)


def worker_peak_mib(
    files: list[Path], buckets: int, work: Path
) -> tuple[float, float, dict[str, tuple[int, float, float]], list[float]]:
    """Peak RSS (MiB) of the one worker of a new LocalCluster that ran ``files``, the peak
    RSS of this process (the loader) during the run, per kind of task: calls, the largest
    RSS at a task's start and the largest peak during one (MiB), and the worker's RSS at
    the start of its (day, bucket) tasks in the order they ran (they run a day after
    another: its growth over the run)."""
    from distributed import Client

    from seawatch.engine.dask_engine import local_cluster

    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with local_cluster(1) as cluster, Client(cluster) as client:
        client.register_plugin(TaskPeaks(), name=TaskPeaks.name)
        db = work / f"mem-{time.monotonic_ns()}.duckdb"
        _reset_hwm()
        with open_store(str(db), settings) as store:
            ingest(store, files, settings, detect=True, engine="dask",
                   options={"client": client, "buckets": buckets})  # fmt: skip
        loader = _status_mib("VmHWM")
        peaks = client.run(_maxrss_mib)
        tasks: dict[str, tuple[int, float, float]] = {}
        starts: list[float] = []
        for found in client.run(_task_peaks).values():
            starts += [start for name, start, _ in found if name == "chain"]
            for name, start, peak in found:
                n, s, p = tasks.get(name, (0, 0.0, 0.0))
                tasks[name] = (n + 1, max(s, start), max(p, peak))
    # resetting the high-water mark resets ru_maxrss too: the worker's peak is the larger
    top = max([float(max(peaks.values())), *(p for _, _, p in tasks.values())])
    return top, loader, tasks, starts


def project(costs: dict[str, list[float]], messages: int, positions: int, stored_rows: int,
            args: argparse.Namespace) -> list[str]:  # fmt: skip
    """The projection's lines (see the module docstring)."""
    per_msg = {k: sum(v) / messages for k, v in costs.items()}
    total_msgs = args.global_msgs * args.days
    lines = ["", "CPU-µs per message by stage (measured):"]
    for k in STAGES:
        v = costs.get(k, [])
        lines.append(f"  {k:<17} {per_msg.get(k, 0) * 1e6:8.3f}  ({len(v)} calls, "
                     f"largest {max(v, default=0):.3f} s)")  # fmt: skip
    compute = sum(per_msg.get(k, 0) for k in STAGES if k != "load")
    rows_per_msg = stored_rows / messages
    load_rows_s = stored_rows / max(sum(costs.get("load", [])), 1e-9)
    lines.append(f"  all but the loader {compute * 1e6:8.3f}; stored rows per message "
                 f"{rows_per_msg:.3f}; loader {load_rows_s:,.0f} rows/CPU-s")  # fmt: skip
    lines.append("")
    lines.append(f"Projection: {args.days} days x {args.global_msgs / 1e6:,.0f} M messages/day "
                 f"= {total_msgs / 1e9:,.1f} billion messages, {args.buckets_global} buckets, "
                 f"largest bucket max({args.skew:g} x the mean, {args.hot_share:.1%} of the day), "
                 f"{args.slot_tasks_per_day} slot tasks a day")  # fmt: skip
    day_vessel_s = per_msg.get("vessel_task", 0) * args.global_msgs
    day_decode_s = per_msg.get("write_partitions", 0) * args.global_msgs
    day_slots_s = per_msg.get("slot_task", 0) + per_msg.get("checked_runs", 0)
    day_slots_s *= args.global_msgs
    day_statics_s = per_msg.get("statics_task", 0) * args.global_msgs
    tasks_per_day = args.buckets_global + args.slot_tasks_per_day + 2
    load_day_s = args.global_msgs * rows_per_msg / load_rows_s
    lines.append(f"  a global day: decode {day_decode_s / 3600:,.1f} CPU-h, per-vessel "
                 f"{day_vessel_s / 3600:,.1f} CPU-h, encounters {day_slots_s / 3600:,.2f} CPU-h, "
                 f"identity {day_statics_s / 3600:,.2f} CPU-h (a chain, one task a day); loader "
                 f"{load_day_s / 3600:,.1f} h in one process")  # fmt: skip
    for w in (64, 256):
        decode_h = day_decode_s * args.days / w / 3600  # inputs are files: split freely
        parallel = min(w, args.buckets_global)
        largest = max(args.skew / args.buckets_global, args.hot_share)  # share of the day
        # largest bucket first: a day of vessel tasks takes max(mean share, largest bucket)
        vessel_day_s = max(day_vessel_s / parallel, day_vessel_s * largest)
        vessel_h = vessel_day_s * args.days / 3600
        slots_h = day_slots_s * args.days / w / 3600
        statics_h = day_statics_s / 3600  # one task a day, beside the rest
        sched_h = tasks_per_day * args.days * TASK_OVERHEAD_S / 3600
        compute_h = decode_h + vessel_h + slots_h + sched_h
        load_h = load_day_s * args.days / 3600
        lines.append(f"  {w:>3} workers: decode {decode_h:6.1f} h + per-vessel {vessel_h:6.1f} h "
                     f"(largest bucket's chain) + encounters {slots_h:5.1f} h + scheduling "
                     f"{sched_h:4.2f} h = {compute_h:6.1f} h of compute; identity "
                     f"{statics_h:4.2f} h a day in one task; "
                     f"the one loader {load_h:,.0f} h")  # fmt: skip
    return lines


def _measured(args: argparse.Namespace, work: Path) -> None:
    """The per-task costs of one run of ``--sim`` (or a new simulation), and the projection."""
    files = _simulate(args.sim or work / "sim", args.hours, args.vessels, args.seed)
    head = work / "head.nmea"  # an untimed warm-up (numba kernels, geography)
    with files[0].open("rb") as fh:
        head.write_bytes(b"".join(fh.readline() for _ in range(20_000)))
    task_costs([head], args.buckets, work / "warm")
    t0 = time.perf_counter()
    costs, ingested = task_costs(files, args.buckets, work)
    report = ingested.engine
    wall = time.perf_counter() - t0
    settings = load_settings(env={})
    with open_store(str(work / "costs.duckdb"), settings) as store:
        counts = store.counts()
    stored = counts.get("positions", 0) + counts.get("statics", 0)
    print(f"measured run: {report.messages:,} messages, {report.positions:,} positions, "
          f"{stored:,} rows stored, {wall:.1f} s wall, "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    for line in project(costs, report.messages, report.positions, stored, args):
        print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--vessels", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sim", type=Path, help="an existing `seawatch simulate --out` directory")
    ap.add_argument("--buckets", type=int, default=16, help="buckets of the measured run")
    ap.add_argument("--mem-days", default="",
                    help="also a worker's peak memory over the first N simulated days, for "
                         "each N of a comma-separated list (e.g. 1,10,30)")  # fmt: skip
    ap.add_argument("--mem-sim", type=Path,
                    help="where the simulated days are kept (reused when present)")  # fmt: skip
    ap.add_argument("--mem-vessels", type=int, default=50)
    ap.add_argument("--mem-only", action="store_true",
                    help="only the peak memory (no per-task costs, no projection)")  # fmt: skip
    ap.add_argument("--global-msgs", type=float, default=300e6, help="messages a global day")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--buckets-global", type=int, default=256)
    ap.add_argument("--skew", type=float, default=5.2, help="largest bucket / mean (SCALE.md)")
    ap.add_argument("--hot-share", type=float, default=0.018,
                    help="the busiest MMSI's share of a day (SCALE.md: 1.8 %%)")  # fmt: skip
    ap.add_argument("--slot-tasks-per-day", type=int, default=144, help="10-minute slots")
    args = ap.parse_args()
    print(f"bench/project.py, load average {os.getloadavg()}, {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="seawatch-project-") as tmp:
        work = Path(tmp)
        if not args.mem_only:
            _measured(args, work)
        if args.mem_days:
            spans = sorted({int(d) for d in args.mem_days.split(",")})
            last = spans[-1]
            mem = args.mem_sim or work / "mem"
            days = _simulate(mem, 24.0 * last, args.mem_vessels, args.seed)
            per_day = len(days) // last
            for n in spans:
                peak, loader, tasks, starts = worker_peak_mib(days[: per_day * n], args.buckets,
                                                              work)  # fmt: skip
                print(f"worker peak RSS: {n} days ({per_day * n} files) {peak:,.0f} MiB "
                      f"(this process, the loader: {loader:,.0f} MiB during the run), "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
                at = [starts[min(len(starts) - 1, len(starts) * k // 10)]
                      for k in range(11) if starts]  # fmt: skip
                print("  worker RSS at the start of (day, bucket) tasks, at 0, 10, .. 100 % of "
                      "them: " + " ".join(f"{v:,.0f}" for v in at), flush=True)  # fmt: skip
                for name, (calls, start, top) in sorted(tasks.items(), key=lambda t: -t[1][2]):
                    print(f"  {name:<16} {calls:5} calls, RSS at start <= {start:7,.0f} MiB, "
                          f"peak {top:7,.0f} MiB", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
