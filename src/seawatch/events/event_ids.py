"""Event ids of a whole column at once: BLAKE2b (RFC 7693) of each id text, compiled.

:func:`seawatch.events.schema.event_id` hashes ``"type|mmsi|other|start_us|discriminator"``
with ``hashlib.blake2b(digest_size=16)`` and gives its hex digest; a detector builds tens
of thousands of events per chunk, one Python call each. :func:`event_ids` builds the texts
column-wise (Arrow) and hashes them all in one compiled pass: the same ids, byte for byte
(hypothesis test against ``hashlib``: tests/events/test_event_ids.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from seawatch.tracks.compiled import HELPER

__all__ = ["event_ids"]

_IV = np.array(
    [
        0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
        0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179,
    ],
    dtype=np.uint64,
)  # fmt: skip
_SIGMA = np.array(
    [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
        [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
        [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
        [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
        [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
        [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
        [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
        [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
        [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    ],
    dtype=np.int64,
)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
DIGEST_BYTES = 16


@njit(cache=True, nogil=True, inline="always")
def _rotr(x: Any, n: int) -> Any:  # pragma: no cover
    return (x >> np.uint64(n)) | (x << np.uint64(64 - n))


@njit(**HELPER)
def _g(
    a: Any, b: Any, c: Any, d: Any, x: Any, y: Any
) -> tuple[Any, Any, Any, Any]:  # pragma: no cover
    """BLAKE2b's mixing G of four words (values, not places in an array: the state stays
    in registers), returned mixed."""
    a = a + b + x
    d = _rotr(d ^ a, 32)
    c = c + d
    b = _rotr(b ^ c, 24)
    a = a + b + y
    d = _rotr(d ^ a, 16)
    c = c + d
    b = _rotr(b ^ c, 63)
    return a, b, c, d


@njit(cache=True, nogil=True)
def _compress(h: Any, m: Any, t: int, last: bool, iv: Any, sigma: Any) -> None:  # pragma: no cover
    """One block: the sixteen words of the work vector as local values, each round's eight
    mixings written out (columns, then diagonals)."""
    v0, v1, v2, v3, v4, v5, v6, v7 = h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
    v8, v9, v10, v11 = iv[0], iv[1], iv[2], iv[3]
    v12, v13, v14, v15 = iv[4] ^ np.uint64(t), iv[5], iv[6], iv[7]
    if last:
        v14 = ~v14
    for r in range(12):
        s = sigma[r % 10]
        v0, v4, v8, v12 = _g(v0, v4, v8, v12, m[s[0]], m[s[1]])
        v1, v5, v9, v13 = _g(v1, v5, v9, v13, m[s[2]], m[s[3]])
        v2, v6, v10, v14 = _g(v2, v6, v10, v14, m[s[4]], m[s[5]])
        v3, v7, v11, v15 = _g(v3, v7, v11, v15, m[s[6]], m[s[7]])
        v0, v5, v10, v15 = _g(v0, v5, v10, v15, m[s[8]], m[s[9]])
        v1, v6, v11, v12 = _g(v1, v6, v11, v12, m[s[10]], m[s[11]])
        v2, v7, v8, v13 = _g(v2, v7, v8, v13, m[s[12]], m[s[13]])
        v3, v4, v9, v14 = _g(v3, v4, v9, v14, m[s[14]], m[s[15]])
    h[0] ^= v0 ^ v8
    h[1] ^= v1 ^ v9
    h[2] ^= v2 ^ v10
    h[3] ^= v3 ^ v11
    h[4] ^= v4 ^ v12
    h[5] ^= v5 ^ v13
    h[6] ^= v6 ^ v14
    h[7] ^= v7 ^ v15


@njit(cache=True, nogil=True)
def _hex_digests(
    offsets: Any, data: Any, iv: Any, sigma: Any, hexd: Any, digest: int
) -> Any:  # pragma: no cover
    """The hex BLAKE2b digest (``digest`` bytes, no key) of each text, concatenated."""
    n = len(offsets) - 1
    out = np.empty(n * 2 * digest, np.uint8)
    h = np.empty(8, np.uint64)
    m = np.empty(16, np.uint64)
    for e in range(n):
        start, end = offsets[e], offsets[e + 1]
        for i in range(8):
            h[i] = iv[i]
        h[0] ^= np.uint64(0x01010000 | digest)
        length = end - start
        pos = start
        done = 0
        while True:
            take = min(128, end - pos)
            last = length - done <= 128
            for w in range(16):  # the block's words, little-endian, zero past the text
                m[w] = 0
            for k in range(take):
                m[k >> 3] |= np.uint64(data[pos + k]) << np.uint64(8 * (k & 7))
            done += take
            pos += take
            _compress(h, m, done, last, iv, sigma)
            if last:
                break
        for k in range(digest):
            byte = (h[k // 8] >> np.uint64(8 * (k % 8))) & np.uint64(0xFF)
            out[e * 2 * digest + 2 * k] = hexd[byte >> np.uint64(4)]
            out[e * 2 * digest + 2 * k + 1] = hexd[byte & np.uint64(0xF)]
    return out


def _text(values: Any, n: int) -> Any:
    """Integers (None: empty) as decimal text, an Arrow string array of ``n``."""
    if values is None:
        return pa.array([""] * n, pa.string())
    if isinstance(values, np.ndarray) and values.dtype.kind not in "iu":
        raise TypeError(f"integers expected, not {values.dtype}")
    arr: Any = values if isinstance(values, pa.Array) else pa.array(values, pa.int64())
    if len(arr) != n:
        raise ValueError(f"{len(arr)} values for {n} events")
    return pc.fill_null(pc.cast(arr, pa.string()), "")


def event_ids(
    event_type: str, mmsi: Any, other_mmsi: Any, start_us: Any, discriminators: Any
) -> pa.StringArray:
    """``[schema.event_id(event_type, m, o, s, d) for ...]`` as one Arrow string array.

    ``mmsi``, ``other_mmsi`` (None, or None values: no other vessel) and ``start_us``:
    integers (sequences or numpy integer arrays); ``discriminators``: texts. Anything else
    (floats, missing texts) is a ``TypeError`` or an Arrow error: the caller then takes
    ``event_id`` per event."""
    n = len(discriminators)
    discs = pa.array(discriminators, pa.string())
    if discs.null_count:
        raise TypeError("discriminators must be texts")
    join: Any = pc.binary_join_element_wise
    text = join(
        pa.scalar(event_type), _text(mmsi, n), _text(other_mmsi, n), _text(start_us, n),
        discs, "|",
    )  # fmt: skip
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    bufs: Any = text.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[text.offset : text.offset + n + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.empty(0, np.uint8)
    kernel: Any = _hex_digests
    hexed = kernel(offsets, data, _IV, _SIGMA, _HEX, DIGEST_BYTES)
    width = 2 * DIGEST_BYTES
    out_offsets: Any = np.arange(0, width * (n + 1), width, dtype=np.int32)
    strings: Any = pa.StringArray
    out: pa.StringArray = strings.from_buffers(n, pa.py_buffer(out_offsets), pa.py_buffer(hexed))
    return out
