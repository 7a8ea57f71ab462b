"""The DuckDB backend: the embedded default, one database file.

In: a file path. Out: a :class:`~seawatch.store.base.Backend` over it. Positions and
statics are deduplicated on ``msg_key`` in Arrow: one row per key of the chunk, less the
keys stored in the chunk's time range (a unique index over hundreds of millions of keys
would cost more memory than the data, and DuckDB's sort and hash join over the chunk
cost more than the insert), and positions are appended in storage order (day, then
1-degree Z-order cell: :func:`storage_order`; rows that come in that order are only
checked, not sorted), so each row group covers a short time and a small area and
DuckDB's per-row-group min/max skips the rest for a bbox + time query.
DuckDB's write-ahead log makes each committed transaction survive a crash.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.errors import StoreError
from seawatch.store.base import Backend
from seawatch.store.changes import written
from seawatch.store.duck_tracks import changes_positions, maintain, note_insert, note_write
from seawatch.store.gate import WriterGate, gate_for
from seawatch.store.tables import SEQ, SEQUENCE, Dialect, TableDef
from seawatch.store.zorder import stable_order, storage_order

__all__ = ["DUCKDB", "DuckBackend", "in_storage_order", "storage_order"]

log = logging.getLogger(__name__)

DUCKDB = Dialect(
    "duckdb",
    {
        "int8": "TINYINT",
        "int16": "SMALLINT",
        "int32": "INTEGER",
        "int64": "BIGINT",
        "float": "REAL",
        "double": "DOUBLE",
        "bool": "BOOLEAN",
        "string": "VARCHAR",
        "timestamp[us, tz=UTC]": "TIMESTAMPTZ",
    },
    keys_on_bulk=False,
    arg_max=True,
)

_names = (f"_incoming_{i}" for i in itertools.count())


def in_storage_order(rows: pa.Table) -> pa.Table:
    """Positions ``rows`` in storage order (stable; returned as they are when already in
    it), so that their write only checks the order: a reader thread can do the sort
    while another writes (share import reads the next bundle part meanwhile)."""
    cells = storage_order(rows)
    if len(cells) < 2 or not bool((cells[1:] < cells[:-1]).any()):
        return rows
    return rows.take(stable_order(cells))


def _members(
    keys: np.ndarray[Any, np.dtype[Any]], stored: np.ndarray[Any, np.dtype[Any]]
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Which of ``keys`` are in ``stored`` (not empty): a sort and a binary search, 50-80x
    faster than ``np.isin``'s hashing at a million stored keys (bench/share --converge)."""
    ordered = np.sort(stored)
    at = np.searchsorted(ordered, keys)
    at[at == len(ordered)] = 0
    return np.asarray(ordered[at] == keys)


