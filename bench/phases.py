"""Where the partitioned engine's CPU goes, per kind of task, in this process and on a
dask.distributed LocalCluster (issue 17).

Each engine ingests the NMEA files of ``--sim`` with ``detect=True`` into a fresh DuckDB
store after one untimed warm-up (as bench/scale.py does). The engine's task functions are
wrapped to add up the CPU time of their calls (``time.thread_time``, the calling thread's
own CPU): decode (``decode_input``: reading, decoding, cutting into pieces, writing them),
merge (``merge_bucket``: a bucket's pieces into sorted partitions), the (day, bucket) tasks
(``vessel_task``; of which ``grid_points``), the encounter slot tasks (``slot_task``),
``encounter_runs``, ``statics_task`` and the loader (``load``: the one process that writes
the store), then the store's close. On a cluster the wrappers are installed in each worker
process (``client.run``; tasks name their functions by module and name, so a worker calls
the wrapper) and read back after the run; each process's whole CPU (psutil) is given beside
them, the rest being that process's own overhead (for a worker: its event loop,
(de)serialisation and transfers; for this process: the scheduler and the client, which
LocalCluster runs in threads of it, besides the loader).

    .venv/bin/python bench/phases.py --sim /tmp/hd/sim2 --buckets 16 --engines partitioned,dask2
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from seawatch.engine import dask_engine, partition_tasks, partitions
from seawatch.engine.ingest import ingest
from seawatch.settings import load_settings
from seawatch.store import open_store

# (module, function name, label): the functions timed, wherever they run
TIMED = (
    (partitions, "decode_input", "decode"),
    (partitions, "merge_bucket", "merge"),
    (partition_tasks, "vessel_task", "(day, bucket) tasks"),
    (partition_tasks, "grid_points", "  of which grid points"),
    (partition_tasks, "slot_task", "slot tasks"),
    (partition_tasks, "encounter_runs", "encounter runs"),
    (partition_tasks, "statics_task", "statics task"),
    (dask_engine, "load", "loader"),
)
COSTS: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def _wrapped(label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            COSTS[label] += time.thread_time() - t0
            CALLS[label] += 1

    wrapper.__wrapped_original__ = fn  # type: ignore[attr-defined]
    return wrapper


def install() -> None:
    """Wrap the timed functions in this process (idempotent) and zero the counts."""
    for module, name, label in TIMED:
        fn = getattr(module, name)
        if not hasattr(fn, "__wrapped_original__"):
            setattr(module, name, _wrapped(label, fn))
    # the in-process runner calls these through dask_engine's own names
    for name in ("vessel_task", "slot_task", "encounter_runs", "statics_task"):
        setattr(dask_engine, name, getattr(partition_tasks, name))
    COSTS.clear()
    CALLS.clear()


def read() -> dict[str, tuple[float, int]]:
    return {k: (COSTS[k], CALLS[k]) for k in COSTS}


def _in_worker(fn_name: str, here: str) -> Any:
    """``fn_name`` of this module as imported in a worker (functions of ``__main__`` go
    pickled by value, with copies of their globals: the counts must live in a module)."""
    import sys

    if here not in sys.path:
        sys.path.insert(0, here)
    import phases

    return getattr(phases, fn_name)()


def _cpu(p: psutil.Process) -> float:
    try:
        t = p.cpu_times()
        return float(t.user + t.system)
    except psutil.NoSuchProcess:
        return 0.0


def _thread_cpu() -> dict[int, float]:
    return {t.id: t.user_time + t.system_time for t in psutil.Process().threads()}


def _run(files: list[Path], name: str, buckets: int, work: Path, settings: Any) -> None:
    from distributed import Client

    workers = int(name[4:] or 1) if name.startswith("dask") else 0
    head = work / "head.nmea"
    with files[0].open("rb") as fh:
        head.write_bytes(b"".join(fh.readline() for _ in range(20_000)))

    def ingest_into(fs: list[Path], options: dict[str, Any]) -> Any:
        db = work / f"store-{time.monotonic_ns()}.duckdb"
        t0 = time.thread_time()
        store = open_store(str(db), settings)
        try:
            report = ingest(store, fs, settings, detect=True, engine=engine, options=options)
        finally:
            t1 = time.thread_time()
            store.close()
            COSTS["store close"] += time.thread_time() - t1
            COSTS["this thread, all"] += time.thread_time() - t0
        return report

    install()
    if not workers:
        engine = "partitioned"
        ingest_into([head], {"buckets": buckets})
        install()
        me, threads0, t0 = psutil.Process(), _thread_cpu(), time.perf_counter()
        cpu0 = _cpu(me)
        report = ingest_into(files, {"buckets": buckets})
        wall, total = time.perf_counter() - t0, _cpu(me) - cpu0
        _print(name, report, wall, {"this process": (total, read())}, threads0)
        return
    engine = "dask"
    with dask_engine.local_cluster(workers) as cluster, Client(cluster) as client:
        options = {"client": client, "buckets": buckets}
        here = str(Path(__file__).resolve().parent)
        client.run(_in_worker, "install", here)
        ingest_into([head], options)
        client.run(_in_worker, "install", here)
        install()
        me = psutil.Process()
        procs = {p.pid: p for p in me.children(recursive=True)}
        wpids = set(client.run(os.getpid).values())
        cpu0 = {pid: _cpu(p) for pid, p in procs.items()}
        main0, threads0, t0 = _cpu(me), _thread_cpu(), time.perf_counter()
        report = ingest_into(files, options)
        wall = time.perf_counter() - t0
        main = _cpu(me) - main0
        per_worker = client.run(_in_worker, "read", here)
        pid_of = client.run(os.getpid)
        rows: dict[str, tuple[float, dict[str, tuple[float, int]]]] = {
            "this process (loader, scheduler, client)": (main, read())
        }
        for addr, costs in sorted(per_worker.items()):
            pid = pid_of[addr]
            rows[f"worker {pid}"] = (_cpu(procs[pid]) - cpu0[pid], costs)
        nannies = sum(_cpu(p) - cpu0[pid] for pid, p in procs.items() if pid not in wpids)
        rows["nannies and others"] = (nannies, {})
        _print(name, report, wall, rows, threads0)


def _print(name: str, report: Any, wall: float, rows: dict[str, Any], threads0: Any) -> None:
    msgs = report.engine.messages
    total = sum(r[0] for r in rows.values())
    print(f"\n{name}: {msgs:,} messages, wall {wall:.2f} s, CPU {total:.2f} s "
          f"({total / msgs * 1e6:.2f} µs/msg), load {os.getloadavg()[0]:.2f}")  # fmt: skip
    labels = [label for _, _, label in TIMED] + ["store close"]
    for proc, (cpu, costs) in rows.items():
        timed = sum(v for k, (v, _) in costs.items() if not k.startswith(" ") and k in labels)
        print(f"  {proc}: {cpu:.2f} CPU-s")
        for label in labels:
            if label in costs:
                v, n = costs[label]
                print(f"    {label:<28} {v:7.2f} s  {v / msgs * 1e6:6.2f} µs/msg  ({n} calls)")
        if "this thread, all" in costs:
            thread = costs["this thread, all"][0]
            print(f"    {'main thread, other':<28} {thread - timed:7.2f} s")
            print(f"    {'other threads':<28} {cpu - thread:7.2f} s")
        elif costs:
            print(f"    {'outside the tasks':<28} {cpu - timed:7.2f} s")
    now = _thread_cpu()
    busy = sorted(((now[t] - threads0.get(t, 0.0), t) for t in now), reverse=True)[:4]
    print("  this process's busiest threads: " + ", ".join(f"{c:.2f} s" for c, _ in busy))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sim", type=Path, required=True, help="a `seawatch simulate --out` dir")
    ap.add_argument("--buckets", type=int, default=16)
    ap.add_argument("--engines", default="partitioned,dask2")
    args = ap.parse_args()
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    files = sorted(args.sim.glob("ais-*.nmea"))
    print(f"bench/phases.py: {len(files)} files ({args.sim}), load {os.getloadavg()}, "
          f"{os.cpu_count()} cores, threads {threading.active_count()}")  # fmt: skip
    for name in args.engines.split(","):
        with tempfile.TemporaryDirectory(prefix="seawatch-phases-") as tmp:
            _run(files, name, args.buckets, Path(tmp), settings)


if __name__ == "__main__":
    main()
