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
of user CPU; each value written as one integer of its width (not byte by byte) into an
array per width (h-pg, 2026-12-08 session 7): the bench's 60 viewport parts at 100 M, 1.35 M
rows, 186-196 -> 108-118 ns a row of thread CPU, the same tables.

Writes (:func:`binary_blocks`): rows sent as binary ``COPY FROM``, so the server parses no
text (floats, timestamps, integers). An earlier encoder (each column by numpy, rows joined
by pyarrow) was 4-10 % slower end to end in three A/Bs; this one writes the tuples in one
compiled pass, a block of rows at a time as they are sent. Measured (bench/RESULTS.md,
2026-12-07 h-pg "binary COPY FROM"): 1 M positions' ``COPY`` into a table without indexes
4.4-4.8 server CPU-s as CSV, 1.6-1.9 in binary; the client's encoding 1.45 -> 0.6-0.75
CPU-s, and by blocks (2026-12-07 session 3 h-pg) 0.55-0.66 -> 0.28-0.33 CPU-s with the
sending. Used by :mod:`.postgres` and :mod:`.pg_writers`; imports no database driver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
from numba import njit

__all__ = ["BLOCK_ROWS", "binary_blocks", "binary_select", "can_send", "from_binary", "to_binary"]

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
    buf: Any,
    pos: int,
    widths: Any,
    at: Any,
    out1: Any,
    out2: Any,
    out4: Any,
    out8: Any,
    null: Any,
    starts: Any,
    lens: Any,
) -> int:  # pragma: no cover - compiled
    """One pass over the rows: each fixed-width field's network-order value as one integer
    into its column's slice of the array of its width (``out1``/``out2``/``out4``/``out8``,
    column ``c`` from ``at[c]``: byte order reversed by the integer, not byte by byte); each
    variable field's (``widths[c] == 0``, a string) first byte and length into
    ``starts``/``lens`` (``at[c]``: its place among the variable columns, then the row);
    ``null[column, row]``. Returns the number of rows (the arrays are sized for at most as
    many as the bytes can hold)."""
    ncols = len(widths)
    r = 0
    while pos + 2 <= len(buf):
        if (buf[pos] << 8 | buf[pos + 1]) == 0xFFFF:  # the trailer: -1
            break
        pos += 2
        for c in range(ncols):
            n = (buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]
            pos += 4
            w = widths[c]
            if n == 0xFFFFFFFF:
                null[c, r] = True
                if w == 0:
                    starts[at[c], r] = 0
                    lens[at[c], r] = 0
                continue
            null[c, r] = False
            if w == 8:
                hi = (buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]
                lo = (buf[pos + 4] << 24) | (buf[pos + 5] << 16) | (buf[pos + 6] << 8)
                out8[at[c] + r] = (hi << 32) | lo | buf[pos + 7]
            elif w == 4:
                out4[at[c] + r] = (
                    (buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]
                )
            elif w == 2:
                out2[at[c] + r] = (buf[pos] << 8) | buf[pos + 1]
            elif w == 1:
                out1[at[c] + r] = buf[pos]
            else:
                starts[at[c], r] = pos
                lens[at[c], r] = n
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


# the arrays _decode writes fixed-width values into, by width in bytes (0: strings, none)
_OUT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.int64, 0: np.uint8}


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


