"""Daily runs of the partitioned engine with another ``--buckets`` than the last run: the
carried state is re-split per vessel (:mod:`seawatch.engine.rebucket`), and day 1 with N
buckets then day 2 with M store what one run over both days stores, byte for byte
(canonical digests, as tests/test_partitioned_daily.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from test_partitioned_daily import Days, days, midnight, reference, run

__all__ = ["days", "midnight", "reference"]


@pytest.mark.parametrize(("first", "then"), [(7, 3), (1, 64), (64, 1), (5, 7)])
def test_day_2_with_other_buckets_gives_the_one_run_answer(
    days: Days, reference: dict[str, str], tmp_path: Path, first: int, then: int
) -> None:
    day1, day2, midnight, end = days
    run(tmp_path, "r", [(day1, midnight)], "partitioned", buckets=first)
    assert run(tmp_path, "r", [(day2, end)], "partitioned", buckets=then) == reference
