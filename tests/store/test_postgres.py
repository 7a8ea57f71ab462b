"""What only the PostgreSQL backend has: its server, the password kept out of sight, COPY
round trips of awkward values, the unique message key and the indexes. The backend tests
that both databases pass are in this folder's other files (``store_url``)."""

from __future__ import annotations

import logging
import math
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from pgserver import PostgresServer, PostgresUnavailableError, find_bindir

from seawatch.errors import StoreError
from seawatch.labels import parse_label
from seawatch.settings import load_settings
from seawatch.store import TABLES, open_store
from seawatch.store.pg_sql import placeholders as _placeholders
from seawatch.store.postgres import PostgresBackend

T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _positions(n: int, label_id: int, key0: int = 0) -> pa.Table:
    return pa.table(
        {
            "msg_key": pa.array(range(key0, key0 + n), pa.int64()),
            "ts": pa.array(
                [T0 + timedelta(seconds=i) for i in range(n)],
                TABLES["positions"].arrow_schema().field("ts").type,
            ),
            "mmsi": pa.array([219000000 + i % 3 for i in range(n)], pa.int32()),
            "lat": [55.0 + i / 1000 for i in range(n)],
            "lon": [10.0 + i / 1000 for i in range(n)],
            "label_id": pa.array([label_id] * n, pa.int32()),
        }
    )


def _password(url: str) -> str:
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


def test_server_is_real_and_local(pg_server: PostgresServer, pg_url: str) -> None:
    assert pg_url.startswith("postgresql://")
    assert "@127.0.0.1:" in pg_url
    backend = PostgresBackend(pg_url)
    try:
        t = backend.fetch(
            "SELECT inet_server_addr()::text AS addr, current_setting('fsync') AS fsync",
            (),
            pa.schema([("addr", pa.string()), ("fsync", pa.string())]),
        )
        assert t.to_pylist() == [{"addr": "127.0.0.1/32", "fsync": "off"}]
        assert backend.postgis == pg_server.postgis
    finally:
        backend.close()


