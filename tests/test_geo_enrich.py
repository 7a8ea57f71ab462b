"""enrich(): the geography columns the events stage reads, as declared in ENRICH_SCHEMA."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from seawatch.geo.enrich import ENRICH_SCHEMA, enrich, zone_column
from seawatch.geo.ports import default_ports
from seawatch.geo.zones import import_zones


def _positions() -> pa.Table:
    # Paris (land), Dover Strait, off Rotterdam, mid-Atlantic, unknown position
    return pa.table(
        {
            "mmsi": pa.array([1, 2, 3, 4, 5], pa.int32()),
            "lat": pa.array([48.8566, 51.0, 51.98, 30.0, None], pa.float64()),
            "lon": pa.array([2.3522, 1.45, 4.0, -40.0, None], pa.float64()),
        }
    )


def test_columns_follow_schema() -> None:
    out = enrich(_positions())
    assert out.schema.names == ["mmsi", "lat", "lon", *ENRICH_SCHEMA.names]
    for field in ENRICH_SCHEMA:
        assert out.schema.field(field.name) == field
        assert field.metadata[b"doc"]
    assert out.column("on_land").to_pylist() == [True, False, False, False, None]
    shore = out.column("distance_to_shore_km").to_pylist()
    assert shore[0] == 0.0
    assert 12.0 < shore[1] < 19.0
    assert shore[3] > 500.0
    assert shore[4] is None
    port_km = out.column("distance_to_port_km").to_pylist()
    assert port_km[2] < 30.0
    assert port_km[4] is None
    assert out.column("port_id").to_pylist()[4] is None


def test_matches_the_modules_and_replaces_columns() -> None:
    rng = np.random.default_rng(2)
    n = 5_000
    table = pa.table({"lat": rng.uniform(-60, 60, n), "lon": rng.uniform(-180, 180, n)})
    once = enrich(table)
    twice = enrich(once)
    assert twice.equals(once)
    ports = default_ports()
    index, km = ports.nearest(table.column("lat").to_numpy(), table.column("lon").to_numpy())
    np.testing.assert_allclose(once.column("distance_to_port_km").to_numpy(), km)
    ids = ports.table.column("port_id").to_numpy(zero_copy_only=False)[index]
    assert once.column("port_id").to_pylist() == ids.tolist()


def test_chunked_input_and_zone_column(tmp_path: Path) -> None:
    ring = [[-50, 20], [-30, 20], [-30, 40], [-50, 40], [-50, 20]]
    zone = {
        "type": "Feature",
        "properties": {"name": "box"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    path = tmp_path / "box.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [zone]}))
    layer = import_zones(path, "box", tmp_path)
    pos = _positions()
    chunked = pa.concat_tables([pos.slice(0, 2), pos.slice(2)])
    out = enrich(chunked, zones=[layer])
    assert out.column(zone_column("box")).to_pylist() == [None, None, None, 0, None]
    assert out.drop_columns([zone_column("box")]).equals(enrich(pos))


def test_custom_coordinate_columns() -> None:
    table = pa.table({"latitude": [48.8566], "longitude": [2.3522]})
    out = enrich(table, lat_column="latitude", lon_column="longitude")
    assert out.column("on_land").to_pylist() == [True]
    with pytest.raises(KeyError):
        enrich(table)
