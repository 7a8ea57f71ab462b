"""``seawatch zones import`` / ``list``: store a layer under data_dir, report errors plainly."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from seawatch.cli.main import cli
from seawatch.geo.zones import load_zone_layer


def test_zones_import_and_list(tmp_path: Path) -> None:
    ring = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
    feature = {
        "type": "Feature",
        "properties": {"label": "box"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    src = tmp_path / "box.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    env = {"SEAWATCH_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    res = runner.invoke(cli, ["zones", "list"], env=env)
    assert res.exit_code == 0, res.output
    assert "no zone layers" in res.output
    res = runner.invoke(cli, ["zones", "import", str(src), "--name", "box"], env=env)
    assert res.exit_code == 0, res.output
    assert "zone layer 'box': 1 polygons" in res.output
    assert "label" in res.output
    assert f"stored in {tmp_path / 'data' / 'zones' / 'box.parquet'}" in res.output
    assert load_zone_layer("box", tmp_path / "data").locate([5.0], [5.0]).tolist() == [0]
    res = runner.invoke(cli, ["zones", "list"], env=env)
    assert res.output.startswith("box: 1 polygons")
    res = runner.invoke(
        cli, ["zones", "import", str(tmp_path / "nope.shp"), "--name", "x"], env=env
    )
    assert res.exit_code == 1
    assert "error: cannot import zones" in res.output
    for cmd in (["zones"], ["zones", "import"], ["zones", "list"]):
        res = runner.invoke(cli, [*cmd, "--help"])
        assert res.exit_code == 0
        assert "Example" in res.output


def test_zones_import_says_which_field_names_the_polygons(
    shared_data: Path, tmp_path: Path
) -> None:
    eez = shared_data / "geo" / "eez_marineregions_v11_partial_rezoning"
    merged = eez / "eez_v11_rezoning_regions_merged.geojson"
    env = {"SEAWATCH_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    res = runner.invoke(cli, ["zones", "import", str(merged), "--name", "eez"], env=env)
    assert res.exit_code == 0, res.output
    assert (
        "named 98 of 100 polygons by GEONAME (the first of name, NAME, Name, zone_name, "
        "ZONE_NAME, GEONAME, geoname, TERRITORY1, title, label naming the most); "
        "use --name-field to choose"
    ) in res.output
    res = runner.invoke(
        cli,
        ["zones", "import", str(merged), "--name", "eez", "--name-field", "TERRITORY1"],
        env=env,
    )
    assert res.exit_code == 0, res.output
    assert "named 98 of 100 polygons by TERRITORY1 (--name-field)" in res.output
    assert load_zone_layer("eez", tmp_path / "data").name_field == "TERRITORY1"
    res = runner.invoke(
        cli, ["zones", "import", str(merged), "--name", "eez", "--name-field", "NAME_EN"], env=env
    )
    assert res.exit_code == 1
    assert res.output.startswith(f"error: no field 'NAME_EN' in {str(merged)!r}; fields present:")
    assert "MRGID, GEONAME, MRGID_TER1" in res.output


def test_zones_import_without_a_name_field(tmp_path: Path) -> None:
    ring = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
    feature = {"type": "Feature", "properties": {"code": "K1"},
               "geometry": {"type": "Polygon", "coordinates": [ring]}}  # fmt: skip
    src = tmp_path / "box.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    env = {"SEAWATCH_DATA_DIR": str(tmp_path / "data")}
    res = CliRunner().invoke(cli, ["zones", "import", str(src), "--name", "box"], env=env)
    assert res.exit_code == 0, res.output
    assert "polygons unnamed: none of name, NAME" in res.output
    assert "use --name-field to choose (fields: code)" in res.output
