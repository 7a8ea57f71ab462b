"""PostgreSQL's parallel writers (``db_writers``): a chunk's positions written over several
connections by two-phase commit, whole or not at all, with a real server: rows stored once
as with one connection, a failed chunk leaves nothing, prepared slices a crash left are
resolved by their coordinator's fate (committed or not), a client killed mid-chunk leaves
whole chunks only, and a server that allows no prepared transactions gets one writer."""

from __future__ import annotations

import itertools
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import numpy as np
import psycopg
import pyarrow as pa
import pytest

from seawatch.labels import parse_label
from seawatch.settings import Settings, load_settings
from seawatch.store import TABLES, Store, open_store, pg_writers
from seawatch.store import postgres as pg_backend
from seawatch.store.pg_writers import Writers, _dealt

T0_US = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp() * 1_000_000)
N = pa.schema([pa.field("n", pa.int64())])


def log_row(chunk: int, rows: int) -> pa.Table:
    """The ``ingest_log`` row of a chunk (the child scripts that are killed mid-load write them)."""
    return pa.table(
        {"fingerprint": ["f"], "chunk": [chunk], "input": ["x"], "run_id": ["r"], "rows": [rows],
         "inserted": [rows], "committed_at": [datetime.now(UTC)], "label": [None]},
        schema=TABLES["ingest_log"].arrow_schema(),
    )  # fmt: skip


