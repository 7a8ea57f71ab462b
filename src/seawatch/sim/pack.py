"""Columnar NMEA encoding for the simulator's hot path: arrays of values → bytes of lines.

In: a :class:`~seawatch.decode.fields.Layout` (the same declarations the decoder and
:mod:`seawatch.decode.encode` use) and one numpy array per field, in the encoder's units;
station names, receive times and channels per row. Out: the armoured payloads as an
``(n, chars)`` byte matrix, and whole tag-blocked ``!AIVDM`` lines as one ``bytes`` blob with
each line's length. Only single-sentence layouts with integer, boolean and spare fields
(types 1/2/3 and 18 here); everything else goes through :mod:`seawatch.decode.encode`, and a
test checks that both give the same payloads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from seawatch.decode.encode import INVERSE_CONVERTERS, EncodeError
from seawatch.decode.fields import Kind, Layout

__all__ = ["line_blob", "pack_payloads"]

U8 = npt.NDArray[np.uint8]
_WEIGHTS = np.array([32, 16, 8, 4, 2, 1], dtype=np.uint8)


def _raw(kind: Kind, scale: float, values: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Raw values as the encoder computes them: booleans and integers as they are, other
    numbers ``round(value * scale)``."""
    a = np.asarray(values)
    if kind == Kind.BOOL or a.dtype.kind in "iub":
        return a.astype(np.int64)
    return np.rint(a.astype(np.float64) * scale).astype(np.int64)


#: Rows packed at once: bounds the (rows, bits) temporaries at a few tens of MB.
CHUNK_ROWS = 32_768


def pack_payloads(layout: Layout, columns: Mapping[str, npt.ArrayLike], n: int) -> U8:
    """``n`` payloads of ``layout`` as ASCII bytes, shape ``(n, ceil(bits / 6))``.

    Missing fields take the layout's type, else their "not available" value, else 0 (as
    :func:`seawatch.decode.encode.encode_bits` does). Raises :class:`EncodeError` when a value
    does not fit its field.
    """
    if n <= CHUNK_ROWS:
        return _pack(layout, columns, n)
    arrays = {k: np.asarray(v) for k, v in columns.items()}
    parts = []
    for lo in range(0, n, CHUNK_ROWS):
        hi = min(n, lo + CHUNK_ROWS)
        parts.append(_pack(layout, {k: a[lo:hi] for k, a in arrays.items()}, hi - lo))
    return np.concatenate(parts)


def _pack(layout: Layout, columns: Mapping[str, npt.ArrayLike], n: int) -> U8:
    bits: list[np.ndarray] = []
    for f in layout.fields:
        width = f.width
        if f.kind in (Kind.TEXT, Kind.BITS) or width == 0:
            raise EncodeError(f"pack_payloads handles numeric fields only, not {f.name!r}")
        if f.kind == Kind.SPARE or f.name not in columns:
            default = layout.msg_type if f.name == "msg_type" else (f.na or 0)
            raw = np.full(n, 0 if f.kind == Kind.SPARE else default, dtype=np.int64)
        elif f.convert is not None:
            inv = INVERSE_CONVERTERS[f.convert]
            raw = np.array([inv(float(v)) for v in np.asarray(columns[f.name])], dtype=np.int64)
        else:
            raw = _raw(f.kind, f.scale, columns[f.name])
        lo, hi = (-(1 << (width - 1)), 1 << (width - 1)) if f.kind == Kind.INT else (0, 1 << width)
        if raw.size and (raw.min() < lo or raw.max() >= hi):
            raise EncodeError(f"{f.name!r} of layout {layout.name!r} outside [{lo}, {hi - 1}]")
        raw = raw & ((1 << width) - 1)
        shifts = np.arange(width - 1, -1, -1, dtype=np.int64)
        bits.append(((raw[:, None] >> shifts) & 1).astype(np.uint8))  # (n, width)
    matrix = np.concatenate(bits, axis=1) if bits else np.zeros((n, 0), np.uint8)
    fill = -matrix.shape[1] % 6
    if fill:
        matrix = np.concatenate([matrix, np.zeros((n, fill), np.uint8)], axis=1)
    six = (matrix.reshape(n, -1, 6) * _WEIGHTS).sum(axis=2, dtype=np.uint8)
    out: U8 = (six + 48 + (six >= 40) * 8).astype(np.uint8)
    return out


def _xor_rows(m: U8) -> U8:
    return np.bitwise_xor.reduce(m, axis=1) if m.shape[1] else np.zeros(m.shape[0], np.uint8)


def _xor_text(text: str) -> int:
    x = 0
    for c in text.encode("ascii"):
        x ^= c
    return x


_HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


def _hex2(x: U8) -> U8:
    return np.stack([_HEX[x >> 4], _HEX[x & 15]], axis=1)


def _const(text: str, n: int) -> U8:
    return np.broadcast_to(np.frombuffer(text.encode("ascii"), np.uint8), (n, len(text)))


def line_blob(
    payloads: U8,
    fill: int,
    station: npt.NDArray[np.intp],
    stations: Sequence[str],
    c_s: npt.NDArray[np.int64],
    channel_b: npt.NDArray[np.bool_],
) -> tuple[bytes, npt.NDArray[np.int64]]:
    r"""Lines ``\s:<station>,c:<c_s>*hh\!AIVDM,1,1,,<A|B>,<payload>,<fill>*hh`` + newline.

    ``station`` indexes ``stations``; ``c_s`` are receive times in whole Unix seconds (10
    digits). Returns the concatenated lines and each line's length in bytes, in row order.
    """
    n = payloads.shape[0]
    if n == 0:
        return b"", np.zeros(0, np.int64)
    if c_s.min() < 1_000_000_000 or c_s.max() > 9_999_999_999:
        raise EncodeError("receive times must be 10-digit Unix seconds")
    width = max(len(s) for s in stations)
    names = np.zeros((len(stations), width), np.uint8)
    name_len = np.array([len(s) for s in stations], np.int64)
    for i, s in enumerate(stations):
        names[i, : len(s)] = np.frombuffer(s.encode("ascii"), np.uint8)
    name_xor = np.array([_xor_text(s) for s in stations], np.uint8)
    digits = ((c_s[:, None] // 10 ** np.arange(9, -1, -1)) % 10 + 48).astype(np.uint8)
    tag_x = name_xor[station] ^ _xor_rows(digits) ^ np.uint8(_xor_text("s:,c:"))
    chan = np.where(channel_b, ord("B"), ord("A")).astype(np.uint8)[:, None]
    tail = f",{fill}"
    body_x = (
        _xor_rows(payloads) ^ chan[:, 0] ^ np.uint8(_xor_text("AIVDM,1,1,,,") ^ _xor_text(tail))
    )
    parts = [
        _const("\\s:", n),
        names[station],
        _const(",c:", n),
        digits,
        _const("*", n),
        _hex2(tag_x),
        _const("\\!AIVDM,1,1,,", n),
        chan,
        _const(",", n),
        payloads,
        _const(f"{tail}*", n),
        _hex2(body_x),
        _const("\n", n),
    ]
    matrix = np.concatenate(parts, axis=1)
    keep = np.ones(matrix.shape, dtype=bool)
    keep[:, 3 : 3 + width] = np.arange(width)[None, :] < name_len[station][:, None]
    lengths = keep.sum(axis=1, dtype=np.int64)
    return matrix[keep].tobytes(), lengths
