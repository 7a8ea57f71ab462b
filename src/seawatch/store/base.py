"""The store: one interface over two databases (DuckDB embedded, PostgreSQL in production).

In: a database URL or path (the ``db`` setting / ``--db``) and the settings' labelling
policy. Out: a :class:`Store` that creates and migrates the schema of
:mod:`seawatch.store.tables`, keeps the ``labels`` dictionary, and writes Arrow tables
with deduplication. A backend (:class:`Backend`) only runs SQL, moves Arrow tables in and
out, and inserts with the table's conflict rule; the shared SQL is generated from the
one declaration of the tables. Opening a database is :mod:`seawatch.store.factory`'s.
Reading records is not here: every read goes through :class:`seawatch.store.query.Query`,
which needs a reader; :meth:`Store.read_session` gives each reading thread its own
connection while one thread writes. SQL handed to a backend uses ``?`` placeholders.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from types import TracebackType

import pyarrow as pa

from seawatch.errors import StoreError
from seawatch.labels import Label, Policy, labels_from_table, labels_table
from seawatch.store.changes import changed
from seawatch.store.label_ids import hashed_label_id, label_key, next_label_id
from seawatch.store.tables import (
    RELAID,
    SCHEMA_VERSION,
    SEQUENCE,
    TABLES,
    Dialect,
    TableDef,
    create_sql,
)
from seawatch.store.tables import migration_sql as _migration_sql

__all__ = ["Backend", "Parts", "Store", "redact_url"]

log = logging.getLogger(__name__)
Parts = Sequence[tuple[str, Sequence[object]]]  # a read's parts: (sql, params) each

_PASSWORD = re.compile(r"(?<=://)([^:/@]*):([^@]*)@")


def redact_url(url: str) -> str:
    """``url`` with any password masked: ``postgresql://me:***@host/db``."""
    return _PASSWORD.sub(r"\1:***@", url)


