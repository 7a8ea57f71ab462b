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


_LANES = np.array(
    [[0, 4, 8, 12], [1, 5, 9, 13], [2, 6, 10, 14], [3, 7, 11, 15],
     [0, 5, 10, 15], [1, 6, 11, 12], [2, 7, 8, 13], [3, 4, 9, 14]],
    np.int64,
)  # fmt: skip
"""The words each of a round's eight mixings takes: read from an array, not passed as
literal ints (numba would compile a specialization of ``_g`` per literal)."""


@njit(**HELPER)
def _g(v: Any, a: int, b: int, c: int, d: int, x: Any, y: Any) -> None:  # pragma: no cover
    v[a] = v[a] + v[b] + x
    v[d] = _rotr(v[d] ^ v[a], 32)
    v[c] = v[c] + v[d]
    v[b] = _rotr(v[b] ^ v[c], 24)
    v[a] = v[a] + v[b] + y
    v[d] = _rotr(v[d] ^ v[a], 16)
    v[c] = v[c] + v[d]
    v[b] = _rotr(v[b] ^ v[c], 63)


@njit(cache=True, nogil=True)
def _compress(
    h: Any, m: Any, v: Any, t: int, last: bool, iv: Any, sigma: Any
) -> None:  # pragma: no cover
    for i in range(8):
        v[i] = h[i]
        v[i + 8] = iv[i]
    v[12] ^= np.uint64(t)
    if last:
        v[14] = ~v[14]
    for r in range(12):
        s = sigma[r % 10]
        for k in range(8):
            a, b, c, d = _LANES[k]
            _g(v, a, b, c, d, m[s[2 * k]], m[s[2 * k + 1]])
    for i in range(8):
        h[i] ^= v[i] ^ v[i + 8]


@njit(cache=True, nogil=True)
def _hex_digests(
    offsets: Any, data: Any, iv: Any, sigma: Any, hexd: Any, digest: int
) -> Any:  # pragma: no cover
    """The hex BLAKE2b digest (``digest`` bytes, no key) of each text, concatenated."""
    n = len(offsets) - 1
    out = np.empty(n * 2 * digest, np.uint8)
    h = np.empty(8, np.uint64)
    v = np.empty(16, np.uint64)
    m = np.empty(16, np.uint64)
    block = np.empty(128, np.uint8)
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
            for k in range(128):
                block[k] = data[pos + k] if k < take else 0
            for w in range(16):
                x = np.uint64(0)
                for k in range(8):
                    x |= np.uint64(block[8 * w + k]) << np.uint64(8 * k)
                m[w] = x
            done += take
            pos += take
            _compress(h, m, v, done, last, iv, sigma)
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
