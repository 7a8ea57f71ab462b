"""Hand-built events with the store's columns, for the situation and triage tests."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from seawatch.store.tables import TABLES

__all__ = ["NEAR_KOCHI", "OPEN_SEA", "T0", "VESSELS", "events"]

T0 = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
OPEN_SEA = (10.0, 65.0)  # Arabian Sea, ~600 km from any coast
NEAR_KOCHI = (9.90, 76.10)  # ~15 km off Kochi (INCOK)


def events(rows: list[dict[str, object]]) -> pa.Table:
    """Events with the store's columns; each row gives type, mmsi, hours and a place."""
    schema = TABLES["events"].arrow_schema()
    cols: dict[str, list[object]] = {name: [] for name in schema.names}
    for k, r in enumerate(rows):
        lat, lon = r.get("at", OPEN_SEA)  # type: ignore[misc]
        start = T0 + dt.timedelta(hours=float(r.get("h0", 0)))  # type: ignore[arg-type]
        end = r.get("h1")
        cols["event_id"].append(f"e{k:03d}")
        cols["event_type"].append(r["type"])
        cols["start_ts"].append(start)
        cols["end_ts"].append(None if end is None else T0 + dt.timedelta(hours=float(end)))  # type: ignore[arg-type]
        cols["mmsi"].append(r["mmsi"])
        cols["other_mmsi"].append(r.get("other"))
        cols["lat"].append(lat)
        cols["lon"].append(lon)
        cols["segment_ids"].append(None)
        cols["confidence"].append(float(r.get("conf", 1.0)))  # type: ignore[arg-type]
        cols["details"].append(json.dumps(r.get("details", {})))
        cols["label_id"].append(1)
    return pa.table(cols, schema=schema)


VESSELS = pa.table(
    {"mmsi": pa.array([419000001, 538000002, 636000003], pa.int32()), "name": ["A", "B", "C@@"]}
)
