"""The read sessions of one PostgreSQL store, kept open between readers.

In: a way to open a read session (a read-only :class:`~.postgres.PostgresBackend`), the
sessions readers are done with. Out: the next reader's session: an idle one that still
answers, else a new one.

Why: ``seawatch serve`` reads every request in a session of its own
(:meth:`~seawatch.store.base.Store.read_session`). A new session is a new connection (the
server forks a backend, authenticates, the session's settings, PostGIS looked up), and its
first area read opens the second connection of :mod:`.pg_split`; both backends then start
with empty catalogue caches and map the shared buffers page by page. A viewport + 1 day at
100 M positions read in a new session took +16-27 ms (median) over the same read on a kept
one (opening it 6-10 ms; bench/RESULTS.md, 2026-12-08 session 8 h-pg). A session given
back idle (no transaction open on any of its connections) is kept, up to :data:`KEEP`; one
given back in any other state is closed. A kept session is checked before it is handed
out again (an empty statement: a connection the server ended is closed, not handed out).
Sessions stay read-only (``default_transaction_read_only``) and every read still goes
through :class:`~seawatch.store.query.Query`: only the connection is reused.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seawatch.store.postgres import PostgresBackend

__all__ = ["KEEP", "ReadSessions"]

KEEP = 4
"""Idle read sessions kept per store (each holds up to two connections)."""


def _idle(con: Any) -> bool:
    from psycopg import pq

    return not con.closed and con.info.transaction_status == pq.TransactionStatus.IDLE


class ReadSessions:
    """The idle read sessions of one store; thread-safe."""

    def __init__(self, open_session: Callable[[], PostgresBackend], keep: int = KEEP) -> None:
        self._open = open_session
        self._keep = keep
        self._idle: list[PostgresBackend] = []
        self._lock = threading.Lock()
        self._closed = False

    def take(self) -> PostgresBackend:
        """An idle session that still answers, else a new one."""
        import psycopg

        while True:
            with self._lock:
                session = self._idle.pop() if self._idle else None
            if session is None:
                return self._new()
            try:
                for con in session.connections():  # the server may have ended one since
                    con.execute("")
            except psycopg.Error:
                session.discard()
                continue
            return session

    def _new(self) -> PostgresBackend:
        from seawatch.errors import StoreError

        session = self._open()
        try:
            session.execute("SET default_transaction_read_only = on")
        except StoreError:  # pragma: no cover - a fresh idle connection
            session.discard()
            raise
        session._home = self
        return session

    def give(self, session: PostgresBackend) -> bool:
        """Keep ``session`` for the next reader if it is idle (True); else the caller
        closes it (False)."""
        if not all(_idle(con) for con in session.connections()):
            return False
        with self._lock:
            if any(kept is session for kept in self._idle):  # closed twice: kept once
                return True
            if self._closed or len(self._idle) >= self._keep:
                return False
            self._idle.append(session)
            return True

    def close(self) -> None:
        """Close the idle sessions; those given back later are closed, not kept."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for session in idle:
            session.discard()
