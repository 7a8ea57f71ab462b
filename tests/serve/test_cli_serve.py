"""``seawatch users add`` then ``seawatch serve`` as a user runs them: a real process on a
loopback port, a token from the last line, and SIGTERM stopping it cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from seawatch.sim.synth import write_sample


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _seawatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "seawatch.cli.main", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=True)


def seeded_node(tmp_path: Path) -> tuple[dict[str, str], str, str]:
    """A node's environment, DuckDB file and a user's token: 5 vessels ingested as
    CONFIDENTIAL//REL TO IND, USA by ``seawatch ingest``, user ``ana`` (USA:SECRET) added
    by ``seawatch users add`` (its token read from the last line, as a script would)."""
    env = {**os.environ, "SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DATA_DIR": str(tmp_path)}
    db = str(tmp_path / "node.duckdb")
    feed = tmp_path / "feed.nmea"
    write_sample(feed, vessels=5, minutes=3)
    _seawatch("ingest", str(feed), "--label", "CONFIDENTIAL//REL TO IND, USA", "--db", db, env=env)
    token = _seawatch("users", "add", "ana", "--reader", "USA:SECRET", "--db", db, env=env)
    return env, db, token.stdout.strip().splitlines()[-1]


def start_serve(env: dict[str, str], db: str, **popen: Any) -> tuple[subprocess.Popen[Any], str]:
    """A ``seawatch serve`` process on a free loopback port, once it answers /healthz, and its
    URL (``popen``: the output's handling); killed if it does not start."""
    port = _free_port()
    cmd = [sys.executable, "-m", "seawatch.cli.main", "serve", "--port", str(port), "--db", db]
    proc = subprocess.Popen(cmd, env=env, **popen)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1).raise_for_status()
                return proc, url
            except httpx.TransportError:
                assert proc.poll() is None, "seawatch serve died"
                assert time.monotonic() < deadline, "seawatch serve did not start"
                time.sleep(0.1)
    except BaseException:
        proc.kill()
        proc.communicate(timeout=30)
        raise


def test_users_add_then_serve_then_sigterm(tmp_path: Path) -> None:
    env, db, token_line = seeded_node(tmp_path)
    proc, url = start_serve(env, db, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        headers = {"Authorization": f"Bearer {token_line}"}
        r = httpx.get(f"{url}/api/v1/latest", headers=headers)
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) == 5
        assert r.headers["x-seawatch-marking"] == "CONFIDENTIAL//REL TO IND, USA"
        assert httpx.get(f"{url}/api/v1/latest").status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert token_line.split("_", 2)[2] not in err
