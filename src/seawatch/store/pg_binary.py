"""Rows to PostgreSQL's binary ``COPY`` format, built column by column in C++ (pyarrow).

In: an Arrow table of a stored table's rows and that table's column types. Out: the bytes
``COPY ... FROM STDIN (FORMAT binary)`` reads, or ``None`` when a column's type has no
binary form here (lists: those tables go as CSV, :mod:`.pg_csv`).

Why: as CSV every number is formatted to text by the client and parsed back by the server;
measured with 1 M positions (2 cores), the client's CSV took ~1 s and the server's parse is
a good part of a ``COPY``'s time. The binary form is each value's network-order bytes after
a 4-byte length (-1: ``NULL``): each column is encoded as one fixed-width array by numpy,
and the rows are joined by pyarrow's ``binary_join_element_wise``, whose output buffer is
the rows one after another. Used by :mod:`.pg_writers`; imports no database driver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

__all__ = ["binary_select", "from_binary", "to_binary"]

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
_NULL = pa.scalar(b"\xff\xff\xff\xff", pa.large_binary())
_NOTHING = pa.scalar(b"", pa.large_binary())
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 UTC, where PostgreSQL's timestamps count from
# Arrow type -> the big-endian layout of the PostgreSQL type the store's dialect maps it to
# (int8 is a SMALLINT: PostgreSQL has no one-byte integer)
_pc: Any = pc  # the stubs know no large_binary overloads of the kernels used here
_FIXED: dict[pa.DataType, str] = {
    pa.int8(): ">i2",
    pa.int16(): ">i2",
    pa.int32(): ">i4",
    pa.int64(): ">i8",
    pa.float32(): ">f4",
    pa.float64(): ">f8",
    pa.bool_(): "u1",
}


def _fixed(values: np.ndarray[Any, Any], dtype: str) -> Any:
    """Each value as its 4-byte length then its bytes, as a large_binary array."""
    n = len(values)
    width = np.dtype(dtype).itemsize
    rec = np.empty(n, dtype=[("len", ">i4"), ("value", dtype)])
    rec["len"] = width
    rec["value"] = values
    return _as_binary(rec.tobytes(), 4 + width, n)


def _as_binary(raw: bytes, width: int, n: int) -> Any:
    """``n`` values of ``width`` bytes each, one after another in ``raw``, as large_binary."""
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(raw)])
    return fixed.cast(pa.large_binary())


def _field(col: Any, typ: pa.DataType) -> Any:
    """The binary field of each row of ``col`` (stored as ``typ``); None: no binary form."""
    if col.type != typ:
        col = col.cast(typ)
    if pa.types.is_timestamp(typ):
        if typ.unit != "us":
            return None
        us: Any = pc.fill_null(col.cast(pa.int64()), 0)
        us = us.to_numpy(zero_copy_only=False)
        out = _fixed(us - _PG_EPOCH_US, ">i8")
    elif pa.types.is_string(typ) or pa.types.is_large_string(typ):
        raw = col.cast(pa.large_binary())
        lengths = _pc.fill_null(_pc.binary_length(raw), 0).to_numpy(zero_copy_only=False)
        prefix = _as_binary(lengths.astype(">i4").tobytes(), 4, len(col))
        out = _pc.binary_join_element_wise(prefix, raw, _NOTHING)  # a null stays null
    elif typ in _FIXED:
        values: Any = pc.fill_null(col, False if pa.types.is_boolean(typ) else 0)
        out = _fixed(values.to_numpy(zero_copy_only=False), _FIXED[typ])
    else:
        return None
    if col.null_count:
        out = pc.if_else(pc.is_null(col), _NULL, out)
    return out


def to_binary(rows: pa.Table, types: list[pa.DataType]) -> bytes | None:
    """``rows`` (columns in the order of ``types``, the stored types) as binary ``COPY``
    data; ``None`` if a column has no binary form here."""
    n = rows.num_rows
    count = np.full(n, len(types), dtype=">i2")  # each row starts with its field count
    fields = [_as_binary(count.tobytes(), 2, n)]
    for col, typ in zip(rows.columns, types, strict=True):
        field = _field(col.combine_chunks(), typ)
        if field is None:
            return None
        fields.append(field)
    if n == 0:
        return HEADER + TRAILER
    joined = _pc.binary_join_element_wise(*fields, _NOTHING)
    _, offsets, data = joined.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int64)[joined.offset : joined.offset + n + 1]
    return b"".join((HEADER, memoryview(data)[int(bounds[0]) : int(bounds[-1])], TRAILER))


# --- reads: COPY (query) TO STDOUT (FORMAT binary) into Arrow ------------------------------
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
    if bytes(buf[:11]) != HEADER[:11]:
        raise ValueError("not PostgreSQL binary COPY data")
    pos = 19 + int(buf[15:19].view(">u4")[0])  # signature, flags, header extension
    ncols = len(schema)
    rows = _count_rows(buf, pos, ncols)
    starts = np.empty((ncols, rows), dtype=np.int64)  # a column's fields side by side
    lens = np.empty((ncols, rows), dtype=np.int64)
    _fields(buf, pos, starts, lens)
    columns = [_column(buf, starts[i], lens[i], f.type) for i, f in enumerate(schema)]
    return pa.Table.from_arrays(columns, schema=schema)
