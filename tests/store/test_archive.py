"""Closed days archived to GeoParquet (issue 17): queries read the database and the archive
as one, through the same label filter; late rows re-open a day; PostgreSQL refuses.

The property: for random labels and readers, every positions query (area and time,
tracks, latest, counts, pages, the write-order read) gives after archiving exactly what
it gave before, and never a row the reader may not read (the oracle is
``test_label_property.rule``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from records import T0, Rec, clear, write
from test_label_property import labels, readers, rule
from test_late_days_backends import _START_US, _canonical, days, hourly_runs, whole_run

from seawatch.engine.ingest import ingest
from seawatch.engine.state import StateStore
from seawatch.errors import StoreError
from seawatch.labels import Label, Reader, parse_label
from seawatch.settings import Settings
from seawatch.store import Store, open_store
from seawatch.store.archive import archive, archived_days
from seawatch.store.query import Query
from seawatch.store.summary import count, extent

__all__ = ["days"]  # a fixture: test_late_days_backends' five hourly runs and late rows

DAY3 = T0 + timedelta(days=2)  # archive the records' first two days, keep the third
VESSELS = [419000000 + v for v in range(4)]


def _extent(q: Query) -> tuple[Any, ...]:
    e = extent(q, "positions")
    return (e.bbox, e.start, e.end, sorted(e.labels.column("label_id").to_pylist()))


def answers(q: Query) -> dict[str, Any]:
    """Every positions query's rows, as Python values."""
    window = {"start": T0 + timedelta(hours=20), "end": T0 + timedelta(hours=50)}
    out: dict[str, Any] = {
        "all": q.positions().to_pylist(),
        "area": q.positions(bbox=(80, 0, 100, 20), **window).to_pylist(),
        "counts": q.count_positions().to_pylist(),
        "counts_window": q.count_positions(**window).to_pylist(),
        "latest": q.latest(bbox=(80, 0, 100, 20)).to_pylist(),
        "latest_window": q.latest(**window).to_pylist(),
        "written": q.written("positions", q.allowed()).to_pylist() if q.allowed() else [],
        "summary": count(q, "positions", **window).total,
        "extent": _extent(q),
    }
    for mmsi in VESSELS:
        out[f"track{mmsi}"] = q.track(mmsi, T0, T0 + timedelta(days=3)).to_pylist()
    pages, after = [], None
    while True:
        page = q.page("positions", limit=3, after=after)
        pages += page.rows.to_pylist()
        if page.next is None:
            break
        after = page.next
    out["pages"] = pages
    return out


DAY_RECORDS = st.lists(
    st.tuples(labels(), st.integers(0, 3), st.integers(0, 3 * 1440 - 1)), min_size=1, max_size=14
)
"""Records as (label, vessel index, minute of three days)."""


def spread(records: list[tuple[Label, int, int]]) -> list[Rec]:
    """:data:`DAY_RECORDS` as positions, each a little apart."""
    return [
        Rec(k, VESSELS[v], label, minute=m, lat=10 + k / 10, lon=85 + k / 10)
        for k, (label, v, m) in enumerate(records)
    ]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=DAY_RECORDS, reader=readers)
def test_archived_store_answers_as_the_unarchived_one(
    store: Store, records: list[tuple[Label, int, int]], reader: Reader
) -> None:
    clear(store)
    with store.transaction():
        store.backend.execute("DELETE FROM archive_days")
    with tempfile.TemporaryDirectory() as tmp:
        recs = spread(records)
        write(store, recs)
        q = Query(store, reader)
        before = answers(q)
        done = archive(store, DAY3, Path(tmp) / "archive")
        assert done.rows == sum(1 for r in recs if r.minute < 2 * 1440)
        assert store.counts()["positions"] == len(recs) - done.rows  # moved, not copied
        after = answers(q)
        assert after == before
        allowed = {r.key for r in recs if rule(reader, r.label)}
        assert {row["msg_key"] for row in after["all"]} == allowed
        ids = store.labels()
        for rows in after.values():
            for row in rows if isinstance(rows, list) else []:
                if isinstance(row, dict) and "label_id" in row:
                    assert rule(reader, ids[row["label_id"]])


