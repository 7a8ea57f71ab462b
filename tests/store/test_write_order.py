"""Write order (schema 7), on each backend: every write of positions, statics and events
draws a number from the sequence (a replaced event a new one), queries never return it,
:meth:`Query.written` reads by it, and :meth:`Store.settled_seq` holds back while a write
that drew a number is still open in another connection."""

from __future__ import annotations

import datetime as dt
import threading

import pyarrow as pa

from seawatch.labels import Reader, parse_label
from seawatch.store import TABLES, Store
from seawatch.store.query import Query

T0 = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
TS = TABLES["positions"].arrow_schema().field("ts").type


def _positions(store: Store, keys: range, lid: int) -> None:
    n = len(keys)
    store.write(
        "positions",
        pa.table(
            {
                "msg_key": pa.array(keys, pa.int64()),
                "ts": pa.array([T0 + dt.timedelta(minutes=k) for k in keys], TS),
                "mmsi": pa.array([419000001] * n, pa.int32()),
                "lat": [10.0] * n,
                "lon": [85.0] * n,
                "label_id": pa.array([lid] * n, pa.int32()),
            }
        ),
    )


def _event(store: Store, lid: int, end: dt.datetime) -> None:
    store.write(
        "events",
        pa.table(
            {
                "event_id": ["e1"],
                "event_type": ["gap"],
                "start_ts": pa.array([T0], TS),
                "end_ts": pa.array([end], TS),
                "label_id": pa.array([lid], pa.int32()),
            }
        ),
    )


def test_writes_are_numbered_and_read_by_number(store: Store) -> None:
    with store.transaction():
        lid = store.label_id(parse_label("UNCLASSIFIED", store.policy))
    q = Query(store, Reader("IND", "SECRET"))
    assert store.settled_seq(1.0) == 0  # nothing drawn yet
    _positions(store, range(0, 10), lid)
    first = store.settled_seq(1.0)
    assert first is not None
    assert first > 0
    _positions(store, range(10, 15), lid)
    _positions(store, range(5, 12), lid)  # stored keys: nothing new
    assert "seq" not in q.positions().column_names  # never returned
    assert q.written("positions", [lid]).num_rows == 15
    assert q.written("positions", [lid], after_seq=first).num_rows == 5
    assert q.written("positions", [lid], upto_seq=first).num_rows == 10
    later = T0 + dt.timedelta(minutes=7)
    assert q.written("positions", [lid], upto_seq=first, time_after=later).num_rows == 2
    assert q.written("positions", [lid + 1]).num_rows == 0  # another label

    _event(store, lid, T0 + dt.timedelta(hours=1))
    before = store.settled_seq(1.0)
    assert before is not None
    assert q.written("events", [lid], after_seq=before).num_rows == 0
    _event(store, lid, T0 + dt.timedelta(hours=2))  # grew: replaced, written anew
    assert q.written("events", [lid], after_seq=before).num_rows == 1
    # by the event's end (its start while open)
    assert q.written("events", [lid], time_after=T0 + dt.timedelta(hours=1)).num_rows == 1
    assert q.written("events", [lid], time_after=T0 + dt.timedelta(hours=2)).num_rows == 0
    # the largest number per table, in one query (a release skips a table not written since)
    last = q.last_written(("positions", "statics", "events"))
    assert last["statics"] == 0
    assert first < last["positions"] <= before
    assert last["events"] > before


def test_an_open_write_holds_the_settled_number_back(store: Store) -> None:
    with store.transaction():
        lid = store.label_id(parse_label("UNCLASSIFIED", store.policy))
    drawn, finish = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with store.write_session() as session, session.transaction():
                _positions(session, range(0, 3), lid)
                drawn.set()
                finish.wait(30)
        except BaseException as exc:
            errors.append(exc)
            drawn.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert drawn.wait(30)
        assert store.settled_seq(0.2) is None
    finally:
        finish.set()
        thread.join(30)
    assert not errors
    settled = store.settled_seq(1.0)
    assert settled is not None
    assert settled > 0
    q = Query(store, Reader("IND", "SECRET"))
    assert q.written("positions", [lid], upto_seq=settled).num_rows == 3
