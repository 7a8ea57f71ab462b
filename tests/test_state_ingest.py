"""``seawatch ingest --detect --incremental``: runs over successive hours of a simulation,
each resuming from the state the last one left, store what one run over all of them stores;
running a day again changes nothing; a damaged state file is a clear error naming it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import platformdirs
import pytest
from click.testing import CliRunner, Result

from seawatch.cli.main import cli
from seawatch.sim import SimConfig, simulate

ENV = {"SEAWATCH_NODE_NATION": "IND"}


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("sim")
    simulate(SimConfig(seed=2, vessels=8, hours=4), out)
    files = sorted(out.glob("ais-*.nmea"))
    assert len(files) == 4
    return files


def ingest(db: Path, files: list[Path], watermark: str, *more: str) -> Result:
    args = ["ingest", *map(str, files), "--detect", "--incremental", "--db", str(db)]
    res = CliRunner().invoke(cli, [*args, "--watermark", watermark, *more], env=ENV)
    return res


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
            rows = con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}").fetchall()
            out[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


def test_hourly_runs_store_what_one_run_stores(sim: list[Path], tmp_path: Path) -> None:
    whole = tmp_path / "whole.duckdb"
    res = ingest(whole, sim, "2025-06-01T04:00Z")
    assert res.exit_code == 0, res.output
    daily = tmp_path / "daily.duckdb"
    for i, (files, until) in enumerate(
        ((sim[:1], "01:00"), (sim[1:3], "03:00"), (sim[3:], "04:00"))
    ):
        res = ingest(daily, files, f"2025-06-01T{until}Z")
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
