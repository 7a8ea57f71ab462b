"""GeoParquet export: geo metadata as the 1.1.0 specification asks, WKB points, a label
column, read back by geopandas and by seawatch."""

from __future__ import annotations

import struct
from pathlib import Path

import pyarrow as pa
from exportdata import LABELS, POLICY, events, expected, positions

from seawatch.export.geoparquet import point_wkb, read_geoparquet, write_geoparquet


def _write(tmp_path: Path, table: pa.Table, kind: str) -> Path:
    out = tmp_path / f"{kind}.parquet"
    write_geoparquet(table, LABELS, out, kind=kind, policy=POLICY)  # type: ignore[arg-type]
    return out


def test_metadata_follows_the_specification(tmp_path: Path) -> None:
    table, geo, own = read_geoparquet(_write(tmp_path, positions(), "positions"))
    # GeoParquet 1.1.0: version, primary_column, columns.<name>.encoding/geometry_types
    assert geo["version"] == "1.1.0"
    assert geo["primary_column"] == "geometry"
    column = geo["columns"]["geometry"]
    assert column["encoding"] == "WKB"
    assert column["geometry_types"] == ["Point"]
    assert "crs" not in column  # absent: OGC:CRS84 (longitude, latitude)
    assert column["bbox"] == [-179.999, -10.6, 179.5, 45.0]  # [xmin, ymin, xmax, ymax]
    assert table.schema.field("geometry").type == pa.binary()
    assert own["kind"] == "positions"
    assert own["label"] == "TOP SECRET//ORCON//NOFORN"
    assert own["labels"] == sorted({lb.marking for lb in LABELS.values()})


def test_columns_and_round_trip(tmp_path: Path) -> None:
    source = events()
    table, _, _ = read_geoparquet(_write(tmp_path, source, "events"))
    assert table.column_names[-2:] == ["label", "geometry"]
    wkb = table["geometry"].to_pylist()
    assert wkb[1] is None  # event without a position
    assert struct.unpack("<BIdd", wkb[0]) == (1, 1, 72.8, 18.9)
    back = table.drop_columns(["geometry"]).replace_schema_metadata(None)
    assert back.equals(expected(source))


def test_point_wkb_is_iso_wkb() -> None:
    import shapely

    lon = pa.chunked_array([[1.5, None, 200.0, -0.25]])
    lat = pa.chunked_array([[2.5, 3.0, 0.0, float("nan")]])
    wkb = point_wkb(lon, lat)
    assert wkb.null_count == 3
    point = shapely.from_wkb(wkb[0].as_py())
    assert (point.x, point.y) == (1.5, 2.5)


def test_read_back_with_geopandas(tmp_path: Path) -> None:
    import geopandas as gpd

    out = _write(tmp_path, positions(), "positions")
    frame = gpd.read_parquet(out)
    assert frame.geometry.name == "geometry"
    assert frame.crs is not None
    assert frame.crs.to_epsg() == 4326 or "CRS84" in frame.crs.to_string()
    assert list(frame.geometry.x) == positions()["lon"].to_pylist()
    assert list(frame.geometry.y) == positions()["lat"].to_pylist()
    assert list(frame["label"]) == [LABELS[i].marking for i in positions()["label_id"].to_pylist()]
