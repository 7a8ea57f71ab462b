"""Rows read from PostgreSQL by binary ``COPY`` (:mod:`seawatch.store.pg_binary`) come back
exactly as they were written, with a real server: nulls in every nullable column, strings
with quotes, commas, newlines, backslashes and non-ASCII letters, empty strings, timestamps
before 2000 (PostgreSQL's epoch) and after, extreme numbers; computed columns in the asked
types; a schema with a list column is read as CSV. The rows are written by binary ``COPY``
too (:func:`seawatch.store.pg_binary.to_binary`), so the first test checks both ways."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from seawatch.labels import parse_label
from seawatch.settings import load_settings
from seawatch.store import TABLES, open_store
from seawatch.store.pg_binary import binary_select, can_send, from_binary, to_binary
from seawatch.store.pg_writers import encode

TS = TABLES["positions"].arrow_schema().field("ts").type
STATIONS = ['a "quoted", comma', "new\nline", "back\\slash", "Śrī Laṅkā ⚓", "", None]


def _positions(label: int) -> pa.Table:
    n = 12
    i = np.arange(n, dtype=np.int64)
    ts = [
        datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2000, 1, 1, tzinfo=UTC),
        *(datetime(2024, 3, 1, 0, k, 0, 123_456, tzinfo=UTC) for k in range(n - 2)),
    ]
    return pa.table(
        {
            "msg_key": pa.array(i * (2**60 // n) - 2**59),
            "ts": pa.array(ts, TS),
            "mmsi": pa.array([2**31 - 1, -(2**31), *range(419_000_000, 419_000_010)], pa.int32()),
            "msg_type": pa.array([1, 18, 127, -128, None, *([3] * 7)], pa.int8()),
            "nav_status": pa.array([None, 15, *([0] * 10)], pa.int8()),
            "lat": pa.array([-90.0, 90.0, 1e-300, *(10.0 + i[3:] / 7)]),
            "lon": pa.array([-180.0, 180.0, -0.0, *(85.0 + i[3:] / 3)]),
            "speed_kn": pa.array([None, 102.2, 0.1, *([12.5] * 9)]),
            "course_deg": pa.array([359.9, None, *([1.0] * 10)]),
            "heading_deg": pa.array([511, -1, None, *([90] * 9)], pa.int16()),
            "accuracy": pa.array([True, False, None, *([True] * 9)]),
            "station": pa.array(STATIONS * 2),
            "segment_id": pa.array([None, 2**62, *([None] * 10)], pa.int64()),
            "label_id": pa.array(np.full(n, label), pa.int32()),
        }
    )


COLUMNS = [c for c in TABLES["positions"].names if c != "seq"]


def test_positions_read_back_as_written(pg_url: str) -> None:
    node = load_settings(env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DB_WRITERS": "1"})
    with open_store(pg_url, node) as store:
        label = store.label_id(parse_label("UNCLASSIFIED", store.policy))
        rows = _positions(label)
        assert store.write("positions", rows) == rows.num_rows
        schema = TABLES["positions"].arrow_schema()
        got = store.backend.fetch(
            f"SELECT {', '.join(COLUMNS)} FROM positions ORDER BY msg_key",
            (),
            pa.schema([schema.field(c) for c in COLUMNS]),
        )
    want = rows.sort_by("msg_key").select(COLUMNS).cast(got.schema)
    assert got.to_pylist() == want.to_pylist()


@pytest.mark.parametrize("typ", [pa.list_(pa.string()), pa.timestamp("ms", tz="UTC")])
def test_types_without_a_binary_read_go_as_csv(typ: pa.DataType) -> None:
    assert binary_select(pa.schema([("x", typ)]), str) is None
    assert binary_select(pa.schema([("x", pa.int8())]), str) == "x::smallint"


def test_fetch_reads_computed_columns_in_the_asked_types(pg_url: str) -> None:
    """Binary reads cast each column to the type it is read as: a count, a numeric sum, a
    literal NULL, an integer read as a double come back in the schema's types."""
    node = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    schema = pa.schema(
        [
            ("n", pa.int64()),
            ("total", pa.float64()),
            ("none", pa.string()),
            ("small", pa.int8()),
            ("when", TS),
            ("flag", pa.bool_()),
            ("names", pa.list_(pa.string())),
        ]
    )
    with open_store(pg_url, node) as store:
        sql = (
            "SELECT count(*) AS n, sum(x)::numeric AS total, NULL AS none, 7 AS small, "
            "'1970-01-01 00:00:00.000001+00'::timestamptz AS when, true AS flag, "
            "ARRAY['a,b', NULL] AS names FROM generate_series(1, 3) AS x"
        )
        got = store.backend.fetch(sql, (), schema)
        no_lists = pa.schema([f for f in schema if f.name != "names"])
        binary = store.backend.fetch(sql.replace(", ARRAY['a,b', NULL] AS names", ""), (), no_lists)
        empty = store.backend.fetch(
            "SELECT 1::bigint AS n WHERE false", (), pa.schema([schema.field("n")])
        )
    want = {
        "n": 3,
        "total": 6.0,
        "none": None,
        "small": 7,
        "when": datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        "flag": True,
    }
    assert got.to_pylist() == [{**want, "names": ["a,b", None]}]
    assert binary.to_pylist() == [want]
    assert binary.schema == no_lists
    assert empty.num_rows == 0


def test_writes_encode_binary_except_lists() -> None:
    """Positions go as binary ``COPY`` whatever slice or chunks the rows come in (a writer's
    slice starts mid-array); a table with a list column goes as CSV."""
    rows = _positions(3).select(COLUMNS)
    table = TABLES["positions"]
    assert encode(table, rows).fmt == "binary"
    types = [c.type for c in table.columns]
    part = rows.slice(3, 6)
    fresh = pa.Table.from_pylist(part.to_pylist(), schema=part.schema)
    chunked = pa.concat_tables([rows.slice(3, 2), rows.slice(5, 4)])
    assert to_binary(part, types) == to_binary(fresh, types) == to_binary(chunked, types)
    assert from_binary(to_binary(part, types), part.schema).equals(fresh)
    lists = next(t for t in TABLES.values() if any(pa.types.is_list(c.type) for c in t.columns))
    assert not can_send([c.type for c in lists.columns])
