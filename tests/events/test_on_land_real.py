"""Rule ``on_land`` on real files whose ships sail waterways narrower than the land mask's
cells (issue 16): the Kiel Canal and Limfjord (Argenni Baltic sample), Norwegian fjords
(Kystverket), the Suez Canal (Ever Given week). Many positions are on land in the mask;
none is spoofed, so no ``on_land`` event."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pytest

from seawatch.decode import decode
from seawatch.events import spoofing
from seawatch.geo.enrich import enrich

AIS = Path(__file__).resolve().parents[2].parent / "shared/data/ais"
BALTIC = "argenni_ais_reconstruction/decoded_reports_baltic_all_ships_april_2018_micro_20k_sample_ais_data.csv"  # noqa: E501
UTC = pa.timestamp("us", tz="UTC")


def _need(name: str) -> Path:
    path = AIS / name
    if not path.is_file():
        pytest.skip(f"../shared/data/ais/{name} not present")
    return path


def _baltic() -> pa.Table:
    t = pcsv.read_csv(_need(BALTIC), parse_options=pcsv.ParseOptions(delimiter=";"))
    ts = pc.multiply(t["timestamp"].cast(pa.int64()), 1000).cast(UTC)
    mmsi = t["mmsi"].cast(pa.int32())
    return pa.table({"ts": ts, "mmsi": mmsi, "lat": t["lat"], "lon": t["long"]})


def _suez() -> pa.Table:
    opts = pcsv.ConvertOptions(timestamp_parsers=["%d/%m/%Y %H:%M"])
    t = pcsv.read_csv(_need("movingpandas_evergiven/boat-positions.csv"), convert_options=opts)
    ts = t["ais_pos_timestamp"].cast(pa.timestamp("us")).cast(UTC)
    return pa.table(
        {"ts": ts, "mmsi": t["ID"].cast(pa.int32()), "lat": t["latitude"], "lon": t["longitude"]}
    )


def _kystverket() -> pa.Table:
    tables, _ = decode(_need("aisdotnet_kystverket/Ais1000Lines.nm4"))
    return tables["positions"]


@pytest.mark.parametrize(
    ("load", "min_on_land"), [(_baltic, 1500), (_kystverket, 10), (_suez, 6000)]
)
def test_no_on_land_spoofing_in_narrow_waterways(load: object, min_on_land: int) -> None:
    assert callable(load)
    pos = enrich(load().sort_by("ts"))
    assert pc.sum(pos["on_land"]).as_py() >= min_on_land  # the mask puts them on land
    ev, _ = spoofing.detect(pos)
    rules = [json.loads(d)["rule"] for d in ev["details"].to_pylist()]
    assert "on_land" not in rules
