"""A detector's buffer of earlier rows and a new chunk, keyed and ordered without re-sorting both.

The encounter detector keeps the raw rows a later chunk still needs and prepares them with
each chunk: :func:`~seawatch.events.tracks_in.prepare` of ``concat(buffer, chunk)``. That
cleans, keys and sorts a million rows again, though the chunk was already prepared by the
detectors before it (:mod:`~seawatch.events.tracks_in` keeps the last chunks prepared) and
the buffer is a few percent of the rows. :func:`prepare_appended` gives the same
:class:`~seawatch.events.tracks_in.Keyed` from the two parts: the buffer prepared (small),
the chunk's from the cache, their keys merged (the buffer's first, then the chunk's new ones
in order of appearance, as a dictionary encoding of the concatenation numbers them) and each
track's rows of both merged by time (the buffer's first on equal times): the stable order by
(track, time) of the concatenation, which is what ``prepare`` computes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from seawatch.events.tracks_in import F64, I64, Keyed, _chunk

__all__ = ["prepare_appended"]


@njit(cache=True, nogil=True)
def _merged(
    b_code: I64, b_ts: I64, b_lat: F64, b_lon: F64, b_mmsi: I64, b_order: I64,
    c_code: I64, c_ts: I64, c_lat: F64, c_lon: F64, c_mmsi: I64, c_order: I64,
    n_keys: int, b_rows: int,
) -> tuple[I64, I64, F64, F64, I64, I64]:  # fmt: skip  # pragma: no cover
    """Rows of both parts by (merged key, time), the buffer's first on equal times.

    ``b_code`` ascending (the buffer's rows grouped by key, each group by time); ``c_code``
    the merged keys of the chunk's rows, grouped by the chunk's own key order. ``c_order``
    indexes the chunk's rows: shifted by ``b_rows`` in the output."""
    nb, nc = len(b_code), len(c_code)
    b_start = np.zeros(n_keys + 1, np.int64)
    for r in range(nb):
        b_start[b_code[r] + 1] += 1
    for k in range(n_keys):
        b_start[k + 1] += b_start[k]
    c_first = np.full(n_keys, -1, np.int64)  # each key's run in the chunk's sorted rows
    c_len = np.zeros(n_keys, np.int64)
    for r in range(nc):
        k = c_code[r]
        if c_first[k] < 0:
            c_first[k] = r
        c_len[k] += 1
    n = nb + nc
    track, ts, order = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    lat, lon, mmsi = np.empty(n), np.empty(n), np.empty(n, np.int64)
    w = 0
    for k in range(n_keys):
        i, i_end = b_start[k], b_start[k + 1]
        j = c_first[k]
        j_end = j + c_len[k] if j >= 0 else j
        while i < i_end or j < j_end:
            if j >= j_end or (i < i_end and b_ts[i] <= c_ts[j]):
                ts[w], lat[w], lon[w] = b_ts[i], b_lat[i], b_lon[i]
                mmsi[w], order[w] = b_mmsi[i], b_order[i]
                i += 1
            else:
                ts[w], lat[w], lon[w] = c_ts[j], c_lat[j], c_lon[j]
                mmsi[w], order[w] = c_mmsi[j], c_order[j] + b_rows
                j += 1
            track[w] = k
            w += 1
    return track, ts, lat, lon, mmsi, order


def prepare_appended(
    buffer: pa.Table, chunk: pa.Table, watermark_us: int | None = None
) -> Keyed | None:
    """``prepare(concat(buffer, chunk), None, {}, watermark_us=...)`` for a ``buffer`` of
    rows that ``prepare`` kept before (cleaned, with a track key): None when the two do not
    have the same columns and key kind (the caller then prepares the concatenation)."""
    if buffer.num_rows == 0:
        return None
    cb = _chunk(buffer, "auto")
    cc = _chunk(chunk, "auto")  # usually cached: prepared by an earlier detector
    names = cb.rows.column_names
    if cb.by_segment != cc.by_segment or not set(names) <= set(cc.rows.column_names):
        return None
    c_rows = cc.rows.select(names)
    if c_rows.schema != cb.rows.schema or cb.ukeys.type != cc.ukeys.type:
        return None
    n_b = len(cb.ukeys)
    slot: Any = pc.index_in(cc.ukeys, value_set=cb.ukeys).fill_null(-1)
    code = np.asarray(slot.to_numpy(zero_copy_only=False), dtype=np.int64)
    new = code < 0
    code[new] = n_b + np.arange(int(new.sum()), dtype=np.int64)
    keys = pa.concat_arrays([cb.ukeys, cc.ukeys.filter(pa.array(new))]) if new.any() else cb.ukeys
    track, ts, lat, lon, mmsi, order = _merged(
        cb.local, cb.ts_us, cb.lat, cb.lon, cb.mmsi, cb.order,
        code[cc.local], cc.ts_us, cc.lat, cc.lon, cc.mmsi, cc.order,
        len(keys), cb.rows.num_rows,
    )  # fmt: skip
    now = -(2**62)
    if len(ts):
        now = max(now, int(ts.max()))
    if watermark_us is not None:
        now = max(now, watermark_us)
    return Keyed(
        keys=keys, track=track, ts_us=ts, lat=lat, lon=lon, mmsi=mmsi,
        rows=pa.concat_tables([cb.rows, c_rows]), order=order, cols={}, now_us=now,
        by_segment=cb.by_segment,
    )  # fmt: skip
