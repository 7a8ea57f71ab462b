"""PostgreSQL's SQL dialect for the store, the session settings and placeholder translation.

In: the store's SQL with ``?`` placeholders, a database URL. Out: the :class:`Dialect` of
PostgreSQL, the SQL with psycopg's ``%s``, the URL's password (only to scrub it from
messages). Used by :mod:`.postgres`; imports no database driver.
"""

from __future__ import annotations

import re

from seawatch.store.tables import SEQ, Dialect

__all__ = ["ADD_SEQ", "CREATE", "POSTGRES", "SESSION", "password", "placeholders"]

POSTGRES = Dialect(
    "postgresql",
    {
        "int8": "SMALLINT",  # PostgreSQL has no one-byte integer
        "int16": "SMALLINT",
        "int32": "INTEGER",
        "int64": "BIGINT",
        "float": "REAL",
        "double": "DOUBLE PRECISION",
        "bool": "BOOLEAN",
        "string": "TEXT",
        "timestamp[us, tz=UTC]": "TIMESTAMPTZ",
    },
    keys_on_bulk=False,  # positions and statics: a unique index on (ts, msg_key) instead
    # a viewport's ~60 k positions: ORDER BY took ~40 % of the query's server time (one
    # core, tuple by tuple), Arrow's sort of the result a few ms (bench/RESULTS.md,
    # 2026-12-06 "PostgreSQL store keeps up")
    sorts_late=True,
)

# The query layer's queries are short and read tens of thousands of rows: JIT compilation
# (on by default above a cost the bbox + time queries exceed) cost 50-60 ms of each, and
# their ORDER BY spilled to disk with the default 4 MB work_mem (measured at 20 M positions).
# A viewport's ~50 k rows are narrow (~80 bytes): passing them from parallel workers costs far
# less than the default parallel_tuple_cost (0.1 a row) says, which kept its bitmap scan of a
# day (~150 k rows rechecked) and the latest's sort on one core; at 0.01 both run on the
# server's parallel workers (COPY (query) uses them too), a 30-day track stays serial. At
# 100 M, one window's EXPLAIN ANALYZE: viewport 227 -> 146 ms, latest 467 -> 191 ms (load
# 10-13); the bench's p95 at that load showed it neither way (bench/RESULTS.md, 2026-12-06
# h-pg "PostgreSQL at 100 M: where a read's time goes").
SESSION = (("jit", "off"), ("work_mem", "64MB"), ("parallel_tuple_cost", "0.01"))
CREATE = re.compile(r"^\s*CREATE TABLE IF NOT EXISTS (\w+)", re.IGNORECASE)
ADD_SEQ = re.compile(rf"^\s*ALTER TABLE (\w+) ADD COLUMN (?:IF NOT EXISTS )?{SEQ}\b", re.IGNORECASE)
_QUOTED = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")")


def placeholders(sql: str) -> str:
    """``?`` placeholders (outside quotes) as psycopg's ``%s``; literal ``%`` doubled."""
    parts = _QUOTED.split(sql)
    for i in range(0, len(parts), 2):  # even parts are outside quotes
        parts[i] = parts[i].replace("%", "%%").replace("?", "%s")
    for i in range(1, len(parts), 2):
        parts[i] = parts[i].replace("%", "%%")
    return "".join(parts)


def password(url: str) -> str:
    """The password in ``url`` (empty if none): kept only to scrub it from messages."""
    from urllib.parse import unquote, urlsplit

    try:
        raw = urlsplit(url).password
    except ValueError:
        return ""
    return unquote(raw) if raw else ""