def test_password_never_shown(pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    secret = _password(pg_url)
    caplog.set_level(logging.DEBUG)
    settings = load_settings(env={"SEAWATCH_DB": pg_url})
    assert secret not in repr(settings)
    assert secret not in str(settings)
    with open_store(None, settings) as store:
        shown = [repr(store), str(store), repr(store.backend), store.backend.display]
        assert all(secret not in s for s in shown), shown
        assert "***" in store.backend.display
        with pytest.raises(StoreError) as bad_sql:
            store.backend.execute("SELECT no_such_column FROM positions")
        assert secret not in str(bad_sql.value)
        assert "no_such_column" in str(bad_sql.value)
    wrong = "not-" + secret[:8]
    with pytest.raises(StoreError) as refused:
        open_store(pg_url.replace(secret, wrong), settings)
    message = str(refused.value)
    assert "password authentication failed" in message
    assert wrong not in message
    assert "***" in message
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__  # traceback shows only ours
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert wrong not in record.getMessage()


def test_placeholders_outside_quotes_only() -> None:
    sql = "SELECT '?' , \"a?\" FROM t WHERE x = ? AND y LIKE '%?%' AND z ILIKE ? ESCAPE '\\'"
    assert _placeholders(sql) == (
        "SELECT '?' , \"a?\" FROM t WHERE x = %s AND y LIKE '%%?%%' AND z ILIKE %s ESCAPE '\\'"
    )


def test_copy_round_trip_of_awkward_values(pg_url: str) -> None:
    with open_store(pg_url, load_settings(env={})) as store:
        with store.transaction():
            lid = store.label_id(parse_label("C//REL TO USA, IND", store.policy, originator="IND"))
        rows = _positions(6, lid).append_column(
            "station", pa.array(["", None, 'a "quoted", comma', "new\nline", "ünï", "\\N"])
        )
        rows = rows.append_column(
            "speed_kn", pa.array([math.nan, None, 0.1, -0.0, 1e300, 12.5])
        ).append_column("accuracy", pa.array([True, False, None, True, False, None]))
        with store.transaction():
            assert store.write("positions", rows) == 6
        schema = TABLES["positions"].arrow_schema()
        got = store.backend.fetch("SELECT * FROM positions ORDER BY msg_key", (), schema)
        assert got.schema.equals(schema)
        assert got.column("station").to_pylist() == rows.column("station").to_pylist()
        assert got.column("ts").to_pylist() == rows.column("ts").to_pylist()  # microseconds
        speeds = got.column("speed_kn").to_pylist()
        assert math.isnan(speeds[0])
        assert speeds[1:] == [None, 0.1, -0.0, 1e300, 12.5]
        assert got.column("accuracy").to_pylist() == [True, False, None, True, False, None]
        assert got.column("segment_id").null_count == 6

        events = pa.table(
            {
                "event_id": ["e1", "e2", "e1"],
                "event_type": ["encounter", "gap", "encounter"],
                "segment_ids": [['a"b', "c,d"], None, ["x", None, "{y}"]],
                "details": ['{"k": "50%"}', "?", None],
                "label_id": pa.array([lid] * 3, pa.int32()),
            }
        )
        with store.transaction():
            assert store.write("events", events) == 2  # e1 twice: the last one kept
        got = store.backend.fetch(
            "SELECT * FROM events WHERE details IS NULL OR details <> ? ORDER BY event_id",
            ("nothing",),
            TABLES["events"].arrow_schema(),
        )
        assert got.column("segment_ids").to_pylist() == [["x", None, "{y}"], None]
        assert got.column("details").to_pylist() == [None, "?"]


def test_same_message_twice_stored_once(pg_url: str) -> None:
    with open_store(pg_url, load_settings(env={})) as store:
        with store.transaction():
            lid = store.label_id(store.policy.default_label)
        rows = _positions(100, lid)
        doubled = pa.concat_tables([rows, rows.slice(10, 20)])
        with store.transaction():
            assert store.write("positions", doubled) == 100
        with store.transaction():
            assert store.write("positions", _positions(150, lid)) == 50
        assert store.counts()["positions"] == 150


def test_failed_chunk_leaves_nothing(pg_url: str) -> None:
    with open_store(pg_url, load_settings(env={})) as store:
        with store.transaction():
            lid = store.label_id(store.policy.default_label)

        def crash() -> None:
            with store.transaction():
                store.write("positions", _positions(10, lid))
                raise RuntimeError("crash between write and commit")

        with pytest.raises(RuntimeError, match="crash"):
            crash()
        assert store.counts()["positions"] == 0


def test_indexes(pg_server: PostgresServer, pg_url: str) -> None:
    with open_store(pg_url, load_settings(env={})) as store:
        t = store.backend.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'positions'",
            (),
            pa.schema([("indexname", pa.string()), ("indexdef", pa.string())]),
        )
        defs = dict(zip(*t.to_pydict().values(), strict=True))
        assert "UNIQUE" in defs["positions_msg"]
        assert "(ts, msg_key)" in defs["positions_msg"]
        assert "brin (ts, lat, lon)" in defs["positions_brin"]
        assert "(mmsi, ts)" in defs["positions_vessel"]
        assert "positions_geom" not in defs  # schema 9: the point is not stored
        views = store.backend.fetch(
            "SELECT viewname FROM pg_views WHERE schemaname = current_schema()",
            (),
            pa.schema([("viewname", pa.string())]),
        ).column(0)
        assert ("positions_gis" in views.to_pylist()) == pg_server.postgis
        assert "spatial_ref_sys" not in store.backend.table_names()
        sizes = store.backend.size_bytes()
        assert sizes["total"] > 0
        assert sizes["positions"] == 0  # partitioned: its bytes are its partitions', none yet
        # the session the query layer reads through: no JIT, sorts in memory, rows passed
        # from parallel workers at PostgreSQL's default cost (set, whatever the server's),
        # pages prefetched by bitmap scans
        shown = store.backend.fetch(
            "SELECT current_setting('jit') AS jit, current_setting('work_mem') AS work_mem, "
            "current_setting('parallel_tuple_cost') AS tuple, "
            "current_setting('effective_io_concurrency') AS io",
            (),
            pa.schema([(n, pa.string()) for n in ("jit", "work_mem", "tuple", "io")]),
        ).to_pylist()
        assert shown == [{"jit": "off", "work_mem": "64MB", "tuple": "0.1", "io": "256"}]


def test_geom_follows_lat_lon(pg_server: PostgresServer, pg_url: str) -> None:
    if not pg_server.postgis:
        why = "PostGIS not installed (Debian package postgresql-postgis)"
        if os.environ.get("SEAWATCH_REQUIRE_POSTGRES") == "1":  # make test installed it
            pytest.fail(why)
        pytest.skip(why)
    with open_store(pg_url, load_settings(env={})) as store:
        with store.transaction():
            lid = store.label_id(store.policy.default_label)
            store.write("positions", _positions(3, lid))
        t = store.backend.fetch(
            "SELECT ST_X(geom) AS x, ST_Y(geom) AS y, ST_SRID(geom) AS srid FROM positions_gis "
            "WHERE geom && ST_MakeEnvelope(9, 54, 11, 56, 4326) ORDER BY x",
            (),
            pa.schema([("x", pa.float64()), ("y", pa.float64()), ("srid", pa.int32())]),
        )
        assert t.to_pylist() == [
            {"x": 10.0 + i / 1000, "y": 55.0 + i / 1000, "srid": 4326} for i in range(3)
        ]


