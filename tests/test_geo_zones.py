"""Zone layers: import GeoJSON/Shapefile, store atomically, locate = brute-force contains."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import shapely

from seawatch.engine.zone_rows import zone_records
from seawatch.errors import InputError, NotFound
from seawatch.geo.zones import (
    ZONE_NAME_FIELDS,
    ZoneLayer,
    import_zones,
    load_zone_layer,
    zone_layer_path,
)


def _square(x0: float, y0: float, size: float) -> list[list[list[float]]]:
    x1, y1 = x0 + size, y0 + size
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


@pytest.fixture
def small_geojson(tmp_path: Path) -> Path:
    features = [
        {"type": "Feature", "properties": {"zone": "A"},
         "geometry": {"type": "Polygon", "coordinates": _square(0, 0, 10)}},
        {"type": "Feature", "properties": {"zone": "B"},
         "geometry": {"type": "Polygon", "coordinates": _square(5, 5, 10)}},
        {"type": "Feature", "properties": {"zone": "line"},
         "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
        {"type": "Feature", "properties": {"zone": "bowtie"},  # invalid: repaired
         "geometry": {"type": "Polygon",
                      "coordinates": [[[20, 0], [30, 10], [30, 0], [20, 10], [20, 0]]]}},
    ]  # fmt: skip
    path = tmp_path / "small.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_small_layer_round_trip(small_geojson: Path, tmp_path: Path) -> None:
    layer = import_zones(small_geojson, "small", tmp_path / "data")
    assert layer.table.column("zone").to_pylist() == ["A", "B", "bowtie"]  # the line is dropped
    stored = zone_layer_path("small", tmp_path / "data")
    assert stored.exists()
    assert not [p for p in stored.parent.iterdir() if p.name.startswith(".")]  # no temp left
    loaded = load_zone_layer("small", tmp_path / "data")
    lat = [5.0, 7.0, 12.0, 50.0, np.nan, 5.0]
    lon = [5.0, 7.0, 12.0, 50.0, 0.0, 21.0]
    index = loaded.locate(lat, lon)
    assert index.dtype == np.int32
    assert index.tolist() == [0, 0, 1, -1, -1, 2]  # overlap: lowest index wins; edge is inside
    assert loaded.attribute("zone", index).to_pylist() == ["A", "A", "B", None, None, "bowtie"]


def test_locate_matches_brute_force(small_geojson: Path, tmp_path: Path) -> None:
    layer = import_zones(small_geojson, "small", tmp_path)
    rng = np.random.default_rng(5)
    lat, lon = rng.uniform(-5, 20, 5_000), rng.uniform(-5, 35, 5_000)
    expected = np.full(lat.shape, -1)
    for i in reversed(range(len(layer))):
        expected[shapely.intersects_xy(layer.geometries[i], lon, lat)] = i
    assert np.array_equal(layer.locate(lat, lon), expected)


def test_errors(small_geojson: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="bad zone layer name"):
        import_zones(small_geojson, "../evil", tmp_path)
    with pytest.raises(InputError, match="no such file"):
        import_zones(tmp_path / "missing.geojson", "x", tmp_path)
    with pytest.raises(NotFound, match="no zone layer 'nope'"):
        load_zone_layer("nope", tmp_path)
    lines = tmp_path / "lines.geojson"
    lines.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {},
         "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}]}))  # fmt: skip
    with pytest.raises(InputError, match="no polygons"):
        import_zones(lines, "lines", tmp_path)


def test_marine_regions_eez(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "geo" / "eez_marineregions_v11_partial_rezoning"
    layer = import_zones(folder / "eez_v11_rezoning_regions_merged.geojson", "eez", tmp_path)
    assert len(layer) == 100
    # off Mombasa (Kenya), Gulf of Oman off Muscat, mid-Atlantic, off Sydney (not covered)
    index = load_zone_layer("eez", tmp_path).locate(
        [-4.2, 23.8, 30.0, -34.0], [40.5, 58.8, -40.0, 152.0]
    )
    names = layer.attribute("ISO_TER1", index).to_pylist()
    assert names == ["KEN", "OMN", None, None]
    region = import_zones(folder / "regions" / "caribbean.geojson", "caribbean", tmp_path)
    assert len(region) > 0


def test_australia_shapefile(shared_data: Path, tmp_path: Path) -> None:
    shp = shared_data / "geo" / "eez_australia_mainland_amsa_risky" / "eez_aust_mainland_pl.shp"
    layer = import_zones(shp, "aus", tmp_path)
    assert len(layer) == 1
    # off Sydney, off Perth, inland Alice Springs (the layer includes land), off Mombasa
    index = layer.locate([-34.0, -32.0, -23.7, -4.2], [152.0, 115.2, 133.9, 40.5])
    assert index.tolist() == [0, 0, 0, -1]


def test_marine_regions_polygons_are_named_by_geoname(shared_data: Path, tmp_path: Path) -> None:
    """Marine Regions files name each polygon in GEONAME (the merged extract's ``name`` holds
    only the Black and Caspian Seas): the default choice is the common field naming most."""
    folder = shared_data / "geo" / "eez_marineregions_v11_partial_rezoning"
    merged = folder / "eez_v11_rezoning_regions_merged.geojson"
    layer = import_zones(merged, "eez", tmp_path)
    assert layer.name_field == "GEONAME"
    off_mombasa = layer.locate([-4.2], [40.5])
    assert layer.names().take(pa.array(off_mombasa)).to_pylist() == [
        "Kenyan Exclusive Economic Zone"
    ]
    assert layer.names().null_count == 2  # Black Sea, Caspian Sea: no GEONAME
    assert load_zone_layer("eez", tmp_path).name_field == "GEONAME"  # remembered
    region = import_zones(folder / "regions" / "east-and-southern-africa.geojson", "r", tmp_path)
    assert region.name_field == "GEONAME"

    chosen = import_zones(merged, "eez", tmp_path, name_field="TERRITORY1")
    assert chosen.names().take(pa.array(off_mombasa)).to_pylist() == ["Kenya"]
    stored = load_zone_layer("eez", tmp_path)
    assert stored.name_field == "TERRITORY1"
    assert zone_records(stored, 1).column("name").to_pylist() == stored.names().to_pylist()
    assert "Kenya" in zone_records(stored, 1).column("name").to_pylist()

    with pytest.raises(InputError, match=r"no field 'NAME_EN' in .*fields present: .*GEONAME"):
        import_zones(merged, "eez", tmp_path, name_field="NAME_EN")
    assert load_zone_layer("eez", tmp_path).name_field == "TERRITORY1"  # left as it was


def test_name_field_default_and_none(small_geojson: Path, tmp_path: Path) -> None:
    layer = import_zones(small_geojson, "small", tmp_path)
    assert "zone" not in ZONE_NAME_FIELDS
    assert layer.name_field is None  # no common name field: polygons unnamed
    assert layer.names().to_pylist() == [None, None, None]
    assert zone_records(layer, 1).column("name").to_pylist() == [None, None, None]
    named = import_zones(small_geojson, "small", tmp_path, name_field="zone")
    assert named.names().to_pylist() == ["A", "B", "bowtie"]
    assert load_zone_layer("small", tmp_path).names().to_pylist() == ["A", "B", "bowtie"]
    # a layer built in memory chooses the same way: the first common field naming most
    table = pa.table({"NAME": ["", None], "GEONAME": ["x", None], "name": [None, "y"]})
    built = ZoneLayer("w", table, layer.geometries[:2])
    assert built.name_field == "name"  # NAME names none; name and GEONAME one each: first
    assert built.names().to_pylist() == [None, "y"]
