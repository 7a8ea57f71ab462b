"""One PostgreSQL read sent by several connections at once, in one snapshot.

In: the parts of a read (the same query with disjoint conditions, each whole SQL: the query
layer's, its label filter in every part), the backend's connection inside a read-only
``REPEATABLE READ`` transaction. Out: the parts' rows, concatenated (no order: the query
layer sorts).

Why: a viewport + 1 day at 100 M positions returns ~50 k rows of 14 values; the server forms
and sends every value of a ``COPY`` on the one backend process of the connection (~4 ms of
its CPU per column, bench/RESULTS.md 2026-12-07 session 3 h-pg), which PostgreSQL's parallel
workers do not share (they scan; the leader sends). Two connections each reading half of the
area (split at a whole degree of latitude: the rows are stored in 1-degree cells, so each
half reads its own pages) are two backends on two cores, each sending half.

One moment: the first part runs on the backend's connection, whose transaction exports its
snapshot (``pg_export_snapshot``); each other connection begins ``REPEATABLE READ READ
ONLY`` with ``SET TRANSACTION SNAPSHOT`` of it, so all parts see exactly the same rows. Only a
transaction that has written nothing may be shared so (another connection would not see its
writes): :class:`PartReads` is used by :meth:`.postgres.PostgresBackend.fetch_parts` only in
a transaction :meth:`~.postgres.PostgresBackend.snapshot` began for reading; elsewhere the
parts are read one after the other on the one connection.

The extra connections are opened on first use and kept (one per part beyond the first, per
backend: a read session of the server has its own).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from seawatch.store.pg_binary import binary_select, from_binary
from seawatch.store.pg_csv import from_csv, ident, out_expr
from seawatch.store.pg_receive import receive
from seawatch.store.pg_sql import SESSION

__all__ = ["PartReads", "copy_out"]

_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f-]+")


def copy_out(con: Any, query: str, schema: pa.Schema) -> pa.Table:
    """The rows of ``query`` (parameters bound) read on ``con`` by ``COPY ... TO STDOUT``
    (binary; CSV for lists), as a table of ``schema``. psycopg's errors pass."""
    binary = binary_select(schema, lambda name: f"q.{ident(name)}")  # None: lists
    cols = binary or ", ".join(out_expr(f) for f in schema)
    fmt = "binary" if binary else "csv"
    copy_sql = f"COPY (SELECT {cols} FROM ({query}) AS q) TO STDOUT (FORMAT {fmt})"
    with con.cursor() as cur, cur.copy(copy_sql) as copy:
        data = receive(con, copy)  # one compiled loop over the messages
    return from_binary(data, schema) if binary else from_csv(data.tobytes(), schema)


class PartReads:
    """The extra connections of one backend's split reads, and the threads reading them."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        self._cons: list[Any] = []
        self._pool: ThreadPoolExecutor | None = None
        self._threads = 0

    def _connections(self, n: int) -> list[Any]:
        self._cons = [c for c in self._cons if not c.closed]  # lost ones opened anew
        while len(self._cons) < n:
            con = self._connect()
            con.execute("SET TIME ZONE 'UTC'")
            for name, value in SESSION:
                con.execute(f"SET {name} = '{value}'")
            self._cons.append(con)
        if self._pool is None or self._threads < n:
            if self._pool is not None:
                self._pool.shutdown()
            self._pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="pg-part")
            self._threads = n
        return self._cons[:n]

    def fetch(
        self,
        con: Any,
        queries: Sequence[str],
        schema: pa.Schema,
        fail: Callable[[BaseException, str], Exception],
    ) -> list[pa.Table]:
        """The rows of each of ``queries`` (bound SQL): the first on ``con``
        (in its read-only transaction, whose snapshot the others share), the others on
        connections of their own at the same time. Every part is waited for; the first
        error is raised after (a database's as ``fail(error, sql)``)."""
        import psycopg

        row = con.execute("SELECT pg_export_snapshot()").fetchone()
        snapshot = str(row[0]) if row else ""
        if not _SNAPSHOT_ID.fullmatch(snapshot):
            raise ValueError(f"unexpected snapshot id {snapshot!r}")
        others = self._connections(len(queries) - 1)
        assert self._pool is not None
        futures = [
            self._pool.submit(_read_in, c, snapshot, q, schema)
            for c, q in zip(others, queries[1:], strict=True)
        ]
        out: list[pa.Table] = []
        failed: tuple[BaseException, str] | None = None
        try:
            out.append(copy_out(con, queries[0], schema))
        except BaseException as exc:  # the others are still waited for
            failed = (exc, queries[0])
        for future, query in zip(futures, queries[1:], strict=True):
            try:
                out.append(future.result())
            except BaseException as exc:
                failed = failed or (exc, query)
        if failed is None:
            return out
        error, query = failed
        if isinstance(error, psycopg.Error):
            raise fail(error, query) from None
        raise error

    def opened(self) -> list[Any]:
        """The extra connections opened so far."""
        return list(self._cons)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        for con in self._cons:
            con.close()
        self._cons = []


def _read_in(con: Any, snapshot: str, query: str, schema: pa.Schema) -> pa.Table:
    """``query`` read on ``con`` (autocommit) in a read-only transaction of ``snapshot``."""
    import psycopg

    con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        con.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        rows = copy_out(con, query, schema)
    except BaseException:
        if not con.closed:  # a lost connection is dropped (and opened anew next time)
            with contextlib.suppress(psycopg.Error):
                con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return rows
