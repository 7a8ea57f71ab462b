"""Daily runs of the partitioned engine (``ingest --detect --incremental --engine partitioned
|dask``): day 1 then day 2 as two runs store what one run over both stores, and what the
local engine's daily runs store, byte for byte (canonical digests,
:func:`seawatch.engine.canonical.digest`); a run killed by an exception in a task leaves the
previous state, and running the day again gives the clean answer; the other engine's
states and rows of a past day that cannot be run again are refused, not silently different
(another bucket count: tests/test_partitioned_rebucket.py).

The data, helpers and clusters are tests/partitioned_days.py's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from partitioned_days import Days, _us, canonical, cut, run
from seawatch.cli.main import cli
from seawatch.engine import across
from seawatch.engine.state import StateFileError, StateStore
from seawatch.errors import InputError


def test_the_local_engines_daily_runs_give_the_one_run_answer(
    days: Days, reference: dict[str, str], tmp_path: Path
) -> None:
    day1, day2, midnight, end = days
    assert run(tmp_path, "local", [(day1, midnight), (day2, end)]) == reference


@pytest.mark.parametrize("engine", ["local", "partitioned", "dask"])
def test_a_day_split_mid_way_and_runs_that_leave_rows_waiting_give_the_one_run_answer(
    midnight: datetime, reference: dict[str, str], tmp_path: Path, engine: str,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    """Day 1, then day 2 in two runs cut at 04:00; the first two without a watermark (their
    last reorder window waits in the state, its rows naming the input they came from)."""
    day1, early, late = cut(tmp_path, [midnight, midnight + timedelta(hours=4)])
    runs = [(day1, None), (early, None), (late, _us(midnight + timedelta(days=1)))]
    options: dict[str, Any] = {} if engine == "local" else {"buckets": 7}
    if engine == "dask":
        options["scheduler"] = request.getfixturevalue("scheduler")
    assert run(tmp_path, "split", runs, engine, **options) == reference


@pytest.mark.parametrize("buckets", [1, 7, 64, 256])
def test_partitioned_daily_runs_give_the_one_run_answer(
    days: Days, reference: dict[str, str], tmp_path: Path,
    buckets: int,
) -> None:  # fmt: skip
    day1, day2, midnight, end = days
    got = run(tmp_path, "daily", [(day1, midnight), (day2, end)], "partitioned",
              buckets=buckets, shuffle=buckets)  # fmt: skip
    assert got == reference
    assert run(tmp_path, "whole", [(day1 + day2, end)], "partitioned", buckets=buckets) == got


def test_dask_daily_runs_give_the_one_run_answer(
    days: Days, reference: dict[str, str], tmp_path: Path, scheduler: str
) -> None:
    """On the 2-worker cluster (daily runs on 1 worker: tests/test_partitioned_late.py's,
    so this module starts one cluster, not two)."""
    day1, day2, midnight, end = days
    for buckets in (7, 64):
        got = run(tmp_path, f"dask{buckets}", [(day1, midnight), (day2, end)], "dask",
                  buckets=buckets, scheduler=scheduler)  # fmt: skip
        assert got == reference


def test_a_task_failing_on_the_cluster_leaves_the_previous_state(
    days: Days, reference: dict[str, str], tmp_path: Path, scheduler: str
) -> None:
    """Day 2's stage across vessels fails on a worker (the state it resumes from damaged):
    the run raises, no record names day 2; with the file back, day 2 again (over what the
    failed run had stored meanwhile) gives the answer."""
    day1, day2, midnight, end = days
    run(tmp_path, "fail", [(day1, midnight)], "dask", buckets=7, scheduler=scheduler)
    states = StateStore(tmp_path / "fail-states")
    path = states.path("p0007-across", midnight)
    good = path.read_bytes()
    path.write_bytes(b"garbage")
    with pytest.raises(StateFileError, match="p0007-across"):
        run(tmp_path, "fail", [(day2, end)], "dask", buckets=7, scheduler=scheduler)
    assert states.watermarks("p0007-run") == [midnight]
    path.write_bytes(good)
    got = run(tmp_path, "fail", [(day2, end)], "dask", buckets=7, scheduler=scheduler)
    assert got == reference


def test_a_run_killed_by_a_task_leaves_the_previous_state(
    days: Days, reference: dict[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Day 2's last task across vessels raises after every bucket kept its state: no record
    names that watermark, so running day 2 again resumes from day 1's and gives the answer."""
    day1, day2, midnight, end = days
    run(tmp_path, "killed", [(day1, midnight)], "partitioned", buckets=7)
    real = across.across_task

    def failing(prev: Any, cfg: Any, day: int, outs: Any, last: bool) -> Any:
        if last:
            raise RuntimeError("worker lost")
        return real(prev, cfg, day, outs, last)

    monkeypatch.setattr("seawatch.engine.dask_engine.across_task", failing)
    with pytest.raises(RuntimeError, match="worker lost"):
        run(tmp_path, "killed", [(day2, end)], "partitioned", buckets=7)
    monkeypatch.undo()
    states = StateStore(tmp_path / "killed-states")
    assert states.watermarks("p0007-run") == [midnight]
    kept = [p.name for p in states.root.iterdir() if states.path(p.name, end).exists()]
    assert kept  # the buckets' files of the killed run, which nothing reads
    stray = states.path("p0007-b0099", midnight)  # a file day 1's record does not name
    stray.parent.mkdir()
    stray.write_bytes(b"garbage")
    assert run(tmp_path, "killed", [(day2, end)], "partitioned", buckets=7) == reference
    assert states.watermarks("p0007-run") == [midnight, end]
    # day 2 once more: its inputs are in the latest record, so it resumes from day 1's
    assert run(tmp_path, "killed", [(day2, end)], "partitioned", buckets=7) == reference


