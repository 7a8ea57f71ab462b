"""One writer and many readers in one process: while a thread writes positions in
transactions, reading threads, each in its own read session, query without errors and see
only committed, label-permitted rows (in each backend)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from seawatch.errors import StoreError
from seawatch.labels import Reader, parse_label
from seawatch.store import TABLES, Store
from seawatch.store.query import Query

TS = TABLES["positions"].arrow_schema().field("ts").type
BATCH = 50  # rows per label per transaction
T0 = datetime(2025, 6, 1, tzinfo=UTC)


def _batch(n: int, open_id: int, closed_id: int) -> pa.Table:
    keys = list(range(n * 2 * BATCH + 1, (n + 1) * 2 * BATCH + 1))
    return pa.table(
        {
            "msg_key": pa.array(keys, pa.int64()),
            "ts": pa.array([T0 + timedelta(seconds=k) for k in keys], TS),
            "mmsi": pa.array([419000000 + k % 7 for k in keys], pa.int32()),
            "msg_type": pa.array([1] * len(keys), pa.int8()),
            "lat": [10.0 + (k % 100) / 100 for k in keys],
            "lon": [85.0 + (k % 100) / 100 for k in keys],
            "speed_kn": [10.0] * len(keys),
            "label_id": pa.array([open_id, closed_id] * BATCH, pa.int32()),
        }
    )


def test_readers_see_only_committed_permitted_rows_while_one_thread_writes(store: Store) -> None:
    policy = store.policy
    with store.transaction():
        open_id = store.label_id(parse_label("SECRET//REL TO IND, USA", policy, originator="IND"))
        closed_id = store.label_id(parse_label("SECRET//NOFORN", policy, originator="IND"))
    reader = Reader.parse("USA:SECRET", policy)
    batches, readers = 12, 3
    done = threading.Event()
    errors: list[BaseException] = []
    seen: list[list[int]] = [[] for _ in range(readers)]

    def write() -> None:
        try:
            for n in range(batches):
                with store.transaction():
                    store.write("positions", _batch(n, open_id, closed_id))
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    def read(i: int) -> None:
        try:
            with store.read_session() as session:
                q = Query(session, reader)
                while True:
                    finished = done.is_set()
                    rows = q.positions()
                    assert set(rows.column("label_id").to_pylist()) <= {open_id}
                    page = q.page("positions", limit=7)
                    assert set(page.rows.column("label_id").to_pylist()) <= {open_id}
                    seen[i].append(rows.num_rows)
                    if finished:
                        break
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(readers)]
    threads.append(threading.Thread(target=write))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    for counts in seen:
        assert counts, "a reader never read"
        assert all(c % BATCH == 0 for c in counts)  # whole transactions only
        assert counts == sorted(counts)  # what was committed stays visible
        assert counts[-1] == batches * BATCH  # after the writer finished: everything
    # the store is still the writer's, and a session closes without closing it
    assert Query(store, reader).positions().num_rows == batches * BATCH


def test_a_session_is_its_own_connection(store: Store) -> None:
    with store.read_session() as session:
        assert session.backend is not store.backend
        assert session.policy is store.policy
        assert session.version() == store.version()
    assert store.version() is not None  # still open
    if store.backend.dialect.name == "postgresql":  # read-only: a write is refused
        with store.read_session() as session, pytest.raises(StoreError):
            session.backend.execute("DELETE FROM positions")
