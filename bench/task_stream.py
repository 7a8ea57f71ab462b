"""Where a Dask run's wall time goes: each worker's busy and idle seconds by phase, the
client's serial parts (the decode plan, the loader), and the 1 → 2 workers efficiency the
run's structure allows (issue 17).

Ingests ``--sim`` (``engine="dask"``, ``detect=True``, a fresh DuckDB store) on a new
LocalCluster of each worker count of ``--workers``, after an untimed warm-up on the first
20,000 lines (first in every worker's own process: bench/scale.py's ``warm_workers``), and
reads the cluster's task stream (``Client.get_task_stream``: each task's compute start and
stop on its worker) and the client's own intervals (the partitioned write
and the loader, timed by wrapping :mod:`seawatch.engine.dask_engine`'s functions). Prints:

- per kind of task (``key_split``): calls, compute seconds, first start and last stop
  (seconds from the run's start);
- per worker: busy (compute) seconds, idle seconds, and the idle seconds in each phase
  (decode, merge, the (day, bucket) tasks, and the tail after the last of them: slot tasks,
  encounter runs, identity, the loader);
- the client's loader: its start, end and CPU seconds;
- ``bound``: the wall time a 2-worker run would take with the 1-worker run's measured task
  durations, the phases' barriers and the client's serial parts (a list schedule, largest
  first as the engine submits them), and the efficiency T1 / (2 x bound) that allows;
- ``CPU bound``: the same structure from CPU seconds instead of wall times, which a loaded
  machine inflates less: each task's own CPU (``time.thread_time`` around the task
  functions, installed in every worker), the loader's (its thread's CPU; DuckDB's own
  threads not counted) and the store's close. T1 = the client's start + every task one
  after another (the stages across vessels beside the loader) + the close; T2 = the same
  with each phase's tasks list-scheduled on 2 workers. On a one-day input the loader can
  store nothing before the last (day, bucket) task ends, so it and the close are the
  serial tail; "sum of task CPU / (2 x T2)" is how busy two workers could be.

    .venv/bin/python bench/task_stream.py --sim /tmp/hd/sim2 --buckets 16 --workers 1,2
"""

from __future__ import annotations

import argparse
import functools
import heapq
import itertools
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scale import warm_workers  # type: ignore[import-not-found]  # bench/, beside this
from seawatch.engine import dask_engine, partition_tasks, partitions
from seawatch.engine.ingest import ingest
from seawatch.settings import load_settings
from seawatch.store import open_store

PHASES = (("decode", ("decode_input",)), ("merge", ("merge_bucket",)),
          ("vessel", ("chain",)))  # fmt: skip
# the task functions whose CPU each call is recorded, in the workers
TIMED = ((partitions, "decode_input"), (partitions, "merge_bucket"),
         (partition_tasks, "vessel_task"), (partition_tasks, "slot_task"),
         (partition_tasks, "checked_runs"), (partition_tasks, "statics_task"))  # fmt: skip
CPU: dict[str, list[float]] = defaultdict(list)


