"""``COPY ... TO STDOUT`` received by the compiled loop (:func:`seawatch.store.pg_receive.receive`)
against a real server: the same bytes as psycopg's own iteration of the same COPY (binary
with more data than its first buffer, no rows, CSV, rows the server sends slowly so the loop
waits for the socket), the server's error raised mid-way with the connection usable after,
and the store's reads going through it (the libpq of psycopg found, not a fallback)."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys
from typing import Any

import psycopg
import pytest

from seawatch.store import pg_receive
from seawatch.store.pg_receive import receive

MANY = (
    "SELECT x::bigint, x * 0.5::float8, repeat(chr(65 + x % 26), x % 37) AS s, "
    "CASE WHEN x % 5 = 0 THEN NULL ELSE x::int END, "
    "timestamptz '2024-03-01 12:00+00' + x * interval '1 s' "
    "FROM generate_series(1, {n}) x"
)


def _both(con: Any, sql: str) -> tuple[bytes, bytes]:
    """(psycopg's blocks joined, the loop's bytes) of one COPY run twice."""
    with con.cursor() as cur, cur.copy(sql) as copy:
        theirs = b"".join(bytes(block) for block in copy)
    with con.cursor() as cur, cur.copy(sql) as copy:
        ours = receive(con, copy).tobytes()
    return theirs, ours


@pytest.fixture
def con(pg_url: str) -> Any:
    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute("SET TIME ZONE 'UTC'")
        yield c


def test_the_loop_is_used() -> None:
    assert len(pg_receive.functions()) == 5, "psycopg's libpq not found: the fallback ran"


def test_psycopgs_libpq_told_among_two() -> None:
    """Another libpq in the process (the system's, as a GDAL driver would load it): the
    loop still calls psycopg's own (in a child process: this one keeps its one libpq)."""
    system = ctypes.util.find_library("pq")
    assert system is not None
    code = (
        "import ctypes, psycopg; from psycopg import pq; "
        f"ctypes.CDLL({system!r}); "
        "from seawatch.store import pg_receive as r; "
        "print(pq.__impl__, r._loaded_libpq(), len(r.functions()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "binary"  # the driver this project installs (psycopg[binary])
    assert "/psycopg_binary.libs/libpq" in out[1]
    assert out[2] == "5"


@pytest.mark.parametrize(
    ("rows", "fmt"), [(60_000, "binary"), (0, "binary"), (1, "binary"), (20_000, "csv")]
)
def test_same_bytes_as_psycopg(con: Any, rows: int, fmt: str) -> None:
    sql = f"COPY ({MANY.format(n=rows)}) TO STDOUT (FORMAT {fmt})"
    theirs, ours = _both(con, sql)
    assert ours == theirs
    assert len(ours) > (2 << 20 if rows == 60_000 else 0)  # the first 1 MiB buffer grew
    assert con.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # read to its end


def test_rows_sent_slowly(con: Any) -> None:
    """The server pauses every 400 rows: the loop finds the socket empty and waits."""
    slow = (
        "SELECT x, repeat('y', 200) FROM generate_series(1, 2000) x "
        "WHERE x % 400 <> 0 OR pg_sleep(0.05)::text = ''"
    )
    theirs, ours = _both(con, f"COPY ({slow}) TO STDOUT (FORMAT binary)")
    assert ours == theirs
    assert len(ours) > 200 * 1990


def test_error_mid_way(con: Any) -> None:
    """Rows before the error arrive first; the server's error is raised, not a protocol one,
    and the connection reads again after."""
    sql = (
        "COPY (SELECT x, 1 / (x - 30000) FROM generate_series(1, 40000) x) "
        "TO STDOUT (FORMAT binary)"
    )
    with pytest.raises(psycopg.errors.DivisionByZero), con.cursor() as cur, cur.copy(sql) as copy:
        receive(con, copy)
    assert con.execute("SELECT 41 + 1").fetchone() == (42,)
    theirs, ours = _both(con, f"COPY ({MANY.format(n=100)}) TO STDOUT (FORMAT binary)")
    assert ours == theirs


def test_inside_a_transaction(pg_url: str) -> None:
    """A COPY in an open transaction (a snapshot read) sees the transaction's rows."""
    with psycopg.connect(pg_url) as c, c.transaction():
        c.execute("CREATE TEMP TABLE t AS SELECT x FROM generate_series(1, 5000) x")
        theirs, ours = _both(c, "COPY (SELECT x FROM t ORDER BY x) TO STDOUT (FORMAT binary)")
        assert ours == theirs
        assert len(ours) == 19 + 5000 * (2 + 4 + 4) + 2
