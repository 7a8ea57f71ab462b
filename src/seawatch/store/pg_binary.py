"""Query results read from PostgreSQL in the binary ``COPY`` format, parsed into Arrow by
compiled loops.

In: a schema asked for, and the bytes of ``COPY (SELECT <binary_select(schema)> FROM
(query) q) TO STDOUT (FORMAT binary)``. Out: the select list that gives each column in a
known binary layout (``None`` when a column's type has none here: lists are read as CSV,
:mod:`.pg_csv`), and the rows as a table of the schema.

Why: as CSV the server formats every number as text and pyarrow parses it back; in the
binary form each value is its network-order bytes after a 4-byte length (-1: ``NULL``).
Rows vary in length (a ``NULL`` has no bytes, a string its own), so one numba-compiled
pass walks the rows, writing each fixed-width value little-endian into its column as it
goes and noting where each string is; the strings are gathered after. Measured
(bench/RESULTS.md, 2026-12-06 "PostgreSQL at 100 M"): a viewport's ~60 k positions parsed
in 19-20 ms of CPU against 27-29 ms for the CSV, the viewport's p95 349 -> 228 ms at equal
load; the one pass (h-pg, 2026-12-06 22:55) took a 32 k-row viewport from 10.7 to 6.1 ms
of user CPU. The write
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
def _decode(
    buf: Any, pos: int, widths: Any, at: Any, fixed: Any, null: Any, starts: Any, lens: Any
) -> int:  # pragma: no cover - compiled
    """One pass over the rows: each fixed-width field's bytes, byte order reversed (network
    to little-endian), into its column's slice of ``fixed`` (column ``c`` from ``at[c]``,
    ``widths[c]`` bytes a row); each variable field's (``widths[c] == 0``, a string) first
    byte and length into ``starts``/``lens`` (row, ``at[c]``: its place among the variable
    columns); ``null[row, column]``. Returns the number of rows (the arrays are sized for at
    most as many as the bytes can hold)."""
    ncols = len(widths)
    r = 0
    while pos + 2 <= len(buf):
        if (buf[pos] << 8 | buf[pos + 1]) == 0xFFFF:  # the trailer: -1
            break
        pos += 2
        for c in range(ncols):
            n = (buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]
            pos += 4
            if n == 0xFFFFFFFF:
                null[r, c] = True
                if widths[c] == 0:
                    starts[r, at[c]] = 0
                    lens[r, at[c]] = 0
                continue
            null[r, c] = False
            w = widths[c]
            if w == 0:
                starts[r, at[c]] = pos
                lens[r, at[c]] = n
            else:
                o = at[c] + r * w
                for k in range(w):
                    fixed[o + k] = buf[pos + w - 1 - k]
            pos += n
        r += 1
    return r


@njit(cache=True, nogil=True)
def _gather(buf: Any, starts: Any, lens: Any, out: Any, offsets: Any) -> None:  # pragma: no cover
    """Concatenate the fields (NULLs: nothing) into ``out``, their offsets into ``offsets``."""
    at = 0
    for r in range(len(starts)):
        offsets[r] = at
        for k in range(lens[r]):
            out[at + k] = buf[starts[r] + k]
        at += lens[r]
    offsets[len(starts)] = at


def _bits(valid: Any) -> Any:
    return np.packbits(valid, bitorder="little")


def _width(typ: pa.DataType) -> int:
    """Bytes of ``typ``'s binary form; 0: variable (a string)."""
    if pa.types.is_timestamp(typ):
        return 8
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return 0
    return np.dtype(_READ[typ][1]).itemsize


def _string(buf: Any, starts: Any, lens: Any, null: Any, typ: pa.DataType) -> Any:
    total = int(lens.sum())
    large = total >= 2**31 or pa.types.is_large_string(typ)
    data: Any = np.empty(total, dtype=np.uint8)
    offsets: Any = np.empty(len(starts) + 1, dtype=np.int64 if large else np.int32)
    _gather(buf, np.ascontiguousarray(starts), np.ascontiguousarray(lens), data, offsets)
    validity = pa.py_buffer(_bits(~null)) if null.any() else None
    kind = pa.LargeStringArray if large else pa.StringArray
    arr = kind.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(data), validity)
    return arr if arr.type == typ else arr.cast(typ)


def _number(raw: Any, null: Any, typ: pa.DataType) -> Any:
    """A column from its little-endian values ``raw`` (bytes; those of NULLs undefined)."""
    mask = null if null.any() else None
    if pa.types.is_timestamp(typ):
        return pa.array(raw.view("<i8") + _PG_EPOCH_US, pa.int64(), mask=mask).cast(typ)
    values = raw.view(np.dtype(_READ[typ][1]).newbyteorder("<"))
    if pa.types.is_boolean(typ):
        return pa.array(values.astype(bool), typ, mask=mask)
    return pa.array(values.astype(typ.to_pandas_dtype(), copy=False), typ, mask=mask)


def from_binary(data: bytes, schema: pa.Schema) -> pa.Table:
    """The rows of ``COPY (SELECT <binary_select(schema)> ...) TO STDOUT (FORMAT binary)``
    as a table of ``schema`` (parsed by one compiled pass: no Python object per row)."""
    if not data:
        return schema.empty_table()
    buf = np.frombuffer(data, dtype=np.uint8)
    if bytes(buf[:11]) != SIGNATURE:
        raise ValueError("not PostgreSQL binary COPY data")
    pos = 19 + int(buf[15:19].view(">u4")[0])  # signature, flags, header extension
    ncols = len(schema)
    most = (len(buf) - pos) // (2 + 4 * ncols)  # rows of NULLs only: the most there can be
    widths = np.array([_width(f.type) for f in schema], dtype=np.int64)
    variable = widths == 0
    at = np.concatenate([[0], np.cumsum(widths[:-1] * most)]).astype(np.int64)
    at[variable] = np.arange(int(variable.sum()))
    fixed = np.empty(int(widths.sum()) * most, dtype=np.uint8)  # untouched beyond the rows
    null = np.empty((most, ncols), dtype=np.bool_)
    starts = np.empty((most, max(int(variable.sum()), 1)), dtype=np.int64)
    lens = np.empty_like(starts)
    rows = _decode(buf, pos, widths, at, fixed, null, starts, lens)
    columns = []
    for i, f in enumerate(schema):
        nulls = np.ascontiguousarray(null[:rows, i])
        if variable[i]:
            columns.append(_string(buf, starts[:rows, at[i]], lens[:rows, at[i]], nulls, f.type))
        else:
            raw = fixed[at[i] : at[i] + rows * widths[i]]
            columns.append(_number(raw, nulls, f.type))
    return pa.Table.from_arrays(columns, schema=schema)
