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

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["to_binary"]

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