def _fill(store: Store) -> Store:
    p = store.policy
    u = parse_label("UNCLASSIFIED", p)
    sec = parse_label("SECRET//REL TO IND", p, originator="IND")
    write(
        store,
        [
            Rec(k, VESSELS[k % 4], u if k % 3 else sec, minute=k * 200, lat=10 + k / 10, lon=85)
            for k in range(20)
        ],
    )
    return store


@pytest.fixture
def three_days(tmp_path: Path, node: Settings) -> Iterator[Store]:
    """A DuckDB store of 20 positions over three days, two labels."""
    with open_store(tmp_path / "s.duckdb", node) as store:
        yield _fill(store)


def _admin(store: Store) -> Query:
    return Query(store, Reader.node_admin("test"))


def test_archive_and_reopen_in_each_backend(store: Store, tmp_path: Path) -> None:
    _fill(store)
    q = Query(store, Reader.node_admin("test"))
    before = q.positions().to_pylist()
    if store.backend.dialect.name != "duckdb":  # no file to put the archive beside
        with pytest.raises(StoreError, match="give the archive folder"):
            archive(store, DAY3)
    done = archive(store, DAY3, tmp_path / "arch")
    assert [d.day for d in done.days] == [T0, T0 + timedelta(days=1)]
    assert store.counts()["positions"] == 20 - done.rows
    assert q.positions().to_pylist() == before
    u = parse_label("UNCLASSIFIED", store.policy)
    write(store, [Rec(0, VESSELS[0], u, minute=0, lat=10, lon=85)])  # a copy: stored once
    assert [d.day for d in archived_days(store)] == [T0 + timedelta(days=1)]
    assert q.positions().to_pylist() == before
    assert archive(store, DAY3).days[0].day == T0
    assert q.positions().to_pylist() == before


def test_files_are_geoparquet_by_day_with_labels(three_days: Store) -> None:
    done = archive(three_days, DAY3)
    assert [d.day for d in done.days] == [T0, T0 + timedelta(days=1)]
    for d in done.days:
        assert d.file.startswith(f"day={d.day:%Y-%m-%d}/part-")
        table = pq.read_table(d.path)
        assert table.num_rows == d.rows
        assert {"label_id", "msg_key", "ts", "geometry"} <= set(table.column_names)
        meta = table.schema.metadata
        assert b"geo" in meta
        assert b"SECRET//NOFORN" in meta[b"seawatch"]
    assert not list(done.folder.rglob("*.tmp"))


def test_late_rows_reopen_an_archived_day(three_days: Store) -> None:
    q = _admin(three_days)
    before = q.positions().to_pylist()
    done = archive(three_days, DAY3)
    first = done.days[0]
    u = parse_label("UNCLASSIFIED", three_days.policy)
    # a copy of an archived row (stored once) and a new row of that day
    write(three_days, [Rec(0, VESSELS[0], u, minute=0, lat=10, lon=85)])
    write(three_days, [Rec(99, VESSELS[1], u, minute=30, lat=11, lon=86)])
    assert [d.day for d in archived_days(three_days)] == [T0 + timedelta(days=1)]
    rows = q.positions().to_pylist()
    assert [r["msg_key"] for r in rows if r["msg_key"] != 99] == [r["msg_key"] for r in before]
    assert sum(r["msg_key"] == 99 for r in rows) == 1
    again = archive(three_days, DAY3)  # the re-opened day goes back; its old file is removed
    assert [d.day for d in again.days] == [T0]
    assert not first.path.exists()
    assert q.positions().to_pylist() == rows
    assert three_days.counts()["positions"] == sum(r["ts"] >= DAY3 for r in rows)


def test_archive_folder_is_the_recorded_one(three_days: Store, tmp_path: Path) -> None:
    archive(three_days, T0 + timedelta(days=1), tmp_path / "arch")
    with pytest.raises(StoreError, match="one archive folder per store"):
        archive(three_days, DAY3, tmp_path / "elsewhere")
    assert archive(three_days, DAY3).folder == (tmp_path / "arch").resolve()


