"""PostgreSQL positions partitioned by day (schema version 6): partitions made as rows of a
new day arrive, across days and months; an unpartitioned table of version 5 migrated with
its rows; what a reader sees unchanged (the query layer's label filter)."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
from records import T0, Rec, write

from seawatch.labels import Reader, parse_label
from seawatch.settings import load_settings
from seawatch.store import SCHEMA_VERSION, TABLES, Store, open_store
from seawatch.store.pg_parts import BRIN_PAGES, CLUSTERED, EXTRAS, OLD_INDEXES
from seawatch.store.query import Query

DAY = 24 * 60
NAMES = pa.schema([pa.field("name", pa.string())])
X = pa.schema([pa.field("x", pa.float64())])


def _partitions(store: Store) -> list[str]:
    t = store.backend.fetch(
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'positions'::regclass ORDER BY 1",
        (),
        NAMES,
    )
    return [str(v) for v in t.column("name").to_pylist()]


def _fill(store: Store) -> None:
    p = store.policy
    u = parse_label("UNCLASSIFIED", p)
    secret = parse_label("SECRET//REL TO IND", p, originator="IND")
    write(  # T0 is 2024-03-01 00:00 UTC; 2024 is a leap year
        store,
        [
            Rec(1, 419000001, u, minute=-1),  # 2024-02-29 23:59
            Rec(2, 419000001, u, minute=0),  # 2024-03-01 00:00
            Rec(3, 419000002, secret, minute=DAY - 1),  # 2024-03-01 23:59
            Rec(4, 419000002, secret, minute=31 * DAY),  # 2024-04-01 00:00
        ],
    )


def _keys(store: Store, reader: str) -> list[int]:
    q = Query(store, Reader.parse(reader, store.policy))
    return sorted(q.positions().column("msg_key").to_pylist())


def test_a_partition_per_day_across_days_and_months(pg_url: str) -> None:
    with open_store(pg_url, load_settings(env={"SEAWATCH_NODE_NATION": "IND"})) as store:
        assert _partitions(store) == []
        _fill(store)
        assert _partitions(store) == [
            "positions_p20240229",
            "positions_p20240301",
            "positions_p20240401",
        ]
        rows = store.backend.fetch(
            "SELECT tableoid::regclass::text AS name FROM positions ORDER BY ts", (), NAMES
        )
        assert rows.column("name").to_pylist() == [
            "positions_p20240229",
            "positions_p20240301",
            "positions_p20240301",
            "positions_p20240401",
        ]
        _fill(store)  # the same messages again: stored once, no new partition
        assert store.counts()["positions"] == 4
        assert len(_partitions(store)) == 3
        # each partition has the parent's indexes, BRIN summarized after the write
        idx = store.backend.fetch(
            "SELECT indexdef AS name FROM pg_indexes WHERE tablename = 'positions_p20240301'",
            (),
            NAMES,
        ).column("name")
        defs = " ".join(str(v) for v in idx.to_pylist())
        for part in ("UNIQUE", "(ts, msg_key)", "brin (ts, lat, lon)", "(mmsi, ts)"):
            assert part in defs
        assert store.backend.size_bytes()["positions"] > 0
        assert "positions_p20240301" not in store.backend.table_names()
        # labels: the same filter whatever partition a row lies in
        assert _keys(store, "USA:SECRET") == [1, 2]
        assert _keys(store, "IND:SECRET") == [1, 2, 3, 4]
        q = Query(store, Reader.parse("IND:SECRET", store.policy))
        day = q.positions(start=T0, end=T0 + timedelta(days=1))
        assert sorted(day.column("msg_key").to_pylist()) == [2, 3]


def _as_version_5(store: Store) -> None:
    """Make ``store``'s positions the unpartitioned table of schema version 5."""
    cols = ", ".join(TABLES["positions"].names)
    with store.transaction():
        b = store.backend
        b.execute(f"CREATE TABLE positions_plain AS SELECT {cols} FROM positions ORDER BY ts")
        b.execute("DROP TABLE positions CASCADE")  # PostGIS: its view (schema 9)
        b.execute("ALTER TABLE positions_plain RENAME TO positions")
        for stmt in EXTRAS["positions"]:
            if "(seq)" not in stmt:  # schema 7's
                b.execute(stmt)
        b.execute("UPDATE schema_version SET version = 5")


