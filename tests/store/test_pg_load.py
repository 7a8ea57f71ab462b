"""PostgreSQL bulk loads (``Store.loading``, :mod:`seawatch.store.pg_load`) with a real
server: the same rows and answers as the indexed way over random chunks with repeated
messages and late days, days unseen until complete, the write-number cursor held below a
load, a failed finish and a killed client leaving the previous state and the chunks kept."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime

import numpy as np
import psycopg
import pyarrow as pa
import pytest

from seawatch.labels import Reader, parse_label
from seawatch.settings import Settings, load_settings
from seawatch.store import TABLES, Store, open_store, pg_load, pg_writers
from seawatch.store import postgres as pg_backend
from seawatch.store.query import Query

DAY_US = 86_400_000_000
T0_US = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp() * 1_000_000)
N = pa.schema([pa.field("n", pa.int64())])
TS = TABLES["positions"].arrow_schema().field("ts").type


def _settings(writers: int) -> Settings:
    return load_settings(env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DB_WRITERS": str(writers)})


@pytest.fixture(autouse=True)
def _small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parallel writes from 100 rows per writer (the default threshold is for real chunks).
    And a parallel write's lock wait gives up after 0.5 s, not 10: the indexed way below
    writes every chunk in one transaction, so a writer's slice that repeats a message of an
    earlier chunk waits for the coordinator's own transaction until it times out and the
    chunk falls back to one connection (the same rows: only sooner; 10 s a chunk was 80 of
    this file's ~100 s)."""
    monkeypatch.setattr(pg_backend, "MIN_ROWS_PER_WRITER", 100)
    monkeypatch.setattr(pg_writers, "LOCK_TIMEOUT", "500ms")