def _settings(writers: int) -> Settings:
    return load_settings(env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DB_WRITERS": str(writers)})


def positions(store: Store, start: int, n: int) -> pa.Table:
    """``n`` positions with message keys ``start .. start + n - 1``, a minute apart, over
    a few degrees (several cells), unclassified."""
    label = store.label_id(parse_label("UNCLASSIFIED", store.policy))
    i = np.arange(start, start + n, dtype=np.int64)
    return pa.table(
        {
            "msg_key": pa.array(i),
            "ts": pa.array(T0_US + i * 60_000_000, pa.int64()).cast(
                TABLES["positions"].arrow_schema().field("ts").type
            ),
            "mmsi": pa.array(419_000_000 + i % 50, pa.int32()),
            "label_id": pa.array(np.full(n, label), pa.int32()),
            "msg_type": pa.array(np.ones(n), pa.int8()),
            "lat": pa.array(10.0 + (i % 7)),
            "lon": pa.array(85.0 + (i % 5)),
            "speed_kn": pa.array(np.full(n, 10.0)),
        }
    )


def count(store: Store, sql: str = "SELECT count(*) AS n FROM positions") -> int:
    return int(store.backend.fetch(sql, (), N).column(0)[0].as_py())


def prepared(url: str) -> int:
    with psycopg.connect(url) as con:
        row = con.execute("SELECT count(*) FROM pg_prepared_xacts").fetchone()
    return int(row[0]) if row else 0


def reopen_until_resolved(url: str) -> None:
    """Open the store until no prepared slice is left: a slice whose coordinator the
    server has not yet seen gone (still "in progress") is left for the next connection."""
    for _ in range(100):
        open_store(url, _settings(1)).close()
        if not prepared(url):
            return
        time.sleep(0.05)
    raise AssertionError("prepared slices left unresolved")


@pytest.fixture(autouse=True)
def _small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parallel writes from 100 rows per writer (the default threshold is for real chunks)."""
    monkeypatch.setattr(pg_backend, "MIN_ROWS_PER_WRITER", 100)


def test_parallel_write_stores_each_row_once(pg_url: str) -> None:
    with open_store(pg_url, _settings(3)) as store:
        with store.transaction():
            assert store.write("positions", positions(store, 0, 3000)) == 3000
        # three transactions wrote them (the coordinator's and two prepared)
        assert count(store, "SELECT count(DISTINCT xmin::text) AS n FROM positions") == 3
        with store.transaction():  # the same and 1000 more: each writer merges
            assert store.write("positions", positions(store, 0, 4000)) == 1000
        assert count(store) == 4000
        assert count(store, "SELECT count(DISTINCT (ts, msg_key)) AS n FROM positions") == 4000
    assert prepared(pg_url) == 0


def test_writers_copy_blocks_of_the_storage_order_dealt_in_turn(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each writer COPYs blocks of the storage order dealt in turn, not a contiguous third:
    the writers write neighbouring cells at the same time, so where their pages meet a BRIN
    range holds nearby cells (a viewport reads fewer pages, bench/RESULTS.md session 6)."""
    monkeypatch.setattr(pg_writers, "INTERLEAVE_ROWS", 100)
    with open_store(pg_url, _settings(3)) as store, store.transaction():
        assert store.write("positions", positions(store, 0, 3000)) == 3000
    with psycopg.connect(pg_url) as con:
        writer = [
            str(r[0])
            for r in con.execute(  # the write path's storage order: day, cell, vessel, time
                "SELECT xmin::text FROM positions ORDER BY floor(extract(epoch FROM ts) / 86400),"
                " floor(lat), floor(lon), mmsi, ts, msg_key"
            ).fetchall()
        ]
    runs = [(w, len(list(g))) for w, g in itertools.groupby(writer)]
    assert [n for _, n in runs] == [100] * 30  # 3,000 rows: 10 rounds of 3 blocks
    first = [w for w, _ in runs[:3]]
    assert len(set(first)) == 3
    assert [w for w, _ in runs] == first * 10


@pytest.mark.parametrize(
    ("n", "parts", "block"), [(0, 2, 4), (10, 2, 3), (10, 3, 100), (1000, 3, 7)]
)
def test_dealt_slices_hold_every_row_once_in_order(n: int, parts: int, block: int) -> None:
    rows = pa.table({"i": pa.array(np.arange(n), pa.int64())})
    slices = _dealt(rows, parts, block)
    assert len(slices) == parts
    got = [s.column("i").to_pylist() for s in slices]
    assert sorted(v for g in got for v in g) == list(range(n))
    assert all(g == sorted(g) for g in got)
    rounds = max(1, -(-n // (block * parts)))
    assert max(map(len, got)) - min(map(len, got)) <= rounds


def test_failed_chunk_leaves_nothing(pg_url: str) -> None:
    with open_store(pg_url, _settings(3)) as store:
        rows = positions(store, 0, 3000)

        def chunk() -> None:
            with store.transaction():
                store.write("positions", rows)
                raise RuntimeError("after the write")

        with pytest.raises(RuntimeError, match="after the write"):
            chunk()
        assert count(store) == 0
    assert prepared(pg_url) == 0


def test_prepared_slices_resolved_by_the_chunks_fate(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between the chunk's commit and its slices' leaves them prepared: the next
    connection commits them; a crash before the chunk's commit: rolls them back."""
    with open_store(pg_url, _settings(3)) as store:
        ingest_log = store.counts()["ingest_log"]
        monkeypatch.setattr(Writers, "finish", lambda self, commit: None)  # the crash
        with store.transaction():  # committed; slices left prepared
            store.write("positions", positions(store, 0, 3000))
        assert prepared(pg_url) == 2
        assert 0 < count(store) < 3000  # the coordinator's slice only, until resolved
        store.backend.execute("BEGIN")  # a chunk whose connection is lost before commit
        store.write("positions", positions(store, 10_000, 3000))
        store.backend.con.close()
    assert prepared(pg_url) == 4
    monkeypatch.undo()
    reopen_until_resolved(pg_url)  # opening resolves them
    with open_store(pg_url, _settings(3)) as store:
        assert count(store) == 3000
        assert count(store, "SELECT max(msg_key) AS n FROM positions") == 2999
        assert store.counts()["ingest_log"] == ingest_log
    assert prepared(pg_url) == 0


_VICTIM = """
import sys
sys.path.insert(0, sys.argv[2])
from seawatch.store import open_store
from seawatch.store import postgres
from test_pg_writers import log_row, positions, _settings
postgres.MIN_ROWS_PER_WRITER = 100
store = open_store(sys.argv[1], _settings(3))
for chunk in range(1000):
    with store.transaction():
        store.write("positions", positions(store, chunk * 3000, 3000))
        store.write("ingest_log", log_row(chunk, 3000))
    print(chunk, flush=True)
"""


def test_client_killed_mid_chunk_leaves_whole_chunks(pg_url: str) -> None:
    """SIGKILL the writing process while a chunk's slices are prepared (its writers done,
    its coordinator not yet committed, or just committed): whole chunks only remain."""
    here = os.path.dirname(__file__)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAWATCH_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", _VICTIM, pg_url, here], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "0"  # a chunk committed
        with psycopg.connect(pg_url, autocommit=True) as con:
            deadline = time.monotonic() + 120
            while not con.execute("SELECT 1 FROM pg_prepared_xacts").fetchone():
                assert time.monotonic() < deadline, "no chunk ever prepared"
                time.sleep(0.002)
            os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    reopen_until_resolved(pg_url)
    with open_store(pg_url, _settings(1)) as store:
        chunks, rows = store.counts()["ingest_log"], count(store)
    assert chunks >= 1
    assert rows == chunks * 3000


def test_server_without_prepared_transactions_one_writer(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """db_writers above what max_prepared_transactions allows: one connection, said once."""
    with caplog.at_level(logging.WARNING), open_store(pg_url, _settings(1000)) as store:
        with store.transaction():
            assert store.write("positions", positions(store, 0, 3000)) == 3000
        assert count(store, "SELECT count(DISTINCT xmin::text) AS n FROM positions") == 1
    assert "needs the server's max_prepared_transactions >= 999" in caplog.text
