"""Bulk loads of new days into PostgreSQL: a day's positions copied into a table without
indexes, indexed once and attached when the day is complete.

In: a backend in a load (:meth:`seawatch.store.base.Store.loading`), its chunks' positions.
Out: for each day that has no partition yet (or an empty one), a table
``positions_lYYYYMMDD`` (the parent's columns, a ``CHECK`` on the day, no index) that the
load's chunks ``COPY`` into, each chunk committed with its transaction as before; once the
load's chunks have moved past the day (or the load ends), in one transaction on a
connection of its own, in the background while the next chunks are written: repeated
messages removed, the parent's indexes built (sorted builds, not row by row), the table
renamed ``positions_pYYYYMMDD`` and attached (the ``CHECK`` spares the scan). Days that
have rows already (late data) go the indexed way (:mod:`.postgres`); a chunk with rows of
a day being finished waits for the finish, then writes them the indexed way.

Why: a row written into an indexed partition costs ~8 s of server CPU per million (heap,
the unique ``(ts, msg_key)`` and ``(mmsi, ts)`` B-trees, three BRIN indexes, their WAL),
a ``COPY`` into a table without indexes ~2.5-3 s, and the builds ~1-2 s (bench/RESULTS.md).

What readers see: ``positions`` holds attached partitions only, so a day being loaded is
not there at all until the transaction that attaches it commits, complete. A crash (of the
client or the server) leaves the loading table as its committed chunks made it and the
day still absent; the chunks' rows are kept (committed with their ``ingest_log`` rows): the
next load that meets the day goes on with the table, and the next load's start or
``seawatch db maintain`` finishes tables nobody is loading.

Repeated messages: within a chunk one row per message is sent (:func:`.pg_csv.first_per_message`);
across chunks the indexed way keeps the stored row, that is the first chunk's; a load keeps
the row of the smallest write number (``seq``), the first chunk's too.

Write numbers: a loading table's rows draw theirs when copied, but are seen only when the
day is attached. Each loading table's comment holds a write number drawn before any of its
rows' (``seawatch: loading from seq N``); :func:`seawatch.store.gate.pg_settled` answers at
most ``N - 1`` while it exists, so a release cursor never passes rows not yet seen.

Who loads a day: the process holding the session advisory lock of the day
(:func:`day_lock`); another process writing the same day meanwhile goes the indexed way,
and the load then merges its rows into the partition that process attached.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.store.gate import LOADING, PG_ENTER
from seawatch.store.pg_parts import partition_name
from seawatch.store.tables import SEQ, SEQUENCE

__all__ = ["LOADING", "Load", "finish_orphans", "loading_name"]

log = logging.getLogger(__name__)

_LOCK_BASE = 0x5EA7_0000_0000  # + the day's number since 1970: the day's load lock
_LOADING_TABLE = re.compile(r"^positions_l(\d{4})(\d{2})(\d{2})$")
_INDEX = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON ONLY \S+ (USING .*)$")
_EPOCH = date(1970, 1, 1)
FINISH_LOCK_TIMEOUT = "60s"
"""How long a finish waits for a lock (a chunk's transaction may hold the parent's)."""
MAINTENANCE_WORK_MEM = "256MB"
"""Memory of a load's index builds (one sort in memory per build of a day's ~1 M rows)."""
STATISTICS_COLUMNS = ("ts", "mmsi", "lat", "lon", "label_id", SEQ)
"""The columns of a loaded day that get planner statistics: those queries filter on (time,
vessel, box, label, write number). The others get none (``SET STATISTICS 0``)."""
STATISTICS_TARGET = 50
"""Their statistics target (PostgreSQL's default 100): an ``ANALYZE`` (autovacuum's) samples
300 times it rows. A day's (~0.37 M rows) 0.19 CPU-s with every column at 100, 0.12 with
these six, 0.07 with these six at 50 (bench/RESULTS.md); the bench's queries keep their
plans."""


def loading_name(day: date) -> str:
    return f"positions_l{day:%Y%m%d}"


def day_lock(day: date) -> int:
    return _LOCK_BASE + (day - _EPOCH).days


def _day_bounds(day: date) -> tuple[str, str]:
    return f"{day:%Y-%m-%d} 00:00:00+00", f"{day + timedelta(days=1):%Y-%m-%d} 00:00:00+00"


def _exists(con: Any, name: str, partition: bool) -> bool:
    row = con.execute(
        "SELECT count(*) FROM pg_class WHERE relname = %s AND relispartition = %s "
        "AND relnamespace = current_schema()::regnamespace",
        [name, partition],
    ).fetchone()
    return bool(row and row[0])


def _archived(con: Any, day: date) -> bool:
    """Whether ``day`` is archived (``seawatch db archive``): its rows come back into its
    partition (:func:`seawatch.store.archive.reopen`), the indexed way."""
    row = con.execute("SELECT to_regclass('archive_days') IS NOT NULL").fetchone()
    if not (row and row[0]):
        return False
    lo, hi = _day_bounds(day)
    return (
        con.execute(
            "SELECT 1 FROM archive_days WHERE day >= %s AND day < %s LIMIT 1", [lo, hi]
        ).fetchone()
        is not None
    )


def _empty(con: Any, name: str) -> bool:
    return con.execute(f"SELECT 1 FROM {name} LIMIT 1").fetchone() is None


class Load:
    """The days one backend is loading: made on ``ddl`` (a connection of their own, so the
    backend's parallel writers see them), written in the backend's chunk transactions."""

    def __init__(
        self, con: Any, ddl: Callable[[], Any], display: str, finisher: Callable[[], Any]
    ) -> None:
        self.con, self._ddl, self.display = con, ddl, display
        self._connect = finisher  # a connection for the finishes, beside the next chunks
        self._fcon: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self.finishing: dict[date, Future[None]] = {}
        """Days being finished in the background (their locks still held by ``con``)."""
        self.days: dict[date, str] = {}
        """Days this load holds (their locks taken, their tables made and committed)."""
        self.indexed: set[date] = set()
        """Days this load leaves to the indexed way (rows stored, or another's load)."""
        self.touched: set[date] = set()
        """Days written by the open transaction (still open to the next chunk)."""

    def split(self, rows: pa.Table, days: list[date]) -> list[tuple[date | None, pa.Table]]:
        """``rows`` (storage order: by day first) cut into the parts of loading days (their
        day) and the rest (``None``: the indexed way), after deciding each new day (a day
        being finished: once attached, so the indexed way)."""
        self._collect([d for d in days if d in self.finishing])
        for day in days:
            if day not in self.days and day not in self.indexed:
                self._decide(day)
        if not any(d in self.days for d in days):
            return [(None, rows)]
        us = pc.cast(rows.column("ts"), pa.int64()).to_numpy(zero_copy_only=False)
        n = (us // 86_400_000_000).astype(np.int64)
        ordered = bool((n[1:] >= n[:-1]).all())  # storage order: each day's rows one run
        out: list[tuple[date | None, pa.Table]] = []
        rest: list[pa.Table] = []
        for day in days:
            d = (day - _EPOCH).days
            if ordered:  # the day's run as a slice: no copy of its rows (a filter copied
                # every column of the chunk, ~0.2 CPU-s a million rows)
                lo, hi = np.searchsorted(n, [d, d + 1])
                part = rows.slice(int(lo), int(hi - lo))
            else:
                part = rows.filter(pa.array(n == d))
            if day in self.days:
                out.append((day, part))
                self.touched.add(day)
            elif part.num_rows:
                rest.append(part)
        if rest:
            out.append((None, pa.concat_tables(rest)))
        return out

    def _decide(self, day: date) -> None:
        """Load ``day`` (its lock had, its table there) or leave it to the indexed way."""
        row = self.con.execute("SELECT pg_try_advisory_lock(%s)", [day_lock(day)]).fetchone()
        if not (row and row[0]):  # another process loads it
            self.indexed.add(day)
            return
        name, part = loading_name(day), partition_name(day)
        if not _exists(self.con, name, False):
            if (_exists(self.con, part, True) and not _empty(self.con, part)) or _archived(
                self.con, day
            ):
                self.con.execute("SELECT pg_advisory_unlock(%s)", [day_lock(day)])
                self.indexed.add(day)
                return
            lo, hi = _day_bounds(day)
            ddl = self._ddl()
            with ddl.transaction():
                ddl.execute(PG_ENTER)  # its write number counts as drawn by a writer
                # no autovacuum while loading: it would analyze (and vacuum) a part of the
                # day, then again all of it once attached; wraparound vacuums still run
                ddl.execute(
                    f"CREATE TABLE {name} (LIKE positions INCLUDING DEFAULTS "
                    f"INCLUDING GENERATED, CHECK (ts >= '{lo}' AND ts < '{hi}')) "
                    "WITH (autovacuum_enabled = off)"
                )
                first = ddl.execute(f"SELECT nextval('{SEQUENCE}')").fetchone()
                ddl.execute(f"COMMENT ON TABLE {name} IS '{LOADING}{int(first[0])}'")
        else:  # a crashed load's: its rows are committed chunks, go on with them
            log.warning(
                "%s: positions of %s: going on with a load left by a crash", self.display, day
            )
        self.days[day] = name

    def rolled_back(self) -> None:
        self.touched.clear()

    def committed(self) -> list[date]:
        """After a chunk committed: the loading days it did not write (the load's chunks
        have moved past them) finished in the background, on a connection of their own,
        while the next chunks are written; finishes already done collected."""
        if not self.touched:
            return []
        done = [d for d in sorted(self.days) if d not in self.touched]
        self.touched.clear()
        for day in done:
            self._start(day)
        self._collect([d for d, f in self.finishing.items() if f.done()])
        return done

    def _start(self, day: date) -> None:
        name = self.days.pop(day)
        if self._pool is None:
            self._fcon = self._connect()
            self._fcon.execute(f"SET lock_timeout = '{FINISH_LOCK_TIMEOUT}'")
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-load")
        self.finishing[day] = self._pool.submit(finish_day, self._fcon, day, name, self.display)

    def _collect(self, days: list[date]) -> None:
        """The finishes of ``days`` waited for, their locks released; the first failure
        raised once all are collected (a day that failed is left to the next load)."""
        failed: BaseException | None = None
        for day in sorted(days):
            future = self.finishing.pop(day)
            try:
                future.result()
            except Exception as exc:  # the others are still collected
                failed = failed or exc
            finally:
                self.con.execute("SELECT pg_advisory_unlock(%s)", [day_lock(day)])
        if failed is not None:
            raise failed

    def close(self) -> None:
        """The load ended: every day it holds finished (a day that fails to is left to
        the next load, the first failure raised once all were tried)."""
        self.touched.clear()
        try:
            for day in sorted(self.days):
                self._start(day)
            self._collect(list(self.finishing))
        finally:
            if self._pool is not None:
                self._pool.shutdown()
                self._fcon.close()
                self._pool = self._fcon = None


def _indexes(con: Any, part: str) -> list[tuple[bool, str, str]]:
    """The parent's indexes as (unique, name for ``part``, ``USING ...``), unique first."""
    rows = con.execute(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'positions'::regclass "
        "ORDER BY indisunique DESC, indexrelid"
    ).fetchall()
    out = []
    for (text,) in rows:
        m = _INDEX.match(str(text))
        if m is None:  # pragma: no cover - every index of a partitioned table is ON ONLY
            raise ValueError(f"positions index not understood: {text}")
        out.append(
            (bool(m.group(1)), f"{part}_{m.group(2).removeprefix('positions_')}", m.group(3))
        )
    return out


def _statistics(con: Any, name: str) -> None:
    """Planner statistics of ``name`` only on :data:`STATISTICS_COLUMNS`, at
    :data:`STATISTICS_TARGET`."""
    rows = con.execute(
        "SELECT attname, attname = ANY(%s) FROM pg_attribute WHERE attrelid = %s::regclass "
        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        [list(STATISTICS_COLUMNS), name],
    ).fetchall()
    con.execute(
        f"ALTER TABLE {name} "
        + ", ".join(
            f"ALTER COLUMN {r[0]} SET STATISTICS {STATISTICS_TARGET if r[1] else 0}" for r in rows
        )
    )


def _dedupe(con: Any, name: str) -> int:
    """Rows of a message stored again in a later chunk removed (the smallest ``seq`` kept;
    a COPY's rows share one, so of two with the same, the first in the table)."""
    cur = con.execute(
        f"DELETE FROM {name} a USING {name} b WHERE a.ts = b.ts AND a.msg_key = b.msg_key "
        f"AND (a.{SEQ} > b.{SEQ} OR (a.{SEQ} = b.{SEQ} AND a.ctid > b.ctid))"
    )
    return int(cur.rowcount)


def finish_day(con: Any, day: date, name: str, display: str) -> None:
    """The loading table ``name`` of ``day`` made the day's partition, in one transaction
    (autocommit ``con``): indexed and attached; merged into the partition if another
    writer attached one meanwhile; dropped if empty."""
    import psycopg

    part = partition_name(day)
    with con.transaction():
        con.execute(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE")
        if _empty(con, name):
            con.execute(f"DROP TABLE {name}")
            return
        if _exists(con, part, True):
            if not _empty(con, part):  # a writer outside the load attached the day
                _merge(con, name)
                log.info("%s: %s merged into %s (rows written meanwhile)", display, name, part)
                return
            con.execute(f"DROP TABLE {part}")
        con.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        removed = 0
        for unique, index, using in _indexes(con, part):
            sql = f"CREATE {'UNIQUE ' if unique else ''}INDEX {index} ON {name} {using}"
            if not unique:
                con.execute(sql)
                continue
            try:
                with con.transaction():  # a savepoint: a message in two chunks fails it
                    con.execute(sql)
            except psycopg.errors.UniqueViolation:
                removed = _dedupe(con, name)
                con.execute(sql)
        # autovacuum analyzes the day once attached, cheaply (not in the load: an ANALYZE
        # here cost the 10 M ingest ~+10 % server CPU, bench/RESULTS.md)
        _statistics(con, name)
        con.execute(f"ALTER TABLE {name} RESET (autovacuum_enabled)")
        lo, hi = _day_bounds(day)
        con.execute(f"ALTER TABLE {name} RENAME TO {part}")
        con.execute(
            f"ALTER TABLE positions ATTACH PARTITION {part} FOR VALUES FROM ('{lo}') TO ('{hi}')"
        )
        con.execute(f"COMMENT ON TABLE {part} IS NULL")
    log.info("%s: %s loaded (%d repeated messages removed)", display, part, removed)


def _merge(con: Any, name: str) -> None:
    """The loading table's rows into ``positions`` the indexed way (its rows first kept
    where they are new), new write numbers (the day was seen without them), then dropped."""
    cols = ", ".join(
        str(r[0])
        for r in con.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped AND attgenerated = '' AND attname <> %s ORDER BY attnum",
            [name, SEQ],
        ).fetchall()
    )
    con.execute(PG_ENTER)
    con.execute(
        f"INSERT INTO positions ({cols}) SELECT {cols} FROM {name} ORDER BY {SEQ} "
        "ON CONFLICT (ts, msg_key) DO NOTHING"
    )
    con.execute(f"DROP TABLE {name}")


def finish_orphans(con: Any, display: str) -> list[str]:
    """Loading tables that no process is loading (a crash left them) finished; their
    names."""
    rows = con.execute(
        "SELECT relname FROM pg_class WHERE relname LIKE 'positions\\_l%%' AND relkind = 'r' "
        "AND relnamespace = current_schema()::regnamespace ORDER BY 1"
    ).fetchall()
    done = []
    for (name,) in rows:
        m = _LOADING_TABLE.match(str(name))
        if m is None:
            continue
        day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        row = con.execute("SELECT pg_try_advisory_lock(%s)", [day_lock(day)]).fetchone()
        if not (row and row[0]):
            continue  # being loaded
        try:
            if _exists(con, str(name), False):  # not finished meanwhile
                finish_day(con, day, str(name), display)
                done.append(str(name))
        finally:
            con.execute("SELECT pg_advisory_unlock(%s)", [day_lock(day)])
    return done
