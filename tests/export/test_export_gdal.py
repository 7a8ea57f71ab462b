"""Interoperability: GDAL (through pyogrio, a core dependency) reads the GeoJSON and KML
exports as any GIS would: every record, its position and its label field."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest
from exportdata import LABELS, POLICY, gdal_frame, positions

from seawatch.export.geojson import write_geojson
from seawatch.export.kml import write_kml


@pytest.mark.parametrize(("suffix", "write"), [("geojson", write_geojson), ("kml", write_kml)])
def test_gdal_reads_records_positions_and_labels(
    tmp_path: Path, suffix: str, write: object
) -> None:
    table = positions()
    out = tmp_path / f"latest.{suffix}"
    write(table, LABELS, out, kind="latest", policy=POLICY)  # type: ignore[operator]
    frame = gdal_frame(out)  # KML: a layer per folder (vessel type), by MMSI and time
    if suffix == "kml":
        table = table.sort_by([("mmsi", "ascending"), ("ts", "ascending")])
    assert len(frame) == table.num_rows
    assert list(frame["label"]) == [LABELS[i].marking for i in table["label_id"].to_pylist()]
    assert [int(m) for m in frame["mmsi"]] == table["mmsi"].to_pylist()
    assert list(frame.geometry.x) == table["lon"].to_pylist()
    assert list(frame.geometry.y) == table["lat"].to_pylist()
    assert pyogrio.read_info(out)["crs"] == "EPSG:4326"
