"""A table's rows kept by a mask, for masks that keep long runs of rows (clean's: a few
thousand duplicates dropped of a million rows).

Arrow's ``filter`` copies primitive values at memory speed, but a text column costs it 4–8 ms
per million rows, and every column's validity bitmap is filtered again, though the columns
of one message kind share their nulls (a position's name, IMO and call sign are all null or
all set). Here the runs of kept rows are found once; a text column's offsets and bytes are
copied run by run; a validity bitmap is filtered once per distinct bitmap and shared by the
columns that have it; primitive values are still Arrow's ``filter`` (of the values alone).
The same arrays as ``filter``'s, buffer for buffer (bitmaps zero past their last row).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from numba import njit

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]


@njit(cache=True, nogil=True)
def kept_runs(keep: npt.NDArray[np.bool_]) -> tuple[I64, I64]:  # pragma: no cover
    """Starts and ends (exclusive) of the runs of True in ``keep``."""
    n = keep.shape[0]
    starts = np.empty(n // 2 + 1, np.int64)
    ends = np.empty(n // 2 + 1, np.int64)
    k = 0
    i = 0
    while i < n:
        while i < n and not keep[i]:
            i += 1
        if i == n:
            break
        starts[k] = i
        while i < n and keep[i]:
            i += 1
        ends[k] = i
        k += 1
    return starts[:k], ends[:k]


@njit(cache=True, nogil=True)
def _text_runs(
    offsets: npt.NDArray[np.int32], data: U8, starts: I64, ends: I64, n_out: int
) -> tuple[npt.NDArray[np.int32], U8]:  # pragma: no cover
    """A text column's offsets (from 0) and bytes over the runs (``offsets`` from the
    array's first row)."""
    size = 0
    for r in range(starts.shape[0]):
        size += offsets[ends[r]] - offsets[starts[r]]
    out_offsets = np.empty(n_out + 1, np.int32)
    out_data = np.empty(size, np.uint8)
    out_offsets[0] = 0
    k = 0
    pos = 0
    for r in range(starts.shape[0]):
        a, b = starts[r], ends[r]
        first = offsets[a]
        shift = pos - first
        for i in range(a, b):
            out_offsets[k + 1 + i - a] = offsets[i + 1] + shift
        n_bytes = offsets[b] - first
        out_data[pos : pos + n_bytes] = data[first : first + n_bytes]
        pos += n_bytes
        k += b - a
    return out_offsets, out_data


@njit(cache=True, nogil=True)
def _bits_runs(
    bits: U8, offset: int, starts: I64, ends: I64, n_out: int
) -> tuple[U8, int]:  # pragma: no cover
    """A bitmap (from bit ``offset``) over the runs, and how many of its bits are set: a
    run's bits one by one until the output is at a byte boundary, then a byte at a time."""
    out = np.zeros((n_out + 7) // 8, np.uint8)
    last = bits.shape[0] - 1
    k = 0
    for r in range(starts.shape[0]):
        i, end = starts[r] + offset, ends[r] + offset
        while i < end and k & 7:
            out[k >> 3] |= np.uint8(((bits[i >> 3] >> (i & 7)) & 1) << (k & 7))
            i += 1
            k += 1
        shift = i & 7
        while end - i >= 8:
            b = i >> 3
            word = np.int64(bits[b])
            if b < last:
                word |= np.int64(bits[b + 1]) << 8
            out[k >> 3] = np.uint8((word >> shift) & 0xFF)
            i += 8
            k += 8
        while i < end:
            out[k >> 3] |= np.uint8(((bits[i >> 3] >> (i & 7)) & 1) << (k & 7))
            i += 1
            k += 1
    n_set = 0
    for byte in out:  # bits past n_out are zero
        v = np.int64(byte)
        v = v - ((v >> 1) & 0x55)
        v = (v & 0x33) + ((v >> 2) & 0x33)
        n_set += int((v + (v >> 4)) & 0x0F)
    return out, n_set


def _buffer(values: Any) -> pa.Buffer:
    """A numpy array's memory as an Arrow buffer (no copy)."""
    return pa.py_buffer(values)


class _Bitmaps:
    """Validity bitmaps filtered over the runs, each distinct one once."""

    def __init__(self, starts: I64, ends: I64, n_out: int) -> None:
        self.starts, self.ends, self.n_out = starts, ends, n_out
        self.done: list[tuple[int, U8, pa.Buffer, int]] = []

    def filtered(self, arr: Any) -> tuple[pa.Buffer | None, int]:
        """``arr``'s bitmap over the runs (None without nulls) and the output's nulls."""
        if not arr.null_count:
            return None, 0
        start, end = arr.offset // 8, (arr.offset + len(arr) + 7) // 8
        bufs: Any = arr.buffers()
        bits = np.frombuffer(bufs[0], np.uint8)[start:end]
        for offset, seen, buf, n_null in self.done:
            if offset == arr.offset % 8 and np.array_equal(seen, bits):
                return buf, n_null
        out, n_set = _bits_runs(bits, arr.offset % 8, self.starts, self.ends, self.n_out)
        found = (arr.offset % 8, bits, _buffer(out), int(self.n_out - n_set))
        self.done.append(found)
        return found[2], found[3]


def _column(arr: Any, sel: Any, maps: _Bitmaps) -> Any:
    typ, n_out = arr.type, maps.n_out
    if pa.types.is_string(typ) or pa.types.is_binary(typ):
        valid, n_null = maps.filtered(arr)
        bufs: Any = arr.buffers()
        offsets = np.frombuffer(bufs[1], np.int32)[arr.offset : arr.offset + len(arr) + 1]
        data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.empty(0, np.uint8)
        out_offsets, out_data = _text_runs(offsets, data, maps.starts, maps.ends, n_out)
        return pa.Array.from_buffers(
            typ, n_out, [valid, _buffer(out_offsets), _buffer(out_data)], n_null
        )
    if not arr.null_count or not pa.types.is_primitive(typ) or pa.types.is_boolean(typ):
        return arr.filter(sel)
    values = pa.Array.from_buffers(typ, len(arr), [None, arr.buffers()[1]], 0, arr.offset)
    out = values.filter(sel)
    valid, n_null = maps.filtered(arr)
    return pa.Array.from_buffers(typ, n_out, [valid, out.buffers()[1]], n_null, out.offset)


def keep_rows(table: pa.Table, keep: npt.NDArray[np.bool_]) -> pa.Table:
    """``table.filter(keep)`` for a table whose columns are one chunk each (``keep``: one
    bool per row): the same columns (see the module doc)."""
    if len(keep) != table.num_rows:
        return table.filter(pa.array(keep))  # Arrow's error, as before
    keep = np.ascontiguousarray(keep, dtype=np.bool_)
    starts, ends = kept_runs(keep)
    maps = _Bitmaps(starts, ends, int(np.count_nonzero(keep)))
    sel = pa.array(keep)
    cols = [_column(c.chunk(0), sel, maps) for c in table.columns]
    return pa.Table.from_arrays(cols, schema=table.schema)