def test_unpartitioned_positions_migrate(pg_url: str) -> None:
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with open_store(pg_url, settings) as store:
        _fill(store)
        _as_version_5(store)
        assert _partitions(store) == []
        assert store.version() == 5
        assert store.counts()["positions"] == 4
    with open_store(pg_url, settings, migrate=False) as store:
        assert store.migrate() == (5, SCHEMA_VERSION)
        assert _partitions(store) == [
            "positions_p20240229",
            "positions_p20240301",
            "positions_p20240401",
        ]
        assert store.counts()["positions"] == 4
        assert _keys(store, "USA:SECRET") == [1, 2]
        assert _keys(store, "IND:SECRET") == [1, 2, 3, 4]
        names = store.backend.fetch(
            "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'positions'", (), NAMES
        ).column("name")
        assert set(OLD_INDEXES[:3]) <= {str(v) for v in names.to_pylist()}
        assert "positions_unpartitioned" not in store.backend.table_names()
        _fill(store)  # writes go on into the new layout, stored once
        assert store.counts()["positions"] == 4
    with open_store(pg_url, settings) as store:  # current: nothing more to do
        assert store.migrate() == (SCHEMA_VERSION, SCHEMA_VERSION)


def test_stored_geom_dropped_by_migration(pg_url: str) -> None:
    """Schema 9: a store of version 8 whose positions stored PostGIS's ``geom`` (a
    generated column and its BRIN index) migrates to the view ``positions_gis``; the rows
    and what readers see stay; without PostGIS there is nothing to drop."""
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with open_store(pg_url, settings) as store:
        _fill(store)
        b = store.backend
        postgis = b.postgis  # type: ignore[attr-defined]
        with store.transaction():
            if postgis:  # as schema 8 made it
                b.execute("DROP VIEW positions_gis")
                b.execute(
                    "ALTER TABLE positions ADD COLUMN geom geometry(Point, 4326) GENERATED "
                    "ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED"
                )
                b.execute(
                    "CREATE INDEX positions_geom ON positions USING brin (geom) "
                    "WITH (pages_per_range = 32)"
                )
            b.execute("UPDATE schema_version SET version = 8")
    with open_store(pg_url, settings, migrate=False) as store:
        assert store.migrate() == (8, SCHEMA_VERSION)
        cols = store.backend.fetch(
            "SELECT attname AS name FROM pg_attribute WHERE attrelid = 'positions'::regclass "
            "AND attnum > 0 AND NOT attisdropped",
            (),
            NAMES,
        ).column("name")
        assert "geom" not in cols.to_pylist()
        names = store.backend.fetch(
            "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'positions'", (), NAMES
        ).column("name")
        assert "positions_geom" not in names.to_pylist()
        assert store.counts()["positions"] == 4
        assert _keys(store, "IND:SECRET") == [1, 2, 3, 4]
        if postgis:
            t = store.backend.fetch(
                "SELECT ST_X(geom) AS x FROM positions_gis ORDER BY ts", (), X
            ).column("x")
            assert (
                t.to_pylist()
                == store.backend.fetch("SELECT lon AS x FROM positions ORDER BY ts", (), X)
                .column("x")
                .to_pylist()
            )
        _fill(store)  # writes go on, stored once
        assert store.counts()["positions"] == 4


def _brin_options(store: Store) -> dict[str, str]:
    """The reloptions of the parent's and each partition's ``(ts, lat, lon)`` BRIN index (a
    partition's is named by the ``ATTACH``, or by a load)."""
    t = store.backend.fetch(
        "SELECT c.relname AS name, array_to_string(c.reloptions, ',') AS x FROM pg_class c "
        "JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'brin' "
        "AND pg_get_indexdef(c.oid) LIKE '%(ts, lat, lon)%' ORDER BY 1",
        (),
        pa.schema([pa.field("name", pa.string()), pa.field("x", pa.string())]),
    )
    return dict(zip(t.column("name").to_pylist(), t.column("x").to_pylist(), strict=True))


