"""Small builders of hand-made positions and statics tables for the tracks tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from seawatch.decode.schemas import SCHEMAS, conform

T0 = datetime(2024, 1, 1, tzinfo=UTC)
NM_DEG = 1.0 / 60.0  # one nautical mile of latitude, in degrees


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def positions(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """A published-schema positions table from dicts (missing columns are null)."""
    cols = {k: [r.get(k) for r in rows] for k in {k for r in rows for k in r}}
    schema = SCHEMAS["positions"]
    arrays = {k: pa.array(v, type=schema.field(k).type) for k, v in cols.items()}
    return conform(pa.table(arrays) if arrays else schema.empty_table(), "positions")


def statics(rows: Sequence[dict[str, Any]]) -> pa.Table:
    cols = {k: [r.get(k) for r in rows] for k in {k for r in rows for k in r}}
    schema = SCHEMAS["statics"]
    arrays = {k: pa.array(v, type=schema.field(k).type) for k, v in cols.items()}
    return conform(pa.table(arrays), "statics")


def pos(
    hours: float, lat: float, lon: float = 0.0, mmsi: int = 419000001, **kw: Any
) -> dict[str, Any]:
    return {"ts": at(hours), "mmsi": mmsi, "lat": lat, "lon": lon, "speed_kn": 0.0,
            "course_deg": 0.0, "msg_type": 1, **kw}  # fmt: skip
