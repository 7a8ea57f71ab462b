"""Ctrl-C on ``seawatch simulate``: it stops after the current simulated minute, writes what
it has (NMEA files of whole lines, the truth so far, zones.geojson, manifest.json), says so
on stderr and exits with 130, leaving no temporary file."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from seawatch.cli.simulate import INTERRUPTED_EXIT


def test_ctrl_c_writes_what_was_simulated(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "seawatch.cli.main", "simulate", "--seed", "3"),
            *("--vessels", "300", "--hours", "24", "--out", str(out)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 120
        seen = []
        while time.monotonic() < deadline:  # mid-run: after the first hour's progress line
            line = proc.stderr.readline()
            seen.append(line)
            if not line or line.startswith("simulated 1 h of 24 h"):
                break
        assert seen[-1].startswith("simulated 1 h"), "".join(seen)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == INTERRUPTED_EXIT == 130, stderr
    assert "Aborted!" not in stderr
    assert "interrupted: stopped at 2025-06-01 " in stderr
    assert "lines in" in stdout  # the usual summary, of what was simulated
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is False
    assert 3600 <= manifest["simulated_s"] < 24 * 3600
    stop = dt.datetime(2025, 6, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=manifest["simulated_s"])
    records = [json.loads(line) for line in (out / "truth.jsonl").read_text().splitlines()]
    assert records  # the first hour holds port visits and more
    assert all(r["start_ts"] < f"{stop:%Y-%m-%dT%H:%M:%SZ}" for r in records)
    assert sum(manifest["behaviours"].values()) == len(records)
    assert json.loads((out / "zones.geojson").read_text())["type"] == "FeatureCollection"
    assert manifest["files"]
    for name in manifest["files"]:  # whole lines only
        assert (out / name).read_bytes().endswith(b"\n")
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
