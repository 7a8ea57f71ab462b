"""Several PostgreSQL connections writing one chunk's positions at once, committed with it.

In: a chunk's positions (one row per message, in storage order), the chunk's connection
(the coordinator, inside the chunk's transaction) and ``db_writers - 1`` more connections.
Out: the rows stored by all of them, committed or rolled back with the chunk's transaction
by two-phase commit; prepared parts left by a crash, resolved by the next connection.

Why two-phase commit and not staging tables: a PostgreSQL transaction belongs to one
connection, and the server's work per row (heap, four indexes, WAL) is ~85 % of writing a
chunk (measured with 1 M positions: ``COPY`` into an unlogged table without indexes 1.9 s,
then ``INSERT ... SELECT`` from it into ``positions`` 10.2 s; ``COPY`` straight into
``positions`` 11.2 s). Copying into staging tables in parallel and moving them in the
chunk's one transaction would leave that 85 % on one core. So:

1. the partitions of the chunk's days are made first, committed on their own (an empty
   partition is no data);
2. the rows are cut into ``db_writers`` slices, blocks of the storage order dealt in turn
   (:data:`INTERLEAVE_ROWS`); writer ``i > 0`` COPYs slice ``i`` in a transaction of its
   own and ``PREPARE TRANSACTION 'seawatch:<xid>:<n>:<i>'`` (``xid``: the chunk
   transaction's id); the coordinator COPYs slice 0 in the chunk's transaction,
   meanwhile, in threads;
3. the chunk's transaction goes on (statics, its ``ingest_log`` row) and commits; then the
   prepared slices are committed (``COMMIT PREPARED``). Anything failing before that
   commit rolls them back (``ROLLBACK PREPARED``).

A crash (of the client or the server) can leave prepared slices. Each new connection
resolves them by their coordinator's fate, ``pg_xact_status(xid)``: committed → commit,
aborted → roll back, in progress → left to the coordinator. So a chunk is stored whole or
not at all. Only between the coordinator's commit and the slices' (milliseconds; after a
crash just there, until the next connection to the database) can a reader see the chunk's
log row and part of its positions.

The server must allow it: ``max_prepared_transactions`` at least ``db_writers - 1`` per
process ingesting at once (the default, 0, allows none: one connection writes then, and a
warning says so once). Two processes writing the same messages at once could wait on each
other through their clients (writer A waits for B's key, B's coordinator for its writer,
which waits for A's key), which the server cannot see as a deadlock: every parallel write
has a ``lock_timeout`` (:data:`LOCK_TIMEOUT`), and on it the chunk's rows are written by the
coordinator alone, the one-connection way the server does see. So are a chunk's rows when
some are stored already (the same messages again): merging needs a temporary table, and a
transaction that used one cannot be prepared. Used by :mod:`.postgres`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from seawatch.store.gate import PG_ENTER
from seawatch.store.pg_binary import binary_blocks, can_send
from seawatch.store.pg_csv import to_csv
from seawatch.store.tables import SEQ, SEQUENCE, TableDef

__all__ = [
    "GID_PREFIX",
    "LOCK_TIMEOUT",
    "MIN_ROWS_PER_WRITER",
    "PARTITION_LOCK_TIMEOUT",
    "Encoded",
    "FallBackError",
    "Writers",
    "copy_new",
    "encode",
    "merge",
    "resolve_prepared",
    "write_rows",
]

log = logging.getLogger(__name__)

GID_PREFIX = "seawatch:"
LOCK_TIMEOUT = "10s"
"""How long a parallel write waits for a row lock before the chunk goes one connection."""
PARTITION_LOCK_TIMEOUT = "60s"
"""How long making a day's partition waits (another writer's chunk may hold its ATTACH)."""
MIN_ROWS_PER_WRITER = 20_000
"""Fewer rows per writer than this: one connection (threads and prepares cost more)."""
INTERLEAVE_ROWS = 1_024
"""Rows of a block of the storage order dealt to the writers in turn (writer ``i`` COPYs
blocks ``i``, ``i + n``, ...). The writers COPY into one table at once, so its pages come
in runs of one writer's, then the other's; with a contiguous half each (before), a BRIN
range where the runs meet held cells half a sweep apart and matched most boxes: 6 of the
bench's viewports read 7,281 heap blocks of such days where the same rows COPY by COPY read
5,789. With blocks dealt in turn the writers write neighbouring blocks at the same time; at
100 M the bench's 30 viewports read 13 % fewer heap blocks (bench/RESULTS.md, 2026-12-07
session 6 h-pg)."""
_names = (f"_incoming_{i}" for i in itertools.count())
_seq = itertools.count()


@dataclass(frozen=True)
class Encoded:
    """Rows as ``COPY ... FROM STDIN`` reads them: ``fmt`` ``binary`` (``rows`` of
    ``types``, encoded piece by piece as they are sent) or ``csv`` (``text``)."""

    fmt: str
    rows: pa.Table | None = None
    types: tuple[pa.DataType, ...] = ()
    text: bytes = b""

    def write_to(self, copy: Any) -> None:
        """The rows written to an open ``COPY ... FROM STDIN`` (psycopg's ``Copy``)."""
        if self.rows is None:
            copy.write(self.text)
            return
        for piece in binary_blocks(self.rows, list(self.types)):
            copy.write(piece)  # psycopg hands it to libpq before returning


def encode(table: TableDef, rows: pa.Table) -> Encoded:
    """``rows`` (``table``'s columns in its order) for ``COPY``: binary when each column's
    type has a binary form here (the server parses no text: floats, timestamps and integers
    cost it less, bench/RESULTS.md 2026-12-07 h-pg "binary COPY FROM"), else CSV (lists)."""
    types = {c.name: c.type for c in table.columns}
    wanted = [types[name] for name in rows.column_names]
    if rows.column_names == list(table.names) and can_send(wanted):
        return Encoded("binary", rows, tuple(wanted))
    return Encoded("csv", text=to_csv(rows))


class FallBackError(Exception):
    """A parallel write gave up (some rows stored already, or a lock wait too long): the
    chunk's rows are written by one connection, which merges."""


def copy_new(con: Any, table: TableDef, data: Encoded, into: str | None = None) -> int | None:
    """COPY ``data`` straight into ``table``: the fast way when every message is new (the
    common case). ``None`` when some are stored already, or were by another writer
    meanwhile (unique violation at the first one): rolled back to a savepoint, and the
    caller merges instead. A file ingested twice fails at its first row, cheaply. ``into``:
    another table of the same columns (a day being loaded, :mod:`.pg_load`)."""
    import psycopg

    cols = ", ".join(table.names)
    if table.sequenced and data.rows is not None:  # one write number for the COPY
        data, cols = numbered(con, data), f"{cols}, {SEQ}"
    try:
        with con.transaction(), con.cursor() as cur:  # a savepoint
            sql = f"COPY {into or table.name} ({cols}) FROM STDIN (FORMAT {data.fmt})"
            with cur.copy(sql) as copy:
                data.write_to(copy)
            return int(cur.rowcount)
    except psycopg.errors.UniqueViolation:
        log.info("%s: some rows stored already; merging", table.name)
        return None


def numbered(con: Any, data: Encoded) -> Encoded:
    """Binary ``data`` with a write number column: one number drawn now for all its rows
    (in the writer's transaction, as the column's default would draw one a row). Why: the
    per-row ``nextval`` was ~9.5 % of the server's ingest work (bench/RESULTS.md, 2026-12-07
    session 4 h-pg); a write number orders writes, not rows (the DuckDB store draws one a
    chunk), and no COPY holds a message twice (:func:`.pg_csv.first_per_message`)."""
    rows = data.rows
    if rows is None:  # pragma: no cover - the caller sends only binary data here
        raise ValueError("a write number column for binary COPY data only")
    number = int(con.execute(f"SELECT nextval('{SEQUENCE}')").fetchone()[0])
    seq = pa.array(np.full(rows.num_rows, number, dtype=np.int64))
    return Encoded("binary", rows.append_column(SEQ, seq), (*data.types, pa.int64()))


def merge(con: Any, table: TableDef, data: Encoded) -> int:
    """COPY into a temporary table, then INSERT with the table's conflict rule."""
    name = next(_names)
    cols = ", ".join(table.names)
    target = ("ts", *table.key) if table.bulk else table.key
    if table.on_conflict == "replace":
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in table.names if c not in table.key)
        if table.sequenced:  # a replaced row is written anew: a new write number
            sets += f", {SEQ} = DEFAULT"
        conflict = f"ON CONFLICT ({', '.join(target)}) DO UPDATE SET {sets}"
    else:
        conflict = f"ON CONFLICT ({', '.join(target)}) DO NOTHING"
    with con.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE {name} AS SELECT {cols} FROM {table.name} WITH NO DATA")
        with cur.copy(f"COPY {name} ({cols}) FROM STDIN (FORMAT {data.fmt})") as copy:
            data.write_to(copy)
        cur.execute(f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {name} {conflict}")
        written = cur.rowcount
        cur.execute(f"DROP TABLE {name}")
    return int(written)


def write_rows(con: Any, table: TableDef, rows: pa.Table) -> int:
    """``rows`` into ``table`` on ``con``, in its open transaction: COPY, else merge."""
    data = encode(table, rows)
    written = copy_new(con, table, data) if table.bulk else None
    return merge(con, table, data) if written is None else written


def _dealt(rows: pa.Table, parts: int, block: int) -> list[pa.Table]:
    """``rows`` as ``parts`` slices: blocks of ``block`` rows dealt in turn (slice ``i``:
    blocks ``i``, ``i + parts``, ...; each in storage order, no copy), the blocks sized so
    every slice has one block per round (the slices differ by at most a row per round)."""
    n = rows.num_rows
    rounds = max(1, -(-n // (block * parts)))
    bounds = [k * n // (rounds * parts) for k in range(rounds * parts + 1)]
    return [
        pa.concat_tables(
            [
                rows.slice(bounds[k], bounds[k + 1] - bounds[k])
                for k in range(i, rounds * parts, parts)
            ]
        )
        for i in range(parts)
    ]


def _copy_all(con: Any, table: TableDef, rows: pa.Table, into: str | None = None) -> int:
    """COPY ``rows``, all new; :class:`FallBackError` if some are stored (a merge needs a
    temporary table, and a transaction that used one cannot be prepared)."""
    written = copy_new(con, table, encode(table, rows), into)
    if written is None:
        raise FallBackError
    return written


def resolve_prepared(con: Any, display: str) -> int:
    """Commit or roll back the prepared slices of this database whose coordinator has
    committed or aborted (a crash left them); the number resolved."""
    import psycopg

    rows = con.execute(
        "SELECT gid, pg_xact_status(split_part(gid, ':', 2)::xid8) FROM pg_prepared_xacts "
        "WHERE database = current_database() AND owner = current_user AND gid LIKE %s",
        [GID_PREFIX + "%"],
    ).fetchall()
    done = 0
    for gid, status in rows:
        if status not in ("committed", "aborted"):
            if status is None:
                log.warning("%s: prepared %s: coordinator's fate unknown; left", display, gid)
            continue
        verb = "COMMIT" if status == "committed" else "ROLLBACK"
        try:
            con.execute(f"{verb} PREPARED '{gid}'")
        except psycopg.errors.UndefinedObject:  # resolved meanwhile by its coordinator
            continue
        log.warning("%s: %s of a crashed ingest: %s PREPARED", display, gid, verb)
        done += 1
    return done


class Writers:
    """The extra connections of one backend and the slices they have prepared."""

    def __init__(self, count: int, connect: Callable[[], Any], display: str) -> None:
        self.count = count
        self.display = display
        self._connect = connect
        self._cons: list[Any] = []
        self._usable: bool | None = None if count > 1 else False
        self.prepared: list[tuple[Any, str]] = []
        """(connection, gid) prepared in the open chunk transaction."""

    def usable(self, con: Any) -> bool:
        """Whether parallel writes are on: ``db_writers > 1`` and the server allows them."""
        if self._usable is None:
            row = con.execute("SHOW max_prepared_transactions").fetchone()
            allowed = int(row[0]) if row else 0
            self._usable = allowed >= self.count - 1
            if not self._usable:
                log.warning(
                    "%s: db_writers = %d needs the server's max_prepared_transactions >= %d "
                    "(it is %d): writing with one connection",
                    self.display,
                    self.count,
                    self.count - 1,
                    allowed,
                )
        return self._usable

    def connections(self) -> list[Any]:
        """The extra connections (made on first use; ``lock_timeout`` set)."""
        while len(self._cons) < self.count - 1:
            con = self._connect()
            con.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
            self._cons.append(con)
        return self._cons

    def write(self, con: Any, table: TableDef, rows: pa.Table, into: str | None = None) -> int:
        """``rows`` (storage order, one per message) into ``table`` (or the table ``into``
        of its columns): slice 0 on ``con`` in its transaction, the others prepared on the
        extra connections. Raises :class:`FallBackError` (all undone) when a lock wait
        timed out."""
        import psycopg

        cons = self.connections()
        parts = len(cons) + 1
        slices = _dealt(rows, parts, INTERLEAVE_ROWS)
        row = con.execute("SELECT pg_current_xact_id()::text").fetchone()
        xid, seq = (row[0] if row else "0"), next(_seq)
        gids = [f"{GID_PREFIX}{xid}:{seq}:{i}" for i in range(1, parts)]

        def prepare(i: int) -> int:
            c, gid = cons[i - 1], gids[i - 1]
            c.execute("BEGIN")
            try:
                if table.sequenced:  # its write numbers settle when the slice commits
                    c.execute(PG_ENTER)  # (a prepared transaction keeps the lock)
                written = _copy_all(c, table, slices[i], into)
                c.execute(f"PREPARE TRANSACTION '{gid}'")
            except BaseException:
                _rollback(c)
                raise
            self.prepared.append((c, gid))
            return written

        written = 0
        try:
            with ThreadPoolExecutor(max_workers=parts - 1) as pool:
                futures = [pool.submit(prepare, i) for i in range(1, parts)]
                con.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
                try:
                    with con.transaction():  # a savepoint: undone if the chunk falls back
                        written = _copy_all(con, table, slices[0], into)
                        written += sum(f.result() for f in futures)
                finally:
                    con.execute("SET lock_timeout = DEFAULT")
        except (psycopg.errors.LockNotAvailable, FallBackError):
            self.finish(commit=False)
            raise FallBackError from None
        except BaseException:
            self.finish(commit=False)
            raise
        return written

    def finish(self, commit: bool | None) -> None:
        """Commit (the chunk committed: ``True``) or roll back (``False``) the prepared
        slices; ``None``: the chunk's commit failed, each as its coordinator's fate says
        (a commit whose answer was lost may have committed; still open: left to the next
        connection, :func:`resolve_prepared`)."""
        import psycopg

        pending, self.prepared = self.prepared, []
        for c, gid in pending:
            verb = "COMMIT" if commit else "ROLLBACK"
            try:
                if commit is None:
                    row = c.execute(
                        "SELECT pg_xact_status(split_part(%s, ':', 2)::xid8)", [gid]
                    ).fetchone()
                    status = row[0] if row else None
                    if status not in ("committed", "aborted"):
                        log.warning("%s: %s left prepared (%s)", self.display, gid, status)
                        continue
                    verb = "COMMIT" if status == "committed" else "ROLLBACK"
                c.execute(f"{verb} PREPARED '{gid}'")
            except psycopg.errors.UndefinedObject:  # another connection resolved it
                pass
            except psycopg.Error as exc:  # the next connection resolves it
                log.warning("%s: %s PREPARED %s failed: %s", self.display, verb, gid, exc)

    def close(self) -> None:
        for c in self._cons:
            c.close()
        self._cons = []


def _rollback(con: Any) -> None:
    """End a writer's failed transaction (if its connection still can)."""
    import psycopg

    try:
        con.execute("ROLLBACK")
    except psycopg.Error as exc:  # a broken connection: the server rolls back
        log.info("rollback of a writer failed: %s", exc)
