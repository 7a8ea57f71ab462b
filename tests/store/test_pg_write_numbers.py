"""Write numbers of PostgreSQL COPYs (:func:`seawatch.store.pg_writers.numbered`) with a real
server: one number drawn for each COPY's rows, in its writer's transaction, so a chunk's
rows carry a few numbers (at most one per writer and day), all after those of earlier
chunks, the indexed way and a bulk load alike; a reader's ``written(after_seq=...)`` reads
exactly the later chunk's rows; and a loading table's repeated message whose copies share
a number is still removed once (the first kept)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import psycopg
import pytest
from test_pg_load import _settings, chunk, count, messages

from seawatch.labels import Reader
from seawatch.store import open_store, pg_load, pg_writers
from seawatch.store import postgres as pg_backend
from seawatch.store.query import Query


@pytest.fixture(autouse=True)
def _small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parallel writes from 100 rows per writer (the default threshold is for real chunks)."""
    monkeypatch.setattr(pg_backend, "MIN_ROWS_PER_WRITER", 100)
    monkeypatch.setattr(pg_writers, "LOCK_TIMEOUT", "500ms")


def _numbers(store, where: str = "") -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    """(rows, distinct write numbers, smallest, largest) of ``positions``."""
    sql = f"SELECT {{}} AS n FROM positions {where}"
    return (
        count(store, sql.format("count(*)")),
        count(store, sql.format("count(DISTINCT seq)")),
        count(store, sql.format("min(seq)")),
        count(store, sql.format("max(seq)")),
    )


@pytest.mark.parametrize("writers", [1, 2])
def test_a_copy_draws_one_number(pg_server, writers: int) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    msgs = messages(rng, 4000, 3)
    order = np.argsort(msgs["ts"], kind="stable")
    first, second = np.sort(order[:2000]), np.sort(order[2000:])  # days 1-2, then 2-3
    url = pg_server.create_database(f"numbers_{writers}")
    with open_store(url, _settings(writers)) as store:
        with store.transaction():  # the indexed way (no partition has rows yet: COPY)
            store.write("positions", chunk(store, msgs, first, rng))
        rows, distinct, lo, hi = _numbers(store)
        assert rows == 2000
        assert 1 <= lo <= hi
        assert 1 <= distinct <= writers * 2  # a COPY per writer and day at most
        with store.loading(), store.transaction():  # day 3 loaded, day 2 the indexed way
            store.write("positions", chunk(store, msgs, second, rng))
        rows2, distinct2, lo2, hi2 = _numbers(store, f"WHERE seq > {hi}")
        assert rows2 == 2000
        assert 1 <= distinct2 <= writers * 2
        assert lo2 > hi
        assert count(store, f"SELECT count(*) AS n FROM positions WHERE seq <= {hi}") == 2000
        got = store.backend.con.execute("SELECT DISTINCT label_id FROM positions").fetchall()
        labels = [int(r[0]) for r in got]
        q = Query(store, Reader.parse("IND:SECRET", store.policy))
        assert q.written("positions", labels, after_seq=hi).num_rows == 2000
        assert q.written("positions", labels, after_seq=hi2).num_rows == 0


def test_repeats_of_one_number_removed_once(pg_url: str) -> None:
    open_store(pg_url, _settings(1)).close()  # the schema made
    with psycopg.connect(pg_url, autocommit=True) as con:
        name = pg_load.loading_name(datetime(2024, 3, 1, tzinfo=UTC).date())
        con.execute(f"CREATE TABLE {name} (LIKE positions INCLUDING DEFAULTS)")
        con.execute(
            f"INSERT INTO {name} (msg_key, ts, mmsi, lat, lon, label_id, station, seq) VALUES "
            "(1, '2024-03-01 01:00+00', 419000001, 10, 85, 1, 'first', 5), "
            "(1, '2024-03-01 01:00+00', 419000001, 10, 85, 1, 'again', 5), "
            "(1, '2024-03-01 01:00+00', 419000001, 10, 85, 1, 'later', 9), "
            "(2, '2024-03-01 01:00+00', 419000002, 11, 86, 1, 'other', 5)"
        )
        assert pg_load._dedupe(con, name) == 2
        kept = con.execute(f"SELECT msg_key, station FROM {name} ORDER BY msg_key").fetchall()
        assert kept == [(1, "first"), (2, "other")]
