"""Property: a query's rows read by binary ``COPY`` and the compiled parse
(:meth:`seawatch.store.postgres.PostgresBackend.fetch`, :func:`.pg_binary.from_binary`) are
the rows psycopg gives as Python objects, one per value, for random tables of every type
read in binary (integers of each width, ``real`` and ``double precision`` with infinities
and -0.0, booleans, ``text`` of any letters, ``timestamptz`` from year 1 to 9999) with
``NULL``\\ s anywhere, through a real server. The rows go in by ``INSERT`` of Python values
(not by :func:`.pg_binary.to_binary`), so neither side of the comparison uses the binary
encoder; a second property checks :func:`.pg_binary.to_binary` then
:func:`.pg_binary.from_binary` gives the table back, without a server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.settings import load_settings
from seawatch.store import open_store
from seawatch.store.pg_binary import from_binary, to_binary

TS = pa.timestamp("us", tz="UTC")
_SQL = {  # Arrow type -> the column's SQL type, and the values of one
    pa.int8(): ("smallint", st.integers(-(2**7), 2**7 - 1)),
    pa.int16(): ("smallint", st.integers(-(2**15), 2**15 - 1)),
    pa.int32(): ("integer", st.integers(-(2**31), 2**31 - 1)),
    pa.int64(): ("bigint", st.integers(-(2**63), 2**63 - 1)),
    pa.float32(): ("real", st.floats(width=32, allow_nan=False)),
    pa.float64(): ("double precision", st.floats(allow_nan=False)),
    pa.bool_(): ("boolean", st.booleans()),
    pa.string(): (
        "text",
        st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=12),
    ),
    TS: ("timestamptz", st.datetimes(timezones=st.just(UTC))),
}
TYPES = list(_SQL)


@st.composite
def tables(draw: Any) -> pa.Table:
    types = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=6))
    n = draw(st.integers(0, 30))
    cols = {}
    for i, typ in enumerate(types):
        values = draw(st.lists(st.none() | _SQL[typ][1], min_size=n, max_size=n))
        cols[f"c{i}"] = pa.array(values, typ)
    return pa.table(cols)


def _as_arrow(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.Table:
    """psycopg's Python values as a table of ``schema`` (a ``real``'s value read as the
    float32 it is)."""
    return pa.table(
        {f.name: pa.array([r[i] for r in rows], f.type) for i, f in enumerate(schema)},
        schema=schema,
    )


def test_binary_fetch_equals_psycopg_rows(pg_url: str) -> None:
    node = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with open_store(pg_url, node) as store:
        backend: Any = store.backend
        con = backend.con
        made = iter(range(10**6))

        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(table=tables())
        def check(table: pa.Table) -> None:
            name = f"prop_{next(made)}"
            cols = ", ".join(f"{f.name} {_SQL[f.type][0]}" for f in table.schema)
            con.execute(f"CREATE TEMP TABLE {name} (i integer, {cols})")
            marks = ", ".join(["%s"] * (table.num_columns + 1))
            values = [(i, *row.values()) for i, row in enumerate(table.to_pylist())]
            with con.cursor() as cur:
                cur.executemany(f"INSERT INTO {name} VALUES ({marks})", values)
            names = ", ".join(table.column_names)
            sql = f"SELECT {names} FROM {name} ORDER BY i"
            got = backend.fetch(sql, (), table.schema)
            rows = con.execute(sql).fetchall()
            con.execute(f"DROP TABLE {name}")
            assert got.schema == table.schema
            assert got.equals(_as_arrow(rows, table.schema))
            assert got.equals(table)  # and both are what went in

        check()


@settings(max_examples=60, deadline=None)
@given(table=tables())
def test_to_binary_from_binary_round_trip(table: pa.Table) -> None:
    assert from_binary(to_binary(table, table.schema.types), table.schema).equals(table)


def test_timestamps_at_both_ends() -> None:
    """Year 1 and 9999 (before and long after PostgreSQL's 2000 epoch) in microseconds."""
    table = pa.table(
        {
            "t": pa.array(
                [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999_999, UTC)],
                TS,
            )
        }
    )
    assert from_binary(to_binary(table, [TS]), table.schema).equals(table)


@pytest.mark.parametrize("typ", TYPES)
def test_every_type_is_read_in_binary(typ: pa.DataType) -> None:
    from seawatch.store.pg_binary import binary_select

    assert binary_select(pa.schema([("x", typ)]), str) == f"x::{_SQL[typ][0]}"
