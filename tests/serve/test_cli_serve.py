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


def test_users_add_then_serve_then_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DATA_DIR": str(tmp_path)}
    db = str(tmp_path / "node.duckdb")
    feed = tmp_path / "feed.nmea"
    write_sample(feed, vessels=5, minutes=3)
    _seawatch("ingest", str(feed), "--label", "CONFIDENTIAL//REL TO IND, USA", "--db", db, env=env)
    token = _seawatch("users", "add", "ana", "--reader", "USA:SECRET", "--db", db, env=env)
    token_line = token.stdout.strip().splitlines()[-1]
    port = _free_port()
    cmd = [sys.executable, "-m", "seawatch.cli.main", "serve", "--port", str(port), "--db", db]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "seawatch serve did not start"
                time.sleep(0.1)
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
