"""``seawatch serve --tcp``: a live feed ingested by the server while it answers, as a user
runs it: a real process, a loopback TCP feed of simulated lines, the API polled until the
vessels appear, then SIGTERM. Afterwards the store holds every position sent, and the
segments and events the same lines give through ``seawatch ingest --detect``: the feed
was stored as it came and the session finished at the stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from seawatch.labels import Reader
from seawatch.settings import load_settings
from seawatch.sim.synth import write_sample
from seawatch.store import open_store
from seawatch.store.query import Query

IND = {"SEAWATCH_NODE_NATION": "IND"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _seawatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "seawatch.cli.main", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=True)


@contextlib.contextmanager
def _feed(tmp_path: Path, go: threading.Event) -> Iterator[tuple[int, Path, threading.Event]]:
    """A loopback server that sends the lines of a simulated file to its first client, once
    ``go`` is set, in chunks over about two seconds, sets the event it yields, and keeps the
    connection open."""
    path = tmp_path / "feed.nmea"
    write_sample(path, vessels=30, minutes=60)
    lines = path.read_bytes().splitlines(keepends=True)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    sent, done = threading.Event(), threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            go.wait(120)
            for k in range(0, len(lines), 400):
                conn.sendall(b"".join(lines[k : k + 400]))
                time.sleep(0.2)
            sent.set()
            done.wait(60)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port, path, sent
    finally:
        go.set()
        done.set()
        thread.join(5)
        server.close()


@pytest.fixture
def feed_server(tmp_path: Path) -> Iterator[tuple[int, Path, threading.Event]]:
    """A feed (:func:`_feed`) that sends as soon as its client connects."""
    go = threading.Event()
    go.set()
    with _feed(tmp_path, go) as feed:
        yield feed


@pytest.fixture
def held_feed_server(
    tmp_path: Path,
) -> Iterator[tuple[int, Path, threading.Event, threading.Event]]:
    """A feed (:func:`_feed`) that sends once the test sets the last event it yields: a
    client that must see the feed live subscribes first, however slowly the server started."""
    go = threading.Event()
    with _feed(tmp_path, go) as (port, path, sent):
        yield port, path, sent, go


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``, with their command lines (Linux: /proc)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
                found[int(stat.parent.name)] = cmdline.decode(errors="replace")
    return found


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs (an ended one not yet reaped by PID 1 is a zombie, Z)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _counts(db: str) -> dict[str, object]:
    with open_store(db, load_settings(env=IND)) as store:
        q = Query(store, Reader.node_admin("test: serve --tcp"))
        positions = q.positions()
        events = q.events()
        return {
            "positions": positions.num_rows,
            "unsegmented": positions.column("segment_id").null_count,
            "segments": store.counts()["segments"],
            "events": sorted(events.column("event_type").to_pylist()),
        }


def test_serve_ingests_a_tcp_feed_live(
    feed_server: tuple[int, Path, threading.Event], tmp_path: Path
) -> None:
    feed_port, lines_file, sent = feed_server
    env = {**os.environ, **IND, "SEAWATCH_DATA_DIR": str(tmp_path / "data")}
    db, ref = str(tmp_path / "node.duckdb"), str(tmp_path / "ref.duckdb")
    _seawatch("ingest", str(lines_file), "--detect", "--db", ref, env=env)
    token = _seawatch("users", "add", "ana", "--reader", "IND:SECRET", "--db", db, env=env)
    headers = {"Authorization": f"Bearer {token.stdout.strip().splitlines()[-1]}"}
    port = _free_port()
    cmd = [sys.executable, "-m", "seawatch.cli.main", "serve", "--port", str(port)]
    cmd += ["--tcp", f"127.0.0.1:{feed_port}", "--db", db, "--batch-s", "0.5"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children: dict[int, str] = {}
    try:
        url = f"http://127.0.0.1:{port}/api/v1/latest"
        deadline = time.monotonic() + 120
        while True:  # the API answers while the feed is stored
            try:
                r = httpx.get(url, headers=headers, timeout=2)
                assert r.status_code == 200, r.text
                if r.json()["items"]:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no vessels within 120 s"
            time.sleep(0.2)
        metrics = httpx.get(url.replace("/api/v1/latest", "/metrics"), headers=headers).text
        stored = [ln for ln in metrics.splitlines() if ln.startswith("seawatch_ingest_positions")]
        assert stored, metrics
        assert float(stored[0].split()[-1]) > 0  # the live ingest counts in /metrics
        for stage in ("wait", "store"):  # each batch: cut -> storing begun -> told
            assert f'seawatch_live_delay_seconds_count{{stage="{stage}"}}' in metrics
        held = {  # the live session's state and the streams' kept batches, by part
            ln.split('"')[1]: float(ln.split()[-1])
            for ln in metrics.splitlines()
            if ln.startswith("seawatch_memory_bytes{")
        }
        assert held["rss"] > held["pipeline"] > 0
        assert held["live_history"] == 0  # nobody listens: nothing kept
        # every line sent has been received (kept in a batch file): stop now, while the
        # last batches may still be on their way into the store
        want = lines_file.read_bytes().count(b"\n")
        assert sent.wait(30)
        while True:
            kept = sum(p.read_bytes().count(b"\n") for p in tmp_path.glob("data/live/*/1/*.nmea"))
            if kept >= want:
                break
            assert time.monotonic() < deadline + 30, f"{kept} of {want} lines received"
            time.sleep(0.05)
        children = _children(proc.pid)  # the detectors' process (live_detect_process) and
        detectors = [pid for pid, cmd in children.items() if "resource_tracker" not in cmd]
        assert detectors, f"no detectors' child process: {children}"  # multiprocessing's tracker
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    for pid in detectors:  # joined by the server before it exits
        assert not _running(pid), f"detectors' process {pid} still running after the server stopped"
    deadline = time.monotonic() + 10  # the tracker ends by itself once its pipe closes
    while any(_running(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in children if _running(pid)], f"left running: {children}"
    got, expected = _counts(db), _counts(ref)
    assert got["positions"] == expected["positions"] > 1000
    assert got["unsegmented"] == 0
    assert got["segments"] == expected["segments"] > 0  # the session was finished
    assert got["events"] == expected["events"]


def test_serve_with_an_unreachable_feed_is_an_error(tmp_path: Path) -> None:
    env = {**os.environ, **IND, "SEAWATCH_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "seawatch.cli.main", "serve", "--port", str(_free_port())]
    cmd += ["--tcp", f"127.0.0.1:{_free_port()}", "--db", str(tmp_path / "node.duckdb")]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "error: cannot connect to 127.0.0.1:" in done.stderr
