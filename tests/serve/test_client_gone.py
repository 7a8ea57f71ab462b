"""A client that goes away in the middle of its request is not a server failure: a real
``seawatch serve``, a federation push whose connection is cut before its body has all
come, and the node's log says so in one line, with no traceback."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

from test_cli_serve import seeded_node, start_serve


def test_a_push_cut_mid_body_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    env, db, _ = seeded_node(tmp_path)
    proc, url = start_serve(env, db, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        where = urlsplit(url)
        with socket.create_connection((where.hostname, where.port)) as s:
            s.sendall(b"POST /federation/v1/push HTTP/1.1\r\nHost: node\r\n"
                      b"Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n"
                      + b"x" * 1000)  # fmt: skip
            time.sleep(0.5)
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    assert "went away" in err, err
