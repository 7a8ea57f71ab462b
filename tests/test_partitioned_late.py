"""Late data for a past day on the partitioned engine (``ingest --detect --incremental
--engine partitioned|dask``): late rows of day 1 given after day 2 run day 1 again and day 2
in the buckets whose state changed (:mod:`seawatch.engine.partition_late`), storing what one
run over everything stores, byte for byte (canonical digests), in process with any bucket
count and task order and on LocalClusters of 1 and 2 workers; a bucket whose state comes out
unchanged stops; a run failing meanwhile leaves the store and the states as they were.

The data, helpers and clusters are tests/partitioned_days.py's.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partitioned_days import _us, canonical, cut, run
from seawatch.engine import across
from seawatch.engine.partition_journal import commit, roll_forward
from seawatch.engine.state import StateStore


def late_day(tmp: Path, at: datetime) -> list[tuple[list[Path], int | None]]:
    """Day 1 without its last 3 hours, day 2, then those 3 hours (late: rows of every
    bucket for a day already run)."""
    early, late, day2 = cut(tmp, [at - timedelta(hours=3), at])
    end = _us(at + timedelta(days=1))
    return [(early, _us(at)), (day2, end), (late, end)]


@settings(max_examples=3, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(buckets=st.integers(1, 64), seed=st.integers(0, 2**16))
def test_late_rows_of_day_1_after_day_2_give_the_one_run_answer(
    midnight: datetime, reference: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
    buckets: int, seed: int,
) -> None:  # fmt: skip
    tmp = tmp_path_factory.mktemp("late")
    reports: list[Any] = []
    got = run(tmp, "late", late_day(tmp, midnight), "partitioned", reports, buckets=buckets,
              shuffle=seed)  # fmt: skip
    assert got == reference
    rerun = reports[-1].rerun
    assert rerun.days == 2
    assert rerun.first_us is None  # day 1 was the first run
    assert 1 <= rerun.buckets <= 2 * buckets  # day 1's buckets with late rows, then day 2's


@pytest.mark.parametrize("workers", [1, 2])
def test_late_rows_of_a_past_day_on_a_cluster_give_the_one_run_answer(
    midnight: datetime, reference: dict[str, str], tmp_path: Path, scheduler: str,
    scheduler_one: str, workers: int,
) -> None:  # fmt: skip
    runs = late_day(tmp_path, midnight)
    if workers == 2:
        assert run(tmp_path, "dask2", runs, "dask", buckets=5, scheduler=scheduler) == reference
        return
    got = run(tmp_path, "dask1", runs, "dask", buckets=16, scheduler=scheduler_one)
    assert got == reference


def test_late_rows_given_with_the_next_day_give_the_one_run_answer(
    midnight: datetime, reference: dict[str, str], tmp_path: Path
) -> None:
    """Day 1 without its last 3 hours, then those hours with day 2 in one run: day 1 runs
    again first, then day 2 resumes from its new states."""
    (early, _), (day2, end), (late, _) = late_day(tmp_path, midnight)
    reports: list[Any] = []
    runs = [(early, _us(midnight)), ([*late, *day2], end)]
    assert run(tmp_path, "with", runs, "partitioned", reports, buckets=7) == reference
    assert reports[-1].rerun.days == 1


def one_vessel_late(tmp: Path, midnight: datetime) -> list[tuple[list[Path], int | None]]:
    """Day 1 but two hours of one vessel's positions, day 2, then those two hours."""
    day1, day2 = cut(tmp, [midnight])
    lo, hi = midnight - timedelta(hours=5), midnight - timedelta(hours=3)
    table = pq.read_table(day1[0])  # positions
    ts = table.column("ts")
    window = pc.and_(pc.greater_equal(ts, pa.scalar(lo, ts.type)),
                     pc.less(ts, pa.scalar(hi, ts.type)))  # fmt: skip
    counts = table.filter(window).group_by("mmsi").aggregate([("ts", "count")])
    mmsi = counts.sort_by([("ts_count", "descending")]).column("mmsi")[0]
    late = pc.and_(window, pc.equal(table.column("mmsi"), mmsi))
    pq.write_table(table.filter(pc.invert(late)), tmp / "day1-but.parquet")
    pq.write_table(table.filter(late), tmp / "one-vessel.parquet")
    end = _us(midnight + timedelta(days=1))
    return [([tmp / "day1-but.parquet", *day1[1:]], _us(midnight)), (day2, end),
            ([tmp / "one-vessel.parquet"], end)]  # fmt: skip