def test_before_must_be_timezone_aware(three_days: Store) -> None:
    with pytest.raises(StoreError, match="timezone-aware"):
        archive(three_days, datetime(2024, 3, 3))  # noqa: DTZ001
    assert archive(three_days, datetime(2024, 3, 2, tzinfo=UTC)).rows > 0


def test_late_rows_rerun_an_archived_day(
    node: Settings, days: tuple[list[Path], Path], tmp_path: Path
) -> None:
    """Daily runs, the day archived (past the command line's closed-day limit), then late
    rows for it: the re-run re-opens the day from its file and stores what one run over
    everything stores."""
    files, late = days
    whole, url = str(tmp_path / "whole.duckdb"), str(tmp_path / "s.duckdb")
    whole_run(whole, node, files, late, tmp_path)
    states = StateStore(tmp_path / "state")
    with open_store(url, node) as store:
        hourly_runs(store, node, files, states)
        done = archive(store, datetime.fromtimestamp(_START_US / 1e6, UTC) + timedelta(days=1))
        assert done.rows > 0
        assert store.counts()["positions"] == 0
        report = ingest(store, [late], node, detect=True, states=states)
        assert archived_days(store) == []  # re-opened
    assert report.rerun is not None
    assert report.rerun.days >= 1
    assert _canonical(url, node) == _canonical(whole, node)


def test_a_day_reopened_while_a_query_reads_is_read_once(
    three_days: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reading thread lists the archived days; the writer re-opens one (late rows) and
    commits before the reader's query runs: the reader's snapshot still reads it once."""
    import seawatch.store.archive_read as read_module

    archive(three_days, DAY3)
    u = parse_label("UNCLASSIFIED", three_days.policy)
    listed = read_module.positions_source

    def reopen_meanwhile(store: Store, start: Any, end: Any, *table: str) -> str:
        source = listed(store, start, end, *table)
        if archived_days(three_days):  # the writer, on its own connection: a late row
            write(three_days, [Rec(99, VESSELS[1], u, minute=30, lat=11, lon=86)])
        return source

    with three_days.read_session() as session:
        q = Query(session, Reader.node_admin("test"))
        expected = q.positions().to_pylist()
        monkeypatch.setattr(read_module, "positions_source", reopen_meanwhile)
        got = q.positions().to_pylist()
        assert [d.day for d in archived_days(three_days)] == [T0 + timedelta(days=1)]
        monkeypatch.undo()
        keys = [r["msg_key"] for r in got]
        assert keys == [r["msg_key"] for r in expected]  # the moment before the late row
        after = [r["msg_key"] for r in q.positions().to_pylist()]
    assert sorted(after) == sorted([*keys, 99])


@pytest.mark.parametrize("keep", [45, 2], ids=["first-run-kept", "two-kept"])
def test_cli_keeps_days_the_late_data_machinery_can_run_again(
    days: tuple[list[Path], Path], tmp_path: Path, keep: int
) -> None:
    """`db archive` archives only days before the oldest daily-run state kept, and nothing
    while the first run's state (which can run again from nothing) is kept."""
    from click.testing import CliRunner

    from seawatch.cli.main import cli
    from seawatch.engine.state import state_dir
    from seawatch.settings import load_settings

    files, _ = days
    env = {"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DATA_DIR": str(tmp_path / "data")}
    settings = load_settings(env=env)
    db = str(tmp_path / "s.duckdb")
    with open_store(db, settings) as store:
        states = StateStore(state_dir(settings.data_dir, store.backend.display), keep=keep)
        hourly_runs(store, settings, files, states)
        n = store.counts()["positions"]
    res = CliRunner().invoke(cli, ["db", "archive", "--before", "2025-06-03", "--db", db], env=env)
    assert res.exit_code == 0, res.output
    assert "0 day(s) archived" in res.stdout
    why = "the first daily run (all) can run again" if keep == 45 else "2025-06-01 04:00Z"
    assert why in res.stderr
    with open_store(db, settings) as store:
        assert store.counts()["positions"] == n
