"""Late data for a past day (``seawatch ingest --detect --incremental`` of rows older than the
latest state's watermark): that day and the following ones run again until the recomputed
state equals the stored one, and the store ends as one run over all the data leaves it.

Five hourly runs stand for five days (a day is one run: from the watermark of the state it
resumed from to its own)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from seawatch.decode.encode import encode_sentences
from seawatch.decode.layouts import BY_NAME
from seawatch.engine.late import state_digest
from seawatch.engine.state import StateStore, state_dir
from seawatch.events.registry import Detector, EventType, registered
from seawatch.settings import user_data_dir
from seawatch.sim import SimConfig, simulate
from test_state import GuessParams, guess
from test_state_ingest import ENV, _states, canonical, ingest

HOURS = [f"2025-06-01T{h:02d}:00Z" for h in range(1, 6)]


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    """Five hourly files, the second without every 7th one-sentence message: those are in
    a late file of its own."""
    out = tmp_path_factory.mktemp("sim5")
    simulate(SimConfig(seed=2, vessels=8, hours=5), out)
    files = sorted(out.glob("ais-*.nmea"))
    assert len(files) == 5
    lines = files[1].read_text().splitlines(keepends=True)
    kept, late = [], []
    for i, line in enumerate(lines):
        (late if i % 7 == 3 and "!AIVDM,1,1," in line else kept).append(line)
    day2 = out / "day2.nmea"
    day2.write_text("".join(kept))
    (out / "late.nmea").write_text("".join(late))
    return [files[0], day2, *files[2:]], out / "late.nmea"


@pytest.fixture(scope="module")
def whole(
    days: tuple[list[Path], Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[int, str]]:
    """What one run over the five files and the late one stores (canonical): where the
    daily runs and the late file must end, whatever the order."""
    files, late = days
    db = tmp_path_factory.mktemp("whole") / "whole.duckdb"
    res = ingest(db, [*files, late], HOURS[-1])
    assert res.exit_code == 0, res.output
    return canonical(db)


def _daily(db: Path, files: list[Path]) -> None:
    for f, until in zip(files, HOURS[: len(files)], strict=True):
        res = ingest(db, [f], until)
        assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def daily(
    days: tuple[list[Path], Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """A store after the five daily runs and its states (in the data directory of the test
    that made it): made once; the tests that start from them take copies
    (:func:`_from_daily`)."""
    files, _ = days
    db = tmp_path_factory.mktemp("daily") / "daily.duckdb"
    _daily(db, files)
    states = _state_root(db)
    assert len(list(states.glob("all/*Z.arrow"))) == len(files)
    return db, states


def _state_root(db: Path) -> Path:
    return state_dir(user_data_dir(), str(db))


def _from_daily(daily: tuple[Path, Path], db: Path) -> None:
    """``db`` and its states (in this test's data directory) as the five daily runs leave
    them: copies of :func:`daily`'s."""
    shutil.copyfile(daily[0], db)
    shutil.copytree(daily[1], _state_root(db))


def test_late_rows_of_day_2_give_what_one_run_over_everything_gives(
    days: tuple[list[Path], Path],
    daily: tuple[Path, Path],
    whole: dict[str, tuple[int, str]],
    tmp_path: Path,
) -> None:
    files, late = days
    db = tmp_path / "daily.duckdb"
    _from_daily(daily, db)
    before = canonical(db)
    assert before != whole
    res = ingest(db, [late], None)
    assert res.exit_code == 0, res.output
    assert "run again from 2025-06-01T01:00Z" in res.output
    assert "came too late" not in res.output
    want = whole
    assert want["events"][0] > 0
    assert canonical(db) == want
    again = ingest(db, [late], None)  # the same late file again: its rows are known
    assert again.exit_code == 0, again.output
    assert "1 day(s) run again" in again.output
    assert canonical(db) == want
    res = ingest(db, [files[-1]], HOURS[-1])  # the last day again, after the re-run
    assert res.exit_code == 0, res.output
    assert canonical(db) == want


def _noise(path: Path) -> Path:
    """One position at 0°N 0°E (the cleaner drops it: null island) at 01:30, of a vessel
    heard nowhere else: late, it changes nothing a next day reads."""
    ts = 1748741400  # 2025-06-01T01:30Z
    values = {"mmsi": 257000001, "lat": 0.0, "lon": 0.0, "speed_kn": 10.0, "course_deg": 90.0}
    (line,) = encode_sentences(BY_NAME["type1"], values, tag_block={"s": "sw-late", "c": ts})
    path.write_text(line + "\n")
    return path


def test_a_late_row_that_changes_nothing_downstream_runs_one_day_again(
    days: tuple[list[Path], Path], daily: tuple[Path, Path], tmp_path: Path
) -> None:
    files, _ = days
    noise = _noise(tmp_path / "noise.nmea")
    whole = tmp_path / "whole.duckdb"
    assert ingest(whole, [*files, noise], HOURS[-1]).exit_code == 0
    db = tmp_path / "daily.duckdb"
    _from_daily(daily, db)
    res = ingest(db, [noise], None)
    assert res.exit_code == 0, res.output
    assert "1 day(s) run again from 2025-06-01T01:00Z" in res.output, res.output
    assert canonical(db) == canonical(whole)


def test_a_run_killed_while_running_days_again_leaves_the_store_and_a_rerun_completes(
    days: tuple[list[Path], Path],
    daily: tuple[Path, Path],
    whole: dict[str, tuple[int, str]],
    tmp_path: Path,
) -> None:
    """Killed (SIGKILL) after the first day run again: the store is as before the late
    file (killed before the re-run's one commit) or as after it (the kill came after the
    commit: a loaded machine lets the last days finish first), never in between; running
    it again ends as one run over everything."""
    _, late = days
    db = tmp_path / "killed.duckdb"
    _from_daily(daily, db)
    before = canonical(db)
    marks = sorted(p.name for p in _states())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAWATCH_")}
    env |= {**ENV, "SEAWATCH_LOG_LEVEL": "INFO"}
    cmd = [sys.executable, "-m", "seawatch.cli.main", "ingest", str(late), "--detect",
           "--incremental", "--db", str(db)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 300
    for line in proc.stderr:
        if "ran again the day to" in line:
            break
        assert time.monotonic() < deadline, "no progress"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    after, complete = canonical(db), whole
    assert after in (before, complete), "part of a re-run survived the kill"
    if after == before:
        assert sorted(p.name for p in _states()) == marks
    res = ingest(db, [late], None)
    assert res.exit_code == 0, res.output
    assert canonical(db) == complete


def test_late_rows_with_a_day_of_their_own_are_kept_with_it(
    days: tuple[list[Path], Path], whole: dict[str, tuple[int, str]], tmp_path: Path
) -> None:
    """Day 5's file and day 2's late rows in one run: day 5 runs, then days 2.. again,
    day 5 among them; the store ends as one run over everything."""
    files, late = days
    db = tmp_path / "daily.duckdb"
    _daily(db, files[:4])
    res = ingest(db, [files[4], late], HOURS[-1])
    assert res.exit_code == 0, res.output
    assert "run again from 2025-06-01T01:00Z" in res.output
    assert canonical(db) == whole
    res = ingest(db, [files[4]], HOURS[-1])  # day 5 again: resumes before it, its rows known
    assert res.exit_code == 0, res.output
    assert canonical(db) == whole


def test_states_replaced_together_are_all_replaced_after_a_crash(tmp_path: Path) -> None:
    """A process killed after the record of a group replacement was kept: the next read of
    the states finishes the renames (the temporaries of a process killed before are
    removed with it)."""
    states = StateStore(tmp_path)

    def rows(n: int) -> dict[str, pa.Table]:
        return {k: pa.table({"n": [n], "source_name": ["x"]}) for k in ("positions", "statics")}

    states.save("all", 1, {"v": 1}, rows(1))
    states.save("all", 2, {"v": 2}, rows(2))
    code = (
        "import os, sys\n"
        "import pyarrow as pa\n"
        "from pathlib import Path\n"
        "from seawatch.engine import state\n"
        "def stop(folder): os.kill(os.getpid(), 9)\n"
        "state.StateStore._roll_forward = lambda self, folder: stop(folder)\n"
        f"s = state.StateStore(Path({str(tmp_path)!r}))\n"
        "r = {k: pa.table({'n': [20], 'source_name': ['x']}) for k in ('positions', 'statics')}\n"
        "s.save_all('all', [(1, {'v': 10}, None), (2, {'v': 20}, r)])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False)
    assert proc.returncode == -signal.SIGKILL
    assert (tmp_path / "all" / "replacing.json").exists()
    fresh = StateStore(tmp_path)
    assert fresh.watermarks("all") == [1, 2]
    assert [fresh.load("all", w)[1]["v"] for w in (1, 2)] == [10, 20]  # type: ignore[index]
    assert fresh.load_journal("all", 2) == rows(20)
    assert fresh.load_journal("all", 1) == rows(1)
    assert not list((tmp_path / "all").glob(".*"))
    assert not (tmp_path / "all" / "replacing.json").exists()


def test_events_that_no_longer_exist_are_removed(
    days: tuple[list[Path], Path], tmp_path: Path
) -> None:
    """A toy detector leaves an open event at each day's end whose id counts the positions
    so far: after day 2's late rows every later day's id changes, and the store keeps only
    the event one run over everything leaves (the old ids removed)."""
    files, late = days
    toy = Detector("guess", guess, "positions", GuessParams, (EventType("guess", None),))
    whole, db = tmp_path / "whole.duckdb", tmp_path / "daily.duckdb"
    with registered(toy):
        assert ingest(whole, [*files, late], HOURS[-1]).exit_code == 0
        _daily(db, files)
        res = ingest(db, [late], None)
    assert res.exit_code == 0, res.output
    assert "1 events removed" in res.output, res.output  # day 5's open guess
    assert canonical(db) == canonical(whole)
    with duckdb.connect(str(db), read_only=True) as con:
        (n,) = con.execute("SELECT count(*) FROM events WHERE event_type = 'guess'").fetchone()
    assert n == 1


def test_state_digest_ignores_order_and_input_numbers_not_values() -> None:
    """Held rows in another order and numbered among other inputs, dict keys in another
    order, another ``inputs``: the same state; one value changed: another."""

    def state(rows: list[tuple[int, int]], sources: list[str], extra: dict[str, Any]) -> Any:
        held = pa.table({"ts": pa.array([r[0] for r in rows], pa.timestamp("us", tz="UTC")),
                         "source_id": pa.array([r[1] for r in rows], pa.int32())})  # fmt: skip
        tree = {"held": {"positions": (5, held)}, **extra}
        return {"pipeline": tree, "sources": sources, "inputs": [str(len(rows))]}

    a = state([(1, 0), (2, 1)], ["x", "y"], {"a": np.arange(3), "b": {1: 2.5, 2: None}})
    b = state([(2, 0), (1, 1)], ["y", "x"], {"b": {2: None, 1: 2.5}, "a": np.arange(3)})
    b["inputs"] = ["other"]
    assert state_digest(a) == state_digest(b)
    c = state([(1, 0), (2, 1)], ["x", "y"], {"a": np.arange(3), "b": {1: 2.5, 2: 0.0}})
    assert state_digest(a) != state_digest(c)
    d = state([(1, 0), (3, 1)], ["x", "y"], {"a": np.arange(3), "b": {1: 2.5, 2: None}})
    assert state_digest(a) != state_digest(d)


def test_killed_between_the_commit_and_the_states_a_rerun_completes(
    days: tuple[list[Path], Path],
    daily: tuple[Path, Path],
    whole: dict[str, tuple[int, str]],
    tmp_path: Path,
) -> None:
    """Killed (SIGKILL) after the store's transaction, before the new states are kept: the
    store holds the re-run days' rows, the states the old ones; running the late file again
    computes the same from the old states and ends as one run over everything."""
    _, late = days
    db = tmp_path / "killed.duckdb"
    _from_daily(daily, db)
    marks = {p.name: p.read_bytes() for p in _states()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAWATCH_")} | ENV
    code = (
        "import os, sys\n"
        "from seawatch.engine import state\n"
        "state.StateStore.save_all = lambda *a, **k: os.kill(os.getpid(), 9)\n"
        "from seawatch.cli.main import cli\n"
        f"cli(['ingest', {str(late)!r}, '--detect', '--incremental', '--db', {str(db)!r}])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, check=False)
    assert proc.returncode == -signal.SIGKILL
    assert {p.name: p.read_bytes() for p in _states()} == marks
    res = ingest(db, [late], None)
    assert res.exit_code == 0, res.output
    assert canonical(db) == whole


def test_late_rows_older_than_any_day_kept_to_run_again_are_stored_late(
    days: tuple[list[Path], Path], daily: tuple[Path, Path], tmp_path: Path
) -> None:
    """Without day 2's journal (a state written before journals were kept, or removed), its
    late rows cannot run it again: they are stored as read, without a track, as before."""
    _, late = days
    db = tmp_path / "daily.duckdb"
    _from_daily(daily, db)
    (journal,) = [p for p in _journals() if p.name.startswith("20250601T02")]
    journal.unlink()
    res = ingest(db, [late], None)
    assert res.exit_code == 0, res.output
    assert "came too late to put in time order" in res.output
    assert "day(s) run again" not in res.output


def _journals() -> list[Path]:
    return [p.with_name(p.name.replace(".arrow", ".positions.arrow")) for p in _states()]


def test_no_temporary_files_are_left(days: tuple[list[Path], Path], tmp_path: Path) -> None:
    files, late = days
    db = tmp_path / "daily.duckdb"
    _daily(db, files[:2])
    assert ingest(db, [late], None).exit_code == 0
    assert ingest(db, [late], None).exit_code == 0
    assert ingest(db, [files[1]], HOURS[1]).exit_code == 0
    folder = _states()[0].parent
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]
