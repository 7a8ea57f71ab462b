"""Small labelled record sets written straight into a store, for the query tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from seawatch.labels import Label
from seawatch.store import TABLES, Store

T0 = datetime(2024, 3, 1, tzinfo=UTC)
TS = TABLES["positions"].arrow_schema().field("ts").type


@dataclass(frozen=True)
class Rec:
    """One vessel's record: a position, a static report and an event, all under ``label``."""

    key: int
    mmsi: int
    label: Label
    minute: int = 0
    lat: float = 10.0
    lon: float = 85.0
    name: str = "SEA STAR"


def write(store: Store, recs: Sequence[Rec]) -> dict[int, int]:
    """Write each record's position, static and event; returns ``{key: label_id}``."""
    with store.transaction():
        ids = {r.key: store.label_id(r.label) for r in recs}
        ts = [T0 + timedelta(minutes=r.minute) for r in recs]
        base = {
            "msg_key": pa.array([r.key for r in recs], pa.int64()),
            "ts": pa.array(ts, TS),
            "mmsi": pa.array([r.mmsi for r in recs], pa.int32()),
            "label_id": pa.array([ids[r.key] for r in recs], pa.int32()),
        }
        store.write(
            "positions",
            pa.table(
                {
                    **base,
                    "msg_type": pa.array([1] * len(recs), pa.int8()),
                    "lat": [r.lat for r in recs],
                    "lon": [r.lon for r in recs],
                    "speed_kn": [10.0] * len(recs),
                }
            ),
        )
        store.write(
            "statics",
            pa.table(
                {
                    **base,
                    "msg_type": pa.array([5] * len(recs), pa.int8()),
                    "name": [r.name for r in recs],
                    "callsign": [f"CS{r.key}" for r in recs],
                    "imo": pa.array([9000000 + r.key for r in recs], pa.int32()),
                }
            ),
        )
        store.write(
            "events",
            pa.table(
                {
                    "event_id": [f"ev{r.key}" for r in recs],
                    "event_type": ["loitering"] * len(recs),
                    "start_ts": pa.array(ts, TS),
                    "end_ts": pa.array([t + timedelta(minutes=30) for t in ts], TS),
                    "mmsi": pa.array([r.mmsi for r in recs], pa.int32()),
                    "lat": [r.lat for r in recs],
                    "lon": [r.lon for r in recs],
                    "segment_ids": [["s"]] * len(recs),
                    "details": [json.dumps({"k": r.key}) for r in recs],
                    "label_id": base["label_id"],
                }
            ),
        )
    return ids


def clear(store: Store) -> None:
    """Remove every record (labels stay)."""
    with store.transaction():
        for table in ("positions", "statics", "events", "segments", "alert_rules", "alerts"):
            store.backend.execute(f"DELETE FROM {table}")
