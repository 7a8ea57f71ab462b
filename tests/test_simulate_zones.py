"""The simulated waters: ``seawatch simulate`` writes them as ``zones.geojson``, and a user who
imports that file as a zone layer and runs ``seawatch detect`` with it finds the simulated
zone entries (the same ones ``truth.jsonl`` lists)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from seawatch.cli.main import cli
from seawatch.sim.score import read_truth, score
from seawatch.sim.zones import waters, zone_layer

#: 30 vessels for 8 h, seed 2: a fishing vessel enters its box, two ships pass through it
SIM = ["--seed", "2", "--vessels", "30", "--hours", "8"]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    data = tmp_path_factory.mktemp("data")
    result = CliRunner().invoke(
        cli, ["simulate", *SIM, "--out", str(out)], env={"SEAWATCH_DATA_DIR": str(data)}
    )
    assert result.exit_code == 0, result.output
    return out


def _truth(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / "truth.jsonl").read_text().splitlines()]


def test_zones_geojson_holds_the_boxes_of_the_truth(sim: Path) -> None:
    collection = json.loads((sim / "zones.geojson").read_text())
    assert collection["type"] == "FeatureCollection"
    entries = [r for r in _truth(sim) if r["event_type"] == "zone_entry"]
    assert entries, "the chosen seed must place a zone entry"
    expected = {
        (r["params"]["zone_name"], r["params"]["zone_country"])  # type: ignore[index]
        for r in entries
    }
    got = {(f["properties"]["name"], f["properties"]["country"]) for f in collection["features"]}
    assert got == expected
    for f in collection["features"]:
        ring = f["geometry"]["coordinates"][0]
        assert f["geometry"]["type"] == "Polygon"
        assert ring[0] == ring[-1]
        assert len(ring) == 5
    assert collection == waters(_truth(sim))  # the file is what the library builds
    assert not list(sim.glob(".*"))  # written atomically: no temporary file left


def test_no_zone_entries_no_features() -> None:
    assert waters([{"event_type": "gap", "params": {}}]) == {
        "type": "FeatureCollection",
        "features": [],
    }
    assert zone_layer([]) is None


def test_imported_zones_give_the_simulated_zone_entries(sim: Path, tmp_path: Path) -> None:
    env = {"SEAWATCH_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    imported = runner.invoke(
        cli, ["zones", "import", str(sim / "zones.geojson"), "--name", "sim"], env=env
    )
    assert imported.exit_code == 0, imported.output
    files = sorted(str(p) for p in sim.glob("ais-*.nmea"))
    detected = runner.invoke(
        cli, ["detect", *files, "--out", str(tmp_path / "d"), "--zones", "sim"], env=env
    )
    assert detected.exit_code == 0, detected.output
    events = pq.read_table(tmp_path / "d" / "events.parquet")
    entries = events.filter(pc.equal(events["event_type"], "zone_entry"))
    assert entries.num_rows > 0
    # every truth zone entry found, nothing else (the scorer's matching: vessel and time)
    got = score(read_truth(sim / "truth.jsonl"), events, types=["zone_entry"])["zone_entry"]
    assert got.truth == got.true_positives == got.detected == entries.num_rows
    # and each in the box the truth names: the detector's zone index is the feature's
    names = [
        f["properties"]["name"] for f in json.loads((sim / "zones.geojson").read_text())["features"]
    ]
    truth_zone = {
        (r["mmsi"], r["start_ts"]): r["params"]["zone_name"]  # type: ignore[index]
        for r in _truth(sim)
        if r["event_type"] == "zone_entry"
    }
    for row in entries.to_pylist():
        d = json.loads(row["details"])
        assert d["layer"] == "sim"
        start = row["start_ts"].strftime("%Y-%m-%dT%H:%M:%SZ")
        assert truth_zone[(row["mmsi"], start)] == names[d["zone"]]