def test_what_a_partitioned_daily_run_cannot_do_is_refused(days: Days, tmp_path: Path) -> None:
    """Rows of a past day in a run that changes the bucket count, the other engine's states,
    rows of a run that cannot be run again (made before runs kept journals): an InputError
    that says what to do, the store and the states left as they were."""
    day1, day2, midnight, end = days
    run(tmp_path, "p", [(day2, end)], "partitioned", buckets=7)
    before = canonical(tmp_path / "p.duckdb")
    with pytest.raises(InputError, match="older than the last daily run, made with --buckets 7"):
        run(tmp_path, "p", [(day1, midnight)], "partitioned", buckets=64)
    assert not list((tmp_path / "p-states").glob("p0064-*"))
    with pytest.raises(InputError, match="made by the partitioned engine"):
        run(tmp_path, "p", [(day1, midnight)])
    states = StateStore(tmp_path / "p-states")
    _, record = states.load("p0007-run", end) or (0, {})
    states.save("p0007-run", end, {k: v for k, v in record.items() if k != "journal"})
    with pytest.raises(InputError, match="older than any daily run this store can run again"):
        run(tmp_path, "p", [(day1, midnight)], "partitioned", buckets=7)
    assert canonical(tmp_path / "p.duckdb") == before
    assert states.watermarks("p0007-run") == [end]
    run(tmp_path, "l", [(day1, midnight)])
    with pytest.raises(InputError, match="made by --engine local"):
        run(tmp_path, "l", [(day2, end)], "partitioned", buckets=7)


def test_the_cli_runs_days_on_the_partitioned_engine(
    days: Days, reference: dict[str, str], tmp_path: Path
) -> None:
    day1, day2, midnight, end = days
    db = tmp_path / "cli.duckdb"
    env = {"SEAWATCH_NODE_NATION": "IND"}
    for files, until in ((day1, midnight), (day2, end)):
        stamp = datetime.fromtimestamp(until / 1e6, UTC).strftime("%Y-%m-%dT%H:%MZ")
        args = ["ingest", *map(str, files), "--detect", "--incremental", "--db", str(db),
                "--watermark", stamp, "--engine", "partitioned", "--buckets", "7"]  # fmt: skip
        res = CliRunner().invoke(cli, args, env=env)
        assert res.exit_code == 0, res.output
    assert canonical(db) == reference
    res = CliRunner().invoke(cli, [*args[:-1], "64"], env=env)  # day 2 again, 64 buckets
    assert res.exit_code == 0, res.output  # the states re-split (engine.rebucket)
    assert canonical(db) == reference


def test_the_summary_counts_what_was_read_as_the_local_engine_does(
    days: Days, tmp_path: Path
) -> None:
    """The loader hands the store windows of released positions, not the input: the line
    still says how many positions and statics were read (it said 0 positions)."""
    day1, _, _, _ = days
    env = {"SEAWATCH_NODE_NATION": "IND"}
    read = {}
    for engine in ("local", "partitioned"):
        args = ["ingest", *map(str, day1), "--detect", "--db", str(tmp_path / f"{engine}.duckdb"),
                "--engine", engine]  # fmt: skip
        res = CliRunner().invoke(cli, args, env=env)
        assert res.exit_code == 0, res.output
        found = re.search(r"read (\d+) positions, (\d+) statics; stored (\d+) new positions "
                          r"\(of (\d+) read\)", res.output)  # fmt: skip
        assert found is not None, res.output
        read[engine] = found.groups()
    assert read["partitioned"] == read["local"]
    assert int(read["local"][0]) > 0


def test_a_run_that_would_end_where_the_last_one_did_is_refused(
    midnight: datetime, tmp_path: Path
) -> None:
    """Its files would replace those of the run it resumes from: refused, nothing kept."""
    day1, minute, _ = cut(tmp_path, [midnight, midnight + timedelta(minutes=1)])
    run(tmp_path, "same", [(day1, _us(midnight))], "partitioned", buckets=7)
    with pytest.raises(InputError, match="give a later --watermark"):
        run(tmp_path, "same", [(minute, _us(midnight))], "partitioned", buckets=7)
    assert StateStore(tmp_path / "same-states").watermarks("p0007-run") == [_us(midnight)]


def test_rows_without_a_time_are_not_rows_of_a_past_day(days: Days, tmp_path: Path) -> None:
    """Partitioned with the oldest rows, they do not make a daily run refuse: it stores what
    the local engine's stores."""
    day1, day2, midnight, end = days
    rows = pq.read_table(day2[0]).slice(0, 3)
    i = rows.schema.get_field_index("ts")
    rows = rows.set_column(i, rows.schema.field(i), pa.nulls(3, rows.schema.field(i).type))
    pq.write_table(rows, tmp_path / "untimed.parquet")
    runs: list[tuple[list[Path], int | None]] = [
        (day1, midnight),
        ([*day2, tmp_path / "untimed.parquet"], end),
    ]
    want = run(tmp_path, "local", runs)
    assert run(tmp_path, "p", runs, "partitioned", buckets=7) == want
