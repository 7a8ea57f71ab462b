"""Identity changes of a time-ordered chunk in one compiled pass: no sort, no value coding.

:mod:`.identity_change` groups each field's rows (the state's last value of each key, then
the chunk's rows) by key, each key's by time, ties in row order, and compares each value
with the one before it in its key. When each key's rows already come in time order (a
state, then a time-ordered chunk: the usual case), that grouping is the rows' own order
restricted to each key, so one pass keeping each key's last row finds the same changes;
they are then put in the grouped order (keys by first appearance, each key's rows by
time), as is the new state (each key's last row). Texts are compared byte for byte, numbers
by value (``!=``), as the grouped path compares their codes. When a key's rows are out of
time order (or the state repeats a key, or the values are of another type),
:func:`walk` returns None and the caller groups as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from seawatch.events.tracks_in import I64
from seawatch.tracks.compiled import read_only
from seawatch.tracks.order import int_codes

_NONE = np.empty(0, np.int64)
_BYTES = np.empty(0, np.uint8)


@njit(cache=True, nogil=True)
def _kernel(
    s_codes: Any, s_ts: Any, codes: Any, ts: Any, ok: Any, need: Any, n_slots: int,
    text: bool, s_num: Any, num: Any, s_off: Any, s_data: Any, off: Any, data: Any,
) -> tuple[bool, Any, Any, Any, Any]:  # fmt: skip  # pragma: no cover
    """Changes of the state's rows (``s_*``, one per key) then the chunk's rows ``ok``:
    per chunk row whose value differs from its key's last one and where ``need`` is set,
    that last row (``prev``), the row (``cur``) and the key's rank (order of first
    appearance); and each key's last row, by rank. Rows of the state are numbered
    ``-1 - j``. False when a key's rows are out of time order or the state repeats a key."""
    last = np.full(n_slots, -(2**62), np.int64)
    last_ts = np.empty(n_slots, np.int64)
    rank = np.empty(n_slots, np.int64)
    nr = 0
    for j in range(len(s_codes)):
        s = s_codes[j]
        if last[s] != -(2**62):
            return False, codes[:0], codes[:0], codes[:0], codes[:0]
        rank[s], last[s], last_ts[s] = nr, -1 - j, s_ts[j]
        nr += 1
    n = len(codes)
    prev = np.empty(n, np.int64)
    cur = np.empty(n, np.int64)
    hrank = np.empty(n, np.int64)
    h = 0
    for r in range(n):
        if not ok[r]:
            continue
        s = codes[r]
        j = last[s]
        if j == -(2**62):
            rank[s] = nr
            nr += 1
        else:
            if ts[r] < last_ts[s]:
                return False, codes[:0], codes[:0], codes[:0], codes[:0]
            if need[r]:  # inline: a call per row passing arrays costs their refcounts
                if not text:
                    differ = (s_num[-1 - j] if j < 0 else num[j]) != num[r]
                elif j < 0:  # no array in a variable either: no refcounts per row
                    a, b, c = s_off[-1 - j], s_off[-j], off[r]
                    differ = b - a != off[r + 1] - c
                    k = 0
                    while not differ and k < b - a:
                        differ = s_data[a + k] != data[c + k]
                        k += 1
                else:
                    a, b, c = off[j], off[j + 1], off[r]
                    differ = b - a != off[r + 1] - c
                    k = 0
                    while not differ and k < b - a:
                        differ = data[a + k] != data[c + k]
                        k += 1
                if differ:
                    prev[h], cur[h], hrank[h] = j, r, rank[s]
                    h += 1
        last[s], last_ts[s] = r, ts[r]
    ends = np.empty(nr, np.int64)
    for s in range(n_slots):
        if last[s] != -(2**62):
            ends[rank[s]] = last[s]
    return True, prev[:h], cur[:h], hrank[:h], ends


@dataclass(frozen=True)
class Keys:
    """A chunk's keys (MMSI or IMO) and times, coded once for every field."""

    codes: I64
    """Per row a dense code of its key (0 where the key is null)."""
    dictionary: pa.Array[Any]
    """The distinct keys, int64, by code."""
    key: I64
    """The key as int64 (0 where null)."""
    ts: I64
    """The time as int64 µs (0 where null)."""
    valid: np.ndarray[Any, np.dtype[np.bool_]]
    """Key and time both present."""


def chunk_keys(key: Any, ts: Any) -> Keys:
    """:class:`Keys` of a chunk's key and time columns."""
    key = key.cast(pa.int64())
    ts = ts.cast(pa.int64())
    zero = pa.scalar(0, pa.int64())
    if key.null_count:
        enc = cast("pa.DictionaryArray[Any, Any]", pc.dictionary_encode(key.combine_chunks()))
        codes = enc.indices.to_numpy(zero_copy_only=False)
        if enc.indices.null_count:
            codes = np.nan_to_num(codes, nan=0.0)
        dictionary = enc.dictionary
        key_np = np.asarray(pc.fill_null(key, zero), dtype=np.int64)
    else:  # the usual case: numbered by the compiled table, as Arrow numbers them
        key_np = np.asarray(key, dtype=np.int64)
        codes, uniq = int_codes(read_only(key_np))
        dictionary = pa.array(uniq, pa.int64())
    valid = np.ones(len(key), dtype=bool)
    if key.null_count or ts.null_count:
        valid = np.asarray(pc.and_(pc.is_valid(key), pc.is_valid(ts)), dtype=bool)
    return Keys(
        np.asarray(codes, dtype=np.int64),
        dictionary,
        key_np,
        np.asarray(pc.fill_null(ts, zero), dtype=np.int64),
        valid,
    )