def from_binary(data: Any, schema: pa.Schema) -> pa.Table:
    """The rows of ``COPY (SELECT <binary_select(schema)> ...) TO STDOUT (FORMAT binary)``
    (bytes, or a numpy uint8 array) as a table of ``schema`` (parsed by one compiled pass:
    no Python object per row)."""
    if len(data) == 0:
        return schema.empty_table()
    buf = np.frombuffer(data, dtype=np.uint8)
    if bytes(buf[:11]) != SIGNATURE:
        raise ValueError("not PostgreSQL binary COPY data")
    pos = 19 + int(buf[15:19].view(">u4")[0])  # signature, flags, header extension
    ncols = len(schema)
    most = (len(buf) - pos) // (2 + 4 * ncols)  # rows of NULLs only: the most there can be
    widths = np.array([_width(f.type) for f in schema], dtype=np.int64)
    at = np.zeros(ncols, dtype=np.int64)  # a column's start in the array of its width
    out = {}
    for w, dtype in _OUT.items():
        mine = np.flatnonzero(widths == w)
        at[mine] = np.arange(len(mine)) * (most if w else 1)
        out[w] = np.empty(len(mine) * most if w else 0, dtype=dtype)  # untouched beyond rows
    nvar = max(int((widths == 0).sum()), 1)
    null = np.empty((ncols, most), dtype=np.bool_)
    starts = np.empty((nvar, most), dtype=np.int64)
    lens = np.empty_like(starts)
    rows = _decode(buf, pos, widths, at, out[1], out[2], out[4], out[8], null, starts, lens)
    columns = []
    for i, f in enumerate(schema):
        w, a = int(widths[i]), int(at[i])
        if w == 0:
            columns.append(_string(buf, starts[a, :rows], lens[a, :rows], null[i, :rows], f.type))
        else:
            columns.append(_number(out[w][a : a + rows].view(np.uint8), null[i, :rows], f.type))
    return pa.Table.from_arrays(columns, schema=schema)


# The width in bytes each Arrow type is sent as to its column (the dialect's types,
# :data:`.pg_sql.POSTGRES`: int8 is a SMALLINT, float a REAL); strings: 0 (variable)
_SEND: dict[pa.DataType, tuple[int, str]] = {
    pa.int8(): (2, "<i2"),
    pa.int16(): (2, "<i2"),
    pa.int32(): (4, "<i4"),
    pa.int64(): (8, "<i8"),
    pa.float32(): (4, "<f4"),
    pa.float64(): (8, "<f8"),
    pa.bool_(): (1, "u1"),
}


def can_send(types: list[pa.DataType]) -> bool:
    """Whether :func:`to_binary` encodes columns of ``types`` (lists: not; CSV)."""
    return all(
        t in _SEND or pa.types.is_string(t) or (pa.types.is_timestamp(t) and t.unit == "us")
        for t in types
    )


@njit(cache=True, nogil=True)
def _encode(
    rows: int,
    widths: Any,
    at: Any,
    fixed: Any,
    null: Any,
    offsets: Any,
    chars: Any,
    out: Any,
) -> int:  # pragma: no cover - compiled
    """One pass over the rows writing the binary ``COPY`` tuples into ``out``: each row's
    field count, then per field its length (big-endian; -1: ``NULL``) and its bytes, the
    fixed-width ones big-endian already (column ``c``'s values from ``fixed[at[c]]``,
    ``widths[c]`` bytes a row; 2, 4 and 8 written as that many single stores, which the
    compiler merges), the strings (``widths[c] == 0``, their ``at[c]``-th among the
    variable columns) from ``chars`` by ``offsets``. Returns the bytes written."""
    ncols = len(widths)
    pos = 0
    for r in range(rows):
        out[pos] = ncols >> 8
        out[pos + 1] = ncols & 0xFF
        pos += 2
        for c in range(ncols):
            if null[c, r]:
                for k in range(4):
                    out[pos + k] = 0xFF
                pos += 4
                continue
            w = widths[c]
            if w == 0:
                v = at[c]
                start = offsets[v, r]
                n = offsets[v, r + 1] - start
                out[pos] = (n >> 24) & 0xFF
                out[pos + 1] = (n >> 16) & 0xFF
                out[pos + 2] = (n >> 8) & 0xFF
                out[pos + 3] = n & 0xFF
                pos += 4
                for k in range(n):
                    out[pos + k] = chars[start + k]
                pos += n
                continue
            out[pos] = 0
            out[pos + 1] = 0
            out[pos + 2] = 0
            out[pos + 3] = w
            pos += 4
            o = at[c] + r * w
            if w == 8:
                for k in range(8):
                    out[pos + k] = fixed[o + k]
            elif w == 4:
                for k in range(4):
                    out[pos + k] = fixed[o + k]
            elif w == 2:
                out[pos] = fixed[o]
                out[pos + 1] = fixed[o + 1]
            else:
                for k in range(w):
                    out[pos + k] = fixed[o + k]
            pos += w
    return pos


