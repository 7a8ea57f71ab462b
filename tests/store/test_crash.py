"""Crash safety, for real: ``seawatch ingest`` in a subprocess is killed with SIGKILL after
some chunks are committed, re-run, and ends with the same contents as a run never
interrupted (small decode chunks so there are many)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_ingest import contents, head

from seawatch.cli.main import cli
from seawatch.settings import Settings
from seawatch.store import open_store

CHUNK = "16KiB"  # ~75 chunks of the sample's first 15,000 lines
LINES = 15_000


def _cmd(db: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "seawatch.cli.main", "ingest", *extra, "--db", db]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAWATCH_")}
    return {
        **env,
        "SEAWATCH_DECODE_CHUNK_BYTES": CHUNK,
        "SEAWATCH_LOG_LEVEL": "INFO",
        "SEAWATCH_NODE_NATION": "IND",
    }


def _reference(db: str, *extra: str) -> None:
    """The uninterrupted run, in this process (the killed run and the re-run are real
    processes: the kill is the point)."""
    env = {k: v for k, v in _env().items() if k.startswith("SEAWATCH_")}
    done = CliRunner().invoke(cli, ["ingest", *extra, "--db", db], env=env)
    assert done.exit_code == 0, done.output


def _run(db: str, *extra: str) -> str:
    done = subprocess.run(_cmd(db, *extra), env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _kill_after_commits(db: str, commits: int, *extra: str) -> int:
    """Start an ingest, SIGKILL it once ``commits`` chunks are logged as committed."""
    proc = subprocess.Popen(_cmd(db, *extra), env=_env(), stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen = 0
    deadline = time.monotonic() + 300
    for line in proc.stderr:
        if "committed" in line:
            seen += 1
            if seen >= commits:
                break
        assert time.monotonic() < deadline, "no progress"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, "the ingest ended before it could be killed"
    return seen


@pytest.mark.parametrize("extra", [(), ("--detect",)], ids=["plain", "detect"])
def test_killed_ingest_rerun_equals_uninterrupted(
    store_url: str, node: Settings, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    reference = str(tmp_path / "reference.duckdb")
    extra = (str(head(tmp_path, LINES)), *extra)
    _reference(reference, *extra)
    assert _kill_after_commits(store_url, 10, *extra) >= 10
    with open_store(store_url, node) as store:  # the kill left whole chunks only
        partial = contents(store)
        logged = store.counts()["ingest_log"]
    with open_store(reference, node) as store:
        expected = contents(store)
        total = store.counts()["ingest_log"]
    assert 10 <= logged < total
    assert 0 < len(partial["statics"]) < len(expected["statics"])  # detect: positions wait
    assert len(partial["positions"]) < len(expected["positions"])  # for the reorder window
    _run(store_url, *extra)
    with open_store(store_url, node) as store:
        assert contents(store) == expected
