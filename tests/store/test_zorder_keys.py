"""The compiled storage key, stable order and message keys give what the numpy code they
replaced gave (kept here as the reference), on rows with nulls, NaN, infinities, the poles
and the antimeridian, times before 1970 and keys spanning more or fewer than 65,536 values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.decode.keys import message_keys
from seawatch.store.zorder import stable_order, storage_order

_US_PER_DAY = 86_400_000_000
_U64 = np.uint64


def _spread(v: Any) -> Any:
    v = v & np.uint64(0xFFFF)
    v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
    v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
    v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
    return (v | (v << np.uint64(1))) & np.uint64(0x55555555)


def _storage_reference(rows: pa.Table) -> Any:
    ts = pc.cast(rows.column("ts"), pa.int64()).to_numpy(zero_copy_only=False)
    day = ts // _US_PER_DAY
    lon = np.nan_to_num(rows.column("lon").to_numpy(zero_copy_only=False), nan=0.0)
    lat = np.nan_to_num(rows.column("lat").to_numpy(zero_copy_only=False), nan=0.0)
    x = np.clip(np.floor(lon + 180.0), 0, 359).astype(np.uint64)
    y = np.clip(np.floor(lat + 90.0), 0, 179).astype(np.uint64)
    cell = (_spread(x) | (_spread(y) << np.uint64(1))).astype(np.int64)
    return np.asarray((day << 20) | cell, dtype=np.int64)


def _mix(h: Any, v: Any) -> Any:
    z = (h ^ v.astype(_U64)) + _U64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31))


def _ints(table: pa.Table, name: str, scale: float | None = None) -> Any:
    col: Any = table.column(name)
    if scale is not None:
        col = pc.round(pc.multiply(col.cast(pa.float64()), scale))
    filled: Any = pc.fill_null(col.cast(pa.int64()), -(2**62))
    return np.asarray(filled.to_numpy(), dtype=np.int64).view(_U64)


def _keys_reference(table: pa.Table, kind: str) -> Any:
    h = np.full(table.num_rows, _U64(0x5EA3A7C4), dtype=_U64)
    parts: list[tuple[str, float | None]] = [("mmsi", None), ("ts", None), ("msg_type", None)]
    parts += [("lat", 1e6), ("lon", 1e6)] if kind == "positions" else [("part_num", None),
                                                                       ("imo", None)]  # fmt: skip
    with np.errstate(over="ignore"):
        for name, scale in parts:
            h = _mix(h, _ints(table, name, scale))
    return h.view(np.int64)


_DEG = st.one_of(
    st.floats(-200, 200, allow_nan=False),
    st.sampled_from([-180.0, 180.0, -90.0, 90.0, 179.9999999, -0.0, 0.5]),
)
_EDGE = st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e300, -1e300])


def _positions(draw: Any, n: int, span_us: int) -> pa.Table:
    lat = draw(st.lists(st.one_of(_DEG, _EDGE, st.none()), min_size=n, max_size=n))
    lon = draw(st.lists(st.one_of(_DEG, _EDGE, st.none()), min_size=n, max_size=n))
    t0 = draw(st.integers(-3 * _US_PER_DAY, 60 * 365 * _US_PER_DAY))
    ts = draw(st.lists(st.integers(0, span_us), min_size=n, max_size=n))
    return pa.table({
        "ts": pa.array([t0 + t for t in ts], pa.timestamp("us", tz="UTC")),
        "lat": pa.array(lat, pa.float64()),
        "lon": pa.array(lon, pa.float64()),
    })  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(0, 60), st.sampled_from([0, _US_PER_DAY // 2, 40 * _US_PER_DAY]))
def test_storage_order_and_its_stable_order_equal_numpys(data: Any, n: int, span: int) -> None:
    rows = _positions(data.draw, n, span)
    keys = storage_order(rows)
    assert keys.dtype == np.int64
    assert keys.tolist() == _storage_reference(rows).tolist()
    assert stable_order(keys).tolist() == np.argsort(keys, kind="stable").tolist()


def test_stable_order_of_many_equal_keys_and_of_a_wide_span() -> None:
    rng = np.random.default_rng(7)
    narrow = rng.integers(5 << 20, (5 << 20) + 65_535, 200_000)  # radix path: ties kept
    wide = rng.integers(-(1 << 40), 1 << 40, 1_000)  # argsort path
    for keys in (narrow, wide, narrow[:1], narrow[:0]):
        assert stable_order(keys).tolist() == np.argsort(keys, kind="stable").tolist()


_INT = st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1))


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(0, 40), st.sampled_from(["positions", "statics"]))
def test_message_keys_equal_the_numpy_hash(data: Any, n: int, kind: str) -> None:
    def col(strategy: Any) -> list[Any]:
        return data.draw(st.lists(strategy, min_size=n, max_size=n))

    deg = st.one_of(
        st.floats(-180, 180, allow_nan=False),  # ties: k + 0.5 micro-degrees, to even
        st.sampled_from([0.0000005, -0.0000025, 2.5e-6, 90.0000005, 1e12, -0.0]),
        st.none(),
    )
    table = pa.table({
        "mmsi": pa.array(col(_INT), pa.int32()),
        "ts": pa.array(col(st.one_of(st.none(), st.integers(-(2**50), 2**52))),
                       pa.timestamp("us", tz="UTC")),
        "msg_type": pa.array(col(st.one_of(st.none(), st.integers(-128, 127))), pa.int8()),
        "lat": pa.array(col(deg), pa.float64()),
        "lon": pa.array(col(deg), pa.float64()),
        "part_num": pa.array(col(st.one_of(st.none(), st.integers(0, 3))), pa.int8()),
        "imo": pa.array(col(_INT), pa.int32()),
    })  # fmt: skip
    if data.draw(st.booleans()):  # no nulls in lat/lon: the compiled scaling
        table = table.set_column(3, "lat", pc.fill_null(table.column("lat"), 12.25))
        table = table.set_column(4, "lon", pc.fill_null(table.column("lon"), -0.0000015))
    keys = message_keys(table, kind)
    assert keys.type == pa.int64()
    assert keys.null_count == 0
    assert keys.to_numpy().tolist() == _keys_reference(table, kind).tolist()
