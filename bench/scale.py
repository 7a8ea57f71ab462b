"""End to end, raw NMEA → stored positions and events: the streaming engine against the
partitioned one, in this process and on a dask.distributed LocalCluster of 1 and 2 workers;
with dask1 and dask2 runs, 1 → 2 workers by pairs (each dask2 with the dask1 before it)
and their median.

Simulates a run (``seawatch simulate``, or takes ``--sim DIR``) and, for each engine, ingests
its NMEA files with ``detect=True`` into a fresh DuckDB store (decode, partitioning, tracks,
every detector, labels, storage), after one untimed warm-up per engine on the first 20,000
lines (numba kernels compiled and cached, geography loaded, the cluster started; on a
cluster, every worker first runs that warm-up in its own process: :func:`warm_workers`).
Reports messages/s (wall), CPU-seconds per message (this process plus the cluster's worker
processes, measured with psutil around the timed run; the cluster's start-up is not
included), the peak private resident memory of this process and of the largest worker
(RSS less file-backed pages such as the memory-mapped working files; sampled every 0.5 s),
the load average before and after (other work on the machine inflates wall times), the
CPU-seconds of the run's own processes (this one, the workers) beside those other work on
the machine took meanwhile and those the hypervisor stole (``/proc/stat``: a run's wall
that moves while its own CPU-s do not was slowed by something else), and whether each
engine stored the same events and segments as the streaming one.

    .venv/bin/python bench/scale.py --hours 6 --vessels 2000 --buckets 16
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from statistics import median
from typing import Any

import psutil

from seawatch.engine.dask_engine import local_cluster
from seawatch.engine.ingest import ingest
from seawatch.settings import load_settings
from seawatch.store import open_store


def _simulate(out: Path, hours: float, vessels: int, seed: int) -> list[Path]:
    if not list(out.glob("ais-*.nmea")):
        cmd = [sys.executable, "-m", "seawatch.cli.main", "simulate", "--hours", str(hours),
               "--vessels", str(vessels), "--seed", str(seed), "--out", str(out)]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True)
    return sorted(out.glob("ais-*.nmea"))


def _host() -> tuple[float, float]:
    """The whole machine's busy and stolen CPU-seconds so far (``/proc/stat``, every CPU):
    busy less this run's own is what other work took meanwhile; steal is what the
    hypervisor gave other guests."""
    with open("/proc/stat", encoding="ascii") as fh:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(
            int, fh.readline().split()[1:9]
        )
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def _cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


@contextmanager
def _engine(name: str, workers: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(engine, options) for ``name``; a LocalCluster for the dask ones, closed after."""
    if not name.startswith("dask"):
        yield name, {}
        return
    from distributed import Client

    with local_cluster(workers) as cluster, Client(cluster) as client:
        yield "dask", {"client": client}


def _warm_here(head: str, buckets: int) -> int:
    """In a worker: the partitioned engine on ``head`` in this process, into a throwaway
    store (every kernel of the decode, merge, (day, bucket) and across tasks loaded)."""
    with tempfile.TemporaryDirectory(prefix="seawatch-warm-") as tmp:
        settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
        with open_store(f"{tmp}/warm.duckdb", settings) as store:
            report = ingest(store, [Path(head)], settings, detect=True, engine="partitioned",
                            options={"buckets": buckets})  # fmt: skip
        return report.engine.messages


def warm_workers(client: Any, head: Path, buckets: int) -> None:
    """Every worker of ``client``'s cluster runs the warm-up once in its own process (a task
    bound to it). The cluster's warm-up run alone leaves a worker cold where its tasks all
    went to another: sim2's warm-up has one decode task, so in the 2-worker run the other
    worker loaded the decoder's ~15 numba kernels from the cache in its first timed decode
    (~0.1 CPU-s, 0.2 s wall at load 5), a cost the 1-worker run had paid in its warm-up
    (bench/RESULTS.md, 2026-12-07 session 5 (h-mem)). Per process, like its imports."""
    workers = list(client.scheduler_info()["workers"])
    futures = [client.submit(_warm_here, str(head), buckets, workers=[w], pure=False,
                             allow_other_workers=False) for w in workers]  # fmt: skip
    client.gather(futures)


def _derived(db: Path, settings: Any) -> tuple[int, int, int]:
    with open_store(str(db), settings) as store:
        c = store.counts()
    return c.get("positions", 0), c.get("events", 0), c.get("segments", 0)


