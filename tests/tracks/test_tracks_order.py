"""Row orders: the counting-sort paths give numpy's stable (key, ts) order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.tracks.order import stable_key_time_order


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