def _big(col: Any, typ: pa.DataType) -> Any:
    """A column's values, big-endian bytes of the width it is sent as (NULLs: zero)."""
    if pa.types.is_timestamp(typ):
        us = col.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        return (us - _PG_EPOCH_US).astype(">i8").view(np.uint8)
    dtype = np.dtype(_SEND[typ][1]).newbyteorder(">")
    values = col.fill_null(False if pa.types.is_boolean(typ) else 0).to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(values.astype(dtype)).view(np.uint8)


BLOCK_ROWS = 32_768
"""Rows encoded at a time by :func:`binary_blocks` (~4 MB of positions): a million rows
encoded whole took a fresh ~130 MB buffer and a ~130 MB ``bytes`` copy of it, whose first
touch cost more CPU than the encoding (bench/RESULTS.md, 2026-12-07 session 3 h-pg)."""


def binary_blocks(
    rows: pa.Table, types: list[pa.DataType], block_rows: int = BLOCK_ROWS
) -> Iterator[memoryview]:
    """``rows`` in PostgreSQL's binary ``COPY`` format, each column sent as its stored type
    in ``types`` (Arrow; :func:`can_send` must hold), in pieces of ``block_rows`` rows to
    send in turn (the header in the first, the trailer in the last): what ``COPY ... FROM
    STDIN (FORMAT binary)`` reads without parsing text, written by one compiled pass per
    piece while the earlier pieces are on their way."""
    n = rows.num_rows
    widths = np.array([0 if pa.types.is_string(t) else _width_sent(t) for t in types], np.int64)
    for first in range(0, max(n, 1), block_rows):
        part = rows.slice(first, block_rows)
        out, end = _block(part, types, widths, first == 0)
        if first + block_rows >= n:
            out[end : end + 2] = 0xFF  # the trailer: -1
            end += 2
        yield memoryview(out)[:end]


def _block(rows: pa.Table, types: list[pa.DataType], widths: Any, header: bool) -> tuple[Any, int]:
    """One piece of :func:`binary_blocks`: a buffer and the bytes of it written."""
    n = rows.num_rows
    null = np.zeros((len(types), n), dtype=np.bool_)
    fixed_parts: list[Any] = []
    strings: list[Any] = []
    at = np.zeros(len(types), dtype=np.int64)
    size = 0
    for c, (col, typ) in enumerate(zip(rows.columns, types, strict=True)):
        col = col.cast(typ) if col.type != typ else col
        if col.null_count:
            null[c] = col.is_null().to_numpy(zero_copy_only=False)
        if widths[c] == 0:
            at[c] = len(strings)
            strings.append(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col)
        else:
            at[c] = size
            fixed_parts.append(_big(col, typ))
            size += int(widths[c]) * n
    fixed = np.concatenate(fixed_parts) if fixed_parts else np.zeros(1, np.uint8)
    offsets = np.zeros((max(len(strings), 1), n + 1), dtype=np.int64)
    chars_parts: list[Any] = []
    base = 0
    for v, arr in enumerate(strings):
        arr = arr.cast(pa.large_string())
        offs = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
        data = np.frombuffer(arr.buffers()[2] or b"", dtype=np.uint8)
        lo, hi = int(offs[0]), int(offs[-1])
        offsets[v] = offs - lo + base
        chars_parts.append(data[lo:hi])
        base += hi - lo
    chars = np.concatenate(chars_parts) if chars_parts else np.zeros(1, np.uint8)
    out = np.empty(19 + n * (2 + 4 * len(types) + int(widths.sum())) + base + 2, dtype=np.uint8)
    pos = 0
    if header:
        out[:19] = np.frombuffer(SIGNATURE + bytes(8), dtype=np.uint8)  # no flags, extension
        pos = 19
    return out, pos + _encode(n, widths, at, fixed, null, offsets, chars, out[pos:])


def to_binary(rows: pa.Table, types: list[pa.DataType]) -> bytes:
    """:func:`binary_blocks` joined: the whole ``COPY`` data of ``rows`` at once."""
    return b"".join(binary_blocks(rows, types))


def _width_sent(typ: pa.DataType) -> int:
    return 8 if pa.types.is_timestamp(typ) else _SEND[typ][0]
