"""The space of archived days given back (issue 17), in a real PostgreSQL: the archived
days' partitions truncated once no older read needs them, never a row another read or a
late write still needs; reads of positions of one moment (``REPEATABLE READ``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from records import T0, Rec, write
from test_archive import DAY3, VESSELS, _fill

from seawatch.labels import Reader, parse_label
from seawatch.settings import Settings
from seawatch.store import Store, open_store
from seawatch.store.archive import TABLE, archive, archived_days
from seawatch.store.archive_reclaim import reclaim
from seawatch.store.pg_parts import partition_name
from seawatch.store.query import Query

DAYS = [T0, T0 + timedelta(days=1)]
PARTS = [partition_name(d.date()) for d in DAYS]


@pytest.fixture
def pg(pg_url: str, node: Settings) -> Iterator[Store]:
    """A PostgreSQL store of 20 positions over three days, two labels."""
    with open_store(pg_url, node) as store:
        yield _fill(store)


def heap_bytes(store: Store, part: str) -> int:
    got = store.backend.fetch(
        "SELECT pg_relation_size(?::regclass) AS n", [part], pa.schema([("n", pa.int64())])
    )
    return int(got.column(0)[0].as_py())


def keys(q: Query) -> list[int]:
    return sorted(q.positions().column("msg_key").to_pylist())


def test_archived_partitions_are_truncated(pg: Store, tmp_path: Path) -> None:
    q = Query(pg, Reader.node_admin("test"))
    before = q.positions().to_pylist()
    assert all(heap_bytes(pg, p) > 0 for p in PARTS)
    done = archive(pg, DAY3, tmp_path / "arch")
    assert [d.day for d in done.days] == DAYS
    assert done.reclaimed.partitions == PARTS
    assert done.reclaimed.bytes > 0
    assert done.reclaimed.waiting_for == []
    assert [heap_bytes(pg, p) for p in PARTS] == [0, 0]
    assert heap_bytes(pg, partition_name(DAY3.date())) > 0  # the open day stays
    assert q.positions().to_pylist() == before  # read from the files now
    again = archive(pg, DAY3)  # nothing new: nothing truncated again
    assert again.days == []
    assert again.reclaimed.partitions == []


def test_an_older_read_keeps_its_rows_and_delays_the_truncation(pg: Store, tmp_path: Path) -> None:
    admin = Reader.node_admin("test")
    whole = keys(Query(pg, admin))
    with pg.read_session() as session, session.backend.snapshot():
        reader = Query(session, admin)
        assert keys(reader) == whole  # its snapshot is taken
        done = archive(pg, DAY3, tmp_path / "arch", wait_s=0.3)
        assert done.reclaimed.waiting_for != []  # the reader's session
        assert done.reclaimed.partitions == []
        assert all(heap_bytes(pg, p) > 0 for p in PARTS)
        assert keys(reader) == whole  # still the rows of its moment, each once
    assert keys(Query(pg, admin)) == whole  # a new read: table and files
    later = archive(pg, DAY3)  # the next run gives the space back
    assert later.days == []
    assert later.reclaimed.partitions == PARTS


def test_a_reopened_day_is_not_truncated(pg: Store, tmp_path: Path) -> None:
    admin = Reader.node_admin("test")
    with pg.read_session() as session, session.backend.snapshot():
        keys(Query(session, admin))
        archive(pg, DAY3, tmp_path / "arch", wait_s=0.1)  # nothing truncated yet
    listed = [(d.day, d.path) for d in archived_days(pg)]
    u = parse_label("UNCLASSIFIED", pg.policy)
    write(pg, [Rec(99, VESSELS[0], u, minute=30, lat=10, lon=85)])  # re-opens the first day
    assert [d.day for d in archived_days(pg)] == DAYS[1:]
    done = reclaim(pg, tmp_path / "arch", TABLE, lambda: listed, wait_s=5)
    assert done.partitions == PARTS[1:]  # the re-opened day keeps its rows
    assert heap_bytes(pg, PARTS[0]) > 0
    assert 99 in keys(Query(pg, admin))
    assert len(keys(Query(pg, admin))) == 21
