"""DuckDB: closed days of positions copied in vessel order, so a track reads only its rows.

In: a DuckDB backend. Out: the table ``positions_by_vessel`` (the columns of ``positions``)
holding every position of the days before a moment ``until`` (kept in the one-row table
``positions_by_vessel_until``), appended in (MMSI, time) order by :func:`maintain`
(``seawatch db maintain``), and :func:`source`, the relation a read of one vessel's
positions uses instead of ``positions``: the copy before ``until``, the table from it on.

Why: ``positions`` is stored in (day, 1-degree cell) order so a viewport reads a few row
groups, but a vessel's rows of a day are then in every row group of the day: a 30-day track
read 94 of 877 row groups of the 100 M-position bench store (24 ms of CPU); from the copy,
one or two (4 ms; bench/RESULTS.md 2026-12-06). The cost is the copy's bytes (~21 a position).

Kept equal to ``positions`` before ``until`` in every transaction that changes positions
(:func:`note_write`, called by the backend for each statement and insert on positions): a
``DELETE FROM positions ...`` (archive, late-data replacement, retraction) runs on the copy
too; an insert of rows older than ``until`` moves ``until`` back to their day (those days are
read from ``positions`` until the next ``db maintain`` copies them again); any other change
of positions drops ``until`` (nothing is read from the copy until ``db maintain``). Reads go
through the query layer's label filter and conditions as before: only the source differs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pyarrow as pa

from seawatch.store.tables import SEQ, TABLES, TS

if TYPE_CHECKING:
    from seawatch.store.duck import DuckBackend

__all__ = [
    "COPY",
    "UNTIL",
    "changes_positions",
    "has_copy",
    "maintain",
    "note_insert",
    "note_write",
    "source",
]

COPY: Final = "positions_by_vessel"
UNTIL: Final = "positions_by_vessel_until"
_COLUMNS: Final = ", ".join((*TABLES["positions"].names, SEQ))
"""Every column of positions, its write number too (what an archived day's file holds)."""
_DELETE = re.compile(r"^\s*DELETE\s+FROM\s+positions\b", re.IGNORECASE)
_CHANGE = re.compile(
    r"^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE|ALTER\s+TABLE|DROP\s+TABLE)\s+positions\b",
    re.IGNORECASE,
)
_KNOWN: dict[tuple[str, int], bool] = {}
"""Whether a database file (path, inode) has the copy: one process writes a DuckDB file, so
this process's answer holds for every connection to it (sessions included)."""


def _key(backend: DuckBackend) -> tuple[str, int]:
    path = Path(backend.path).resolve()
    try:
        return str(path), path.stat().st_ino
    except OSError:  # an in-memory or vanished file: asked each time
        return str(path), -1


def has_copy(backend: DuckBackend) -> bool:
    """Whether the database has the copy (made by the first :func:`maintain`)."""
    key = _key(backend)
    found = _KNOWN.get(key)
    if found is None:
        rows = backend.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [UNTIL]
        ).fetchall()
        found = bool(rows[0][0])
        if key[1] >= 0:
            _KNOWN[key] = found
    return found


def until(backend: DuckBackend) -> datetime | None:
    """Positions before this moment are in the copy too (None: read none from it)."""
    if not has_copy(backend):
        return None
    rows = backend.con.execute(f"SELECT until FROM {UNTIL}").fetchall()
    return rows[0][0] if rows and rows[0][0] is not None else None


def changes_positions(sql: str) -> bool:
    """Whether ``sql`` changes positions (:func:`note_write` then keeps the copy equal: the
    backend runs both in one transaction)."""
    return _CHANGE.match(sql) is not None


def note_write(backend: DuckBackend, sql: str, params: list[object]) -> None:
    """Before ``sql`` runs in the caller's transaction: keep the copy equal (module)."""
    if not _CHANGE.match(sql) or not has_copy(backend):
        return
    if _DELETE.match(sql):
        backend.con.execute(_DELETE.sub(f"DELETE FROM {COPY}", sql, count=1), params).fetchall()
    else:
        backend.con.execute(f"UPDATE {UNTIL} SET until = NULL").fetchall()