def _cpu_wrapped(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            CPU[name].append(time.thread_time() - t0)

    wrapper.__wrapped_original__ = fn  # type: ignore[attr-defined]
    return wrapper


def install() -> None:
    """Wrap the task functions in this process (idempotent; the engine's tasks name them
    by module and name, so a worker calls the wrapper) and forget the calls so far."""
    for module, name in TIMED:
        fn = getattr(module, name)
        if not hasattr(fn, "__wrapped_original__"):
            setattr(module, name, _cpu_wrapped(name, fn))
    for name in ("vessel_task", "slot_task", "checked_runs", "statics_task"):
        setattr(dask_engine, name, getattr(partition_tasks, name))  # its own imported names
    CPU.clear()


def read() -> dict[str, list[float]]:
    return {k: list(v) for k, v in CPU.items()}


def _in_worker(fn_name: str, here: str) -> Any:
    """``fn_name`` of this module as a worker imports it (the records live in a module)."""
    import sys

    if here not in sys.path:
        sys.path.insert(0, here)
    import task_stream

    return getattr(task_stream, fn_name)()


def _clocked(marks: dict[str, list[tuple[float, float, float]]], name: str,
             fn: Callable[..., Any]) -> Callable[..., Any]:  # fmt: skip
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0, c0 = time.time(), time.thread_time()
        marks[f"{name} called"].append((t0, t0, c0))  # this thread's CPU so far
        try:
            return fn(*args, **kwargs)
        finally:
            marks[name].append((t0, time.time(), time.thread_time() - c0))

    return wrapper


def run_once(files: list[Path], buckets: int, workers: int, work: Path) -> dict[str, Any]:
    """One timed ingest on a new cluster of ``workers``: its task stream and client marks."""
    from distributed import Client, get_task_stream

    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    head = work / "head.nmea"
    with files[0].open("rb") as fh:
        head.write_bytes(b"".join(fh.readline() for _ in range(20_000)))
    marks: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    saved = {n: getattr(dask_engine, n) for n in ("write_partitions", "load", "run_partitioned")}
    here = str(Path(__file__).resolve().parent)
    with dask_engine.local_cluster(workers) as cluster, Client(cluster) as client:
        options = {"client": client, "buckets": buckets}
        client.run(_in_worker, "install", here)
        warm_workers(client, head, buckets)
        with open_store(str(work / f"warm-{workers}.duckdb"), settings) as store:
            ingest(store, [head], settings, detect=True, engine="dask", options=options)
        client.run(_in_worker, "install", here)
        try:
            for n, fn in saved.items():
                setattr(dask_engine, n, _clocked(marks, n, fn))
            load0 = os.getloadavg()[0]
            with get_task_stream(client) as ts:
                t0 = time.time()
                marks["start"].append((t0, t0, time.thread_time()))
                store = open_store(str(work / f"run-{workers}.duckdb"), settings)
                try:
                    report = ingest(store, files, settings, detect=True, engine="dask",
                                    options=options)  # fmt: skip
                    marks["ingest returned"].append((time.time(), time.time(), 0.0))
                finally:
                    c0, w0 = time.process_time(), time.time()
                    store.close()
                    marks["store close"].append((w0, time.time(), time.process_time() - c0))
                t1 = time.time()
        finally:
            for n, fn in saved.items():
                setattr(dask_engine, n, fn)
        stream = ts.data
        cpu: dict[str, list[float]] = defaultdict(list)
        for calls in client.run(_in_worker, "read", here).values():
            for k, v in calls.items():
                cpu[k] += v
    return {"t0": t0, "t1": t1, "stream": stream, "marks": dict(marks), "workers": workers,
            "messages": report.engine.messages, "load": (load0, os.getloadavg()[0]),
            "cpu": dict(cpu)}  # fmt: skip


def _tasks(run: dict[str, Any]) -> list[tuple[str, str, float, float]]:
    """(kind, worker, start, stop) of each task's compute, seconds from the run's start."""
    from distributed.utils import key_split

    out = []
    for t in run["stream"]:
        for ss in t["startstops"]:
            if ss["action"] == "compute":
                out.append((key_split(t["key"]), t["worker"], ss["start"] - run["t0"],
                            ss["stop"] - run["t0"]))  # fmt: skip
    return sorted(out, key=lambda r: r[2])


def report(run: dict[str, Any]) -> list[str]:
    wall = run["t1"] - run["t0"]
    tasks = _tasks(run)
    lines = [f"--- {run['workers']} worker(s): {run['messages']:,} messages, {wall:.2f} s wall, "
             f"load {run['load'][0]:.1f} -> {run['load'][1]:.1f}"]  # fmt: skip
    kinds: dict[str, list[tuple[str, str, float, float]]] = defaultdict(list)
    for t in tasks:
        kinds[t[0]].append(t)
    for kind, ts in sorted(kinds.items(), key=lambda kv: kv[1][0][2]):
        busy = sum(b - a for _, _, a, b in ts)
        first, end = min(a for _, _, a, _ in ts), max(b for *_, b in ts)
        lines.append(f"  {kind:<16} {len(ts):4} tasks {busy:7.2f} s compute, "
                     f"{first:6.2f} .. {end:6.2f}")  # fmt: skip
    ends = {}
    for phase, names in PHASES:
        stops = [b for k, _, _, b in tasks if k in names]
        ends[phase] = max(stops, default=0.0)
    edges = [0.0, ends["decode"], ends["merge"], ends["vessel"], wall]
    names = ["decode", "merge", "vessel", "tail"]
    for w in sorted({t[1] for t in tasks}):
        mine = [(a, b) for _, ww, a, b in tasks if ww == w]
        busy = sum(b - a for a, b in mine)
        idle = []
        for lo, hi in itertools.pairwise(edges):
            inside = sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in mine)
            idle.append(max(0.0, hi - lo) - inside)
        counts: dict[str, int] = defaultdict(int)
        for k, ww, _, _ in tasks:
            counts[k] += ww == w
        lines.append(f"  worker {w}: busy {busy:6.2f} s, idle {wall - busy:6.2f} s = "
                     + ", ".join(f"{n} {i:.2f}" for n, i in zip(names, idle, strict=True))
                     + f"; decode {counts['decode_input']}, merge {counts['merge_bucket']}, "
                     f"vessel {counts['chain']} tasks")  # fmt: skip
    lines.append("  phases end at: " + ", ".join(f"{n} {e:.2f}" for n, e in ends.items()))
    for name, spans in run["marks"].items():
        if name == "start" or name.endswith(" called"):
            continue
        for a, b, cpu in spans:
            lines.append(f"  client {name}: {a - run['t0']:.2f} .. {b - run['t0']:.2f} s "
                         f"({b - a:.2f} s, {cpu:.2f} CPU-s)")  # fmt: skip
    return lines


def _schedule(durations: list[float], workers: int, ready: list[float]) -> list[float]:
    """Stops of tasks list-scheduled in the given order on ``workers`` that are free at
    ``ready`` (each task to the first free worker)."""
    free = list(ready)
    heapq.heapify(free)
    stops = []
    for d in durations:
        at = heapq.heappop(free)
        stops.append(at + d)
        heapq.heappush(free, at + d)
    return stops


