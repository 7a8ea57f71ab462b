"""Small tables read between every live batch, cached until this process writes them.

In: :func:`changed` called for each table written (by
:meth:`~seawatch.store.base.Store.write`, by :mod:`seawatch.store.archive` once its
transaction commits, and :func:`written` for each statement DuckDB runs through
``execute``). Out: :class:`Cached`, a value read from
a table again only when the table was written since (or within :data:`SETTLE_S` of such a
write: a write counted before its transaction commits is read again once it has).

Only for DuckDB, where one process holds the database for writing, so every write is
counted here; on PostgreSQL another process may write, so :class:`Cached` reads every time
(``every_time``). Live ingest read the alert rules and the archived days in each batch's
transaction (~3 ms of a ~45 ms batch, bench/RESULTS.md 2026-12-06 19:xx).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["CACHED", "SETTLE_S", "Cached", "changed", "written"]

CACHED = ("alert_rules", "archive_days")
"""The tables read through :class:`Cached`."""

SETTLE_S = 1.0
"""After a write is counted, the table is read every time for this long."""

T = TypeVar("T")
_lock = threading.Lock()
_counts: Counter[str] = Counter()


def changed(table: str) -> None:
    """``table`` was (or is being) written in this process: cached reads of it go stale."""
    with _lock:
        _counts[table] += 1


def written(sql: str) -> None:
    """``sql`` is run: each table of :data:`CACHED` it names counted changed unless it is
    a plain ``SELECT`` (what DuckDB statements run by hand, or by a test, write)."""
    if sql.lstrip()[:6].upper() == "SELECT":
        return
    for table in CACHED:
        if table in sql:
            changed(table)


class Cached(Generic[T]):
    """``read()``'s value, read again when ``table`` was written since (see the module);
    ``every_time``: no cache (another process may write the table)."""

    def __init__(self, table: str, read: Callable[[], T], *, every_time: bool = False) -> None:
        self.table = table
        self.read = read
        self.every_time = every_time
        self._seen = -1
        self._changed_at = 0.0
        self._value: T | None = None
        self.reads = 0

    def get(self) -> T:
        count, now = _counts[self.table], time.monotonic()
        if count != self._seen:
            self._changed_at = now if self._seen >= 0 else 0.0
        fresh = count == self._seen and now - self._changed_at >= SETTLE_S
        if self.every_time or self._value is None or not fresh:
            self._value = self.read()
            self._seen = count
            self.reads += 1
        return self._value
