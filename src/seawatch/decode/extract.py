"""Compiled field extraction: six-bit payloads + a field's bit range → one Arrow column.

Each kernel reads one field for a set of messages (``rows``) at once. A field that lies
beyond a message's bit length, or holds its "not available" raw value, is null. Text and
binary fields keep whatever whole characters / bits are present when truncated.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
from numba import njit

from seawatch.decode.fields import Field, Kind

_TEXT = np.frombuffer(b"@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?", np.uint8)


@njit(cache=True, nogil=True)
def _bits(pay: np.ndarray, start: int, off: int, width: int) -> int:
    """Unsigned value of bits [off, off+width) of the payload starting at pay[start]."""
    i0 = off // 6
    i1 = (off + width - 1) // 6
    acc = np.uint64(0)
    for i in range(i0, i1 + 1):
        acc = (acc << np.uint64(6)) | np.uint64(pay[start + i])
    acc >>= np.uint64(6 * (i1 + 1) - off - width)
    if width < 64:
        acc &= (np.uint64(1) << np.uint64(width)) - np.uint64(1)
    return np.int64(acc)


@njit(cache=True, nogil=True)
def extract_int(
    pay: np.ndarray, starts: np.ndarray, nbits: np.ndarray, rows: np.ndarray,
    off: int, width: int, signed: bool, na: int, has_na: bool,
) -> tuple[np.ndarray, np.ndarray]:
    n = rows.shape[0]
    out = np.zeros(n, np.int64)
    valid = np.zeros(n, np.bool_)
    end = off + width
    for j in range(n):
        r = rows[j]
        if nbits[r] < end:
            continue
        v = _bits(pay, starts[r], off, width)
        if signed and v >= (np.int64(1) << (width - 1)):
            v -= np.int64(1) << width
        if has_na and v == na:
            continue
        out[j] = v
        valid[j] = True
    return out, valid


@njit(cache=True, nogil=True)
def extract_ints(
    pay: np.ndarray, starts: np.ndarray, nbits: np.ndarray, rows: np.ndarray,
    offs: np.ndarray, widths: np.ndarray, signed: np.ndarray, na: np.ndarray, has_na: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Many integer fields of the same rows at once (one pass over each payload)."""
    nf = offs.shape[0]
    n = rows.shape[0]
    out = np.zeros((nf, n), np.int64)
    valid = np.zeros((nf, n), np.bool_)
    for j in range(n):
        r = rows[j]
        s = starts[r]
        nb = nbits[r]
        for k in range(nf):
            off = offs[k]
            width = widths[k]
            if nb < off + width:
                continue
            v = _bits(pay, s, off, width)
            if signed[k] and v >= (np.int64(1) << (width - 1)):
                v -= np.int64(1) << width
            if has_na[k] and v == na[k]:
                continue
            out[k, j] = v
            valid[k, j] = True
    return out, valid