@dataclass(frozen=True)
class Changes:
    """What :func:`walk` found; rows are the chunk's (0, 1, ...) or the state's (-1 - j)."""

    prev: I64
    """Per change (in the grouped order) the row holding the value before."""
    cur: I64
    """Per change the chunk's row holding the new value."""
    ends: I64
    """Each key's last row: the next state's rows, in order."""
    state_values: pa.Array[Any]
    values: pa.Array[Any]
    """The values of the state's rows and of the chunk's."""

    def pick(self, rows: I64, state: Any, chunk: Any) -> Any:
        """A numpy column's values at ``rows`` (``state``'s for rows < 0)."""
        out = np.empty(len(rows), np.result_type(state, chunk))
        old = rows < 0
        out[old] = state[-1 - rows[old]]
        out[~old] = chunk[rows[~old]]
        return out

    def take(self, rows: I64) -> pa.Array[Any]:
        """The values at ``rows`` (the state's for rows < 0)."""
        old = rows < 0
        if not old.any():
            return self.values.take(rows)
        both = pa.concat_arrays(
            [self.state_values.take(-1 - rows[old]), self.values.take(rows[~old])]
        )
        at = np.empty(len(rows), np.int64)  # where each row's value is in ``both``
        at[np.flatnonzero(old)] = np.arange(int(old.sum()))
        at[np.flatnonzero(~old)] = np.arange(int(old.sum()), len(rows))
        return both.take(at)


def _numbers(arr: Any) -> Any:
    """A numeric array's values (anything where null: never read)."""
    if not arr.null_count:
        return arr.to_numpy()
    dtype = arr.type.to_pandas_dtype()
    return np.frombuffer(arr.buffers()[1], dtype)[arr.offset : arr.offset + len(arr)]


def _text(arr: Any) -> tuple[Any, Any]:
    """A text array's offsets and bytes."""
    _, offs, data = arr.buffers()
    dtype = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    if offs is None:  # an empty array may have no buffers
        return np.zeros(1, dtype), _BYTES
    offsets = np.frombuffer(offs, dtype)[arr.offset :]
    return offsets, (np.frombuffer(data, np.uint8) if data is not None else _BYTES)


def _single(col: Any) -> pa.Array[Any]:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks()
    return cast("pa.Array[Any]", col)


def walk(keys: Keys, ok: Any, state: pa.Table | None, col: Any, need: Any = None) -> Changes | None:
    """Changes of ``col`` (the chunk's values of one field; rows ``ok`` only) after the
    ``state`` (columns mmsi = key, ts, value; one row per key), as the grouped path finds
    them; ``need``: rows that may be a change (all ``ok`` rows when None). None when the
    rows are not in time order per key, or the values neither text nor numbers."""
    typ = col.type if state is None else state.schema.field("value").type
    is_text = pa.types.is_string(typ) or pa.types.is_large_string(typ)
    if not (is_text or pa.types.is_integer(typ) or pa.types.is_floating(typ)):
        return None
    values = _single(col.cast(typ))
    s_codes, s_ts = _NONE, _NONE
    s_values = pa.array([], typ)
    if state is not None and state.num_rows:
        s_key = state["mmsi"].cast(pa.int64())
        where: Any = pc.index_in(s_key, value_set=keys.dictionary)
        s_codes = np.asarray(pc.fill_null(where, -1), dtype=np.int64)
        missing = s_codes < 0
        s_codes[missing] = len(keys.dictionary) + np.arange(int(missing.sum()))
        s_ts = np.asarray(state["ts"].cast(pa.int64()), dtype=np.int64)
        s_values = _single(state["value"])
    if is_text:
        (s_off, s_data), (off, data) = _text(s_values), _text(values)
        s_num: Any = _NONE
        num: Any = _NONE
    else:
        s_off = off = _NONE
        s_data = data = _BYTES
        s_num, num = _numbers(s_values), _numbers(values)
    kernel: Any = _kernel
    s_codes, s_ts, ts, s_num, num, s_off, s_data, off, data = (
        read_only(a) for a in (s_codes, s_ts, keys.ts, s_num, num, s_off, s_data, off, data)
    )
    done, prev, cur, rank, ends = kernel(
        s_codes, s_ts, keys.codes, ts, ok, ok if need is None else need,
        len(keys.dictionary) + len(s_codes), is_text, s_num, num, s_off, s_data, off, data,
    )  # fmt: skip
    if not done:
        return None
    srt = np.argsort(rank, kind="stable")
    return Changes(prev[srt], cur[srt], ends, s_values, values)
