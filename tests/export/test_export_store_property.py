"""Property (issue 4), through the store: for random labels on stored records and random
readers, ``seawatch export``'s path (the store's Query, then the writers) gives every
format exactly the records the reader may read, and never one its label denies."""

from __future__ import annotations

import json
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


def _fill_events(store: Store, pos_labels: list[Label], ev_labels: list[Label]) -> None:
    """One vessel: positions at minutes 0, 10, ... under ``pos_labels``, a static report
    naming it under each label of ``pos_labels`` (name: the report's index), and identity
    changes without position at minutes 3, 13, ... under ``ev_labels``."""
    n, m = len(pos_labels), len(ev_labels)
    minute = 60_000_000
    with store.transaction():
        pos_ids = [store.label_id(lb) for lb in pos_labels]
        ev_ids = [store.label_id(lb) for lb in ev_labels]
        store.write(
            "positions",
            pa.table(
                {
                    "msg_key": pa.array(range(1, n + 1), pa.int64()),
                    "ts": pa.array([T0_US + i * 10 * minute for i in range(n)]).cast(TS),
                    "mmsi": pa.array([BASE_MMSI] * n, pa.int32()),
                    "msg_type": pa.array([1] * n, pa.int8()),
                    "lat": [10.0 + i for i in range(n)],
                    "lon": [70.0 + i for i in range(n)],
                    "label_id": pa.array(pos_ids, pa.int32()),
                }
            ),
        )
        store.write(
            "statics",
            pa.table(
                {
                    "msg_key": pa.array(range(100, 100 + n), pa.int64()),
                    "ts": pa.array([T0_US + i * 10 * minute + 1 for i in range(n)]).cast(TS),
                    "mmsi": pa.array([BASE_MMSI] * n, pa.int32()),
                    "msg_type": pa.array([5] * n, pa.int8()),
                    "name": [f"REPORT {i}" for i in range(n)],
                    "label_id": pa.array(pos_ids, pa.int32()),
                }
            ),
        )
        store.write(
            "events",
            pa.table(
                {
                    "event_id": [f"e{j}" for j in range(m)],
                    "event_type": ["identity_change"] * m,
                    "start_ts": pa.array([T0_US + (j * 10 + 3) * minute for j in range(m)]).cast(
                        TS
                    ),
                    "mmsi": pa.array([BASE_MMSI] * m, pa.int32()),
                    "lat": pa.nulls(m, pa.float64()),
                    "lon": pa.nulls(m, pa.float64()),
                    "details": ['{"field":"name","before":"A","after":"B"}'] * m,
                    "label_id": pa.array(ev_ids, pa.int32()),
                }
            ),
        )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    label_list=st.lists(labels(), min_size=1, max_size=4),
    pos_picks=st.lists(st.integers(0, 3), min_size=1, max_size=5),
    ev_picks=st.lists(st.integers(0, 3), min_size=1, max_size=5),
    reader=readers(),
)
def test_placed_and_named_events_take_only_what_the_reader_may_read(
    label_list: list[Label], pos_picks: list[int], ev_picks: list[int], reader: Reader
) -> None:
    """An event placed at a position and named from a report (issue 16) takes them only
    from records the reader may read, and its marking is at least as high as each."""
    pos_labels = [label_list[p % len(label_list)] for p in pos_picks]
    ev_labels = [label_list[p % len(label_list)] for p in ev_picks]
    settings_ = load_settings(env={"SEAWATCH_NODE_NATION": "USA"})
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "s.db", settings_) as store:
        _fill_events(store, pos_labels, ev_labels)
        table, by_id = export_records(Query(store, reader), "events")
        out = Path(tmp) / "e.geojson"
        export(table, by_id, out, fmt="geojson", kind="events", reader=reader, policy=store.policy)
        features = json.loads(out.read_text())["features"]
    readable = {j for j, lb in enumerate(ev_labels) if allowed(reader, lb)}
    assert {f["id"] for f in features} == {f"e{j}" for j in readable}
    for f in features:
        level = LEVELS.index(f["properties"]["label"].split("//")[0])
        used = [ev_labels[int(f["id"][1:])]]
        if f["geometry"] is not None:
            i = int(f["geometry"]["coordinates"][1] - 10.0)
            used.append(pos_labels[i])
        if f["properties"]["name"] is not None:
            used.append(pos_labels[int(f["properties"]["name"].split()[1])])
        for lb in used:
            assert allowed(reader, lb)
            assert level >= LEVELS.index(lb.classification)