@njit(cache=True, nogil=True)
def gather_bytes(
    buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Variable-length byte strings of ``rows`` → (int32 offsets, data)."""
    n = rows.shape[0]
    offsets = np.zeros(n + 1, np.int32)
    total = 0
    for j in range(n):
        total += lengths[rows[j]]
    data = np.empty(total, np.uint8)
    pos = 0
    for j in range(n):
        r = rows[j]
        a = starts[r]
        for i in range(lengths[r]):
            data[pos] = buf[a + i]
            pos += 1
        offsets[j + 1] = pos
    return offsets, data


@njit(cache=True, nogil=True)
def extract_text(
    pay: np.ndarray, starts: np.ndarray, nbits: np.ndarray, rows: np.ndarray,
    off: int, width: int, table: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Six-bit text → (int32 offsets, utf8 bytes, valid). Trailing '@' and spaces dropped."""
    n = rows.shape[0]
    offsets = np.zeros(n + 1, np.int32)
    data = np.empty(n * (width // 6) + 1, np.uint8)
    valid = np.zeros(n, np.bool_)
    pos = 0
    for j in range(n):
        r = rows[j]
        avail = min(width, nbits[r] - off)
        nch = avail // 6 if avail > 0 else 0
        if nch > 0:
            s = starts[r]
            first = pos
            last = pos  # end of the kept text
            for k in range(nch):
                c = table[_bits(pay, s, off + 6 * k, 6)]
                data[pos] = c
                pos += 1
                if c != 64 and c != 32:
                    last = pos
            pos = last
            valid[j] = last > first
        offsets[j + 1] = pos
    return offsets, data[:pos], valid


@njit(cache=True, nogil=True)
def extract_binary(
    pay: np.ndarray, starts: np.ndarray, nbits: np.ndarray, rows: np.ndarray,
    off: int, width: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bits → (int32 offsets, bytes packed MSB first, bit counts, valid)."""
    n = rows.shape[0]
    offsets = np.zeros(n + 1, np.int32)
    data = np.zeros(n * ((width + 7) // 8) + 1, np.uint8)
    counts = np.zeros(n, np.int32)
    valid = np.zeros(n, np.bool_)
    pos = 0
    for j in range(n):
        r = rows[j]
        avail = min(width, nbits[r] - off)
        if avail > 0:
            valid[j] = True
            counts[j] = avail
            s = starts[r]
            k = 0
            while k < avail:
                w = min(8, avail - k)
                data[pos] = _bits(pay, s, off + k, w) << (8 - w)
                pos += 1
                k += w
        offsets[j + 1] = pos
    return offsets, data[:pos], counts, valid


def _rot(raw: np.ndarray) -> np.ndarray:
    """ITU rate of turn: ROT_AIS = 4.733 √ROT_sensor (°/min), sign kept.

    ±127 means "turning faster than 5°/30 s, no turn indicator": it decodes to
    ±(127/4.733)² ≈ ±720 °/min, the largest rate the field can express.
    """
    v = raw.astype(np.float64) / 4.733
    return np.sign(v) * v * v


CONVERTERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"rot": _rot}


def arrow_type(f: Field) -> pa.DataType:
    """The Arrow type a field decodes to (one rule, used by the schemas and the kernels)."""
    if f.is_scaled:
        return pa.float64()
    if f.kind == Kind.BOOL:
        return pa.bool_()
    if f.kind == Kind.TEXT:
        return pa.string()
    if f.kind == Kind.BITS:
        return pa.binary()
    w = f.width if f.width else f.max_width
    if f.kind == Kind.INT:
        bits = 8 if w <= 8 else 16 if w <= 16 else 32 if w <= 32 else 64
    else:
        bits = 8 if w <= 7 else 16 if w <= 15 else 32 if w <= 31 else 64
    return pa.from_numpy_dtype(np.dtype(f"int{bits}"))


def column(
    f: Field, off: int, pay: np.ndarray, starts: np.ndarray, nbits: np.ndarray,
    rows: np.ndarray, typ: pa.DataType,
) -> pa.Array:
    """Decode field ``f`` at bit ``off`` for ``rows`` into an Arrow array of type ``typ``."""
    width = f.width if f.width else f.max_width
    if f.kind == Kind.TEXT:
        o, d, v = extract_text(pay, starts, nbits, rows, off, width, _TEXT)
        return pa.Array.from_buffers(
            pa.string(), len(rows), [_mask(v), pa.py_buffer(o), pa.py_buffer(d)]
        )
    if f.kind == Kind.BITS:
        o, d, _c, v = extract_binary(pay, starts, nbits, rows, off, width)
        return pa.Array.from_buffers(
            pa.binary(), len(rows), [_mask(v), pa.py_buffer(o), pa.py_buffer(d)]
        )
    na = 0 if f.na is None else f.na
    vals, valid = extract_int(
        pay, starts, nbits, rows, off, width, f.kind == Kind.INT, na, f.na is not None
    )
    return to_arrow(f, vals, valid, typ)


def int_columns(
    fields: list[tuple[Field, int]], pay: np.ndarray, starts: np.ndarray, nbits: np.ndarray,
    rows: np.ndarray, types: list[pa.DataType],
) -> list[pa.Array]:
    """Decode several fixed-width numeric fields of the same rows in one pass."""
    offs = np.array([o for _, o in fields], np.int64)
    widths = np.array([f.width for f, _ in fields], np.int64)
    signed = np.array([f.kind == Kind.INT for f, _ in fields], np.bool_)
    na = np.array([0 if f.na is None else f.na for f, _ in fields], np.int64)
    has_na = np.array([f.na is not None for f, _ in fields], np.bool_)
    vals, valid = extract_ints(pay, starts, nbits, rows, offs, widths, signed, na, has_na)
    return [to_arrow(f, vals[k], valid[k], t) for k, ((f, _), t) in enumerate(zip(fields, types, strict=True))]


def to_arrow(f: Field, vals: np.ndarray, valid: np.ndarray, typ: pa.DataType) -> pa.Array:
    """Raw integers of a field → its Arrow column (scaled, converted, nulls applied)."""
    mask = ~valid
    if f.convert is not None:
        out: np.ndarray = CONVERTERS[f.convert](vals)
    elif f.scale != 1.0:
        out = vals / f.scale
    elif f.kind == Kind.BOOL:
        out = vals.astype(np.bool_)
    else:
        out = vals.astype(typ.to_pandas_dtype())
    return pa.array(out, type=typ, mask=mask if mask.any() else None)


def bit_counts(
    f: Field, off: int, pay: np.ndarray, starts: np.ndarray, nbits: np.ndarray, rows: np.ndarray
) -> pa.Array:
    """Number of bits present in a BITS field (its ``<name>_nbits`` companion column)."""
    width = f.width if f.width else f.max_width
    avail = np.clip(nbits[rows] - off, 0, width).astype(np.int32)
    return pa.array(avail, type=pa.int32())


def _mask(valid: np.ndarray) -> pa.Buffer | None:
    if valid.all():
        return None
    return pa.py_buffer(np.packbits(valid, bitorder="little"))