def test_brin_ranges_narrowed_by_migration(pg_url: str) -> None:
    """Schema 10: a store of version 9 whose BRIN ``(ts, lat, lon)`` has 8 pages per range
    migrates to :data:`BRIN_PAGES`, on the parent and every partition; the rows and what
    readers see (the bbox + time query through that index) stay."""
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    want = f"pages_per_range={BRIN_PAGES}"
    with open_store(pg_url, settings) as store:
        _fill(store)
        parts = _partitions(store)
        assert sorted(_brin_options(store).values()) == [want] * (1 + len(parts))
        with store.transaction():  # as schema 9 made it
            store.backend.execute("DROP INDEX positions_brin")
            store.backend.execute(
                "CREATE INDEX positions_brin ON positions USING brin (ts, lat, lon) "
                "WITH (pages_per_range = 8)"
            )
            store.backend.execute("UPDATE schema_version SET version = 9")
        assert set(_brin_options(store).values()) == {"pages_per_range=8"}
        before = Query(store, Reader.parse("IND:SECRET", store.policy)).positions(
            bbox=(80.0, 5.0, 90.0, 20.0), start=T0 - timedelta(days=1), end=T0 + timedelta(days=40)
        )
    with open_store(pg_url, settings, migrate=False) as store:
        assert store.migrate() == (9, SCHEMA_VERSION)
        assert sorted(_brin_options(store).values()) == [want] * (1 + len(parts))
        after = Query(store, Reader.parse("IND:SECRET", store.policy)).positions(
            bbox=(80.0, 5.0, 90.0, 20.0), start=T0 - timedelta(days=1), end=T0 + timedelta(days=40)
        )
        assert after.num_rows == 4
        assert after.equals(before)
        assert store.migrate() == (SCHEMA_VERSION, SCHEMA_VERSION)  # nothing more to do


def test_maintain_rewrites_closed_days_in_track_order(pg_url: str) -> None:
    """`seawatch db maintain`: each closed day (all but the newest) rewritten once in
    (1-degree cell, mmsi, ts) order, its rows and indexes intact; the open day left."""
    from click.testing import CliRunner

    from seawatch.cli.main import cli

    with open_store(pg_url, load_settings(env={"SEAWATCH_NODE_NATION": "IND"})) as store:
        u = parse_label("UNCLASSIFIED", store.policy)
        # two vessels, interleaved in time, crossing from one cell into the next each day
        recs = [
            Rec(k, 419000001 + k % 2, u, minute=d * DAY + k, lat=10.5 + (k % 10) / 10, lon=85.5)
            for d in range(3)
            for k in range(d * 100, d * 100 + 20)
        ]
        write(store, recs)
        before = _keys(store, "IND:SECRET")
    res = CliRunner().invoke(
        cli, ["db", "maintain", "--db", pg_url], env={"SEAWATCH_NODE_NATION": "IND"}
    )
    assert res.exit_code == 0, res.output
    assert "2 day(s) rewritten" in res.output
    with open_store(pg_url, load_settings(env={"SEAWATCH_NODE_NATION": "IND"})) as store:
        assert _keys(store, "IND:SECRET") == before
        order = store.backend.fetch(  # heap order of the first day
            "SELECT floor(lat)::int AS lat, mmsi, ts FROM positions_p20240301 ORDER BY ctid",
            (),
            pa.schema([("lat", pa.int64()), ("mmsi", pa.int64()), ("ts", pa.timestamp("us"))]),
        ).to_pylist()
        assert order == sorted(order, key=lambda r: (r["lat"], r["mmsi"], r["ts"]))
        assert [r["mmsi"] for r in order] != sorted(r["mmsi"] for r in order)  # cells first
        comments = store.backend.fetch(
            "SELECT coalesce(obj_description(c.oid, 'pg_class'), '') AS name FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'positions'::regclass "
            "ORDER BY c.relname",
            (),
            NAMES,
        ).column("name")
        assert comments.to_pylist() == [CLUSTERED, CLUSTERED, ""]
        idx = store.backend.fetch(
            "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'positions_p20240301'",
            (),
            NAMES,
        ).column("name")
        assert len(idx) == len(_partition_indexes(store))
        assert "cluster" not in str(idx)
        assert store.backend.maintain() == []  # each day once
        write(store, [Rec(1000, 419000001, u, minute=3 * DAY)])  # a new day: the third closes
        assert store.backend.maintain() == ["positions_p20240303"]


def _partition_indexes(store: Store) -> list[str]:
    t = store.backend.fetch(
        "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'positions_p20240302'",
        (),
        NAMES,
    )
    return [str(v) for v in t.column("name").to_pylist()]
