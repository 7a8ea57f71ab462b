"""An area's positions read in parts by several PostgreSQL connections at once
(:mod:`seawatch.store.pg_split`): the parts cover a box's latitudes once; the split read
answers what one connection answers, label filter included, in the read's one snapshot (rows
committed meanwhile by another writer are not seen by any part); a transaction that wrote
reads its own rows (one connection); a part's error is raised and the store reads again."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from records import T0, Rec, write

from seawatch.errors import StoreError
from seawatch.labels import Reader, parse_label
from seawatch.settings import load_settings
from seawatch.store import Store, open_store
from seawatch.store.query import Query
from seawatch.store.tables import TABLES
from seawatch.store.where import area_parts

BOX = (80.0, 9.75, 86.0, 15.25)
WINDOW = {"start": T0, "end": T0 + timedelta(days=1)}


@settings(max_examples=60, deadline=None)
@given(
    y0=st.floats(-90, 90),
    height=st.floats(0, 40),
    parts=st.integers(1, 4),
    lats=st.lists(st.floats(-90, 90), max_size=30),
)
def test_parts_cover_the_box_once(y0: float, height: float, parts: int, lats: list[float]) -> None:
    y1 = min(90.0, y0 + height)
    split = area_parts((0.0, y0, 1.0, y1), parts)
    assert split == [] or 2 <= len(split) <= parts
    values = [y0, y1, *lats, *[p for _, ps in split for p in ps]]
    inside = [v for v in values if y0 <= v <= y1]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (lat DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?)", [[v] for v in inside])
    counted = [
        con.execute(f"SELECT count(*) FROM t WHERE true{more}", ps).fetchone()[0]
        for more, ps in split
    ]
    if split:  # each row inside the band is in exactly one part
        assert sum(counted) == len(inside)
    if split and y1 - y0 >= parts:  # a tall band: cut at whole degrees (the stored cells)
        assert all(float(p).is_integer() for _, ps in split for p in ps)


def _filled(store: Store) -> None:
    p = store.policy
    u = parse_label("UNCLASSIFIED", p)
    ind = parse_label("SECRET//REL TO IND", p, originator="IND")
    write(
        store,
        [
            Rec(k, 419000000 + k % 7, ind if k % 5 == 0 else u, minute=k, lat=lat, lon=lon)
            for k, (lat, lon) in enumerate(
                (9.0 + (i % 80) * 0.09, 79.5 + (i // 80) * 0.35) for i in range(1600)
            )
        ],
    )


def _both(q: Query) -> tuple[object, object]:
    """The box read in parts, then in one (the same store and reader)."""
    backend = q.store.backend
    split = q.positions(bbox=BOX, **WINDOW)
    backend.read_parts = 1  # type: ignore[misc]
    try:
        one = q.positions(bbox=BOX, **WINDOW)
    finally:
        del backend.read_parts  # type: ignore[misc]
    return split, one


def test_split_read_answers_as_one(pg_url: str) -> None:
    with open_store(pg_url, load_settings(env={})) as store:
        _filled(store)
        assert store.backend.read_parts == 2
        for reader in ("IND:SECRET", "USA:SECRET"):
            q = Query(store, Reader.parse(reader, store.policy))
            split, one = _both(q)
            assert split.equals(one)  # type: ignore[attr-defined]
            assert 0 < split.num_rows < 1600  # type: ignore[attr-defined]
        assert len(store.backend._parts._cons) == 1  # type: ignore[attr-defined]
        denied = Query(store, Reader.parse("USA:SECRET", store.policy)).positions(bbox=BOX)
        allowed = Query(store, Reader.parse("IND:SECRET", store.policy)).positions(bbox=BOX)
        assert denied.num_rows < allowed.num_rows  # the label filter in both parts


def test_parts_share_one_snapshot(pg_url: str) -> None:
    """Rows another writer commits while a read is open are seen by none of its parts (a
    part on its own connection without the shared snapshot would see the northern ones)."""
    settings_ = load_settings(env={})
    with open_store(pg_url, settings_) as store, open_store(pg_url, settings_) as other:
        _filled(store)
        q = Query(store, Reader.parse("IND:SECRET", store.policy))
        with store.backend.snapshot():
            before = q.positions(bbox=BOX, **WINDOW)
            u = parse_label("UNCLASSIFIED", other.policy)
            write(
                other, [Rec(5000 + i, 419000099, u, minute=i, lat=14.0, lon=81.0) for i in range(3)]
            )
            write(
                other, [Rec(6000 + i, 419000099, u, minute=i, lat=10.0, lon=81.0) for i in range(3)]
            )
            during = q.positions(bbox=BOX, **WINDOW)
        assert len(store.backend._parts._cons) == 1  # type: ignore[attr-defined]
        assert during.equals(before)
        after = q.positions(bbox=BOX, **WINDOW)
        assert after.num_rows == before.num_rows + 6


def test_a_writing_transaction_reads_its_rows(pg_url: str) -> None:
    with open_store(pg_url, load_settings(env={})) as store:
        _filled(store)
        q = Query(store, Reader.parse("IND:SECRET", store.policy))
        before = q.positions(bbox=BOX, **WINDOW).num_rows
        u = parse_label("UNCLASSIFIED", store.policy)
        with store.transaction():
            write(store, [Rec(7000, 419000098, u, lat=14.0, lon=81.0)])
            write(store, [Rec(7001, 419000098, u, lat=10.0, lon=81.0)])
            assert q.positions(bbox=BOX, **WINDOW).num_rows == before + 2


def test_a_failing_part_raises_and_the_store_reads_again(pg_url: str) -> None:
    with open_store(pg_url, load_settings(env={})) as store:
        _filled(store)
        schema = TABLES["positions"].arrow_schema()
        cols = ", ".join(schema.names)
        good = f"SELECT {cols} FROM positions WHERE lat < ?"
        bad = f"SELECT {cols} FROM positions WHERE lat >= ? AND 1 / (mmsi - mmsi) = 1"
        with pytest.raises(StoreError, match="division by zero"), store.backend.snapshot():
            store.backend.fetch_parts([(good, [12.0]), (bad, [12.0])], schema)
        q = Query(store, Reader.parse("IND:SECRET", store.policy))
        split, one = _both(q)
        assert split.equals(one)  # type: ignore[attr-defined]


def test_a_lost_part_connection_is_opened_anew(pg_url: str) -> None:
    with open_store(pg_url, load_settings(env={})) as store:
        _filled(store)
        q = Query(store, Reader.parse("IND:SECRET", store.policy))
        first = q.positions(bbox=BOX, **WINDOW)
        (part,) = store.backend._parts._cons  # type: ignore[attr-defined]
        with open_store(pg_url, load_settings(env={})) as admin:
            admin.backend.execute("SELECT pg_terminate_backend(?)", [part.info.backend_pid])
        with pytest.raises(StoreError):  # the read that finds it lost
            q.positions(bbox=BOX, **WINDOW)
        assert q.positions(bbox=BOX, **WINDOW).equals(first)
        assert store.backend._parts._cons[0] is not part  # type: ignore[attr-defined]
