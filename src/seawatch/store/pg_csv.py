"""Rows to and from PostgreSQL as CSV: what ``COPY`` reads in and what it writes out.

In: Arrow tables to store, or the bytes of ``COPY (query) TO STDOUT (FORMAT csv)`` and the
schema asked for. Out: CSV that ``COPY ... FROM STDIN`` reads back exactly (lists as
PostgreSQL arrays, timestamps as UTC wall time), the select expressions that make the
server's output exact (timestamps as epoch microseconds, lists as JSON), tables parsed back
in C++ by pyarrow, and the one-row-per-key reductions done before an ``INSERT``. Used by
:mod:`.postgres`; imports no database driver.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any, Literal, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

__all__ = [
    "cell_order",
    "first_per_message",
    "from_csv",
    "ident",
    "last_per_key",
    "out_expr",
    "to_csv",
]


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def out_expr(field: pa.Field[Any]) -> str:
    """How a result column leaves the server so pyarrow reads it back exactly."""
    col = f"q.{ident(field.name)}"
    if pa.types.is_timestamp(field.type):
        return f"(extract(epoch FROM {col}) * 1000000)::bigint"
    if pa.types.is_list(field.type):
        return f"array_to_json({col})::text"
    return col


def _read_type(typ: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(typ):
        return pa.int64()
    if pa.types.is_list(typ) or pa.types.is_string(typ):
        return pa.string()
    if pa.types.is_integer(typ):
        return pa.int64()
    if pa.types.is_floating(typ):
        return pa.float64()
    return typ


def from_csv(data: bytes, schema: pa.Schema) -> pa.Table:
    if not data:
        return schema.empty_table()
    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=schema.names, use_threads=False),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={f.name: _read_type(f.type) for f in schema},
            true_values=["t"],
            false_values=["f"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            null_values=[""],
        ),
    )
    arrays: list[Any] = []
    for field, col in zip(schema, table.columns, strict=True):
        if pa.types.is_list(field.type):
            values = [None if v is None else json.loads(v) for v in col.to_pylist()]
            arrays.append(pa.array(values, field.type))
        else:
            arrays.append(col.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _pg_array(values: list[Any] | None) -> str | None:
    if values is None:
        return None
    items = [
        "NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
        for v in values
    ]
    return "{" + ",".join(items) + "}"


def to_csv(rows: pa.Table) -> bytes:
    """``rows`` as CSV that ``COPY ... (FORMAT csv)`` reads back exactly."""
    cols: list[Any] = []
    for col in rows.columns:
        if pa.types.is_list(col.type):
            cols.append(pa.array([_pg_array(v) for v in col.to_pylist()], pa.string()))
        elif pa.types.is_timestamp(col.type):  # UTC wall time: the session is in UTC, and
            cols.append(col.cast(pa.timestamp("us")))  # pyarrow formats it 15x faster
        else:
            cols.append(col)
    out = io.BytesIO()
    pacsv.write_csv(
        pa.Table.from_arrays(cols, names=rows.column_names),
        out,
        pacsv.WriteOptions(include_header=False, batch_size=65536),
    )
    return out.getvalue()


def cell_order(rows: pa.Table) -> np.ndarray[Any, np.dtype[np.int64]]:
    """PostgreSQL's sort key of positions: day since 1970 (high bits), then the 1-degree
    cell row by row (latitude, then longitude), the order ``db maintain`` rewrites closed
    days in. Not DuckDB's Z-order (:func:`.duck.storage_order`): consecutive populated cells
    of a Z-order can lie degrees apart (sparse cells between), and a BRIN range (8 pages,
    ~500 positions) holding two of them spans both in each of lat and lon; row by row, the
    next cell is the neighbour or the next row's first. Measured on a day of 366 k
    positions: a 5 x 5 degree viewport read 3,712 pages in Z-order (32 pages per range),
    1,504 row by row (bench/RESULTS.md, 2026-12-06 "PostgreSQL store keeps up")."""
    ts = pc.cast(rows.column("ts"), pa.int64()).to_numpy(zero_copy_only=False)
    day = ts // 86_400_000_000
    lon = np.nan_to_num(rows.column("lon").to_numpy(zero_copy_only=False), nan=0.0)
    lat = np.nan_to_num(rows.column("lat").to_numpy(zero_copy_only=False), nan=0.0)
    x = np.clip(np.floor(lon + 180.0), 0, 359).astype(np.int64)
    y = np.clip(np.floor(lat + 90.0), 0, 179).astype(np.int64)
    return np.asarray((day << 20) | (y << 9) | x, dtype=np.int64)


def first_per_message(rows: pa.Table, storage: bool) -> pa.Table:
    """One row per ``(ts, msg_key)``: of the same message heard by several receivers, the
    copy of the first station in sort order (no station last), whatever the input order.
    ``storage``: rows in PostgreSQL's storage order (positions, :func:`cell_order`), in a
    cell by vessel then time: a vessel's positions of a day lie on a few pages (its track
    reads those), the cells apart (the viewport's BRIN ranges stay narrow)."""
    keys: list[tuple[str, Literal["ascending", "descending"]]] = [
        ("ts", "ascending"),
        ("msg_key", "ascending"),
    ]
    if "station" in rows.column_names:  # no station sorts last
        station: Any = rows.column("station")
        last = cast("pa.ChunkedArray[Any]", pc.fill_null(station, pa.scalar("\U0010ffff")))
        rows = rows.append_column("_station", last)
        keys.append(("_station", "ascending"))
    if storage:  # same message, same place: same order; a vessel's rows of a cell together
        rows = rows.append_column("_order", pa.array(cell_order(rows), pa.int64()))
        keys[:0] = [("_order", "ascending"), ("mmsi", "ascending")]
    rows = rows.take(pc.sort_indices(rows, sort_keys=keys))
    ts = pc.cast(rows.column("ts"), pa.int64()).to_numpy(zero_copy_only=False)
    key = rows.column("msg_key").to_numpy(zero_copy_only=False)
    first = np.ones(rows.num_rows, dtype=bool)
    first[1:] = (ts[1:] != ts[:-1]) | (key[1:] != key[:-1])
    rows = rows.drop_columns([c for c in ("_order", "_station") if c in rows.column_names])
    return rows if first.all() else rows.filter(pa.array(first))


def last_per_key(rows: pa.Table, key: Sequence[str]) -> pa.Table:
    """The last row of each key (one INSERT may not touch a row twice)."""
    idx = rows.append_column("_i", pa.array(np.arange(rows.num_rows), pa.int64()))
    last = idx.group_by(list(key), use_threads=False).aggregate([("_i", "max")])
    keep = np.sort(last.column("_i_max").to_numpy())
    return rows.take(keep)
