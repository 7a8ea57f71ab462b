"""Positions in PostgreSQL, partitioned by day: partitions made on demand, and the rewrite
of an unpartitioned table (schema version 6).

In: a psycopg connection (inside the caller's transaction) and the days a write touches.
Out: one partition per UTC day, ``positions_pYYYYMMDD``, each with the parent's indexes
(unique ``(ts, msg_key)``, BRIN ``(ts, lat, lon)``, B-tree ``(mmsi, ts)``, BRIN ``geom``
with PostGIS); the BRIN indexes of given partitions, to summarize after a write.

A partition is made as a plain table ``LIKE positions`` with a ``CHECK`` on its day, then
``ATTACH``-ed: attaching locks the parent ``SHARE UPDATE EXCLUSIVE`` (readers and other
writers go on), where ``CREATE TABLE ... PARTITION OF`` would lock it ``ACCESS EXCLUSIVE``
until the writer's chunk commits. Two writers making the same day: the second waits for the
first's commit, finds the table made, and goes on (a savepoint catches the duplicate).
Used by :mod:`.postgres`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "BRIN_PAGES",
    "CLUSTERED",
    "EXTRAS",
    "GIS_VIEW",
    "PARTITIONED",
    "POSTGIS_EXTRAS",
    "brin_indexes",
    "brin_pages",
    "cluster_closed",
    "days_of",
    "drop_stored_geom",
    "ensure_days",
    "has_postgis",
    "partition_name",
    "relayout",
    "size_bytes",
    "table_names",
]

log = logging.getLogger(__name__)

PARTITIONED = {"positions": "PARTITION BY RANGE (ts)"}
"""Tables PostgreSQL partitions, and how (appended to their ``CREATE TABLE``)."""
# the rows of a day in 1-degree cells, like the write path's (day, cell) storage order
_CELL = "floor(lat)::int, floor(lon)::int, ts"
OLD_INDEXES = (
    "positions_msg",
    "positions_brin",
    "positions_vessel",
    "positions_geom",
    "positions_seq",
)
CLUSTERED = "seawatch: clustered by 1-degree cell, mmsi, ts"
"""The comment on a partition rewritten by :func:`cluster_closed`."""
# a closed day's order: a vessel's positions in a cell together (its track reads few
# pages), cells apart (the BRIN ranges of the viewport stay as narrow as by the write order)
_CLUSTER_ORDER = "(floor(lat)::int), (floor(lon)::int), mmsi, ts"
BRIN_PAGES = 2
"""Heap pages per range of the ``(ts, lat, lon)`` BRIN index (schema 10; 8 before). The
parallel writers COPY their slices of a chunk into one partition at once, so its heap
holds their pages interleaved (~26 pages of one writer, then the other's: 206 switches in
a day's 5,473 pages at 100 M): a range of 8 pages often holds cells of both slices, degrees
apart, and the viewport's lossy recheck read 2.5x the rows it returned. Measured on such a
day (a 5 x 5 degree window of 60,540 rows): 8 pages 2,224 heap pages read and 90,744 rows
removed by the recheck, 4: 1,532 / 44,311, 2: 1,170 / 20,010, 1: 941 / 4,546; the day
rewritten in cell order (``db maintain``) with 8: 1,016 / 9,606, with 2: 962 / 6,026. The
index scan reads every range (2: ~2,700 a day, ~1 ms; 1: twice that)."""


EXTRAS: dict[str, tuple[str, ...]] = {
    "positions": (
        "CREATE UNIQUE INDEX IF NOT EXISTS positions_msg ON positions (ts, msg_key)",
        "CREATE INDEX IF NOT EXISTS positions_brin ON positions "
        f"USING brin (ts, lat, lon) WITH (pages_per_range = {BRIN_PAGES})",
        "CREATE INDEX IF NOT EXISTS positions_vessel ON positions (mmsi, ts)",
        # write order grows with the heap: a BRIN index finds the rows after a release cursor
        "CREATE INDEX IF NOT EXISTS positions_seq ON positions USING brin (seq)",
    ),
    "statics": (
        "CREATE UNIQUE INDEX IF NOT EXISTS statics_msg ON statics (ts, msg_key)",
        "CREATE INDEX IF NOT EXISTS statics_vessel ON statics (mmsi, ts)",
        "CREATE INDEX IF NOT EXISTS statics_imo ON statics (imo)",
        "CREATE INDEX IF NOT EXISTS statics_seq ON statics USING brin (seq)",
    ),
    "events": (
        "CREATE INDEX IF NOT EXISTS events_type_time ON events (event_type, start_ts)",
        "CREATE INDEX IF NOT EXISTS events_vessel ON events (mmsi, start_ts)",
    ),
    "segments": ("CREATE INDEX IF NOT EXISTS segments_vessel ON segments (mmsi, start_ts)",),
}
"""Indexes beyond the declared tables, made right after each table (PostgreSQL)."""
# BRIN indexes leave pages added since the last summary unsummarized, and a query reads
# every such page; they are summarized after each write (the pages are still in memory),
# those of the partitions written (positions: one partition per day, .pg_parts).
GIS_VIEW = "positions_gis"
POSTGIS_EXTRAS = (
    f"CREATE OR REPLACE VIEW {GIS_VIEW} AS SELECT p.*, "
    "ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)::geometry(Point, 4326) AS geom "
    "FROM positions p",
)
"""PostGIS's view of positions with a point column, made when the extension is there.
Until schema 9 ``positions`` stored the point (a generated ``geom``, ~32 bytes a row, and a
BRIN index on it): the same lat/lon twice, ~15 % of a row and of its write; the view
computes it as it is read (:func:`drop_stored_geom`)."""


def partition_name(day: date) -> str:
    return f"positions_p{day:%Y%m%d}"


def days_of(rows: pa.Table) -> list[date]:
    """The UTC days of ``rows``' ``ts``, ascending."""
    if rows.num_rows == 0:
        return []
    us = pc.cast(rows.column("ts"), pa.int64()).to_numpy(zero_copy_only=False)
    days = np.unique(us // 86_400_000_000)
    epoch = date(1970, 1, 1)
    return [epoch + timedelta(days=int(d)) for d in days]


def ensure_days(con: Any, days: Iterable[date]) -> list[str]:
    """The partitions of ``days``, made where missing; their names."""
    import psycopg

    names = {partition_name(d): d for d in days}
    if not names:
        return []
    have = {
        str(r[0])
        for r in con.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relispartition",
            [list(names)],
        ).fetchall()
    }
    for name, day in sorted(names.items()):
        if name in have:
            continue
        lo, hi = f"{day:%Y-%m-%d} 00:00:00+00", f"{day + timedelta(days=1):%Y-%m-%d} 00:00:00+00"
        try:
            with con.transaction():  # a savepoint: another writer may be making it too
                con.execute(
                    f"CREATE TABLE {name} (LIKE positions INCLUDING DEFAULTS "
                    f"INCLUDING GENERATED, CHECK (ts >= '{lo}' AND ts < '{hi}'))"
                )
                con.execute(
                    f"ALTER TABLE positions ATTACH PARTITION {name} "
                    f"FOR VALUES FROM ('{lo}') TO ('{hi}')"
                )
        except (psycopg.errors.DuplicateTable, psycopg.errors.UniqueViolation):
            log.info("positions: partition %s made by another writer", name)
    return sorted(names)


def brin_indexes(con: Any, partitions: list[str]) -> list[str]:
    """The BRIN indexes of ``partitions`` (summarized after a write)."""
    if not partitions:
        return []
    rows = con.execute(
        "SELECT ic.relname FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
        "JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am a ON a.oid = ic.relam "
        "WHERE t.relname = ANY(%s) AND a.amname = 'brin' ORDER BY 1",
        [partitions],
    ).fetchall()
    return [str(r[0]) for r in rows]


def brin_pages(con: Any) -> bool:
    """``positions``' BRIN ``(ts, lat, lon)`` made again with :data:`BRIN_PAGES` pages per
    range if it has another number (schema < 10), in the caller's transaction: every
    partition's is rebuilt (a scan of each; ``positions`` is locked meanwhile, ~1-3 min at
    100 M positions); whether it was."""
    row = con.execute(
        "SELECT c.reloptions FROM pg_class c WHERE c.oid = to_regclass('positions_brin')"
    ).fetchone()
    want = f"pages_per_range={BRIN_PAGES}"
    if row is None or want in (row[0] or []):
        return False
    con.execute("DROP INDEX positions_brin")  # and each partition's
    con.execute(EXTRAS["positions"][1])
    log.info("positions: BRIN (ts, lat, lon) rebuilt with %d pages per range", BRIN_PAGES)
    return True


def drop_stored_geom(con: Any) -> bool:
    """``positions``' stored ``geom`` (schema < 9, PostGIS) dropped, with its index, in the
    caller's transaction (a catalogue change: the rows keep their bytes until rewritten, e.g.
    by ``seawatch db maintain``); whether there was one."""
    row = con.execute(
        "SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass('positions') "
        "AND attname = 'geom' AND NOT attisdropped"
    ).fetchone()
    if not (row and row[0]):
        return False
    con.execute("ALTER TABLE positions DROP COLUMN geom")  # drops positions_geom too
    log.info("positions: stored geom dropped (schema 9: the view %s computes it)", GIS_VIEW)
    return True


def relayout(con: Any, create: Callable[[], None], columns: tuple[str, ...]) -> int:
    """Rewrite an unpartitioned ``positions`` as a partitioned one, day by day, in the
    caller's transaction; ``create`` makes the new, empty, partitioned table with its
    indexes. Returns the rows moved (0: nothing to
    do, the table is partitioned already or absent)."""
    row = con.execute(
        "SELECT relkind FROM pg_class WHERE relname = 'positions' "
        "AND relnamespace = current_schema()::regnamespace"
    ).fetchone()
    if row is None or row[0] != "r":
        return 0
    old = "positions_unpartitioned"
    con.execute(f"ALTER TABLE positions RENAME TO {old}")
    for index in OLD_INDEXES:
        con.execute(f"ALTER INDEX IF EXISTS {index} RENAME TO {index.replace('positions', old)}")
    create()
    # the stored days, by skipping through the (ts, msg_key) index: no scan of the table
    days = [
        r[0]
        for r in con.execute(
            f"WITH RECURSIVE d(day) AS (SELECT (SELECT min(ts) FROM {old})::date "
            f"UNION ALL SELECT (SELECT min(ts) FROM {old} WHERE ts >= d.day + 1)::date "
            "FROM d WHERE d.day IS NOT NULL) SELECT day FROM d WHERE day IS NOT NULL"
        ).fetchall()
    ]
    moved = 0
    cols = ", ".join(columns)
    for name, day in zip(ensure_days(con, days), sorted(days), strict=True):
        cur = con.execute(
            f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {old} "
            f"WHERE ts >= %s::date AND ts < %s::date + 1 ORDER BY {_CELL}",
            [day, day],
        )
        moved += int(cur.rowcount)
    con.execute(f"DROP TABLE {old}")
    log.info("positions: %d rows moved into %d daily partitions", moved, len(days))
    return moved


def cluster_closed(con: Any, display: str) -> list[str]:
    """Rewrite each closed day's partition (all but the newest) not rewritten yet in
    (1-degree cell, ``mmsi``, ``ts``) order, each in a transaction of its own; the
    partitions rewritten. ``CLUSTER`` locks the partition being rewritten (its readers and
    writers wait, seconds); rows arriving later for a rewritten day are added at its end."""
    rows = con.execute(
        "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'positions'::regclass "
        "ORDER BY 1"
    ).fetchall()
    done = []
    for name, comment in rows[:-1]:  # the newest day is open
        if comment == CLUSTERED:
            continue
        with con.transaction():
            index = f"{name}_cluster"
            con.execute(f"CREATE INDEX {index} ON {name} ({_CLUSTER_ORDER})")
            con.execute(f"CLUSTER {name} USING {index}")
            con.execute(f"DROP INDEX {index}")
            con.execute(f"COMMENT ON TABLE {name} IS '{CLUSTERED}'")
        con.execute(f"ANALYZE {name}")
        log.info("%s: %s rewritten in (cell, mmsi, ts) order", display, name)
        done.append(str(name))
    return done


def has_postgis(con: Any, display: str, scrub: Callable[[BaseException], str]) -> bool:
    """PostGIS in the database of ``con``, installed now if available and allowed
    (``display``: the store's name in log lines; ``scrub``: an error's text without the
    password)."""
    import psycopg

    row = con.execute(
        "SELECT (SELECT count(*) FROM pg_extension WHERE extname = 'postgis'), "
        "(SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis')"
    ).fetchone()
    installed, available = (int(v) for v in row) if row else (0, 0)
    if installed:
        return True
    if not available:
        log.info("%s: PostGIS not available; no positions_gis view", display)
        return False
    try:
        con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg.Error as exc:
        log.info("%s: cannot create PostGIS (%s); no geom", display, scrub(exc))
        return False
    return True


def table_names(con: Any) -> set[str]:
    """The store's tables (not partitions, loading tables or extensions' tables)."""
    rows = con.execute(  # not those of extensions (PostGIS: spatial_ref_sys)
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
        "AND NOT c.relispartition AND c.relname !~ '^positions_l[0-9]{8}$' AND NOT EXISTS "
        "(SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')"
    ).fetchall()
    return {str(r[0]) for r in rows}


def size_bytes(con: Any) -> dict[str, int]:
    """The database's bytes (``total``) and each table's (its partitions' and indexes')."""
    row = con.execute("SELECT pg_database_size(current_database())").fetchone()
    out = {"total": int(row[0]) if row else 0}
    for name in sorted(table_names(con)):
        r = con.execute(  # a partitioned table's bytes are its partitions'
            "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree(%s::regclass)",
            [name],
        ).fetchone()
        out[name] = int(r[0]) if r and r[0] is not None else 0
    return out
