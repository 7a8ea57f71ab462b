"""Compiled field extraction: packed payloads + a field's bit range → Arrow columns.

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

_TEXT = np.frombuffer(
    b"@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?", np.uint8
)


@njit(cache=True, nogil=True)
def _bits(pay: np.ndarray, start: int, off: int, width: int) -> np.int64:
    """Unsigned value of bits [off, off+width) (width ≤ 60) of the message at word ``start``."""
    wi = off // 60
    bo = off - wi * 60
    x = pay[start + wi] << np.uint64(bo)
    if bo + width > 60:
        x |= pay[start + wi + 1] >> np.uint64(60 - bo)
    return np.int64(x >> np.uint64(64 - width))


# Columns of an integer field spec (see extract_ints and field_spec)
F_COL, F_WORD, F_SHIFT, F_WIDTH, F_END, F_SIGNED, F_HAS_NA, F_NA, F_DEST, F_SLOT = range(10)
N_SPEC = 10


def field_spec(
    col: int, off: int, width: int, signed: bool, na: int | None, dest: int = 2, slot: int = 0
) -> list[int]:
    """One row of an integer field spec, with the word arithmetic done once.

    ``dest`` picks the output matrix (0: int8, 1: int16, 2: int32) and ``slot`` the row in it.
    """
    word, shift = divmod(off, 60)
    has_na = int(na is not None)
    return [col, word, shift, width, off + width, int(signed), has_na, na or 0, dest, slot]


@njit(cache=True, nogil=True)
def extract_ints(
    pay: np.ndarray,
    starts: np.ndarray,
    nbits: np.ndarray,
    rows: np.ndarray,
    pid: np.ndarray,
    count: np.ndarray,
    spec: np.ndarray,
    out8: np.ndarray,
    out16: np.ndarray,
    out32: np.ndarray,
    valid: np.ndarray,
) -> None:
    """Many integer columns of a table at once, one pass over each payload.

    Row ``j`` is message ``rows[j]`` decoded with layout group ``pid[j]``, whose
    ``count[g]`` fields are ``spec[g, i]`` (see :func:`field_spec`: column, word and bit
    of the first bit, width, end bit, signed, has a "not available" value, that value).
    Payloads are words of ten characters (60 bits, left-aligned), so a field is one or two
    shifts. Fills the rows of ``out8``/``out16``/``out32`` the specs name, and
    sets ``valid`` (bool[ncols, n], all False on entry) where a value is present: integer
    fields are at most 32 bits signed or 31 unsigned (checked when schemas are built).
    """
    n = rows.shape[0]
    for j in range(n):
        r = rows[j]
        g = pid[j]
        s = starts[r]
        nb = nbits[r]
        for i in range(count[g]):
            if nb < spec[g, i, F_END]:
                continue
            wi = s + spec[g, i, F_WORD]
            bo = spec[g, i, F_SHIFT]
            width = spec[g, i, F_WIDTH]
            x = pay[wi] << np.uint64(bo)
            if bo + width > 60:
                x |= pay[wi + 1] >> np.uint64(60 - bo)
            x >>= np.uint64(64 - width)
            val = np.int64(x)
            if spec[g, i, F_SIGNED] and val >= (np.int64(1) << (width - 1)):
                val -= np.int64(1) << width
            if spec[g, i, F_HAS_NA] and val == spec[g, i, F_NA]:
                continue
            dest = spec[g, i, F_DEST]
            slot = spec[g, i, F_SLOT]
            if dest == 2:
                out32[slot, j] = val
            elif dest == 1:
                out16[slot, j] = val
            else:
                out8[slot, j] = val
            valid[spec[g, i, F_COL], j] = True


@njit(cache=True, nogil=True)
def source_fields(
    ts_all: np.ndarray,
    line_all: np.ndarray,
    vdo_all: np.ndarray,
    chan_all: np.ndarray,
    talker_all: np.ndarray,
    rows: np.ndarray,
    no_time: int,
) -> tuple[np.ndarray, ...]:
    """Where each row came from, in one pass: receive time (+ valid), line, VDO flag, and
    channel / talker as UTF-8 with offsets (+ valid)."""
    n = rows.shape[0]
    ts = np.empty(n, np.int64)
    ts_ok = np.empty(n, np.bool_)
    line = np.empty(n, np.int64)
    vdo = np.empty(n, np.bool_)
    ch_off = np.empty(n + 1, np.int32)
    ch_data = np.empty(n, np.uint8)
    ch_ok = np.empty(n, np.bool_)
    tk_off = np.empty(n + 1, np.int32)
    tk_data = np.empty(2 * n, np.uint8)
    tk_ok = np.empty(n, np.bool_)
    ch_off[0] = 0
    tk_off[0] = 0
    nc = 0
    nt = 0
    for j in range(n):
        r = rows[j]
        t = ts_all[r]
        ts[j] = t
        ts_ok[j] = t != no_time
        line[j] = line_all[r]
        vdo[j] = vdo_all[r] != 0
        c = chan_all[r]
        ch_ok[j] = c != 0
        if c != 0:
            ch_data[nc] = c
            nc += 1
        ch_off[j + 1] = nc
        k = talker_all[r]
        tk_ok[j] = k != 0
        if k != 0:
            tk_data[nt] = k >> 8
            tk_data[nt + 1] = k & 0xFF
            nt += 2
        tk_off[j + 1] = nt
    return ts, ts_ok, line, vdo, ch_off, ch_data[:nc], ch_ok, tk_off, tk_data[:nt], tk_ok


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
    pay: np.ndarray,
    starts: np.ndarray,
    nbits: np.ndarray,
    rows: np.ndarray,
    pid: np.ndarray,
    offs: np.ndarray,
    widths: np.ndarray,
    table: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Six-bit text → (int32 offsets, utf8 bytes, valid). Ends at the first '@' (ITU padding);
    trailing spaces dropped; an empty text is null."""
    n = rows.shape[0]
    offsets = np.zeros(n + 1, np.int32)
    data = np.empty(n * (widths.max() // 6) + 1, np.uint8)
    valid = np.zeros(n, np.bool_)
    pos = 0
    for j in range(n):
        r = rows[j]
        off = offs[pid[j]]
        width = widths[pid[j]]
        if off < 0:
            offsets[j + 1] = pos
            continue
        avail = min(width, nbits[r] - off)
        nch = avail // 6 if avail > 0 else 0
        if nch > 0:
            s = starts[r]
            first = pos
            last = pos  # end of the kept text
            for k in range(nch):
                c = table[_bits(pay, s, off + 6 * k, 6)]
                if c == 64:  # '@' ends the text, as in gpsd, pyais and AisLib
                    break
                data[pos] = c
                pos += 1
                if c != 32:
                    last = pos
            pos = last
            valid[j] = last > first
        offsets[j + 1] = pos
    return offsets, data[:pos], valid


@njit(cache=True, nogil=True)
def extract_binary(
    pay: np.ndarray,
    starts: np.ndarray,
    nbits: np.ndarray,
    rows: np.ndarray,
    pid: np.ndarray,
    offs: np.ndarray,
    widths: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bits → (int32 offsets, bytes packed MSB first, bit counts, valid)."""
    n = rows.shape[0]
    offsets = np.zeros(n + 1, np.int32)
    data = np.zeros(n * ((widths.max() + 7) // 8) + 1, np.uint8)
    counts = np.zeros(n, np.int32)
    valid = np.zeros(n, np.bool_)
    pos = 0
    for j in range(n):
        r = rows[j]
        off = offs[pid[j]]
        width = widths[pid[j]]
        if off < 0:
            offsets[j + 1] = pos
            continue
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
TEXT_TABLE = _TEXT


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


def as_buffer(a: np.ndarray) -> pa.Buffer:
    """Zero-copy Arrow view of a contiguous numpy array."""
    return pa.py_buffer(a)  # type: ignore[arg-type]  # ndarray implements the buffer protocol


def validity(valid: np.ndarray) -> pa.Buffer | None:
    """Arrow validity bitmap of a boolean mask (None when all valid)."""
    if valid.all():
        return None
    return as_buffer(np.packbits(valid, bitorder="little"))