class Backend(ABC):
    """What a database must do for the store. Implementations: ``duck.DuckBackend``,
    ``postgres.PostgresBackend``. Not for reading records: use the query layer."""

    dialect: Dialect
    display: str  # where the database is, password masked (for messages and logs)

    @abstractmethod
    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run one statement that returns nothing."""

    @abstractmethod
    def fetch(self, sql: str, params: Sequence[object], schema: pa.Schema) -> pa.Table:
        """Run a query; its result as an Arrow table of exactly ``schema`` (cast)."""

    read_parts = 1  # how many parts an area's positions are read in (fetch_parts)

    def fetch_parts(self, parts: Parts, schema: pa.Schema) -> pa.Table:
        """Disjoint parts of one read, ``(sql, params)``: their rows (at once, if it can)."""
        return pa.concat_tables([self.fetch(sql, params, schema) for sql, params in parts])

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """A transaction: committed when the block ends, rolled back if it raises."""

    def snapshot(self) -> AbstractContextManager[None]:
        """A transaction whose reads all see one moment (inside an open transaction: that
        one). DuckDB's transactions are snapshots; PostgreSQL's need ``REPEATABLE READ``."""
        return self.transaction()

    @abstractmethod
    def insert(self, table: TableDef, rows: pa.Table) -> int:
        """Insert ``rows`` (already ``table.conform``-ed) into ``table``, inside the caller's
        transaction. Rows whose key is stored, or repeated in ``rows``, are stored once:
        the stored row kept (``on_conflict="ignore"``) or replaced (``"replace"``).
        ``positions`` rows are written in (day, 1-degree cell) order. Returns the number of
        rows inserted (ignore) or written (replace)."""

    @abstractmethod
    def table_names(self) -> set[str]:
        """Tables present in the database."""

    @abstractmethod
    def size_bytes(self) -> dict[str, int]:
        """Bytes on disk: ``{"total": n}`` and, where the database can tell, per table."""

    @abstractmethod
    def enter_writer(self) -> None:
        """Before rows of a sequenced table are written in the caller's transaction: count
        this transaction as a writer in flight until it ends (committed or rolled back),
        so :meth:`settled_seq` waits for it."""

    @abstractmethod
    def settled_seq(self, timeout_s: float) -> int | None:
        """The largest write number S such that every row written with a number <= S is
        committed or rolled back (0: none drawn yet): waits up to ``timeout_s`` for the
        writers in flight, blocking new ones meanwhile; None if they did not end in time.
        Not inside a transaction of this connection."""

    def relayout(self, table: TableDef) -> int:
        """Rewrite ``table`` in this backend's layout (a schema version in ``RELAID``), in
        the caller's transaction; the rows moved (0: nothing to do, the default)."""
        return 0

    def loading(self) -> AbstractContextManager[None]:
        """A load of many chunks: within, a backend may write days that hold no rows yet
        its own faster way, seen by readers only once complete (PostgreSQL: without
        indexes, then indexed and attached, :mod:`.pg_load`); the default changes nothing."""
        return nullcontext()

    def maintain(self) -> list[str]:
        """Rewrite what a backend keeps better rewritten once written (PostgreSQL: each
        closed day's positions in (cell, vessel, time) order; DuckDB: closed days copied in
        vessel order, ``duck_tracks``); what was rewritten."""
        return []

    def read_session(self) -> Backend:
        """The same database over a connection of its own, for one reading thread while
        another thread writes through this one (see :meth:`Store.read_session`)."""
        raise StoreError(f"{self.display}: this backend has no read sessions")

    def write_session(self) -> Backend:
        """The same database over a connection of its own that may write, for a second
        writing thread (the server's live ingest) beside the one using this one."""
        raise StoreError(f"{self.display}: this backend has no write sessions")

    def memory_bytes(self) -> int | None:
        """Memory the database engine holds in this process (None: not in this process,
        or not known)."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""


class Store:
    """An open store: schema management, labels, and deduplicating writes."""

    def __init__(self, backend: Backend, policy: Policy) -> None:
        self.backend = backend
        self.policy = policy
        self._label_ids: dict[tuple[str, str, bool], int] | None = None
        self._held: dict[int, Label] | None = None
        self._holding = 0

    def __repr__(self) -> str:
        return f"Store({self.backend.display!r}, version={self.version()})"

    # --- schema -----------------------------------------------------------------------
    def version(self) -> int | None:
        """Schema version of the database; ``None`` when it has no schema yet."""
        if "schema_version" not in self.backend.table_names():
            return None
        t = self.backend.fetch(
            "SELECT max(version) AS version FROM schema_version",
            (),
            pa.schema([pa.field("version", pa.int32())]),
        )
        v = t.column(0)[0].as_py()
        return None if v is None else int(v)

    def migrate(self) -> tuple[int | None, int]:
        """Bring the schema to :data:`SCHEMA_VERSION`; returns (version before, after)."""
        before = self.version()
        if before is not None and before > SCHEMA_VERSION:
            raise StoreError(
                f"{self.backend.display}: schema version {before} is newer than this seawatch "
                f"({SCHEMA_VERSION}); upgrade seawatch"
            )
        if before == SCHEMA_VERSION:
            return before, before
        with self.backend.transaction():
            if before is None:
                self.backend.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}")
                for table in TABLES.values():
                    self.backend.execute(create_sql(table, self.backend.dialect))
            else:
                for stmt in _migration_sql(self.backend.dialect, before, SCHEMA_VERSION):
                    self.backend.execute(stmt)
                for version, names in RELAID.items():
                    if before < version <= SCHEMA_VERSION:
                        for name in names:
                            self.backend.relayout(TABLES[name])
            self.backend.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)",
                (SCHEMA_VERSION, datetime.now(UTC), f"migrated from {before or 'empty'}"),
            )
        log.info("%s: schema %s -> %d", self.backend.display, before, SCHEMA_VERSION)
        return before, SCHEMA_VERSION

    def require_current(self) -> None:
        """Raise unless the schema is the current one (``seawatch db migrate`` fixes it)."""
        v = self.version()
        if v != SCHEMA_VERSION:
            raise StoreError(
                f"{self.backend.display}: schema version {v} (expected {SCHEMA_VERSION}); "
                "run `seawatch db migrate`"
            )

    # --- labels -----------------------------------------------------------------------
    def labels(self) -> dict[int, Label]:
        """Every label in the store by id (the dictionary records' ``label_id`` refers to)."""
        if self._held is not None:
            return dict(self._held)
        schema = TABLES["labels"].arrow_schema()
        t = self.backend.fetch(
            f"SELECT {', '.join(schema.names)} FROM labels ORDER BY label_id", (), schema
        )
        labels = labels_from_table(t.cast(_labels_schema()), self.policy)
        if self._holding:
            self._held = labels
        return dict(labels)

    @contextmanager
    def labels_held(self) -> Iterator[None]:
        """Within: :meth:`labels` reads the table once and answers from that read (a
        federation release asks for them half a dozen times, a query each); a label this
        store adds meanwhile (:meth:`label_id`) drops the read. Labels another writer adds
        meanwhile are not seen until the block ends: use it where one snapshot of the
        labels is wanted (a release decides on rows of the labels it read first)."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
            if not self._holding:
                self._held = None

    def label_id(self, label: Label) -> int:
        """The id of ``label``, adding it to ``labels`` (in the caller's transaction).

        A new label's id is drawn from a hash of its canonical form (:func:`hashed_label_id`),
        not "the largest id + 1": two writers of one database (the server's live ingest and
        its API, each on a session of its own, neither seeing the other's uncommitted rows)
        then never give one id to two labels; both adding the same label give it the same
        id. An id already held by another label moves on to the next free one."""
        key = label_key(label)
        found = None if self._label_ids is None else self._label_ids.get(key)
        if found is not None:
            return found
        self._label_ids = {label_key(lb): i for i, lb in self.labels().items()}
        found = self._label_ids.get(key)
        if found is not None:
            return found
        taken = {i: k for k, i in self._label_ids.items()}
        new = hashed_label_id(key)
        for _ in range(1000):
            if new not in taken:
                break
            new = next_label_id(new)
        self._held = None
        self.backend.insert(TABLES["labels"], labels_table({new: label}, self.policy))
        stored = self.labels().get(new)
        if stored is None or label_key(stored) != key:  # a writer we could not see took it
            self._label_ids = None
            raise StoreError(f"label id {new} for {label.marking!r} was taken meanwhile; try again")
        self._label_ids[key] = new
        return new

    def forget_label_cache(self) -> None:
        """Drop cached label ids (after a rolled-back transaction that added labels)."""
        self._label_ids = None

    # --- writes -----------------------------------------------------------------------
    def transaction(self) -> AbstractContextManager[None]:
        return self.backend.transaction()

    def loading(self) -> AbstractContextManager[None]:
        """A bulk load (an ingest run of many chunks): within, each chunk is still written
        and committed by :meth:`write` in its transaction, but a backend may keep days that
        had no rows before the load out of readers' sight until the load is past them,
        then show each whole (PostgreSQL: loaded without indexes, indexed once; a crash
        leaves the days unseen, their committed chunks kept for the next load or
        ``seawatch db maintain`` to finish). The rows stored, and what queries answer
        once the load is past a day, are the same as without it."""
        return self.backend.loading()

    def write(self, table: str, rows: pa.Table) -> int:
        """Insert ``rows`` into ``table`` with its conflict rule; rows stored (see Backend)."""
        if rows.num_rows == 0:
            return 0
        tdef = TABLES[table]
        if tdef.labelled and rows.column("label_id").null_count:
            raise StoreError(f"{table}: rows without label_id; every record needs a label")
        changed(table)  # a cached read of it goes stale (store.changes)
        if not tdef.sequenced:
            return self.backend.insert(tdef, tdef.conform(rows))
        with self.backend.transaction():  # the write number is settled when this commits
            self.backend.enter_writer()
            if table == "positions":  # late rows of an archived day: the day comes back
                from seawatch.store.archive import reopen

                reopen(self, rows.column("ts"))  # (into its partition: a day with rows)
            return self.backend.insert(tdef, tdef.conform(rows))

    def append(self, table: str, row: dict[str, object], *, keep_stored: bool = False) -> None:
        """Insert one row whose key is new (an audit row: a fresh random id) with a plain
        ``INSERT``, in the caller's transaction: no deduplication (a key already stored is a
        :class:`StoreError` from the table's primary key; with ``keep_stored`` the stored
        row is kept and this one left out, ``ON CONFLICT DO NOTHING``: an ``ingest_log``
        row per live batch). A fifth of :meth:`write`'s CPU for one row (no Arrow table
        registered, no anti-join: bench/serve_parts.py)."""
        tdef = TABLES[table]
        if tdef.labelled or tdef.sequenced or tdef.bulk:
            raise StoreError(f"{table}: append is for small unlabelled tables (use write)")
        unknown = set(row) - set(tdef.names)
        if unknown:
            raise StoreError(f"{table}: no column {', '.join(sorted(unknown))}")
        cols = [c for c in tdef.names if c in row]
        keep = " ON CONFLICT DO NOTHING" if keep_stored else ""
        self.backend.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
            + keep,
            [row[c] for c in cols],
        )

    def settled_seq(self, timeout_s: float = 5.0) -> int | None:
        """The write number up to which every write is committed or rolled back (see
        :meth:`Backend.settled_seq`): rows numbered up to it are all visible now, none
        will appear later. None if writers stayed in flight ``timeout_s``."""
        return self.backend.settled_seq(timeout_s)

    def counts(self) -> dict[str, int]:
        """Rows per table (for ``seawatch db stats``; counts, not records)."""
        out = {}
        present = self.backend.table_names()
        for name in TABLES:
            if name in present:
                t = self.backend.fetch(
                    f"SELECT count(*) AS n FROM {name}", (), pa.schema([("n", pa.int64())])
                )
                out[name] = int(t.column(0)[0].as_py())
        return out

    # --- sessions and lifetime ---------------------------------------------------------
    @contextmanager
    def read_session(self) -> Iterator[Store]:
        """This store over a connection of its own, for one reading thread:
        ``with store.read_session() as s: Query(s, reader).positions()``.

        One writer and many readers in one process (the server ingests and answers at
        once): the writer keeps this store; each reading thread opens a session (DuckDB:
        a cursor of the same database, PostgreSQL: a new read-only connection) and reads
        only committed rows through :class:`~seawatch.store.query.Query`, which applies the
        label filter as always. A session is not shared between threads; it is closed
        when the block ends (the store stays open)."""
        session = Store(self.backend.read_session(), self.policy)
        try:
            yield session
        finally:
            session.backend.close()

    @contextmanager
    def write_session(self) -> Iterator[Store]:
        """This store over a connection of its own that may write (DuckDB: a cursor of the
        same database; PostgreSQL: a new connection), so a second thread writes without
        waiting for the first: the server's live ingest writes on one while requests
        write audit rows on this store. Each session caches label ids of its own: two
        writers adding the same new label at once is left to the database (the labels
        table's key). Closed when the block ends (the store stays open)."""
        session = Store(self.backend.write_session(), self.policy)
        try:
            yield session
        finally:
            session.backend.close()

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _labels_schema() -> pa.Schema:
    from seawatch.labels import LABELS_SCHEMA

    return LABELS_SCHEMA