def test_late_rows_of_one_vessel_run_again_its_bucket_only(
    midnight: datetime, reference: dict[str, str], tmp_path: Path
) -> None:
    """Its bucket runs day 1 again, then day 2 (its state at midnight changed); the other
    buckets run nothing again."""
    reports: list[Any] = []
    runs = one_vessel_late(tmp_path, midnight)
    assert run(tmp_path, "one", runs, "partitioned", reports, buckets=16) == reference
    rerun = reports[-1].rerun
    assert (rerun.days, rerun.buckets) == (2, 2)  # of 2 days x 16 buckets
    assert "(run, bucket) chains" in reports[-1].summary()


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.relative_to(root).parts[0].startswith(".rerun")}  # fmt: skip


def test_a_run_failing_while_running_past_days_again_leaves_the_last_result(
    midnight: datetime, reference: dict[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """It fails in day 2's stage across vessels (day 1 run again, its files staged): the
    store and the states are as they were; then it fails after the store committed, before
    the states' renames: running it again writes the same. Then it gives the answer."""
    runs = late_day(tmp_path, midnight)
    run(tmp_path, "fail", runs[:2], "partitioned", buckets=7)
    states = tmp_path / "fail-states"
    before, files = canonical(tmp_path / "fail.duckdb"), _files(states)
    real = across.across_task

    def failing(prev: Any, cfg: Any, day: int, outs: Any, last: bool) -> Any:
        if cfg.carry.staged and cfg.carry.resume_us is not None:  # the second run again
            raise RuntimeError("worker lost")
        return real(prev, cfg, day, outs, last)

    monkeypatch.setattr("seawatch.engine.dask_engine.across_task", failing)
    with pytest.raises(RuntimeError, match="worker lost"):
        run(tmp_path, "fail", runs[2:], "partitioned", buckets=7)
    monkeypatch.undo()
    assert canonical(tmp_path / "fail.duckdb") == before
    assert _files(states) == files
    assert any(p.name.startswith(".rerun-") for p in states.iterdir())  # staged, never read

    def no_renames(*args: Any) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr("seawatch.engine.partition_late.commit", no_renames)
    with pytest.raises(RuntimeError, match="killed"):
        run(tmp_path, "fail", runs[2:], "partitioned", buckets=7)
    monkeypatch.undo()
    assert _files(states) == files
    assert run(tmp_path, "fail", runs[2:], "partitioned", buckets=7) == reference
    assert not any(p.name.startswith(".rerun") for p in states.iterdir())


def test_renames_cut_short_are_finished_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed while the staged files of past runs run again replace the old ones (after the
    record of the renames): the next run's :func:`roll_forward` finishes them."""
    root = tmp_path / "states"
    staged = root / ".rerun-test"
    for b in (0, 1):
        StateStore(root).save(f"p0002-b000{b}", 5_000_000, {"old": b})
        StateStore(staged).save(f"p0002-b000{b}", 5_000_000, {"new": b})
    real, moved = os.replace, []

    def killed(src: Any, dst: Any) -> None:
        if ".rerun-test" in str(src):
            if moved:
                raise OSError("killed")
            moved.append(src)
        real(src, dst)

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(OSError, match="killed"):
        commit(root, staged, [])
    monkeypatch.undo()
    found = [StateStore(root).load(f"p0002-b000{b}") for b in (0, 1)]
    assert sorted(str(f[1]) for f in found if f) == ["{'new': 0}", "{'old': 1}"]
    roll_forward(root)
    found = [StateStore(root).load(f"p0002-b000{b}") for b in (0, 1)]
    assert [f[1] for f in found if f] == [{"new": 0}, {"new": 1}]
    assert sorted(p.name for p in root.iterdir()) == ["p0002-b0000", "p0002-b0001"]
