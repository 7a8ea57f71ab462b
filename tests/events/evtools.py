"""Builders of small position tables for the detector tests."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
S = 1_000_000
MIN = 60 * S
H = 3600 * S
T0 = 1_616_198_400 * S  # 2021-03-20T00:00Z


def positions(
    ts_us: Sequence[int],
    lat: Sequence[float],
    lon: Sequence[float],
    mmsi: int | Sequence[int] = 366_123_456,
    **extra: Sequence[Any],
) -> pa.Table:
    n = len(ts_us)
    mm = [mmsi] * n if isinstance(mmsi, int) else list(mmsi)
    cols: dict[str, Any] = {
        "ts": pa.array(list(ts_us), pa.int64()).cast(TS),
        "mmsi": pa.array(mm, pa.int32()),
        "lat": pa.array(list(lat), pa.float64()),
        "lon": pa.array(list(lon), pa.float64()),
    }
    cols.update({k: pa.array(list(v)) for k, v in extra.items()})
    return pa.table(cols)


def details(events: pa.Table) -> list[dict[str, Any]]:
    return [json.loads(d) for d in events["details"].to_pylist()]


def chunks(table: pa.Table, cuts: Sequence[int]) -> list[pa.Table]:
    """``table`` cut at the given row offsets (sorted, deduplicated, inside the table)."""
    bounds = [0, *sorted({c for c in cuts if 0 < c < table.num_rows}), table.num_rows]
    return [table.slice(a, b - a) for a, b in itertools.pairwise(bounds)]
