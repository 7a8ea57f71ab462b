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