def test_two_writers_racing_store_each_message_once(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Both COPY; the second waits on the unique index for the first's uncommitted keys,
    gets a unique violation when the first commits, and merges instead (real concurrency)."""
    caplog.set_level(logging.INFO, "seawatch.store")
    settings = load_settings(env={})
    with open_store(pg_url, settings) as one, open_store(pg_url, settings) as two:
        with one.transaction():
            lid = one.label_id(one.policy.default_label)
        result: list[int] = []
        with one.transaction():
            assert one.write("positions", _positions(100, lid)) == 100

            def second() -> None:
                with two.transaction():
                    result.append(two.write("positions", _positions(150, lid)))

            worker = threading.Thread(target=second)
            worker.start()
            worker.join(timeout=1.0)
            assert worker.is_alive()  # waiting on the first writer's uncommitted keys
        worker.join(timeout=30)
        assert result == [50]
        assert one.counts()["positions"] == 150
    assert "some rows stored already; merging" in caplog.text


def test_missing_server_binaries_say_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(PostgresUnavailableError, match="postgresql and postgresql-postgis"):
        find_bindir(str(tmp_path / "*" / "bin" / "initdb"), path=str(tmp_path))


def test_positions_in_listing_order_sorted_after_the_read(pg_url: str) -> None:
    """PostgreSQL stores positions by cell and vessel and sorts a whole listing in Arrow
    (``sorts_late``): the rows come by (ts, mmsi, msg_key) all the same, ties on ``ts``
    broken by MMSI then key, and a page (with a limit: sorted by the database) is the
    listing's prefix; a track is one vessel's rows by time."""
    from seawatch.labels import Reader
    from seawatch.store.query import Query

    n = 60
    with open_store(pg_url, load_settings(env={})) as store:
        lid = store.label_id(store.policy.default_label)
        rows = pa.table(
            {
                "msg_key": pa.array([(i * 37) % n for i in range(n)], pa.int64()),
                "ts": pa.array(  # three positions a second: ties on ts
                    [T0 + timedelta(seconds=(i * 7 % n) // 3) for i in range(n)],
                    TABLES["positions"].arrow_schema().field("ts").type,
                ),
                "mmsi": pa.array([219000000 + (i * 5) % 4 for i in range(n)], pa.int32()),
                "lat": [50.0 + (i % 6) for i in range(n)],  # six cells, rows in each
                "lon": [10.0 - (i % 5) for i in range(n)],
                "label_id": pa.array([lid] * n, pa.int32()),
            }
        )
        with store.transaction():
            assert store.write("positions", rows) == n
        q = Query(store, Reader.parse("USA:SECRET", store.policy))
        got = q.positions()
        key = [(r["ts"], r["mmsi"], r["msg_key"]) for r in got.to_pylist()]
        assert len(key) == n
        assert key == sorted(key)
        first = q.positions(limit=10)
        assert first.to_pylist() == got.slice(0, 10).to_pylist()
        track = q.track(219000001).to_pylist()
        assert [r["ts"] for r in track] == sorted(r["ts"] for r in track)
        assert {r["mmsi"] for r in track} == {219000001}
        assert len(track) == n // 4


def test_snapshot_is_repeatable_read_begun_in_one_statement(pg_url: str) -> None:
    """A read of positions runs in one snapshot (``REPEATABLE READ``), begun by a single
    ``BEGIN ISOLATION LEVEL REPEATABLE READ``; inside a transaction it is that one, and the
    transactions after it are at the server's default again."""
    schema = pa.schema([("level", pa.string())])
    level = "SELECT current_setting('transaction_isolation') AS level"
    backend = PostgresBackend(pg_url)
    sent: list[bytes] = []
    try:
        with backend.snapshot():
            sent.append(backend.con._get_tx_start_command())  # what psycopg's BEGIN sent
            assert backend.fetch(level, (), schema).column(0).to_pylist() == ["repeatable read"]
        assert sent == [b"BEGIN ISOLATION LEVEL REPEATABLE READ"]
        with backend.transaction():
            assert backend.fetch(level, (), schema).column(0).to_pylist() == ["read committed"]
            with backend.snapshot():  # nested: the open transaction's level
                assert backend.fetch(level, (), schema).column(0).to_pylist() == ["read committed"]
        assert backend.con.isolation_level is None
    finally:
        backend.con.close()
