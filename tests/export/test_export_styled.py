"""Exports people can style (issue 16): GDAL (pyogrio) reads event details as typed fields,
ids as text; vessels carry their identity; every event stands somewhere."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from exportdata import LABELS, POLICY, events, gdal_fields, gdal_frame, positions
from lxml import etree

from seawatch.export.geojson import write_geojson
from seawatch.export.kml import write_kml
from seawatch.export.records import export_records
from seawatch.export.styled import flat_details
from seawatch.labels import Reader, parse_label
from seawatch.serve.accounts import create_user
from seawatch.serve.app import create_app
from seawatch.settings import load_settings
from seawatch.store import TABLES, Store, open_store
from seawatch.store.query import Query

WRITERS = [("geojson", write_geojson), ("kml", write_kml)]
DETAILS = [
    '{"distance_m":310.5,"duration_s":7200,"entry":true,"params":{"max_distance_m":500.0}}',
    '{"after":6.8,"before":6.4,"field":"draught_m","params":{"fields":["draught_m"]}}',
    '{"mmsi":1,"n_jumps":3,"rule":"jump"}',
]


def _events() -> pa.Table:
    table = events()
    return table.set_column(
        table.schema.get_field_index("details"), "details", pa.array(DETAILS, pa.string())
    )


def test_details_flatten_by_the_documented_rule() -> None:
    flat = flat_details(_events())
    assert "details" not in flat.column_names
    assert flat["distance_m"].type == pa.float64()
    assert flat["duration_s"].type == pa.int64()
    assert flat["entry"].type == pa.bool_()
    assert flat["param_max_distance_m"].to_pylist() == [500.0, None, None]
    # an identity change's values: named by the field changed, typed as that field
    assert flat["draught_m_before"].to_pylist() == [None, 6.4, None]
    assert flat["draught_m_after"].type == pa.float64()
    # a detail named as a column of the events table is prefixed
    assert flat["details_mmsi"].to_pylist() == [None, None, 1]
    assert flat["mmsi"].to_pylist() == _events()["mmsi"].to_pylist()


def test_a_key_of_mixed_kinds_is_text() -> None:
    table = _events().set_column(
        10, "details", pa.array(['{"x":1}', '{"x":"a"}', '{"x":[1]}'], pa.string())
    )
    assert flat_details(table)["x"].to_pylist() == ["1", "a", "[1]"]


@pytest.mark.parametrize(("suffix", "write"), WRITERS)
def test_gdal_reads_event_details_as_typed_fields(tmp_path: Path, suffix: str, write: Any) -> None:
    out = tmp_path / f"events.{suffix}"
    write(_events(), LABELS, out, kind="events", policy=POLICY)
    types = gdal_fields(out)
    assert types["event_id"] == "OFTString"
    assert types["distance_m"] == "OFTReal"
    assert types["duration_s"] == "OFTInteger"
    assert types["n_jumps"] == "OFTInteger"
    assert types["entry"] == "Boolean"
    assert types["draught_m_before"] == "OFTReal"
    assert types["param_max_distance_m"] == "OFTReal"
    assert types["rule"] == "OFTString"
    assert types["mmsi"] == "OFTInteger"
    assert types["confidence"] == "OFTReal"
    frame = gdal_frame(out)
    assert list(frame["event_id"]) == _events()["event_id"].to_pylist()
    assert frame["distance_m"].iloc[0] == 310.5


@pytest.mark.parametrize(("suffix", "write"), WRITERS)
def test_ids_are_text(tmp_path: Path, suffix: str, write: Any) -> None:
    big = 2**62 + 1  # a float would round it
    table = positions()
    table = table.set_column(10, "segment_id", pa.array([big] * table.num_rows, pa.int64()))
    table = table.append_column("msg_key", pa.array(range(-3, 3), pa.int64()))
    out = tmp_path / f"p.{suffix}"
    write(table, LABELS, out, kind="positions", policy=POLICY)
    types = gdal_fields(out)
    assert types["segment_id"] == types["msg_key"] == "OFTString"
    frame = gdal_frame(out)
    assert set(frame["segment_id"]) == {str(big)}
    assert sorted(int(k) for k in frame["msg_key"]) == list(range(-3, 3))


def test_geojson_feature_ids_are_text(tmp_path: Path) -> None:
    out = tmp_path / "e.geojson"
    write_geojson(_events(), LABELS, out, kind="events", policy=POLICY)
    doc = json.loads(out.read_text())
    assert [f["id"] for f in doc["features"]] == _events()["event_id"].to_pylist()


# --- through the store: identities and positions ----------------------------------------

T0 = datetime(2025, 5, 1, tzinfo=UTC)
TS = TABLES["positions"].arrow_schema().field("ts").type
ENV = {"SEAWATCH_NODE_NATION": "IND"}


def _store(path: Path) -> Store:
    """419000001 (unclassified, a class B vessel: name in 24 A, call sign and type in 24 B)
    at three times, one of its positions SECRET//NOFORN; an identity change of it and one of
    419000002 (no positions)."""
    store = open_store(path / "s.duckdb", load_settings(env=ENV))
    p = store.policy
    u = store.label_id(parse_label("UNCLASSIFIED", p))
    s = store.label_id(parse_label("SECRET//NOFORN", p))
    minutes = (0, 30, 60)
    with store.transaction():
        store.write(
            "positions",
            pa.table(
                {
                    "msg_key": pa.array([1, 2, 3], pa.int64()),
                    "ts": pa.array([T0 + timedelta(minutes=m) for m in minutes], TS),
                    "mmsi": pa.array([419000001] * 3, pa.int32()),
                    "msg_type": pa.array([18] * 3, pa.int8()),
                    "lat": [10.0, 11.0, 12.0],
                    "lon": [80.0, 81.0, 82.0],
                    "label_id": pa.array([u, s, u], pa.int32()),
                }
            ),
        )
        store.write(
            "statics",
            pa.table(
                {
                    "msg_key": pa.array([11, 12, 13], pa.int64()),
                    "ts": pa.array([T0 + timedelta(minutes=m) for m in (1, 2, 3)], TS),
                    "mmsi": pa.array([419000001] * 3, pa.int32()),
                    "msg_type": pa.array([24, 24, 5], pa.int8()),
                    "part_num": pa.array([0, 1, None], pa.int8()),
                    "imo": pa.array([None, None, 0], pa.int32()),
                    "name": ["SAGAR KANYA", None, ""],
                    "callsign": [None, "VTSK", None],
                    "ship_type": pa.array([None, 30, 0], pa.int16()),
                    "destination": [None, None, "CHENNAI"],
                    "label_id": pa.array([u, u, u], pa.int32()),
                }
            ),
        )
        store.write(
            "events",
            pa.table(
                {
                    "event_id": ["i1", "i2"],
                    "event_type": ["identity_change"] * 2,
                    "start_ts": pa.array([T0 + timedelta(minutes=25)] * 2, TS),
                    "end_ts": pa.array([T0 + timedelta(minutes=25)] * 2, TS),
                    "mmsi": pa.array([419000001, 419000002], pa.int32()),
                    "lat": pa.array([None, None], pa.float64()),
                    "lon": pa.array([None, None], pa.float64()),
                    "confidence": [1.0, 1.0],
                    "details": ['{"field":"name","before":"A","after":"B"}'] * 2,
                    "label_id": pa.array([u, u], pa.int32()),
                }
            ),
        )
    return store


def test_vessels_carry_their_identity_flag_and_type(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        reader = Reader.parse("USA:C", store.policy)
        table, labels = export_records(Query(store, reader), "latest")
        out = tmp_path / "v.geojson"
        write_geojson(table, labels, out, kind="latest", policy=store.policy)
    props = json.loads(out.read_text())["features"][0]["properties"]
    assert props["ts"] == "2025-05-01T01:00:00.000000Z"
    # name from 24 A, call sign and ship type from 24 B, destination from the type 5
    # (whose empty name and IMO 0 are "not available", not values)
    expect = {"name": "SAGAR KANYA", "callsign": "VTSK", "imo": None, "ship_type": 30}
    assert {k: props[k] for k in expect} == expect
    assert props["destination"] == "CHENNAI"
    assert props["vessel_type"] == "fishing"
    assert props["flag"] == "IND"
    types = gdal_fields(out)
    assert types["ship_type"] == "OFTInteger"
    assert types["flag"] == types["vessel_type"] == "OFTString"


def test_identity_changes_stand_at_the_nearest_position_the_reader_may_read(
    tmp_path: Path,
) -> None:
    with _store(tmp_path) as store:
        # India reads the SECRET position at :30, nearest to the change at :25: the event
        # takes that position and its label
        india = Reader.parse("IND:S", store.policy)
        table, labels = export_records(Query(store, india), "events")
        row = table.to_pylist()[0]
        assert (row["lat"], row["lon"]) == (11.0, 81.0)
        assert row["position_ts"] == T0 + timedelta(minutes=30)
        assert labels[row["label_id"]].marking == "SECRET//NOFORN"
        # the USA does not: the change stands at the position of :00 it may read
        usa = Reader.parse("USA:TS", store.policy)
        table, labels = export_records(Query(store, usa), "events")
        row = table.to_pylist()[0]
        assert (row["lat"], row["lon"]) == (10.0, 80.0)
        assert labels[row["label_id"]].marking == "UNCLASSIFIED"
        # a vessel never seen at a position has none to take
        other = table.to_pylist()[1]
        assert other["lat"] is None
        assert other["position_ts"] is None


def test_the_api_formats_hold_what_the_export_holds(tmp_path: Path) -> None:
    """``?f=geojson|kml|cot`` of the HTTP API: the same records as ``seawatch export``
    (identity, placed events, typed details), read through a real server."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))
    from apiclient import MARKING, Served

    with _store(tmp_path) as store:
        _, token = create_user(store, "analyst", "IND:S")
        app = create_app(store, load_settings(env=ENV))
        with Served(app) as url, httpx.Client(base_url=url, timeout=30) as c:
            c.headers["Authorization"] = f"Bearer {token}"
            latest = c.get("/api/v1/latest", params={"f": "geojson"})
            events_ = c.get("/api/v1/events", params={"f": "geojson"})
            kml = c.get("/api/v1/events", params={"f": "kml"})
            cot = c.get("/api/v1/events", params={"f": "cot"})
    vessel = latest.json()["features"][0]["properties"]
    assert (vessel["name"], vessel["vessel_type"], vessel["flag"]) == (
        "SAGAR KANYA",
        "fishing",
        "IND",
    )
    change = events_.json()["features"][0]
    assert change["id"] == "i1"
    assert change["geometry"] == {"type": "Point", "coordinates": [81.0, 11.0]}
    assert change["properties"]["name_after"] == "B"
    # the change took the SECRET position: the answer is marked so
    assert events_.headers[MARKING] == "SECRET//NOFORN"
    (tmp_path / "e.kml").write_bytes(kml.content)
    assert gdal_fields(tmp_path / "e.kml")["name_before"] == "OFTString"
    assert kml.headers[MARKING] == "SECRET//NOFORN"
    markers = [etree.fromstring(line) for line in cot.content.splitlines()]
    assert [m.get("uid").rsplit(".", 1)[1] for m in markers] == ["i1"]  # type: ignore[union-attr]
    assert markers[0].get("type") == "b-m-p-s-m"
