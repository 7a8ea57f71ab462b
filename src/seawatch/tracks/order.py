"""Row orders the stages need, without a comparison sort when the input is time-ordered.

Feeds arrive roughly in time order, and a stage that needs rows grouped by vessel (or by
track) then needs only a stable grouping, which a counting sort does in linear time: the
keys are numbered by hashing (Arrow's ``dictionary_encode``), the few distinct keys sorted
if their order matters, and every row placed in one pass. That grouping is kept when each
key's rows are in time order (as when a state's last row per key precedes a time-ordered
chunk); any other input falls back to ``numpy.lexsort``. Same result either way: the
stable order by (key, ts).
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from seawatch.tracks.compiled import read_only

I64 = npt.NDArray[np.int64]


@njit(cache=True, nogil=True)
def is_sorted(values: I64) -> bool:  # pragma: no cover
    for i in range(1, len(values)):  # noqa: SIM110 - a compiled loop, stops at the first
        if values[i] < values[i - 1]:
            return False
    return True


@njit(cache=True, nogil=True)
def group_order(idx: I64, n_keys: int) -> I64:  # pragma: no cover
    """Stable order of rows by ``idx`` (0 <= idx < n_keys): a counting sort."""
    start = np.zeros(n_keys + 1, np.int64)
    for k in idx:
        start[k + 1] += 1
    for k in range(n_keys):
        start[k + 1] += start[k]
    order = np.empty(len(idx), np.int64)
    for i in range(len(idx)):
        order[start[idx[i]]] = i
        start[idx[i]] += 1
    return order


@njit(cache=True, nogil=True)
def sorted_within(order: I64, codes: I64, ts: I64) -> bool:  # pragma: no cover
    """Whether ``ts`` never falls between rows of one key in ``order``."""
    for r in range(1, len(order)):
        i, j = order[r], order[r - 1]
        if codes[i] == codes[j] and ts[i] < ts[j]:
            return False
    return True


@njit(cache=True, nogil=True)
def head_first(codes: I64, ts: I64, head: int, n_keys: int) -> bool:  # pragma: no cover
    """Whether the first ``head`` rows have distinct keys and times at or before every
    later row's, and the later rows are in time order: then a stable grouping by key is
    already in (key, ts) order (a state's last row per key, then a time-ordered chunk)."""
    n = len(ts)
    if head <= 0 or head >= n:
        return False
    for i in range(head + 1, n):
        if ts[i] < ts[i - 1]:
            return False
    seen = np.zeros(n_keys, np.bool_)
    for i in range(head):
        if ts[i] > ts[head] or seen[codes[i]]:
            return False
        seen[codes[i]] = True
    return True


def key_codes(keys: Any, *, ordered: bool) -> tuple[I64, int]:
    """Per row, a dense code of its key (``keys``: an Arrow array or numpy array), and the
    number of distinct keys. With ``ordered``, codes follow the keys' sort order."""
    arr = keys if isinstance(keys, pa.Array | pa.ChunkedArray) else pa.array(keys)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    enc = cast("pa.DictionaryArray[Any, Any]", pc.dictionary_encode(arr))
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    n = len(enc.dictionary)
    if ordered and n:
        rank = np.empty(n, np.int64)
        rank[np.asarray(pc.sort_indices(enc.dictionary))] = np.arange(n, dtype=np.int64)
        codes = rank[codes]
    return codes, n


def stable_key_time_order(keys: Any, ts: I64, *, ordered: bool = True, head: int = 0) -> I64:
    """Row order by (key, ts), ties in input order; ``ordered=False`` groups the keys in
    any order (each key's rows still by ts). ``head``: how many leading rows are a state's
    (earlier rows, e.g. one per key): when :func:`head_first` holds for them, the grouping
    is checked in one sequential pass instead of a pass in grouped order."""
    if len(ts) < 2:
        return np.arange(len(ts), dtype=np.int64)
    codes, n = key_codes(keys, ordered=ordered)
    order: I64 = group_order(codes, n)
    ts = read_only(ts)  # from Arrow or NumPy: one compiled specialization either way
    if is_sorted(ts) or head_first(codes, ts, head, n) or sorted_within(order, codes, ts):
        return order
    return np.lexsort((ts, codes)).astype(np.int64)


def filter_rows(table: pa.Table, mask: Any) -> pa.Table:
    """``table.filter(mask)`` (nulls in ``mask`` drop their row), column by column: the same
    table, ~40 % less CPU on a million rows of eleven columns (23 against 39 ms; Arrow's
    ``Table.filter`` takes every column by the mask's indices, a column's ``filter`` reads
    the mask itself). A table of several chunks is filtered as before, so that the output
    is chunked as it was."""
    if not table.num_columns or any(c.num_chunks != 1 for c in table.columns):
        return table.filter(mask)
    sel = mask if isinstance(mask, pa.Array | pa.ChunkedArray) else pa.array(mask)
    return pa.Table.from_arrays([c.filter(sel) for c in table.columns], schema=table.schema)
