"""Property (issue 4), through the store: for random labels on stored records and random
readers, ``seawatch export``'s path (the store's Query, then the writers) gives every
format exactly the records the reader may read, and never one its label denies."""

from __future__ import annotations

import tempfile
from pathlib import Path

import hypothesis.strategies as st
import pyarrow as pa
from exportprops import BASE_MMSI, LEVELS, T0_US, allowed, labels, readers, written
from hypothesis import HealthCheck, given, settings

from seawatch.export import FORMATS, export
from seawatch.export.records import export_records
from seawatch.labels import Label, Reader
from seawatch.settings import load_settings
from seawatch.store import TABLES, Store, open_store
from seawatch.store.query import Query

TS = TABLES["positions"].arrow_schema().field("ts").type


def _fill(store: Store, row_labels: list[Label]) -> None:
    n = len(row_labels)
    with store.transaction():
        ids = [store.label_id(lb) for lb in row_labels]
        store.write(
            "positions",
            pa.table(
                {
                    "msg_key": pa.array(range(1, n + 1), pa.int64()),
                    "ts": pa.array([T0_US + i * 1_000_000 for i in range(n)], pa.int64()).cast(TS),
                    "mmsi": pa.array([BASE_MMSI + i for i in range(n)], pa.int32()),
                    "msg_type": pa.array([1] * n, pa.int8()),
                    "lat": [10.0 + i / 100 for i in range(n)],
                    "lon": [70.0 + i / 100 for i in range(n)],
                    "speed_kn": [5.0] * n,
                    "course_deg": [90.0] * n,
                    "label_id": pa.array(ids, pa.int32()),
                }
            ),
        )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    label_list=st.lists(labels(), min_size=1, max_size=5),
    picks=st.lists(st.integers(0, 4), min_size=1, max_size=10),
    reader=readers(),
)
def test_store_export_never_holds_a_denied_record(
    label_list: list[Label], picks: list[int], reader: Reader
) -> None:
    row_labels = [label_list[p % len(label_list)] for p in picks]
    expect = {BASE_MMSI + i: lb.marking for i, lb in enumerate(row_labels) if allowed(reader, lb)}
    settings_ = load_settings(env={"SEAWATCH_NODE_NATION": "USA"})
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "s.db", settings_) as store:
        _fill(store, row_labels)
        for kind in ("positions", "latest"):
            table, by_id = export_records(Query(store, reader), kind)
            for fmt in FORMATS:
                out = Path(tmp) / f"{kind}.{fmt}"
                result = export(
                    table, by_id, out, fmt=fmt, kind=kind, reader=reader, policy=store.policy
                )
                assert written(fmt, out) == expect, (kind, fmt)
                top = max(
                    (LEVELS.index(lb.classification) for lb in row_labels if allowed(reader, lb)),
                    default=0,
                )
                assert result.marking.split("//")[0] == LEVELS[top]