class _Peaks(threading.Thread):
    """Peak private resident memory of this process and of its children (the cluster's
    workers), sampled."""

    def __init__(self, every_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.every_s = every_s
        self.main = 0
        self.children: dict[int, int] = {}
        self.done = threading.Event()

    def run(self) -> None:
        me = psutil.Process()
        while not self.done.wait(self.every_s):
            self.main = max(self.main, _private(me))
            for p in me.children(recursive=True):
                with suppress(psutil.NoSuchProcess):
                    self.children[p.pid] = max(self.children.get(p.pid, 0), _private(p))


def _private(p: psutil.Process) -> int:
    """Resident memory that is the process's own: RSS less file-backed and shared pages (the
    memory-mapped working files, which the kernel can drop and read again)."""
    m = p.memory_info()
    return int(m.rss - getattr(m, "shared", 0))


def _run(files: list[Path], engine: str, options: dict[str, Any], work: Path,
         settings: Any) -> dict[str, Any]:  # fmt: skip
    db = work / f"store-{time.monotonic_ns()}.duckdb"
    me = psutil.Process()
    procs = [me, *me.children(recursive=True)]
    peaks = _Peaks()
    peaks.start()
    main0, cpu0, host0 = _cpu([me]), _cpu(procs), _host()
    load0, t0 = os.getloadavg()[0], time.perf_counter()
    with open_store(str(db), settings) as store:
        report = ingest(store, files, settings, detect=True, engine=engine, options=options)
    wall = time.perf_counter() - t0
    cpu, main, host = _cpu(procs) - cpu0, _cpu([me]) - main0, _host()
    peaks.done.set()
    peaks.join()
    messages = report.engine.messages
    return {"wall_s": wall, "cpu_s": cpu, "main_cpu_s": main, "messages": messages,
            "others_cpu_s": host[0] - host0[0] - cpu, "steal_s": host[1] - host0[1],
            "load": (load0, os.getloadavg()[0]),
            "stored": _derived(db, settings), "peak_main_mib": peaks.main / 2**20,
            "peak_child_mib": max(peaks.children.values(), default=0) / 2**20}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--vessels", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sim", type=Path, help="an existing `seawatch simulate --out` directory")
    ap.add_argument("--buckets", type=int, default=16)
    ap.add_argument("--engines", default="local,partitioned,dask1,dask2")
    ap.add_argument(
        "--db-memory-limit",
        metavar="SIZE",
        default=None,
        help="the store's db_memory_limit setting, e.g. 4GiB (0: DuckDB's own; default: the "
        "setting's default, a quarter of the RAM)",
    )
    args = ap.parse_args()
    env = {"SEAWATCH_NODE_NATION": "IND"}
    if args.db_memory_limit is not None:
        env["SEAWATCH_DB_MEMORY_LIMIT"] = args.db_memory_limit
    settings = load_settings(env=env)
    with tempfile.TemporaryDirectory(prefix="seawatch-scale-") as tmp:
        work = Path(tmp)
        sim = args.sim or work / "sim"
        files = _simulate(sim, args.hours, args.vessels, args.seed)
        size = sum(f.stat().st_size for f in files)
        print(f"input: {len(files)} NMEA file(s), {size / 1e6:.1f} MB ({sim})")
        head = work / "head.nmea"  # the warm-up's input
        with files[0].open("rb") as fh:
            head.write_bytes(b"".join(fh.readline() for _ in range(20_000)))
        first: tuple[int, int, int] | None = None
        runs: list[tuple[str, dict[str, Any]]] = []
        for name in args.engines.split(","):
            workers = int(name[4:] or 1) if name.startswith("dask") else 0
            with _engine(name, workers) as (engine, options):
                if engine != "local":
                    options = {**options, "buckets": args.buckets}
                if "client" in options:
                    warm_workers(options["client"], head, args.buckets)
                _run([head], engine, options, work, settings)  # warm-up
                r = _run(files, engine, options, work, settings)
            first = first or r["stored"]
            same = "same" if r["stored"] == first else f"DIFFERENT {r['stored']} vs {first}"
            print(f"{name:<12} {r['messages']:>11,} msg  {r['wall_s']:7.2f} s  "
                  f"{r['messages'] / r['wall_s']:>9,.0f} msg/s  "
                  f"{r['cpu_s'] / r['messages'] * 1e6:6.2f} CPU-µs/msg  "
                  f"load {r['load'][0]:.1f}→{r['load'][1]:.1f}  peak private RSS main "
                  f"{r['peak_main_mib']:,.0f} MiB, largest child {r['peak_child_mib']:,.0f} MiB"
                  f"  stored (pos, ev, seg) {r['stored']} {same}", flush=True)  # fmt: skip
            print(f"{'':<12} CPU-s: this process {r['main_cpu_s']:.2f}, workers "
                  f"{r['cpu_s'] - r['main_cpu_s']:.2f}; others' on the machine meanwhile "
                  f"{r['others_cpu_s']:.2f}, stolen {r['steal_s']:.2f} s", flush=True)  # fmt: skip
            runs.append((name, r))
        _pairs(runs)


def _pairs(runs: list[tuple[str, dict[str, Any]]]) -> None:
    """1 → 2 workers by pairs (each dask2 run with the dask1 run before it), with each run's
    own CPU-s and the others' meanwhile: a pair's ratio moves with what else ran and with
    the runs' own CPU, so the median of several pairs is the figure."""
    ratios, last = [], None
    for name, r in runs:
        if name == "dask1":
            last = r
        elif name == "dask2" and last is not None:
            ratios.append(last["wall_s"] / (2 * r["wall_s"]))
            print(f"1 → 2 workers, pair {len(ratios)}: {100 * ratios[-1]:.1f} % "
                  f"({last['wall_s']:.2f} / 2 × {r['wall_s']:.2f} s; own CPU-s "
                  f"{last['cpu_s']:.2f} → {r['cpu_s']:.2f}, others' {last['others_cpu_s']:.2f}"
                  f" / {r['others_cpu_s']:.2f})")  # fmt: skip
            last = None
    if len(ratios) > 1:
        print(
            f"1 → 2 workers: median of {len(ratios)} pairs {100 * median(ratios):.1f} %, "
            f"{100 * min(ratios):.1f}–{100 * max(ratios):.1f} %"
        )


if __name__ == "__main__":
    main()
