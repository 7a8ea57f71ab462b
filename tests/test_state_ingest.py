"""``seawatch ingest --detect --incremental``: runs over successive hours of a simulation,
each resuming from the state the last one left, store what one run over all of them stores;
running a day again changes nothing; a damaged state file is a clear error naming it."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import platformdirs
import pytest
from click.testing import CliRunner, Result

from seawatch.cli.main import cli
from seawatch.events.registry import Detector, EventType, registered
from seawatch.sim import SimConfig, simulate
from seawatch.store.tables import SEQ
from test_state import GuessParams, guess

ENV = {"SEAWATCH_NODE_NATION": "IND"}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("sim")
    simulate(SimConfig(seed=2, vessels=8, hours=4), out)
    files = sorted(out.glob("ais-*.nmea"))
    assert len(files) == 4
    return files


def ingest(db: Path, files: list[Path], watermark: str | None, *more: str) -> Result:
    """``--watermark`` at ``watermark``; None: the default (the last rows wait in the state)."""
    args = ["ingest", *map(str, files), "--detect", "--incremental", "--db", str(db)]
    args += ["--watermark", watermark] if watermark else []
    return CliRunner().invoke(cli, [*args, *more], env=ENV)


def canonical(db: Path) -> dict[str, tuple[int, str]]:
    """Events, segments and positions with their segment, in a total order, hashed."""
    out = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for table, order in (
            ("events", "event_id"),
            ("segments", "segment_id"),
            ("positions", "mmsi, ts, msg_key"),
        ):
            cols = [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
            cols = [c for c in cols if c != SEQ]  # write order, not content (schema 7)
            rows = con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}").fetchall()
            out[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


def test_hourly_runs_store_what_one_run_stores(sim: list[Path], tmp_path: Path) -> None:
    whole = tmp_path / "whole.duckdb"
    res = ingest(whole, sim, "2025-06-01T04:00Z")
    assert res.exit_code == 0, res.output
    daily = tmp_path / "daily.duckdb"
    for i, (files, until) in enumerate(
        ((sim[:1], "01:00"), (sim[1:3], None), (sim[3:], "04:00"))
    ):  # the second leaves its last 10 minutes in the state, named by their input
        res = ingest(daily, files, until and f"2025-06-01T{until}Z")
        assert res.exit_code == 0, res.output
        assert "late" not in res.output, i
    want = canonical(whole)
    assert want["events"][0] > 0
    assert want["segments"][0] > 0
    assert canonical(daily) == want
    res = ingest(daily, sim[3:], "2025-06-01T04:00Z")  # the last run again: resumes before it
    assert res.exit_code == 0, res.output
    assert canonical(daily) == want


def test_a_damaged_state_file_is_named_not_a_traceback(sim: list[Path], tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert ingest(db, sim[:1], "2025-06-01T01:00Z").exit_code == 0
    (state,) = _states()
    state.write_bytes(b"garbage")
    res = ingest(db, sim[1:2], "2025-06-01T02:00Z")
    assert res.exit_code != 0
    assert str(state) in res.output
    assert "damaged" in res.output
    assert "Traceback" not in res.output


def _states() -> list[Path]:
    """The state files in the node's data directory (the test's own, tests/conftest.py)."""
    root = Path(platformdirs.user_data_dir("seawatch", appauthor=False)) / "state"
    return sorted(root.glob("*/all/*.arrow"))


def test_incremental_needs_detect(sim: list[Path], tmp_path: Path) -> None:
    args = ["ingest", str(sim[0]), "--incremental", "--db", str(tmp_path / "x.duckdb")]
    res = CliRunner().invoke(cli, args, env=ENV)
    assert res.exit_code != 0
    assert "--incremental and --watermark go with --detect" in res.output


def test_the_store_drops_an_open_event_the_next_run_retracts(
    sim: list[Path], tmp_path: Path
) -> None:
    db = tmp_path / "s.duckdb"
    toy = Detector("guess", guess, "positions", GuessParams, (EventType("guess", None),))
    with registered(toy):
        for files, until in ((sim[:1], "01:00"), (sim[1:2], "02:00")):
            res = ingest(db, files, f"2025-06-01T{until}Z")
            assert res.exit_code == 0, res.output
    with duckdb.connect(str(db), read_only=True) as con:
        (n,) = con.execute("SELECT count(*) FROM events WHERE event_type = 'guess'").fetchone()
    assert n == 1


def test_a_past_hour_after_a_later_one_is_stored_late_not_lost(
    sim: list[Path], tmp_path: Path
) -> None:
    """Running a past day again with late data is not done yet: its rows are stored without
    a track and counted, as late rows within a run are."""
    db = tmp_path / "s.duckdb"
    assert ingest(db, sim[1:2], "2025-06-01T02:00Z").exit_code == 0
    res = ingest(db, sim[:1], "2025-06-01T01:00Z")
    assert res.exit_code == 0, res.output
    assert "came too late to put in time order" in res.output


def test_a_killed_run_leaves_the_previous_state_and_its_rerun_equals_a_clean_one(
    sim: list[Path], tmp_path: Path
) -> None:
    """Day 2 killed with SIGKILL after a few committed chunks: its state was never written,
    so running it again resumes from day 1's and the store ends as after clean runs."""
    clean, db = tmp_path / "clean.duckdb", tmp_path / "killed.duckdb"
    for target in (clean, db):
        assert ingest(target, sim[:2], "2025-06-01T02:00Z").exit_code == 0
    assert ingest(clean, sim[2:], "2025-06-01T04:00Z").exit_code == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAWATCH_")}
    env |= {**ENV, "SEAWATCH_DECODE_CHUNK_BYTES": "16KiB", "SEAWATCH_LOG_LEVEL": "INFO"}
    cmd = [sys.executable, "-m", "seawatch.cli.main", "ingest", *map(str, sim[2:]), "--detect",
           "--incremental", "--watermark", "2025-06-01T04:00Z", "--db", str(db)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen, deadline = 0, time.monotonic() + 300
    for line in proc.stderr:
        seen += "committed" in line
        if seen >= 3:
            break
        assert time.monotonic() < deadline, "no progress"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert len([p for p in _states() if p.name.startswith("20250601T04")]) == 1  # clean's
    assert ingest(db, sim[2:], "2025-06-01T04:00Z").exit_code == 0
    assert canonical(db) == canonical(clean)
