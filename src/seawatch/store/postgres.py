"""The PostgreSQL backend: the production store, shared by many processes, PostGIS if present.

In: a ``postgresql://user:password@host:port/dbname`` URL (the ``db`` setting, ``--db``).
Out: a :class:`~seawatch.store.base.Backend` over one connection (psycopg 3).

- Writes: rows go in by binary ``COPY`` (:func:`.pg_binary.to_binary`; lists as CSV)
  into a temporary table, then ``INSERT ... SELECT ... ON CONFLICT``: positions and
  statics keep the stored row on a repeated ``(ts, msg_key)`` (a unique index: the same
  message twice is stored once, whichever process sends it), segments, events and zones
  replace it. Positions are partitioned by day (:mod:`.pg_parts`: a write attaches the
  partitions of its days first) and sent by day, 1-degree cell, vessel, time
  (:func:`.pg_csv.cell_order`): pages of a short time and a small area, a vessel's few.
- Reads: ``COPY (query) TO STDOUT`` in binary (:mod:`.pg_binary`), lists as CSV, received
  by one compiled loop over libpq's messages (:mod:`.pg_receive`); an area's positions by
  two connections at once, in one snapshot (:mod:`.pg_split`).
- Indexes (made with the tables; each positions partition has them): one BRIN index over
  ``(ts, lat, lon)`` (per 8 pages the min/max of each: the plain ``BETWEEN``
  predicates of a bbox + time query skip pages the way DuckDB skips row groups), a
  B-tree on ``(mmsi, ts)`` for a vessel's track and its latest position; with PostGIS a
  view ``positions_gis`` adds ``geom`` (``geometry(Point, 4326)``) as it is read, for
  GIS clients and spatial SQL (not stored since schema 9).

The Arrow <-> CSV conversions are in :mod:`.pg_csv`. The password in the URL is kept only
in the connection; :attr:`display`, reprs, log lines and error messages show ``***``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import pyarrow as pa

from seawatch.errors import StoreError
from seawatch.store.base import Backend, Parts, redact_url
from seawatch.store.gate import PG_ENTER, pg_settled
from seawatch.store.pg_csv import first_per_message, last_per_key
from seawatch.store.pg_load import Load, finish_orphans, loading_name
from seawatch.store.pg_parts import (
    EXTRAS,
    PARTITIONED,
    POSTGIS_EXTRAS,
    brin_indexes,
    brin_pages,
    cluster_closed,
    days_of,
    drop_stored_geom,
    ensure_days,
    has_postgis,
    relayout,
    size_bytes,
    table_names,
)
from seawatch.store.pg_sessions import ReadSessions
from seawatch.store.pg_split import PartReads, copy_out
from seawatch.store.pg_sql import ADD_SEQ, CREATE, POSTGRES, SESSION, password, placeholders
from seawatch.store.pg_writers import (
    MIN_ROWS_PER_WRITER,
    PARTITION_LOCK_TIMEOUT,
    FallBackError,
    Writers,
    copy_new,
    encode,
    resolve_prepared,
    write_rows,
)
from seawatch.store.tables import TableDef, create_sql

__all__ = ["POSTGRES", "PostgresBackend", "placeholders"]

log = logging.getLogger(__name__)


class PostgresBackend(Backend):
    """A PostgreSQL database reached by URL (``postgresql://`` or ``postgres://``)."""

    dialect = POSTGRES
    read_parts = 2  # an area's positions: two backends send them (.pg_split)

    def __init__(self, url: str, writers: int = 1) -> None:
        import psycopg

        self.display = redact_url(url)
        self._secret = password(url)
        self._url = url  # for read sessions' connections; never shown (see __repr__)
        try:
            self.con = psycopg.connect(
                url,
                autocommit=True,
                cursor_factory=psycopg.ClientCursor,
                application_name="seawatch",
                connect_timeout=15,
            )
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL at {self.display}: {self._scrub(exc)} "
                "(check the URL in --db / SEAWATCH_DB, and that the server runs)"
            ) from None
        self.con.execute("SET TIME ZONE 'UTC'")
        for name, value in SESSION:
            self.con.execute(f"SET {name} = '{value}'")
        self._depth = 0
        self._written: set[str] = set()  # partitions written by the open transaction's writers
        self._writers = Writers(writers, lambda: PostgresBackend(url).con, self.display)
        self._load: Load | None = None  # days being loaded (.pg_load), in a load
        self._ddl: Any = None  # a connection that makes loading tables (without writers)
        resolve_prepared(self.con, self.display)  # what a crashed parallel write left
        self._entered = False
        self._reading = False  # in a read-only snapshot() this backend began
        self._parts = PartReads(lambda: psycopg.connect(url, autocommit=True))
        self._sessions = ReadSessions(lambda: PostgresBackend(url))  # kept (.pg_sessions)
        self._home: ReadSessions | None = None  # a read session: where close() gives it
        self.postgis = has_postgis(self.con, self.display, self._scrub)

    def __repr__(self) -> str:
        return f"PostgresBackend({self.display!r})"

    # --- statements -------------------------------------------------------------------
    def _scrub(self, exc: BaseException) -> str:
        text = str(exc).strip()
        return text.replace(self._secret, "***") if self._secret else text

    def _fail(self, exc: BaseException, sql: str) -> StoreError:
        head = " ".join(sql.split())[:200]
        return StoreError(f"{self.display}: {self._scrub(exc)} (in: {head})")

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        import psycopg

        self._reading = False  # it may write: the transaction's snapshot is not shared
        m = CREATE.match(sql)
        if m and m.group(1).lower() in PARTITIONED:
            sql = f"{sql} {PARTITIONED[m.group(1).lower()]}"
        try:
            if params:
                self.con.execute(placeholders(sql), list(params))
            else:
                self.con.execute(sql)
        except psycopg.Error as exc:
            raise self._fail(exc, sql) from None
        if m:
            self._extras(m.group(1).lower())
        elif added := ADD_SEQ.match(sql):  # migrating to schema 7: the seq index
            self._extras(added.group(1).lower())

    def _extras(self, table: str) -> None:
        for stmt in EXTRAS.get(table, ()):
            self.execute(stmt)
        if table == "positions" and self.postgis:
            for stmt in POSTGIS_EXTRAS:
                self.execute(stmt)

    def fetch(self, sql: str, params: Sequence[object], schema: pa.Schema) -> pa.Table:
        import psycopg

        try:
            return copy_out(self.con, self._mogrify(sql, params), schema)
        except psycopg.Error as exc:
            raise self._fail(exc, sql) from None

    def fetch_parts(self, parts: Parts, schema: pa.Schema) -> pa.Table:
        """At once on several connections in a read's snapshot (:mod:`.pg_split`)."""
        if len(parts) < 2 or not self._reading:
            return super().fetch_parts(parts, schema)
        queries = [self._mogrify(sql, params) for sql, params in parts]
        return pa.concat_tables(self._parts.fetch(self.con, queries, schema, self._fail))

    def _mogrify(self, sql: str, params: Sequence[object]) -> str:
        import psycopg

        if not params:
            return sql
        with psycopg.ClientCursor(self.con) as cur:
            return cur.mogrify(placeholders(sql), list(params))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        import psycopg

        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            with self.con.transaction():
                yield
        except BaseException:
            self._writers.finish(commit=None)  # as the chunk's fate says
            if self._load is not None:
                self._load.rolled_back()
            raise
        else:
            self._writers.finish(commit=True)
        finally:
            self._depth = 0
            self._written, written = set(), self._written
            self._entered = False  # the transaction's advisory lock is released with it
        if self._load is not None:  # days the load's chunks have moved past: attached
            self._load.committed()
        if written:  # the pages written are still in memory
            try:
                self._summarize(written)
            except psycopg.Error as exc:  # the next write's summary covers them
                log.warning("%s: BRIN summary: %s", self.display, self._scrub(exc))

    def transaction(self) -> Any:
        return self._transaction()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        if self._depth:  # inside a transaction: that one
            with self._transaction():
                yield
            return
        from psycopg import IsolationLevel

        # BEGIN ISOLATION LEVEL REPEATABLE READ: one statement, where BEGIN and a SET
        # TRANSACTION were two round trips of every read of positions
        self.con.isolation_level = IsolationLevel.REPEATABLE_READ
        try:
            with self._transaction():
                self._reading = True  # until a write: split reads may share it
                yield
        finally:
            self._reading = False
            self.con.isolation_level = None  # later transactions: the default again

    def enter_writer(self) -> None:
        if not self._depth:
            raise StoreError(f"{self.display}: a sequenced write outside a transaction")
        if not self._entered:
            self.execute(PG_ENTER)
            self._entered = True

    def settled_seq(self, timeout_s: float) -> int | None:
        import psycopg

        if self._depth:
            return None  # in a transaction: a lock timeout would abort it
        try:
            return pg_settled(self.con, timeout_s)
        except psycopg.Error as exc:
            raise self._fail(exc, "settled write number") from None

    # --- writes -----------------------------------------------------------------------
    def insert(self, table: TableDef, rows: pa.Table) -> int:
        import psycopg

        self._reading = False  # as in execute
        if rows.num_rows == 0:
            return 0
        if table.on_conflict == "replace":
            rows = last_per_key(rows, table.key)
        elif table.bulk:
            rows = first_per_message(rows, table.name == "positions")
        try:
            with self.transaction():
                if table.name not in PARTITIONED:
                    return write_rows(self.con, table, rows)
                if self._load is None:
                    return self._indexed(table, rows)
                return sum(  # days being loaded: COPY into their tables (.pg_load)
                    self._indexed(table, part) if day is None else self._copy(table, part, day)
                    for day, part in self._load.split(rows, days_of(rows))
                )
        except psycopg.Error as exc:
            raise self._fail(exc, f"insert into {table.name}") from None

    def _indexed(self, table: TableDef, rows: pa.Table) -> int:
        """Positions into their days' partitions (made where missing), in the open
        transaction."""
        if not self._writers.usable(self.con):
            parts = ensure_days(self.con, days_of(rows))
            written = write_rows(self.con, table, rows)
            self._summarize(parts)
            return written
        # partitions made and committed on a writer's connection: made in the chunk's
        # transaction, the other writers could not see them (and would wait for them)
        writer = self._writers.connections()[0]
        with writer.transaction():  # waits long (an ATTACH held in a chunk)
            writer.execute(f"SET LOCAL lock_timeout = '{PARTITION_LOCK_TIMEOUT}'")
            parts = ensure_days(writer, days_of(rows))
        self._written.update(parts)  # summarized once the chunk commits
        return self._copy(table, rows, None)

    def _copy(self, table: TableDef, rows: pa.Table, day: date | None) -> int:
        """``rows`` of new messages COPYed into ``table`` (``day``: into its loading
        table), by the parallel writers when they are on and the rows enough."""
        into = None if day is None else loading_name(day)
        enough = rows.num_rows >= MIN_ROWS_PER_WRITER * self._writers.count
        if enough and self._writers.usable(self.con):
            try:
                return self._writers.write(self.con, table, rows, into)
            except FallBackError:
                log.info("%s: positions: merging on one connection", self.display)
        if into is None:
            return write_rows(self.con, table, rows)
        return copy_new(self.con, table, encode(table, rows), into) or 0

    def _summarize(self, partitions: Iterable[str]) -> None:
        for index in brin_indexes(self.con, sorted(partitions)):
            self.con.execute(f"SELECT brin_summarize_new_values('{index}')")

    @contextmanager
    def loading(self) -> Iterator[None]:
        """Within: days with no rows yet are loaded without indexes, attached complete
        (:mod:`.pg_load`); days a crashed load left are finished first."""
        if self._load is not None:
            yield
            return
        finish_orphans(self.con, self.display)
        self._load = Load(
            self.con, self._ddl_con, self.display, lambda: PostgresBackend(self._url).con
        )
        try:
            yield
        finally:
            load, self._load = self._load, None
            load.close()

    def _ddl_con(self) -> Any:
        if self._writers.usable(self.con):
            return self._writers.connections()[0]
        if self._ddl is None:
            self._ddl = PostgresBackend(self._url).con
        return self._ddl

    def relayout(self, table: TableDef) -> int:
        """``table`` in this backend's layout (positions: by day, 6; no ``geom``, 9; BRIN
        ranges of 2 pages, 10)."""
        import psycopg

        if table.name not in PARTITIONED:
            return 0
        try:
            with self.transaction():
                moved = relayout(
                    self.con, lambda: self.execute(create_sql(table, self.dialect)), table.names
                )
                if drop_stored_geom(self.con) and self.postgis:  # schema 9: its view instead
                    self._extras("positions")
                brin_pages(self.con)
                return moved
        except psycopg.Error as exc:
            raise self._fail(exc, f"partition {table.name}") from None

    def maintain(self) -> list[str]:
        """Each closed day's partition rewritten in (1-degree cell, mmsi, ts) order, once
        (:func:`.pg_parts.cluster_closed`): a vessel's track then reads a few pages a day."""
        import psycopg

        try:
            return finish_orphans(self.con, self.display) + cluster_closed(self.con, self.display)
        except psycopg.Error as exc:
            raise self._fail(exc, "cluster positions partitions") from None

    # --- catalogue --------------------------------------------------------------------
    def table_names(self) -> set[str]:
        return table_names(self.con)

    def size_bytes(self) -> dict[str, int]:
        return size_bytes(self.con)

    def read_session(self) -> PostgresBackend:
        """A read-only connection to the same database, one per reading thread: a kept
        idle one (:mod:`.pg_sessions`) or a new one; its :meth:`close` gives it back."""
        return self._sessions.take()

    def connections(self) -> list[Any]:
        """This backend's connections: its own, its area reads' (:mod:`.pg_split`)."""
        return [self.con, *self._parts.opened()]

    def write_session(self) -> PostgresBackend:
        """A new connection to the same database that may write: a second writer."""
        return PostgresBackend(self._url, self._writers.count)

    def close(self) -> None:
        """Closed; a read session given back to its store's kept ones instead when idle."""
        if self._home is None or not self._home.give(self):
            self.discard()

    def discard(self) -> None:
        """Every connection of this backend closed (its kept read sessions' too)."""
        self._home = None
        self._sessions.close()
        self._parts.close()
        self._writers.close()
        if self._ddl is not None:
            self._ddl.close()
        self.con.close()