class DuckBackend(Backend):
    """A DuckDB database file (created with its directory if missing)."""

    dialect = DUCKDB

    def __init__(self, path: Path, memory_limit: int = 0) -> None:
        self.path = Path(path)
        self.display = str(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(self.path))
            self.con.execute("SET TimeZone = 'UTC'").fetchall()
            if memory_limit:  # the db_memory_limit setting (0: DuckDB's default)
                mib = max(1, memory_limit >> 20)
                self.con.execute(f"SET memory_limit = '{mib}MiB'").fetchall()
            # archived days' Parquet footers read once, not on every query (store.archive)
            self.con.execute("SET parquet_metadata_cache = true").fetchall()
        except (duckdb.Error, OSError) as exc:
            raise StoreError(
                f"cannot open DuckDB database '{self.path}': {exc} "
                "(check the path; another process may hold it open for writing)"
            ) from None
        self._depth = 0
        self._gate: WriterGate = gate_for(self.path)
        self._entered = False

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        if not self._depth and changes_positions(sql):  # with its copy, in one transaction
            with self.transaction():
                self.execute(sql, params)
            return
        note = note_write if changes_positions(sql) else None  # their copy changes too
        written(sql)  # a cached table's reads go stale (store.changes)
        self._run(sql, params, note)

    def _run(self, sql: str, params: Sequence[object] = (), note: Any = None) -> None:
        """Run ``sql`` (after ``note(self, sql, params)``, the copy's bookkeeping)."""
        try:
            if note is not None:
                note(self, sql, list(params))
            self.con.execute(sql, list(params)).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"{self.display}: {exc}") from exc

    def fetch(self, sql: str, params: Sequence[object], schema: pa.Schema) -> pa.Table:
        try:
            t = self.con.sql(sql, params=list(params) or None).to_arrow_table()
        except duckdb.Error as exc:
            raise StoreError(f"{self.display}: {exc}") from exc
        arrays = [t.column(f.name).cast(f.type) for f in schema]
        return pa.Table.from_arrays(arrays, schema=schema)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            try:
                yield
            except BaseException:
                self._depth = 0
                self.con.execute("ROLLBACK").fetchall()
                raise
            self._depth = 0
            self.execute("COMMIT")
        finally:
            if self._entered:  # its write numbers are settled now
                self._entered = False
                self._gate.leave()

    def transaction(self) -> Any:
        return self._transaction()

    def enter_writer(self) -> None:
        if not self._depth:
            raise StoreError(f"{self.display}: a sequenced write outside a transaction")
        if not self._entered:
            self._gate.enter()
            self._entered = True

    def settled_seq(self, timeout_s: float) -> int | None:
        if self._entered:  # this connection's own write is in flight: it would wait for itself
            return None

        def last() -> int:
            rows = self.con.execute(
                "SELECT last_value FROM duckdb_sequences() WHERE sequence_name = ?", [SEQUENCE]
            ).fetchall()
            return int(rows[0][0]) if rows and rows[0][0] is not None else 0

        return self._gate.alone(timeout_s, last)

    def insert(self, table: TableDef, rows: pa.Table) -> int:
        if table.bulk:
            return self._insert_bulk(table, rows)
        name = next(_names)
        cols = ", ".join(table.names)
        key = ", ".join(table.key)
        self.con.register(name, rows)
        try:
            with self.transaction():  # an INSERT answers how many rows it added
                unique = f"(SELECT DISTINCT ON ({key}) * FROM {name} ORDER BY {key})"
                if rows.num_rows == 1:  # one row is one key (an ingest_log row per batch)
                    unique = name
                into = f"{table.name} ({cols})"  # a sequenced table's seq: its default
                where = " AND ".join(f"t.{k} = i.{k}" for k in table.key)
                if table.on_conflict == "replace":
                    self.execute(
                        f"DELETE FROM {table.name} t WHERE EXISTS "
                        f"(SELECT 1 FROM {name} i WHERE {where})"
                    )
                    return self._added(f"INSERT INTO {into} SELECT {cols} FROM {unique}")
                # keys stored left out by an anti-join: cheaper than OR IGNORE's conflict check
                return self._added(
                    f"INSERT INTO {into} SELECT {cols} FROM {unique} i "
                    f"WHERE NOT EXISTS (SELECT 1 FROM {table.name} t WHERE {where})"
                )
        finally:
            self.con.unregister(name)

    def _insert_bulk(self, table: TableDef, rows: pa.Table) -> int:
        """Positions, statics: one row per key (the first receiver's by name), keys already
        stored in the chunk's time range left out (anti-join in Arrow: no DuckDB sort or
        hash join over the chunk), then appended in storage order."""
        (key,) = table.key
        keys = rows.column(key).to_numpy(zero_copy_only=False)
        ordered = np.sort(keys)
        if len(keys) > 1 and bool((ordered[1:] == ordered[:-1]).any()):
            order = [(key, "ascending")] + (
                [("station", "ascending")] if "station" in table.names else []
            )
            idx = pc.sort_indices(rows, sort_keys=order).to_numpy()  # type: ignore[arg-type]
            keys = keys[idx]
            first = np.ones(len(keys), dtype=bool)
            first[1:] = keys[1:] != keys[:-1]
            idx, keys = idx[first], keys[first]
        else:  # every key once (a bundle, a deduplicated batch): no sort by key and name
            idx = np.arange(len(keys))
        lo, hi = pc.min_max(rows.column("ts")).values()
        stored = self.fetch(
            f"SELECT {key} FROM {table.name} WHERE ts BETWEEN ? AND ?",
            [lo.as_py(), hi.as_py()],
            pa.schema([pa.field(key, pa.int64())]),
        )
        if stored.num_rows:
            idx = idx[~_members(keys, stored.column(0).to_numpy(zero_copy_only=False))]
        if table.name == "positions":  # storage order over the kept rows, one take in all
            cells = storage_order(rows)[idx]
            if len(cells) > 1 and bool((cells[1:] < cells[:-1]).any()):
                idx = idx[stable_order(cells)]
            # (rows already in storage order, as a share import sorts them: checked, O(n))
        if len(idx) != rows.num_rows or bool((idx[1:] < idx[:-1]).any()):
            rows = rows.take(idx)  # (every row, in the order given: taken as it is)
        if rows.num_rows == 0:
            return 0
        if table.name == "positions":  # closed days read from their copy: read here again
            note_insert(self, pc.min(rows.column("ts")).as_py())
        name = next(_names)
        cols = ", ".join(table.names)
        into, values = f"{table.name} ({cols})", cols
        if table.sequenced:  # one write number for the chunk (cheaper than one a row)
            batch = self.con.execute(f"SELECT nextval('{SEQUENCE}')").fetchall()[0][0]
            into, values = f"{table.name} ({cols}, {SEQ})", f"{cols}, {int(batch)}"
        self.con.register(name, rows)
        try:
            self._run(f"INSERT INTO {into} SELECT {values} FROM {name}")  # noted above
        finally:
            self.con.unregister(name)
        return rows.num_rows

    def _added(self, sql: str) -> int:
        """Run an INSERT; the rows it added."""
        try:
            rows = self.con.execute(sql).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"{self.display}: {exc}") from exc
        return int(rows[0][0]) if rows else 0

    def _count(self, table: str) -> int:
        rows = self.con.execute(f"SELECT count(*) FROM {table}").fetchall()
        return int(rows[0][0])

    def maintain(self) -> list[str]:
        """Closed days copied in vessel order for tracks (:mod:`.duck_tracks`)."""
        try:
            return maintain(self)
        except duckdb.Error as exc:
            raise StoreError(f"{self.display}: copying closed days: {exc}") from exc

    def table_names(self) -> set[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
        return {str(r[0]) for r in rows}

    def size_bytes(self) -> dict[str, int]:
        self.execute("CHECKPOINT")
        out = {"total": self.path.stat().st_size}
        block = int(
            self.con.execute("SELECT block_size FROM pragma_database_size()").fetchall()[0][0]
        )
        for name in sorted(self.table_names()):
            r = self.con.execute(
                f"SELECT count(DISTINCT block_id) FROM pragma_storage_info('{name}') "
                "WHERE persistent AND block_id >= 0"
            ).fetchall()
            out[name] = int(r[0][0]) * block
        return out

    def read_session(self) -> DuckBackend:
        """The same database over its own cursor (``connection.cursor()``: a connection of
        its own to the same database instance): one per reading thread. It sees what is
        committed; the writer keeps the main connection."""
        return self._cursor("read")

    def memory_bytes(self) -> int | None:
        """DuckDB's own accounting of the memory it holds (``duckdb_memory()``: buffer
        pool, indexes, hash tables, ...), for the database's every connection."""
        rows = self.con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    def write_session(self) -> DuckBackend:
        """A cursor as :meth:`read_session`, for a second writer in this process (DuckDB
        runs transactions of one database's connections concurrently; two that change the
        same row conflict and the second fails)."""
        return self._cursor("write")

    def _cursor(self, what: str) -> DuckBackend:
        session = object.__new__(DuckBackend)
        session.path, session.display, session._depth = self.path, self.display, 0
        session._gate, session._entered = self._gate, False
        try:
            session.con = self.con.cursor()
            session.con.execute("SET TimeZone = 'UTC'").fetchall()
            session.con.execute("SET parquet_metadata_cache = true").fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"{self.display}: cannot open a {what} session: {exc}") from None
        return session

    def close(self) -> None:
        try:
            self.con.close()
        except duckdb.Error as exc:  # pragma: no cover - closing a broken connection
            log.warning("%s: close failed: %s", self.display, exc)
