"""The access log of ``seawatch serve``: a real process, one JSON line on stderr per HTTP
request (time, method, path, status, duration, user, rows), and the token in none of them
nor anywhere else in the server's output, whether it came in the header, in the query
string by mistake, or was a wrong one."""

from __future__ import annotations

import json
import signal
import subprocess
from datetime import datetime
from pathlib import Path

import httpx
from test_cli_serve import seeded_node, start_serve


def test_one_json_line_per_request_and_never_the_token(tmp_path: Path) -> None:
    env, db, token = seeded_node(tmp_path)
    proc, url = start_serve(env, db, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ok = {"Authorization": f"Bearer {token}"}
    try:
        asked = [
            ("GET", "/api/v1/latest", ok, 200),
            ("GET", f"/api/v1/latest?token={token}&password=hunter2", ok, 400),
            ("GET", "/api/v1/latest", {"Authorization": f"Bearer {token}x"}, 401),
            ("GET", "/api/v1/vessels/123456789", ok, 404),
            ("POST", "/api/v1/latest", ok, 405),
            ("GET", "/metrics", ok, 200),
        ]
        answers = [httpx.request(m, f"{url}{p}", headers=h) for m, p, h, _ in asked]
        assert [r.status_code for r in answers] == [s for *_, s in asked]
        rows = len(answers[0].json()["items"])
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert token not in out + err
    assert token[:12] not in out + err  # not even a part of it
    assert "hunter2" not in err
    lines = [json.loads(ln) for ln in err.splitlines() if ln.startswith("{")]
    health, *rest = lines  # the polls of /healthz until the server answered: one answered
    assert health["path"] == "/healthz"
    assert health["user"] is None
    rest = [ln for ln in rest if ln["path"] != "/healthz"]
    assert len(rest) == len(asked)
    for line, (method, path, _, status) in zip(rest, asked, strict=True):
        assert set(line) == {"time", "method", "path", "status", "duration_ms", "user", "rows"}
        assert (line["method"], line["path"], line["status"]) == (
            method,
            path.split("?")[0],
            status,
        )
        assert datetime.fromisoformat(line["time"]).tzinfo is not None
        assert isinstance(line["duration_ms"], float)
        assert line["duration_ms"] >= 0
    assert [ln["user"] for ln in rest] == ["ana", "ana", None, "ana", None, "ana"]
    assert [ln["rows"] for ln in rest] == [rows, None, None, None, None, None]
    assert rows == 5
