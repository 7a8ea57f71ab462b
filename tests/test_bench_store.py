"""bench/store.py's CPU-seconds of a PostgreSQL server: the postmaster's, its reaped
processes' and its running ones' (the ingest's server CPU per million positions); its
``--pg-socket`` URL (the same server through its unix socket)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH_STORE = Path(__file__).resolve().parents[1] / "bench" / "store.py"
_BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}: pass\n"
# a "postmaster": one child burns and is reaped, another burns and keeps running
_PARENT = f"""
import subprocess, sys, time
subprocess.run([sys.executable, "-c", {_BURN.format(s=0.5)!r}], check=True)
subprocess.Popen([sys.executable, "-c", {_BURN.format(s=0.5)!r} + "time.sleep(60)"])
time.sleep(1.5)
print("ready", flush=True)
time.sleep(60)
"""


def _bench_store() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_store", BENCH_STORE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_server_cpu_counts_reaped_and_running_processes() -> None:
    import psutil

    server_cpu_s = _bench_store().server_cpu_s
    assert server_cpu_s(None) == 0.0
    with subprocess.Popen(
        [sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True
    ) as parent:
        try:
            assert parent.stdout is not None
            assert parent.stdout.readline().strip() == "ready"
            running = psutil.Process(parent.pid).children()
            assert len(running) == 1
            while sum(running[0].cpu_times()[:2]) < 0.5:
                pass  # the running child's burn is done (it may start late under load)
            # 0.5 s reaped + 0.5 s running, besides the interpreters' start
            assert server_cpu_s(parent.pid) >= 1.0
        finally:
            for child in psutil.Process(parent.pid).children():
                child.kill()
            parent.kill()


def test_socket_url_reaches_the_same_server_through_its_socket(tmp_path: Path) -> None:
    from psycopg.conninfo import conninfo_to_dict

    url = "postgresql://seawatch:p%40ss@127.0.0.1:54321/bench"
    got = conninfo_to_dict(_bench_store().socket_url(url, tmp_path / "pg dir"))
    assert got == {
        "host": str(tmp_path / "pg dir"),
        "port": "54321",
        "dbname": "bench",
        "user": "seawatch",
        "password": "p@ss",
    }


def test_warm_up_reads_what_no_timed_window_reads() -> None:
    """``--warm-up``'s reads: an area south of every window's box, on a day no window
    touches, a vessel of no window (so the timed windows' pages and rows are not read
    before them); the windows are the same with or without it."""
    from argparse import Namespace
    from datetime import UTC, datetime, timedelta

    bench = _bench_store()
    args = Namespace(repeat=30, fleets=10)
    lo = datetime(2025, 1, 1, 3, 17, tzinfo=UTC)
    mmsis = [419000000 + 13 * k for k in range(40)]
    for length in (40, 273):  # 40 days: the first is read by a window, some others are not
        _warm_up_avoids_the_windows(bench, lo, lo + timedelta(days=length), mmsis, args)


def _warm_up_avoids_the_windows(bench, lo, hi, mmsis, args) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    timed = bench.windows(lo, hi, mmsis, args)
    assert timed == bench.windows(lo, hi, mmsis, args)  # a fixed seed
    days = {d for s, _, _ in timed for d in (s.date(), (s + timedelta(days=1)).date())}
    calls: list[tuple[str, tuple[object, ...], dict[str, object]]] = []

    class Reads:  # what the bench asks of Query, recorded
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return lambda *a, **k: calls.append((name, a, k))

    assert len(bench.warm_up(Reads(), lo, hi, mmsis, args)) == 3
    (vp, _, vp_k), (tr, tr_a, _), (la, _, la_k) = calls
    assert (vp, tr, la) == ("positions", "track", "latest")
    for k in (vp_k, la_k):
        assert k["bbox"][3] < min(b[1] for _, b, _ in timed)  # type: ignore[index]
        assert not {k["start"].date(), k["end"].date()} & days  # type: ignore[attr-defined]
    assert tr_a[0] not in {m for _, _, m in timed}


def test_window_lines_are_each_timed_query() -> None:
    """``--windows-out``: one line per timed query, in the windows' order, whose times give
    the p95 the table prints."""
    bench = _bench_store()
    kinds = ("viewport", "track")
    secs = {"viewport": [0.05 + k / 1000 for k in range(30)], "track": [0.01] * 30}
    rows = {k: [100 + i for i in range(30)] for k in kinds}
    lines = bench.window_lines({"": (rows, secs), ", after": (rows, secs)})
    assert len(lines) == 2 * 2 * 30
    vp = [x for x in lines if x["kind"] == "viewport" and x["after"] == ""]
    assert [x["window"] for x in vp] == list(range(30))
    assert [x["rows"] for x in vp] == rows["viewport"]
    assert bench.p95([x["ms"] / 1000 for x in vp]) == pytest.approx(bench.p95(secs["viewport"]))
