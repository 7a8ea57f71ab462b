"""Row orders: the counting-sort paths give numpy's stable (key, ts) order."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.tracks.order import key_codes, stable_key_time_order


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 60),
    layout=st.sampled_from(["sorted", "state_first", "any"]),
    ordered=st.booleans(),
    head_shift=st.integers(-2, 2),
)
def test_stable_key_time_order_is_the_stable_lexsort(
    seed: int, n: int, layout: str, ordered: bool, head_shift: int
) -> None:
    """``head`` (the state's rows) only skips a check: any value gives the same order,
    right (the state's row count) or wrong (a row more or fewer, or none)."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 6, n).astype(np.int64)
    ts = rng.integers(0, 10, n).astype(np.int64)
    n_head = 0
    if layout == "sorted":
        ts = np.sort(ts)
    elif layout == "state_first":  # one older row per key, in key order, then a sorted chunk
        head = np.unique(keys)
        keys = np.concatenate([head, keys])
        ts = np.concatenate([rng.integers(0, 3, len(head)), 3 + np.sort(ts)]).astype(np.int64)
        n_head = len(head)
    got = stable_key_time_order(keys, ts, ordered=ordered, head=max(0, n_head + head_shift))
    # each key's rows: by ts, ties in input order (keys in sorted order when ordered)
    want = np.lexsort((ts, keys))
    if ordered:
        assert got.tolist() == want.tolist()
    else:
        firsts = {int(k): i for i, k in reversed(list(enumerate(keys)))}
        rank = np.array([firsts[int(k)] for k in keys], dtype=np.int64)
        assert got.tolist() == np.lexsort((ts, rank)).tolist()


def _arrow_codes(keys: np.ndarray, ordered: bool) -> tuple[list[int], int]:
    """Arrow's numbering: by first appearance, ranked by the sorted keys when ``ordered``."""
    enc = pc.dictionary_encode(pa.array(keys))
    codes = np.asarray(enc.indices, dtype=np.int64)
    n = len(enc.dictionary)
    if ordered and n:
        rank = np.empty(n, np.int64)
        rank[np.asarray(pc.sort_indices(enc.dictionary))] = np.arange(n)
        codes = rank[codes]
    return codes.tolist(), n


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 3_000),
    span=st.sampled_from([1, 7, 2_000, 10**9, 2**62]),
    dtype=st.sampled_from([np.int64, np.int32, np.uint32, np.int8]),
    ordered=st.booleans(),
    arrow=st.booleans(),
)
def test_int_codes_are_arrows(
    seed: int, n: int, span: int, dtype: type, ordered: bool, arrow: bool
) -> None:
    """Integer keys numbered by the compiled table give Arrow's codes, whatever the number
    of distinct keys, their range (negative too) and type, from numpy or Arrow."""
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -span), min(info.max, span)
    keys = np.random.default_rng(seed).integers(lo, hi, n, endpoint=True).astype(dtype)
    want = _arrow_codes(keys, ordered)
    codes, n_keys = key_codes(pa.array(keys) if arrow else keys, ordered=ordered)
    assert (codes.tolist(), n_keys) == want


def test_int_codes_grow_their_table() -> None:
    """More distinct keys than the first table holds (32,768: half of 65,536 slots) double
    it, twice here, every key seen placed again: still Arrow's codes."""
    rng = np.random.default_rng(7)
    keys = np.concatenate([rng.integers(0, 10**9, 150_000), rng.integers(0, 50, 1_000)])
    for ordered in (False, True):
        codes, n = key_codes(keys, ordered=ordered)
        assert n > 4 * 32_768
        assert (codes.tolist(), n) == _arrow_codes(keys, ordered)


def test_other_keys_go_through_arrow() -> None:
    """Text and uint64 keys are numbered by Arrow, as before."""
    for keys in (
        pa.array(["b", "a", "b", "c"]),
        np.array([2**63 + 5, 1, 2**63 + 5], dtype=np.uint64),
    ):
        codes, n = key_codes(keys, ordered=True)
        assert n == len(pc.unique(pa.array(keys)))
        assert len(codes) == len(keys)
    codes, n = key_codes(pa.array(["b", "a", "b", "c"]), ordered=True)
    assert (codes.tolist(), n) == ([1, 0, 1, 2], 3)