def bound(one: dict[str, Any], workers: int = 2) -> tuple[float, float, list[str]]:
    """The wall a ``workers`` run would take with the 1-worker run's task durations and
    client parts (see the module docstring), and the efficiency T1 / (workers x that)."""
    wall1 = one["t1"] - one["t0"]
    tasks = _tasks(one)
    dur: dict[str, list[float]] = defaultdict(list)
    for k, _, a, b in tasks:
        dur[k].append(b - a)
    (w0, w1, _), = one["marks"]["write_partitions"]  # fmt: skip
    (l0, _, _), = one["marks"]["load"]  # fmt: skip
    start = w0 - one["t0"]  # the client's plan and the store's opening, before any task
    free = [start] * workers
    decode = _schedule(sorted(dur["decode_input"], reverse=True), workers, free)
    at = max(decode, default=start)
    merge = _schedule(sorted(dur["merge_bucket"], reverse=True), workers, [at] * workers)
    at = max(merge, default=at) + (l0 - one["t0"]) - (w1 - one["t0"])  # client: to the loader
    vessel = sorted(dur["chain"], reverse=True)
    vstops = _schedule(vessel, workers, [at] * workers)
    vend = max(vstops, default=at)
    rest = sorted([d for k, ds in dur.items() if k not in {"decode_input", "merge_bucket",
                                                           "chain"}
                   for d in ds], reverse=True)  # fmt: skip
    tail_tasks = max(_schedule(rest, workers, [vend] * workers), default=vend)
    # the loader starts when the last (day, bucket) task ends; the run ends after it
    vessel_end_1 = max((b for k, _, _, b in tasks if k == "chain"), default=0)
    loader_tail = wall1 - vessel_end_1
    est = max(tail_tasks, vend + loader_tail)
    lines = [f"bound ({workers} workers, the 1-worker run's durations): decode to "
             f"{max(decode, default=0):.2f}, merge to {max(merge, default=0):.2f}, vessel to "
             f"{vend:.2f}, worker tail to {tail_tasks:.2f}, loader tail {loader_tail:.2f} s "
             f"-> {est:.2f} s; efficiency <= {wall1 / (workers * est):.1%}"]  # fmt: skip
    return est, wall1 / (workers * est), lines


def cpu_bound(run: dict[str, Any], workers: int = 2) -> list[str]:
    """T1 and T_workers from CPU seconds (see the module docstring), and what they allow."""
    cpu = run["cpu"]
    # the client's CPU before the first task (inputs' fingerprints, the decode plan)
    start = run["marks"]["write_partitions called"][0][2] - run["marks"]["start"][0][2]
    loader = sum(c for *_, c in run["marks"]["load"])
    close = sum(c for *_, c in run["marks"].get("store close", []))
    phases = [cpu.get(k, []) for k in ("decode_input", "merge_bucket", "vessel_task")]
    rest = [c for k in ("slot_task", "checked_runs", "statics_task") for c in cpu.get(k, [])]
    total = sum(map(sum, phases)) + sum(rest)
    one = start + sum(map(sum, phases)) + max(sum(rest), loader) + close
    at = start
    for calls in phases:
        at = max(_schedule(sorted(calls, reverse=True), workers, [at] * workers), default=at)
    tail = max(_schedule(sorted(rest, reverse=True), workers, [at] * workers), default=at)
    many = max(tail, at + loader) + close
    return [f"CPU bound ({run['workers']}-worker run's CPU): tasks {total:.2f} CPU-s "
            "(decode, merge, (day, bucket), across: "
            + ", ".join(f"{sum(c):.2f}" for c in [*phases, rest])
            + f"), loader {loader:.2f} (its thread), close {close:.2f}, start {start:.2f} -> "
            f"T1 {one:.2f}, T{workers} {many:.2f}: efficiency <= {one / (workers * many):.1%}; "
            f"tasks / ({workers} x T{workers}) = {total / (workers * many):.1%}"]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sim", type=Path, required=True)
    ap.add_argument("--buckets", type=int, default=16)
    ap.add_argument("--workers", default="1,2")
    args = ap.parse_args()
    files = sorted(args.sim.glob("ais-*.nmea"))
    print(f"bench/task_stream.py {args.sim} ({len(files)} files), load {os.getloadavg()}")
    runs = {}
    with tempfile.TemporaryDirectory(prefix="seawatch-stream-") as tmp:
        for w in (int(x) for x in args.workers.split(",")):
            runs[w] = run_once(files, args.buckets, w, Path(tmp))
            for line in report(runs[w]) + cpu_bound(runs[w]):
                print(line, flush=True)
    if 1 in runs:
        for line in bound(runs[1])[2]:
            print(line)
    if 1 in runs and 2 in runs:
        w1, w2 = (runs[k]["t1"] - runs[k]["t0"] for k in (1, 2))
        print(f"measured 1 -> 2 efficiency: {w1:.2f} / (2 x {w2:.2f}) = {w1 / 2 / w2:.1%}")


if __name__ == "__main__":
    main()
