"""The encoding cache of bundle parts (share.bundle._Encoded): rows equal to rows encoded
before give those bytes back (a release of the same rows to another peer), rows that
differ in any value give their own encoding, and the cache stays within its bounds."""

from __future__ import annotations

import pyarrow as pa

from seawatch.share.bundle import _Encoded, parquet_bytes


def _rows(values: list[int]) -> pa.Table:
    return pa.table({"msg_key": pa.array(values, pa.int64()), "station": [f"s{v}" for v in values]})


def test_equal_rows_are_encoded_once_and_others_anew() -> None:
    cache = _Encoded(entries=2)
    first = cache.parquet(_rows([1, 2, 3]))
    assert first == parquet_bytes(_rows([1, 2, 3]))
    assert cache.parquet(_rows([1, 2, 3])) is first  # another table, equal rows: kept bytes
    changed = cache.parquet(_rows([1, 2, 4]))  # same shape and size, one value differs
    assert changed == parquet_bytes(_rows([1, 2, 4]))
    assert changed != first
    assert cache.parquet(_rows([3, 2, 1])) == parquet_bytes(_rows([3, 2, 1]))  # order counts
    cache.parquet(_rows([7]))
    assert len(cache._held) == 2


def test_rows_larger_than_the_bound_are_not_kept() -> None:
    cache = _Encoded(max_bytes=1)
    rows = _rows(list(range(100)))
    assert cache.parquet(rows) == parquet_bytes(rows)
    assert not cache._held
