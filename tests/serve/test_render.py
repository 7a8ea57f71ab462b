"""JSON items: the column-by-column rendering gives exactly the row-by-row objects."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from seawatch.labels.label import parse_label
from seawatch.labels.policy import Policy
from seawatch.serve.render import items, jsonable
from seawatch.settings import load_settings

POLICY = Policy.from_settings(load_settings(env={}))
LABELS = {1: parse_label("UNCLASSIFIED", POLICY)}


def _rows_by_row(rows: pa.Table) -> list[dict[str, object]]:
    return [jsonable(r) for r in rows.drop_columns(["label_id"]).to_pylist()]


def test_columnar_items_equal_row_by_row() -> None:
    ts = pa.timestamp("us", tz="UTC")
    rows = pa.table(
        {
            "event_id": ["a", "b", "c"],
            "start_ts": pa.array(
                [
                    datetime(2025, 6, 1, 0, 0, 5, tzinfo=UTC),
                    datetime(2025, 6, 1, 0, 0, 5, 123000, tzinfo=UTC),
                    datetime(2025, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
                ],
                ts,
            ),
            "end_ts": pa.array([None, datetime(2026, 1, 1, tzinfo=UTC), None], ts),
            "mmsi": pa.array([419000001, None, 3], pa.int32()),
            "lat": [1.5, None, float("nan")],
            "speed_kn": [float("inf"), -float("inf"), 0.0],
            "flag": [True, None, False],
            "segment_ids": pa.array([["1", "2"], [], None], pa.list_(pa.string())),
            "label_id": pa.array([1, 1, 1], pa.int32()),
        }
    )
    got = items(rows, LABELS)
    want = _rows_by_row(rows)
    assert [{k: v for k, v in g.items() if k != "label"} for g in got] == want
    assert got[0]["start_ts"] == "2025-06-01T00:00:05Z"
    assert got[1]["start_ts"] == "2025-06-01T00:00:05.123000Z"
    assert [g["lat"] for g in got] == [1.5, None, None]  # NaN is not JSON
    assert [g["speed_kn"] for g in got] == [None, None, 0.0]
    assert all(g["label"] == "UNCLASSIFIED" for g in got)


def test_other_types_go_row_by_row() -> None:
    naive = pa.table(
        {
            "ts": pa.array([datetime(2025, 6, 1, 1, 2, 3)], pa.timestamp("us")),  # noqa: DTZ001
            "label_id": pa.array([1], pa.int32()),
        }
    )
    assert items(naive, LABELS)[0]["ts"] == jsonable(naive.column("ts")[0].as_py())
