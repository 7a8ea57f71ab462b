"""A request answered is a request audited, even when the server dies the next moment: a
real ``seawatch serve`` killed with SIGKILL right after its answers arrived, the store
reopened, an audit row for every one of them (written and committed before the answer
left, bench/serve_parts.py measured its cost: ~2 ms of CPU)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
from test_cli_serve import seeded_node, start_serve

from seawatch.serve.audit import audit_rows
from seawatch.settings import load_settings
from seawatch.store import open_store


def test_answered_requests_are_audited_when_the_server_is_killed(tmp_path: Path) -> None:
    env, db, secret = seeded_node(tmp_path)
    proc, url = start_serve(env, db, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    asked = [f"limit={n}" for n in range(1, 9)]
    try:
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
