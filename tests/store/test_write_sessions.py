"""Two writers in one process (the server: live ingest on a write session, audit rows on
the store's own connection), in each backend: both commit, interleaved, and a label the
write session added is found by the store's own (stale) label cache, never given a second
id."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pyarrow as pa
from test_read_sessions import _batch

from seawatch.labels import Reader, parse_label
from seawatch.store import TABLES, Store
from seawatch.store.query import Query


def test_a_write_session_writes_while_the_store_writes(store: Store) -> None:
    policy = store.policy
    with store.transaction():
        first = store.label_id(parse_label("SECRET//REL TO IND, USA", policy, originator="IND"))
    errors: list[BaseException] = []
    with store.write_session() as writer:
        closed = parse_label("SECRET//NOFORN", policy, originator="IND")

        def ingest() -> None:
            try:
                for n in range(6):
                    with writer.transaction():
                        closed_id = writer.label_id(closed)
                        writer.write("positions", _batch(n, first, closed_id))
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=ingest)
        thread.start()
        schema = TABLES["audit"].arrow_schema()
        try:
            for k in range(6):
                row = {"audit_id": f"a{k}", "ts": datetime.now(UTC), "user_name": "ana"}
                row |= {"route": "/live", "query": "{}", "rows": k, "markings": ""}
                with store.transaction():
                    store.write("audit", pa.Table.from_pylist([row], schema))
        finally:
            thread.join()
    assert not errors, errors
    assert store.label_id(closed) == writer_id(store, closed)
    assert store.counts()["audit"] == 6
    rows = Query(store, Reader.node_admin("test")).positions().num_rows
    assert rows == 6 * 2 * 50


def writer_id(store: Store, label: object) -> int:
    (found,) = [i for i, lb in store.labels().items() if lb == label]
    return found
