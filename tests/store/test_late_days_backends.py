"""Late data for a past day in each backend: five hourly daily runs, then day 2's held-out
rows, store what one run over everything stores (tests/test_late_days.py has the rest)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from seawatch.engine.ingest import ingest
from seawatch.engine.state import StateStore
from seawatch.settings import Settings
from seawatch.sim import SimConfig, simulate
from seawatch.store import Store, open_store
from seawatch.store.tables import TABLES

_ORDER = {"events": "event_id", "segments": "segment_id", "positions": "mmsi, ts, msg_key"}
_HOUR_US = 3_600_000_000
_START_US = 1_748_736_000_000_000  # 2025-06-01T00:00Z


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    out = tmp_path_factory.mktemp("sim5")
    simulate(SimConfig(seed=2, vessels=6, hours=5), out)
    files = sorted(out.glob("ais-*.nmea"))
    lines = files[1].read_text().splitlines(keepends=True)
    kept = [x for i, x in enumerate(lines) if i % 9 != 4 or "!AIVDM,1,1," not in x]
    late = [x for i, x in enumerate(lines) if i % 9 == 4 and "!AIVDM,1,1," in x]
    (out / "day2.nmea").write_text("".join(kept))
    (out / "late.nmea").write_text("".join(late))
    return [files[0], out / "day2.nmea", *files[2:]], out / "late.nmea"


def _canonical(url: str, node: Settings) -> dict[str, tuple[int, str]]:
    out = {}
    with open_store(url, node) as store:
        for table, order in _ORDER.items():
            tdef = TABLES[table]
            names = ", ".join(tdef.names)
            rows = store.backend.fetch(
                f"SELECT {names} FROM {table} ORDER BY {order}", (), tdef.arrow_schema()
            ).to_pylist()
            out[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


def whole_run(url: str, node: Settings, files: list[Path], late: Path, tmp: Path) -> None:
    """The reference: every file and the late rows in one run, into ``url``."""
    end = _START_US + 5 * _HOUR_US
    with open_store(url, node) as store:
        states = StateStore(tmp / "whole-state")
        ingest(store, [*files, late], node, detect=True, states=states, watermark_us=end)


def hourly_runs(store: Store, node: Settings, files: list[Path], states: StateStore) -> None:
    """One daily-style run per file, each closed at its hour's end, carrying ``states``."""
    for i, f in enumerate(files):
        until = _START_US + (i + 1) * _HOUR_US
        ingest(store, [f], node, detect=True, states=states, watermark_us=until)


def test_late_rows_of_a_past_day_in_each_backend(
    store_url: str, node: Settings, days: tuple[list[Path], Path], tmp_path: Path
) -> None:
    files, late = days
    whole = store_url.replace("store", "store0")
    whole_run(whole, node, files, late, tmp_path)
    states = StateStore(tmp_path / "state")
    with open_store(store_url, node) as store:
        hourly_runs(store, node, files, states)
        report = ingest(store, [late], node, detect=True, states=states)
    assert report.rerun is not None
    assert report.rerun.days >= 1
    assert report.rerun.first_us == _START_US + _HOUR_US
    assert report.late == 0
    want = _canonical(whole, node)
    assert want["events"][0] > 0
    assert _canonical(store_url, node) == want
