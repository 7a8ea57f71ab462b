"""DuckDB's copy of closed days in vessel order (``db maintain``, store/duck_tracks.py): every
positions query answers what it answers without the copy, after ``db maintain`` and after
each change of positions that follows it (late rows of a copied day, a retraction's delete,
an archived day, any other statement), and never a row the reader may not read.

The oracle is the same store with the copy switched off (``until`` null: every read goes to
``positions``), so each check compares two reads of one database.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from records import T0, Rec, write
from test_archive import DAY_RECORDS, VESSELS, answers, spread
from test_label_property import readers, rule

from seawatch.labels import Label, Reader, parse_label
from seawatch.settings import Settings
from seawatch.store import Store, open_store
from seawatch.store.archive import archive
from seawatch.store.duck_tracks import COPY, UNTIL, until
from seawatch.store.query import Query


@contextmanager
def _without_copy(store: Store) -> Iterator[None]:
    kept = until(store.backend)  # type: ignore[arg-type]
    store.backend.execute(f"UPDATE {UNTIL} SET until = NULL")
    try:
        yield
    finally:
        store.backend.execute(f"UPDATE {UNTIL} SET until = ?", [kept])


def _same(store: Store, q: Query) -> dict[str, Any]:
    got = answers(q)
    with _without_copy(store):
        assert got == answers(q)
    return got


def _copied(store: Store) -> int:
    rows = store.backend.con.execute(f"SELECT count(*) FROM {COPY}").fetchall()  # type: ignore[attr-defined]
    return int(rows[0][0])


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=DAY_RECORDS, reader=readers)
def test_tracks_from_the_copy_answer_as_positions(
    node: Settings, records: list[tuple[Label, int, int]], reader: Reader
) -> None:
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "s.duckdb", node) as store:
        recs = spread(records)
        write(store, recs)
        q = Query(store, reader)
        before = answers(q)
        store.backend.maintain()
        newest = max(r.minute for r in recs) // 1440
        assert _copied(store) == sum(1 for r in recs if r.minute // 1440 < newest)
        assert _same(store, q) == before
        # late rows of the first (copied) day: read from positions again, none lost
        copied = until(store.backend)  # type: ignore[arg-type]
        write(store, [Rec(100 + i, VESSELS[i], records[0][0], minute=5 + i) for i in range(2)])
        assert until(store.backend) == (None if copied is None else T0)  # type: ignore[arg-type]
        store.backend.maintain()
        _same(store, q)
        # a retraction's delete runs on the copy too
        with store.transaction():
            store.backend.execute("DELETE FROM positions WHERE msg_key IN (?, ?)", [0, 100])
        after = _same(store, q)
        assert not any(row["msg_key"] in (0, 100) for row in after["all"])
        # an archived day leaves the copy with its rows
        archive(store, T0 + timedelta(days=1), Path(tmp) / "archive")
        _same(store, q)
        # any other change of positions: nothing is read from the copy until db maintain
        with store.transaction():
            store.backend.execute("UPDATE positions SET speed_kn = 1.0")
        assert until(store.backend) is None  # type: ignore[arg-type]
        store.backend.maintain()
        final = _same(store, q)
        ids = store.labels()
        for mmsi in VESSELS:
            assert all(rule(reader, ids[r["label_id"]]) for r in final[f"track{mmsi}"])


def test_maintain_copies_each_closed_day_once(tmp_path: Path, node: Settings) -> None:
    with open_store(tmp_path / "s.duckdb", node) as store:
        u = parse_label("UNCLASSIFIED", store.policy)
        write(store, [Rec(k, VESSELS[k % 4], u, minute=k * 200) for k in range(20)])
        done = store.backend.maintain()
        assert [d.split(": ")[1] for d in done] == ["2024-03-01", "2024-03-02"]
        assert store.backend.maintain() == []  # nothing new closed
        assert until(store.backend) == T0 + timedelta(days=2)  # type: ignore[arg-type]
        assert _copied(store) == sum(1 for k in range(20) if k * 200 < 2 * 1440)
        write(store, [Rec(50, VESSELS[0], u, minute=2 * 1440 + 700)])  # today's: kept
        assert until(store.backend) == T0 + timedelta(days=2)  # type: ignore[arg-type]
        assert COPY in store.backend.table_names()
        store.backend.execute("DELETE FROM positions WHERE msg_key = 1")  # no transaction
        q = Query(store, Reader.node_admin("test"))
        assert 1 not in q.track(VESSELS[1]).column("msg_key").to_pylist()
        # one vessel's closed days are read from the copy (a row taken out of positions
        # behind the backend's back is still there), other reads from positions
        con = store.backend.con  # type: ignore[attr-defined]
        con.execute("DELETE FROM positions WHERE msg_key = 0")
        assert 0 in q.track(VESSELS[0]).column("msg_key").to_pylist()
        assert 0 not in q.positions().column("msg_key").to_pylist()
