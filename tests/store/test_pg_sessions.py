"""PostgreSQL read sessions kept between readers (store/pg_sessions.py): a reader's session
is an idle one given back before (the same server backends, the area read's second
connection too), still read-only, reading only committed, label-permitted rows as of its
own read; one given back inside a transaction, or whose connection the server ended, is
never handed out again; closing the store closes them."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from records import T0, Rec, write

from seawatch.errors import StoreError
from seawatch.labels import Reader, parse_label
from seawatch.settings import load_settings
from seawatch.store import Store, open_store
from seawatch.store.pg_sessions import KEEP
from seawatch.store.query import Query

BOX = (79.0, 8.0, 90.0, 17.0)
WINDOW = {"start": T0 - timedelta(hours=1), "end": T0 + timedelta(days=2)}


def _filled(store: Store, first: int = 0, n: int = 400) -> None:
    p = store.policy
    u = parse_label("UNCLASSIFIED", p)
    ind = parse_label("SECRET//REL TO IND", p, originator="IND")
    write(
        store,
        [
            Rec(k, 419000000 + k % 7, ind if k % 5 == 0 else u, minute=k % 1000, lat=lat, lon=80.0)
            for k, lat in ((k, 9.0 + (k % 80) * 0.09) for k in range(first, first + n))
        ],
    )


def _pids(session: Store) -> list[int]:
    return [c.info.backend_pid for c in session.backend.connections()]  # type: ignore[attr-defined]


def _server_pids(store: Store) -> set[int]:
    rows = store.backend.con.execute(  # type: ignore[attr-defined]
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    ).fetchall()
    return {int(r[0]) for r in rows}


def test_a_session_given_back_is_the_next_readers(pg_url: str) -> None:
    with open_store(pg_url, load_settings(env={})) as store:
        _filled(store)
        usa, ind = (Reader.parse(r, store.policy) for r in ("USA:SECRET", "IND:SECRET"))
        with store.read_session() as s:
            first = Query(s, usa).positions(bbox=BOX, **WINDOW)
            pids = _pids(s)
        assert len(pids) == 2  # its own connection and the area read's second one
        _filled(store, first=1000, n=100)  # committed after the session was given back
        with store.read_session() as s:
            assert _pids(s) == pids  # the same two server backends, not new ones
            again = Query(s, usa).positions(bbox=BOX, **WINDOW)
            allowed = Query(s, ind).positions(bbox=BOX, **WINDOW)
            with pytest.raises(StoreError):  # still read-only
                s.backend.execute("DELETE FROM positions")
        assert again.num_rows == first.num_rows + 80  # the rows committed since, as permitted
        assert allowed.num_rows == again.num_rows + 100  # the label filter as before
        assert set(again.column("label_id").to_pylist()) < set(
            allowed.column("label_id").to_pylist()
        )
        with store.read_session() as s:
            s.backend.close()  # closed twice (here and by the block): kept once
        with store.read_session() as a, store.read_session() as b:  # at once: two sessions
            assert set(_pids(a)).isdisjoint(_pids(b))
            assert Query(a, usa).positions(bbox=BOX, **WINDOW).equals(again)
            assert Query(b, usa).positions(bbox=BOX, **WINDOW).equals(again)


def test_a_session_in_a_transaction_or_ended_is_not_handed_out(pg_url: str) -> None:
    with open_store(pg_url, load_settings(env={})) as store:
        _filled(store)
        usa = Reader.parse("USA:SECRET", store.policy)
        with store.read_session() as s:
            expect = Query(s, usa).positions(bbox=BOX, **WINDOW)
            s.backend.con.execute("BEGIN")  # type: ignore[attr-defined]
            left_open = _pids(s)
        with store.read_session() as s:
            assert not set(_pids(s)) & set(left_open)  # closed, not kept
            assert Query(s, usa).positions(bbox=BOX, **WINDOW).equals(expect)
            ended = _pids(s)
        assert not _gone(store, set(left_open))
        for pid in (ended[1], ended[0]):  # the area read's connection, then its own
            store.backend.execute("SELECT pg_terminate_backend(?, 10000)", [pid])  # waits
            with store.read_session() as s:  # a working one, not the ended one
                assert pid not in _pids(s)
                assert Query(s, usa).positions(bbox=BOX, **WINDOW).equals(expect)
                ended = _pids(s)


def _gone(store: Store, pids: set[int], leave: int = 0) -> set[int]:
    """``pids`` still connected once at most ``leave`` are (a backend ends just after its
    client goes), or after 20 s."""
    deadline = time.monotonic() + 20
    while len(left := pids & _server_pids(store)) > leave and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_closing_the_store_closes_its_kept_sessions(pg_url: str) -> None:
    settings = load_settings(env={})
    with open_store(pg_url, settings) as admin, open_store(pg_url, settings) as store:
        _filled(store)
        usa = Reader.parse("USA:SECRET", store.policy)
        sessions = [store.read_session() for _ in range(KEEP + 2)]
        opened = [s.__enter__() for s in sessions]
        for s in opened:
            Query(s, usa).positions(bbox=BOX, **WINDOW)
        pids = {p for s in opened for p in _pids(s)}
        for cm in sessions:
            cm.__exit__(None, None, None)
        assert len(_gone(admin, pids, leave=2 * KEEP)) == 2 * KEEP  # KEEP kept, 2 closed
        store.close()
        assert not _gone(admin, pids)
