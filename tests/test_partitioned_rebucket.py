"""Daily runs of the partitioned engines with another ``--buckets`` than the last run: the
carried state is re-split per vessel (:mod:`seawatch.engine.rebucket`). Day 1 with N buckets
then day 2 with M store what one run over both days stores, byte for byte (canonical
digests, as tests/test_partitioned_daily.py), on the partitioned engine (any N, M and cut,
rows left waiting in the state included) and on a Dask cluster; the stage across vessels'
state is carried as it is; a run killed while re-splitting leaves the previous state; rows
older than a change of bucket count are refused precisely, later ones run again."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from partitioned_days import Days, _us, canonical, cut, run
from seawatch.engine import rebucket
from seawatch.engine.late import tree_digest
from seawatch.engine.state import StateStore
from seawatch.errors import InputError
from test_partitioned_late import late_day


@pytest.mark.parametrize(("first", "then"), [(7, 3), (1, 64), (64, 1), (5, 7)])
def test_day_2_with_other_buckets_gives_the_one_run_answer(
    days: Days, reference: dict[str, str], tmp_path: Path, first: int, then: int
) -> None:
    day1, day2, midnight, end = days
    run(tmp_path, "r", [(day1, midnight)], "partitioned", buckets=first)
    assert run(tmp_path, "r", [(day2, end)], "partitioned", buckets=then) == reference
    states = StateStore(tmp_path / "r-states")
    _, record = states.load(f"p{then:04d}-run", midnight) or (0, {})
    assert record["rebucketed_from"] == first
    assert set(record["kept"]) <= set(range(then))
    # the stage across vessels is per run, not per bucket: carried as it is
    old, new = (states.load(f"p{n:04d}-across", midnight) for n in (first, then))
    assert old is not None
    assert new is not None
    assert tree_digest(old[1]) == tree_digest(new[1])
    assert states.watermarks(f"p{first:04d}-run") == [midnight]  # the old states untouched


@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    counts=st.lists(st.integers(1, 16), min_size=3, max_size=3),  # 64: the cases above
    minutes=st.lists(st.integers(-360, 220), min_size=2, max_size=2, unique=True),
    wait=st.lists(st.booleans(), min_size=2, max_size=2),
)
def test_runs_with_any_bucket_counts_and_cuts_give_the_one_run_answer(
    midnight: datetime, reference: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
    counts: list[int], minutes: list[int], wait: list[bool],
) -> None:  # fmt: skip
    """Three runs cut anywhere from 18:00 on day 1 to 03:40 on day 2, each with its own
    bucket count; the first two without a watermark or not (their last reorder window then
    waits in the states that are re-split)."""
    tmp = tmp_path_factory.mktemp("any")
    at = [midnight + timedelta(minutes=m) for m in sorted(minutes)]
    pieces = cut(tmp, at)
    if not all(pieces):
        reject()
    ends = [None if w else _us(t) for w, t in zip(wait, at, strict=True)]
    ends.append(_us(midnight + timedelta(days=1)))
    db = tmp / "any.duckdb"
    try:
        for files, until, n in zip(pieces, ends, counts, strict=True):
            got = run(tmp, "any", [(files, until)], "partitioned", buckets=n, shuffle=n)
    except InputError as exc:  # all of a piece's rows wait in the state: nothing to end
        assert "give a later --watermark" in str(exc)  # noqa: PT017
        reject()
    assert got == reference
    assert canonical(db) == reference


def test_dask_daily_runs_with_other_buckets_give_the_one_run_answer(
    days: Days, reference: dict[str, str], tmp_path: Path, scheduler: str
) -> None:
    day1, day2, midnight, end = days
    run(tmp_path, "dask", [(day1, midnight)], "dask", buckets=7, scheduler=scheduler)
    got = run(tmp_path, "dask", [(day2, end)], "dask", buckets=64, scheduler=scheduler)
    assert got == reference
    run(tmp_path, "back", [(day1, midnight)], "dask", buckets=64, scheduler=scheduler)
    got = run(tmp_path, "back", [(day2, end)], "partitioned", buckets=2)
    assert got == reference


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}  # fmt: skip


def test_a_run_killed_while_re_splitting_leaves_the_previous_state(
    days: Days, reference: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed before the new count's record: the files written are named by no record and
    never read; the store and the old states are as they were; the next run re-splits
    again and gives the answer (so does one with the old count)."""
    day1, day2, midnight, end = days
    run(tmp_path, "k", [(day1, midnight)], "partitioned", buckets=7)
    states = tmp_path / "k-states"
    before, files = canonical(tmp_path / "k.duckdb"), _files(states)
    real = StateStore.save

    def killed(self: StateStore, bucket: str, *args: Any, **kwargs: Any) -> Any:
        if bucket == "p0003-run":
            raise RuntimeError("killed")
        return real(self, bucket, *args, **kwargs)

    monkeypatch.setattr(StateStore, "save", killed)
    with pytest.raises(RuntimeError, match="killed"):
        run(tmp_path, "k", [(day2, end)], "partitioned", buckets=3)
    monkeypatch.undo()
    assert canonical(tmp_path / "k.duckdb") == before
    assert {k: v for k, v in _files(states).items() if k.startswith("p0007")} == files
    assert list(states.glob("p0003-b*"))  # written, named by no record
    assert not StateStore(states).watermarks("p0003-run")
    assert run(tmp_path, "k", [(day2, end)], "partitioned", buckets=3) == reference


def test_late_rows_after_a_change_of_buckets(
    midnight: datetime, reference: dict[str, str], tmp_path: Path
) -> None:
    """Rows older than the run that changed the count are refused (the runs before it keep
    their journals per old bucket), with the store and states as they were; given with the
    old count first, they run again; rows of a run made after the change run again."""
    (early, at), (day2, end), (late, _) = late_day(tmp_path, midnight)
    run(tmp_path, "l", [(early, at)], "partitioned", buckets=7)
    with pytest.raises(InputError, match="older than the last daily run, made with --buckets 7"):
        run(tmp_path, "l", [([*late, *day2], end)], "partitioned", buckets=5)
    states = tmp_path / "l-states"
    assert not list(states.glob("p0005-*"))  # refused before anything is re-split
    run(tmp_path, "l", [(day2, end)], "partitioned", buckets=5)
    files, before = _files(states), canonical(tmp_path / "l.duckdb")
    with pytest.raises(InputError, match="older than the change of --buckets from 7 to 5"):
        run(tmp_path, "l", [(late, end)], "partitioned", buckets=5)
    assert _files(states) == files
    assert canonical(tmp_path / "l.duckdb") == before
    # the same late rows in a store that changed the count before them: they run again
    day1 = cut(tmp_path / "m", [midnight])[0]
    morning = cut(tmp_path / "n", [midnight + timedelta(hours=2)])
    run(tmp_path, "m", [(day1, _us(midnight))], "partitioned", buckets=7)
    run(tmp_path, "m", [(morning[1], end)], "partitioned", buckets=5)
    early2 = cut(tmp_path / "o", [midnight, midnight + timedelta(hours=2)])[1]
    assert run(tmp_path, "m", [(early2, end)], "partitioned", buckets=5) == reference
    assert rebucket.TRACK_MMSI  # the detectors keyed by segment whose tracks are re-split
