"""The partitioned run's loader names what it commits: the day and its load window, not the
first input's name with a chunk number that never moves (as it once did)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from seawatch.engine.ingest import ingest
from seawatch.engine.loader import load_step_us
from seawatch.settings import load_settings
from seawatch.sim.synth import write_sample
from seawatch.store import open_store


def test_each_load_window_is_logged_by_its_day_and_number(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    feed = tmp_path / "feed.nmea"
    write_sample(feed, vessels=8, minutes=20, seed=5)
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    store = open_store(tmp_path / "s.duckdb", settings)
    with caplog.at_level(logging.INFO, logger="seawatch"):
        ingest(store, [feed], settings, detect=True, engine="partitioned")
    stored = store.counts()["positions"]
    store.close()
    lines = [r.getMessage() for r in caplog.records if "committed" in r.getMessage()]
    found = [re.fullmatch(r"day (\d{4}-\d\d-\d\d), load window: chunk (\d+) committed .*", m)
             for m in lines]  # fmt: skip
    assert lines
    assert all(found), lines
    assert stored > 0
    numbers = [int(m.group(2)) for m in found if m]
    assert numbers == list(range(len(numbers)))  # one day: its windows 0, 1, ...
    assert "feed.nmea" not in " ".join(lines)


def test_a_window_is_the_day_until_the_day_is_dense() -> None:
    day_us = 86_400 * 1_000_000
    assert load_step_us(1000, 0, day_us) >= day_us
    assert load_step_us(20_000_000, 0, day_us) == day_us // 10  # ~2 M positions a window
    assert load_step_us(4_000_000_000, 0, day_us) == 60 * 1_000_000  # never under a minute
