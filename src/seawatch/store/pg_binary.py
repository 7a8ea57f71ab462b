"""Query results read from PostgreSQL in the binary ``COPY`` format, parsed into Arrow by
compiled loops.

In: a schema asked for, and the bytes of ``COPY (SELECT <binary_select(schema)> FROM
(query) q) TO STDOUT (FORMAT binary)``. Out: the select list that gives each column in a
known binary layout (``None`` when a column's type has none here: lists are read as CSV,
:mod:`.pg_csv`), and the rows as a table of the schema.

Why: as CSV the server formats every number as text and pyarrow parses it back; in the
binary form each value is its network-order bytes after a 4-byte length (-1: ``NULL``).
Rows vary in length (a ``NULL`` has no bytes, a string its own), so numba-compiled loops
walk the rows once to find each field, then gather each column. Measured (bench/RESULTS.md,
2026-12-06 "PostgreSQL at 100 M"): a viewport's ~60 k positions parsed in 19-20 ms of CPU
against 27-29 ms for the CSV, the viewport's p95 349 -> 228 ms at equal load. The write
side stays CSV: binary ``COPY FROM`` (each column encoded by numpy, rows joined by
pyarrow) was 4-10 % slower end to end in three A/Bs. Used by :mod:`.postgres`; imports no
database driver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
from numba import njit

__all__ = ["binary_select", "from_binary"]

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 UTC, where PostgreSQL's timestamps count from

# The server type each Arrow type is read back as: fetch casts every column to it in SQL, so
# the bytes' layout is known whatever the query computes (a count, a sum, a literal)
_READ: dict[pa.DataType, tuple[str, str]] = {
    pa.int8(): ("smallint", ">i2"),
    pa.int16(): ("smallint", ">i2"),
    pa.int32(): ("integer", ">i4"),
    pa.int64(): ("bigint", ">i8"),
    pa.float32(): ("real", ">f4"),
    pa.float64(): ("double precision", ">f8"),
    pa.bool_(): ("boolean", "u1"),
}


def _read_as(typ: pa.DataType) -> str | None:
    """The SQL type ``typ`` is read back as in binary; None: read as CSV."""
    if pa.types.is_timestamp(typ):
        return "timestamptz" if typ.unit == "us" else None
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return "text"
    return _READ[typ][0] if typ in _READ else None


def binary_select(schema: pa.Schema, column: Callable[[str], str]) -> str | None:
    """The select list that gives ``schema``'s columns in a known binary layout (each cast
    to the type it is read as; ``column`` quotes a name), or None if a column's type has no
    binary read here (lists: :func:`.pg_csv.out_expr`)."""
    out = []
    for field in schema:
        sql_type = _read_as(field.type)
        if sql_type is None:
            return None
        out.append(f"{column(field.name)}::{sql_type}")
    return ", ".join(out)


@njit(cache=True, nogil=True)
def _count_rows(buf: Any, pos: int, ncols: int) -> int:  # pragma: no cover - compiled
    rows = 0
    while pos + 2 <= len(buf):
        if (buf[pos] << 8 | buf[pos + 1]) == 0xFFFF:  # the trailer: -1
            break
        pos += 2
        for _ in range(ncols):
            n = (buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]
            pos += 4
            if n != 0xFFFFFFFF:
                pos += n
        rows += 1
    return rows


@njit(cache=True, nogil=True)
def _fields(buf: Any, pos: int, starts: Any, lens: Any) -> None:  # pragma: no cover
    """Each field's first byte and length (-1: NULL), row by row."""
    ncols, rows = starts.shape
    for r in range(rows):
        pos += 2
        for c in range(ncols):
            n = (buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]
            pos += 4
            if n == 0xFFFFFFFF:
                starts[c, r] = 0
                lens[c, r] = -1
            else:
                starts[c, r] = pos
                lens[c, r] = n
                pos += n


@njit(cache=True, nogil=True)
def _gather(buf: Any, starts: Any, lens: Any, out: Any, offsets: Any) -> None:  # pragma: no cover
    """Concatenate the fields (NULLs: nothing) into ``out``, their offsets into ``offsets``."""
    at = 0
    for r in range(len(starts)):
        offsets[r] = at
        for k in range(max(lens[r], 0)):
            out[at + k] = buf[starts[r] + k]
        at += max(lens[r], 0)
    offsets[len(starts)] = at


@njit(cache=True, nogil=True)
def _gather_fixed(
    buf: Any, starts: Any, lens: Any, width: int, out: Any
) -> None:  # pragma: no cover
    """The fields of ``width`` bytes one after another in ``out`` (NULLs: left zero)."""
    for r in range(len(starts)):
        if lens[r] == width:
            at = r * width
            for k in range(width):
                out[at + k] = buf[starts[r] + k]


def _bits(valid: Any) -> Any:
    return np.packbits(valid, bitorder="little")


def _column(buf: Any, starts: Any, lens: Any, typ: pa.DataType) -> Any:
    null = lens < 0
    mask = null if null.any() else None
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        total = int(np.maximum(lens, 0).sum())
        data: Any = np.empty(total, dtype=np.uint8)
        offsets: Any = np.empty(len(starts) + 1, dtype=np.int64)
        _gather(buf, starts, lens, data, offsets)
        validity = None if mask is None else pa.py_buffer(_bits(~null))
        arr = pa.LargeStringArray.from_buffers(
            len(starts), pa.py_buffer(offsets), pa.py_buffer(data), validity
        )
        return arr.cast(typ)
    dtype = ">i8" if pa.types.is_timestamp(typ) else _READ[typ][1]
    width = np.dtype(dtype).itemsize
    raw = np.zeros(len(starts) * width, dtype=np.uint8)
    _gather_fixed(buf, starts, lens, width, raw)
    raw = raw.view(dtype)
    if pa.types.is_timestamp(typ):
        return pa.array(raw.astype(np.int64) + _PG_EPOCH_US, pa.int64(), mask=mask).cast(typ)
    if pa.types.is_boolean(typ):
        return pa.array(raw.astype(bool), typ, mask=mask)
    return pa.array(raw.astype(typ.to_pandas_dtype()), typ, mask=mask)


def from_binary(data: bytes, schema: pa.Schema) -> pa.Table:
    """The rows of ``COPY (SELECT <binary_select(schema)> ...) TO STDOUT (FORMAT binary)``
    as a table of ``schema`` (parsed by compiled loops: no Python object per row)."""
    if not data:
        return schema.empty_table()
    buf = np.frombuffer(data, dtype=np.uint8)
    if bytes(buf[:11]) != SIGNATURE:
        raise ValueError("not PostgreSQL binary COPY data")
    pos = 19 + int(buf[15:19].view(">u4")[0])  # signature, flags, header extension
    ncols = len(schema)
    rows = _count_rows(buf, pos, ncols)
    starts = np.empty((ncols, rows), dtype=np.int64)  # a column's fields side by side
    lens = np.empty((ncols, rows), dtype=np.int64)
    _fields(buf, pos, starts, lens)
    columns = [_column(buf, starts[i], lens[i], f.type) for i, f in enumerate(schema)]
    return pa.Table.from_arrays(columns, schema=schema)
