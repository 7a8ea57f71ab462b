"""Writers in flight of one embedded database, so a reader can tell which write numbers
are settled (:meth:`seawatch.store.base.Backend.settled_seq`).

In: a database file's path; writers entering (a transaction that writes a sequenced
table) and leaving (it committed or rolled back); a reader asking to be alone. Out:
:meth:`WriterGate.alone`: a moment at which no writer is in flight, new writers held back
meanwhile, or None after a timeout. DuckDB lets one process write a database file, so the
writers of a file are the threads of this process. PostgreSQL does the same across
processes with an advisory lock: writers share it until their transaction ends
(:data:`PG_ENTER`), :func:`pg_settled` takes it alone for a moment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar

from seawatch.store.tables import SEQUENCE

__all__ = ["LOADING", "PG_ENTER", "WriterGate", "gate_for", "pg_settled"]

_PG_WRITERS: Final = 0x5EA7_0001  # the advisory lock key of writers of sequenced tables
PG_ENTER: Final = f"SELECT pg_advisory_xact_lock_shared({_PG_WRITERS})"
"""Run in a writing transaction before it draws write numbers (released when it ends)."""
LOADING: Final = "seawatch: loading from seq "
"""The comment of a day's loading table (:mod:`.pg_load`), then its first write number."""
# the smallest first write number of the loading tables: their rows are not seen yet
_PG_LOADING = (
    "SELECT min(substr(d.description, %s)::bigint) FROM pg_class c JOIN pg_description d "
    "ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0 "
    "WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace "
    "AND d.description LIKE %s"
)

T = TypeVar("T")
_GATES: dict[str, WriterGate] = {}
_GATES_LOCK = threading.Lock()


class WriterGate:
    """A shared/exclusive gate: writers share it, a reader waiting to be alone holds new
    writers back (so a steady stream of writers cannot starve it)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._writers = 0
        self._waiting = 0

    def enter(self) -> None:
        with self._cond:
            while self._waiting:
                self._cond.wait()
            self._writers += 1

    def leave(self) -> None:
        with self._cond:
            self._writers -= 1
            self._cond.notify_all()

    def alone(self, timeout_s: float, then: Callable[[], T]) -> T | None:
        """``then()`` run while no writer is in flight; None if writers stayed longer than
        ``timeout_s`` (the caller's own open write counts: it would wait for itself)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._waiting += 1
            try:
                while self._writers:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    self._cond.wait(left)
                return then()
            finally:
                self._waiting -= 1
                self._cond.notify_all()


def gate_for(path: Path) -> WriterGate:
    """The one gate of a database file in this process."""
    key = str(Path(path).resolve())
    with _GATES_LOCK:
        return _GATES.setdefault(key, WriterGate())


def pg_settled(con: Any, timeout_s: float) -> int | None:
    """PostgreSQL (a psycopg connection, autocommit, no transaction open): the writers'
    lock held alone for a moment (every transaction that drew write numbers has ended),
    the sequence's last value read then, or one less than the first write number of a day
    being loaded (its rows are seen once the day is); None if the lock was not had in
    ``timeout_s``."""
    import psycopg

    con.execute(f"SET lock_timeout = '{int(timeout_s * 1000)}ms'")
    try:
        try:
            con.execute(f"SELECT pg_advisory_lock({_PG_WRITERS})")
        except psycopg.errors.LockNotAvailable:
            return None
        try:
            row = con.execute(f"SELECT last_value, is_called FROM {SEQUENCE}").fetchone()
            load = con.execute(_PG_LOADING, [len(LOADING) + 1, LOADING + "%"]).fetchone()
        finally:
            con.execute(f"SELECT pg_advisory_unlock({_PG_WRITERS})")
    finally:
        con.execute("RESET lock_timeout")
    settled = int(row[0]) if row and row[1] else 0
    return settled if not load or load[0] is None else min(settled, int(load[0]) - 1)
