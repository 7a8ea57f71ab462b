"""GeoJSON export: RFC 7946 shape, validated by JSON Schema and the geojson package, labels,
round trip back to Arrow."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import geojson
import jsonschema
import pyarrow as pa
import pytest
from exportdata import LABELS, POLICY, events, expected, exported_schema, positions

from seawatch.export.geojson import read_geojson, write_geojson

SCHEMA = json.loads(
    resources.files("seawatch.export").joinpath("schemas/geojson-seawatch.schema.json").read_text()
)


def _write(tmp_path: Path, table: pa.Table, kind: str) -> tuple[Path, dict[str, object]]:
    out = tmp_path / f"{kind}.geojson"
    write_geojson(table, LABELS, out, kind=kind, policy=POLICY)  # type: ignore[arg-type]
    return out, json.loads(out.read_text())


@pytest.mark.parametrize(("kind", "make"), [("positions", positions), ("events", events)])
def test_valid_against_schema_and_geojson_package(tmp_path: Path, kind: str, make: object) -> None:
    table = make()  # type: ignore[operator]
    out, doc = _write(tmp_path, table, kind)
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    obj = geojson.loads(out.read_text())
    assert obj.is_valid, obj.errors()
    assert len(doc["features"]) == table.num_rows  # type: ignore[arg-type]


def test_features_lon_lat_units_and_labels(tmp_path: Path) -> None:
    _, doc = _write(tmp_path, positions(), "positions")
    assert "crs" not in doc
    first = doc["features"][0]  # type: ignore[index]
    assert first["geometry"] == {"type": "Point", "coordinates": [72.8, 18.9]}
    props = first["properties"]
    assert props["label"] == "UNCLASSIFIED"
    assert props["ts"] == "2025-03-01T12:00:00.123456Z"
    assert {"speed_kn", "course_deg", "heading_deg"} <= set(props)
    assert "label_id" not in props
    assert "lon" not in props
    markings = [f["properties"]["label"] for f in doc["features"]]  # type: ignore[attr-defined]
    assert markings == [LABELS[i].marking for i in positions()["label_id"].to_pylist()]
    # the collection: the most restrictive combination of what it contains
    assert doc["label"] == "TOP SECRET//ORCON//NOFORN"
    assert doc["labels"] == sorted({lb.marking for lb in LABELS.values()})
    assert doc["seawatch:kind"] == "positions"


def test_collection_of_one_label_keeps_it(tmp_path: Path) -> None:
    table = positions().filter(pa.array([False, True, False, False, True, False]))
    _, doc = _write(tmp_path, table, "latest")
    assert doc["label"] == "SECRET//REL TO IND, USA"  # owner first: India's label as is


def test_event_without_position_has_null_geometry(tmp_path: Path) -> None:
    _, doc = _write(tmp_path, events(), "events")
    gap = doc["features"][1]  # type: ignore[index]
    assert gap["geometry"] is None
    assert gap["properties"]["end_ts"] is None
    assert gap["properties"]["segment_ids"] is None
    assert doc["features"][0]["properties"]["segment_ids"] == ["1", "2"]  # type: ignore[index]


@pytest.mark.parametrize(("kind", "make"), [("positions", positions), ("events", events)])
def test_round_trip(tmp_path: Path, kind: str, make: object) -> None:
    table = make()  # type: ignore[operator]
    out, _ = _write(tmp_path, table, kind)
    back, members = read_geojson(out, exported_schema(table))
    if kind == "events":  # details come back flattened (test_export_styled)
        back, table = back.drop_columns(["details"]), table.drop_columns(["details"])
    assert back.equals(expected(table))
    assert members["seawatch:kind"] == kind


def test_nan_and_out_of_range_positions(tmp_path: Path) -> None:
    table = positions().slice(0, 2)
    table = table.set_column(3, "lat", pa.array([float("nan"), 91.0]))
    table = table.set_column(5, "speed_kn", pa.array([float("inf"), 1.0]))
    out, doc = _write(tmp_path, table, "positions")
    assert [f["geometry"] for f in doc["features"]] == [None, None]  # type: ignore[attr-defined]
    assert doc["features"][0]["properties"]["speed_kn"] is None  # type: ignore[index]
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert geojson.loads(out.read_text()).is_valid


def test_empty_export(tmp_path: Path) -> None:
    _, doc = _write(tmp_path, positions().slice(0, 0), "positions")
    assert doc["features"] == []
    assert doc["label"] == "UNCLASSIFIED"
    assert doc["labels"] == []
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
