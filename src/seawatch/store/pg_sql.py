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
# parallel_tuple_cost stays PostgreSQL's default, 0.1 a row (set, so a server default does
# not decide): a viewport's ~50 k rows all pass from the parallel workers to the leader,
# which then forms every row of the COPY itself; at 0.01 (2026-12-06) the viewport ran on
# two workers, and at 100 M (bench windows, three seeds, alternated, load 4-9) that cost
# 22-25 % more server CPU (workers ~20-30 ms a window) for 0-12 ms less in the leader, whose
# output the wall waits on (wall medians -10 % to +5 %); at 0.1 the viewport is serial and
# the latest keeps its partial aggregates on workers (~470 rows passed) with 6-25 % less
# server CPU (bench/RESULTS.md, 2026-12-07 session 3 h-pg).
# effective_io_concurrency 256 (PostgreSQL's default 1): a bitmap heap scan (a viewport's,
# from the BRIN) asks the kernel for the pages it will read next (posix_fadvise), so a day's
# pages not in memory come from the disk many at a time, not one 8 KB read after another. At
# 100 M positions (22 GB on a 24 GiB machine) most windows are cold: 60 first reads of bench
# windows alternated 1 / 32 / 256, executor median 90 / 89 / 60 ms, p95 172 / 133 / 108 ms
# (the read waits' median 55 / 26 / 19 ms) (bench/RESULTS.md, 2026-12-07 session 5 h-pg).
SESSION = (
    ("jit", "off"),
    ("work_mem", "64MB"),
    ("parallel_tuple_cost", "0.1"),
    ("effective_io_concurrency", "256"),
)
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
