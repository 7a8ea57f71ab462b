"""A request answered is a request audited, even when the server dies the next moment: a
real ``seawatch serve`` killed with SIGKILL right after its answers arrived, the store
reopened, an audit row for every one of them (written and committed before the answer
left, bench/serve_parts.py measured its cost: ~2 ms of CPU)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from test_cli_serve import _free_port, _seawatch

from seawatch.serve.audit import audit_rows
from seawatch.settings import load_settings
from seawatch.sim.synth import write_sample
from seawatch.store import open_store


def test_answered_requests_are_audited_when_the_server_is_killed(tmp_path: Path) -> None:
    env = {**os.environ, "SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DATA_DIR": str(tmp_path)}
    db = str(tmp_path / "node.duckdb")
    feed = tmp_path / "feed.nmea"
    write_sample(feed, vessels=5, minutes=3)
    _seawatch("ingest", str(feed), "--label", "CONFIDENTIAL//REL TO IND, USA", "--db", db, env=env)
    token = _seawatch("users", "add", "ana", "--reader", "USA:SECRET", "--db", db, env=env)
    secret = token.stdout.strip().splitlines()[-1]
    port = _free_port()
    cmd = [sys.executable, "-m", "seawatch.cli.main", "serve", "--port", str(port), "--db", db]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    asked = [f"limit={n}" for n in range(1, 9)]
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                assert proc.poll() is None, "seawatch serve died"
                assert time.monotonic() < deadline, "seawatch serve did not start"
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {secret}"}
        with httpx.Client(base_url=url, headers=headers) as client:
            for query in asked:
                r = client.get(f"/api/v1/positions?{query}")
                assert r.status_code == 200, r.text
                assert r.json()["items"]
    finally:
        proc.send_signal(signal.SIGKILL)  # no shutdown, no flush: whatever was committed
        proc.wait(30)
    with open_store(db, load_settings(env={"SEAWATCH_NODE_NATION": "IND"})) as store:
        audited = [
            r["query"] for r in audit_rows(store).to_pylist() if r["route"] == "/api/v1/positions"
        ]
    assert audited == asked