def messages(rng: np.random.Generator, n: int, days: int) -> dict[str, np.ndarray]:
    """``n`` distinct messages over ``days`` days (a message: its key, time and place)."""
    i = np.arange(n, dtype=np.int64)
    return {
        "msg_key": i * 7919 + 13,
        "ts": T0_US + rng.integers(0, days * DAY_US // 1_000_000, n) * 1_000_000,
        "mmsi": 419_000_000 + rng.integers(0, 40, n),
        "lat": rng.uniform(5.0, 15.0, n),
        "lon": rng.uniform(80.0, 90.0, n),
    }


def chunk(
    store: Store, msgs: dict[str, np.ndarray], pick: np.ndarray, rng: np.random.Generator
) -> pa.Table:
    """The messages ``pick`` (repeats allowed), each heard by a random station or none, with
    one of two labels; a message's copies differ in station and speed only."""
    labels = [
        store.label_id(parse_label("UNCLASSIFIED", store.policy)),
        store.label_id(parse_label("SECRET//REL TO IND", store.policy, originator="IND")),
    ]
    n = len(pick)
    stations = np.array(["rx-a", "rx-b", "rx-c", None], dtype=object)[rng.integers(0, 4, n)]
    return pa.table(
        {
            "msg_key": pa.array(msgs["msg_key"][pick]),
            "ts": pa.array(msgs["ts"][pick], pa.int64()).cast(TS),
            "mmsi": pa.array(msgs["mmsi"][pick], pa.int32()),
            "label_id": pa.array(np.array(labels)[msgs["msg_key"][pick] % 2], pa.int32()),
            "msg_type": pa.array(np.ones(n), pa.int8()),
            "lat": pa.array(msgs["lat"][pick]),
            "lon": pa.array(msgs["lon"][pick]),
            "speed_kn": pa.array(rng.uniform(0, 20, n)),
            "station": pa.array(stations, pa.string()),
        }
    )


def count(store: Store, sql: str = "SELECT count(*) AS n FROM positions") -> int:
    return int(store.backend.fetch(sql, (), N).column(0)[0].as_py())


def answers(store: Store) -> list[pa.Table]:
    """What readers get: all positions, a day in a box, a vessel's track, the latest."""
    q = Query(store, Reader.parse("IND:SECRET", store.policy))
    day = datetime(2024, 3, 2, tzinfo=UTC)
    box = (82.0, 8.0, 86.0, 12.0)
    return [
        q.positions(),
        q.positions(bbox=box, start=day, end=day.replace(day=3)),
        q.track(419_000_007),
        q.latest(bbox=box),
        Query(store, Reader.parse("USA:SECRET", store.policy)).positions(),
    ]


@pytest.mark.parametrize("writers", [1, 2])
def test_load_stores_what_the_indexed_way_stores(pg_server, writers: int) -> None:  # type: ignore[no-untyped-def]
    """Random chunks over five days, messages repeated within and across chunks (other
    stations), day 1 stored before the load, days 2-4 finished before the last chunk's
    rows for them (late data): the same rows, the same answers."""
    for seed in range(2):
        rng = np.random.default_rng(seed)
        msgs = messages(rng, 3000, 5)
        day1 = np.flatnonzero(msgs["ts"] < T0_US + DAY_US)[:200]
        picks = [np.sort(rng.choice(3000, 900)) for _ in range(5)]  # sorted: days advance
        picks[2] = np.concatenate([picks[2], picks[0][:50]])  # a chunk repeats another's
        picks[3] = np.flatnonzero(msgs["ts"] >= T0_US + 4 * DAY_US)[:300]  # days 2-4 finished
        picks[4] = np.sort(np.concatenate([picks[4], picks[1][:100]]))  # late, repeated
        urls = [pg_server.create_database(f"load_{writers}_{seed}_{i}") for i in range(2)]
        got = []
        for url, loaded in zip(urls, (False, True), strict=True):
            with open_store(url, _settings(writers)) as store:
                r = np.random.default_rng(seed + 100)  # the same stations in both stores
                with store.transaction():
                    store.write("positions", chunk(store, msgs, day1, r))
                with store.loading() if loaded else store.transaction():
                    for pick in picks:
                        with store.transaction():
                            store.write("positions", chunk(store, msgs, pick, r))
                got.append(answers(store))
                assert (
                    count(
                        store,
                        "SELECT count(*) AS n FROM pg_class WHERE relname LIKE 'positions_l%'",
                    )
                    == 0
                )
        for indexed, loaded in zip(*got, strict=True):
            assert loaded.num_rows > 0
            assert loaded.equals(indexed)
        for name in [f"load_{writers}_{seed}_{i}" for i in range(2)]:
            pg_server.drop_database(name)


def test_days_unseen_until_complete(pg_url: str) -> None:
    """During a load a reader sees the day stored before it, none of the days being loaded;
    the cursor of write numbers stays below the load; after it, everything."""
    rng = np.random.default_rng(1)
    msgs = messages(rng, 2000, 3)
    with open_store(pg_url, _settings(2)) as store, store.read_session() as reader:
        first = np.flatnonzero(msgs["ts"] < T0_US + DAY_US)
        later = np.flatnonzero(msgs["ts"] >= T0_US + DAY_US)
        with store.transaction():
            store.write("positions", chunk(store, msgs, first, rng))
        settled = store.settled_seq()
        assert settled is not None
        with store.loading():
            with store.transaction():
                store.write("positions", chunk(store, msgs, later, rng))
            assert count(reader) == len(first)  # the new days: not there
            assert count(store) == len(first)
            assert store.settled_seq() == settled + 0  # nothing past the load's first number
            with store.transaction():  # day 1 again (late data): indexed, seen at once
                store.write("positions", chunk(store, msgs, first[:10], rng))
            assert count(reader) == len(first)
        assert count(reader) == 2000
        final = store.settled_seq()
        assert final is not None
        assert count(reader, "SELECT max(seq) AS n FROM positions") <= final


def test_failed_finish_leaves_the_day_unseen_and_kept(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A finish that fails after its index builds (before the attach commits) rolls back:
    the day unseen, its rows kept in the loading table; `db maintain` finishes it."""
    rng = np.random.default_rng(2)
    msgs = messages(rng, 1000, 2)
    real = pg_load._indexes

    def broken(con, part):  # type: ignore[no-untyped-def]
        return [*real(con, part), (False, f"{part}_x", "USING btree (no_such_column)")]

    with open_store(pg_url, _settings(2)) as store:
        monkeypatch.setattr(pg_load, "_indexes", broken)
        with (
            pytest.raises(Exception, match="no_such_column"),
            store.loading(),
            store.transaction(),
        ):
            store.write("positions", chunk(store, msgs, np.arange(1000), rng))
        assert count(store) == 0
        assert count(store, "SELECT count(*) AS n FROM positions_l20240301") > 0
        assert (
            count(store, "SELECT count(*) AS n FROM pg_indexes WHERE tablename LIKE 'positions_l%'")
            == 0
        )
        monkeypatch.setattr(pg_load, "_indexes", real)
        assert store.backend.maintain()[:2] == ["positions_l20240301", "positions_l20240302"]
        assert count(store) == 1000


_VICTIM = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from seawatch.store import open_store
from seawatch.store import postgres
from test_pg_load import messages, chunk, _settings
from test_pg_writers import log_row
postgres.MIN_ROWS_PER_WRITER = 100
rng = np.random.default_rng(5)
msgs = messages(rng, 100_000, 2)
store = open_store(sys.argv[1], _settings(2))
with store.loading():
    for n in range(1000):
        with store.transaction():
            pick = np.arange(n * 500, n * 500 + 500) % 100_000
            store.write("positions", chunk(store, msgs, pick, rng))
            store.write("ingest_log", log_row(n, 500))
        print(n, flush=True)
"""


def test_client_killed_mid_load(pg_url: str) -> None:
    """SIGKILL the loading process after some chunks: readers see none of its days; the
    chunks logged are kept; the next load finishes the days with every logged chunk's rows."""
    here = os.path.dirname(__file__)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAWATCH_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", _VICTIM, pg_url, here], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    try:
        for _ in range(5):
            proc.stdout.readline()
        time.sleep(random.uniform(0, 0.2))  # somewhere in a later chunk
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    with psycopg.connect(pg_url, autocommit=True) as con:  # the server ends its sessions
        for _ in range(200):
            row = con.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'seawatch'"
            ).fetchone()
            if row and row[0] == 0:
                break
            time.sleep(0.05)
    with open_store(pg_url, _settings(2)) as store:
        assert count(store) == 0  # the previous state: no day
        chunks = store.counts()["ingest_log"]
        assert chunks >= 5
        with store.loading():  # finishes the days the crash left
            pass
        assert count(store) == chunks * 500
        assert (
            count(store, "SELECT count(DISTINCT (ts, msg_key)) AS n FROM positions") == chunks * 500
        )
        assert {date(2024, 3, 1), date(2024, 3, 2)} >= {
            r["d"]
            for r in store.backend.fetch(
                "SELECT DISTINCT ts::date AS d FROM positions",
                (),
                pa.schema([pa.field("d", pa.date32())]),
            ).to_pylist()
        }