def note_insert(backend: DuckBackend, oldest: datetime) -> None:
    """Rows from ``oldest`` on are inserted into positions: days the copy holds from that
    day on are read from positions again (until the next :func:`maintain`)."""
    if not has_copy(backend):
        return
    day = _day(oldest)
    backend.con.execute(
        f"UPDATE {UNTIL} SET until = ? WHERE until > ?", [day, day]
    ).fetchall()  # a write of today's positions finds nothing to change: no conflict


def source(backend: DuckBackend, start: datetime | None) -> str | None:
    """The relation (parenthesized, no alias) a read of one vessel's positions from ``start``
    uses instead of ``positions``, or None when the copy holds nothing of it."""
    upto = until(backend)
    if upto is None or (start is not None and start >= upto):
        return None
    at = f"TIMESTAMPTZ '{upto.astimezone(UTC).isoformat()}'"
    return (
        f"(SELECT {_COLUMNS} FROM {COPY} WHERE ts < {at} UNION ALL "
        f"SELECT {_COLUMNS} FROM positions WHERE ts >= {at})"
    )


def _day(t: datetime) -> datetime:
    t = t.astimezone(UTC)
    return datetime(t.year, t.month, t.day, tzinfo=UTC)


BLOCK_DAYS: Final = 30
"""Days copied and sorted together: a track of up to this many days reads one or two
blocks; the sort's memory is bounded by a block's rows (~11 M on the 100 M bench store)."""


def maintain(backend: DuckBackend) -> list[str]:
    """Copy the closed days not in the copy yet (every day before the newest stored day), in
    blocks of :data:`BLOCK_DAYS` days each in (MMSI, time) order, a transaction per block
    (``until`` moves with each: killed midway, the blocks committed stay); the days
    copied (``positions_by_vessel: YYYY-MM-DD``)."""
    with backend.transaction():
        backend.execute(f"CREATE TABLE IF NOT EXISTS {UNTIL} (until TIMESTAMPTZ)")
        backend.execute(
            f"CREATE TABLE IF NOT EXISTS {COPY} AS SELECT {_COLUMNS} FROM positions LIMIT 0"
        )
        _KNOWN[_key(backend)] = True
        if not backend.con.execute(f"SELECT count(*) FROM {UNTIL}").fetchall()[0][0]:
            backend.execute(f"INSERT INTO {UNTIL} VALUES (NULL)")
    span = backend.fetch(
        "SELECT min(ts) AS lo, max(ts) AS hi FROM positions",
        [],
        pa.schema([pa.field("lo", TS), pa.field("hi", TS)]),
    ).to_pylist()[0]
    if span["hi"] is None:
        return []
    end, done = _day(span["hi"]), []
    start = until(backend)
    at = _day(span["lo"]) if start is None else start
    if start is None:
        with backend.transaction():  # a copy from nothing: what it held goes
            backend.execute(f"DELETE FROM {COPY}")
    while at < end:
        upto = min(at + timedelta(days=BLOCK_DAYS), end)
        with backend.transaction():
            backend.execute(f"DELETE FROM {COPY} WHERE ts >= ?", [at])  # rows of days read
            backend.execute(  # from positions again (late rows): copied anew
                f"INSERT INTO {COPY} SELECT {_COLUMNS} FROM positions "
                "WHERE ts >= ? AND ts < ? ORDER BY mmsi, ts, msg_key",
                [at, upto],
            )
            backend.execute(f"UPDATE {UNTIL} SET until = ?", [upto])
        days = (upto - at).days
        done += [f"{COPY}: {at + timedelta(days=d):%Y-%m-%d}" for d in range(days)]
        at = upto
    return done
