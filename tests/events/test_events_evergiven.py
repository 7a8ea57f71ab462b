"""Golden facts on real data: the Suez Canal blockage of March 2021 (Ever Given).

VesselsValue positions via movingpandas-examples (../shared/data/ais/movingpandas_evergiven):
256 anonymised vessels (``ID`` in the ``mmsi`` column), 2021-03-20 00:00 to 03-24 12:52, one
position every ~12 min. The Ever Given grounded at about 05:40 UTC on 23 March near
30.0176 N 32.5798 E; ships queued at the Suez (south), Great Bitter Lake and Port Said
anchorages.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pytest
from evtools import chunks

from seawatch.events import combine, gap, loitering

DATA = (
    Path(__file__).resolve().parents[2].parent
    / "shared/data/ais/movingpandas_evergiven/boat-positions.csv"
)
GROUNDING = (30.0176, 32.5798)
ANCHORAGES = {  # lat_min, lat_max, lon_min, lon_max
    "suez_south": (29.70, 29.97, 32.44, 32.60),
    "great_bitter_lake": (30.28, 30.40, 32.33, 32.45),
    "port_said": (31.15, 31.65, 32.25, 32.46),
}


@pytest.fixture(scope="module")
def positions() -> pa.Table:
    if not DATA.is_file():
        pytest.skip("../shared/data/ais/movingpandas_evergiven not present")
    opts = pcsv.ConvertOptions(timestamp_parsers=["%d/%m/%Y %H:%M"])
    t = pcsv.read_csv(DATA, convert_options=opts)
    ts = t["ais_pos_timestamp"].cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
    table = pa.table(
        {"ts": ts, "mmsi": t["ID"].cast(pa.int32()), "lat": t["latitude"], "lon": t["longitude"]}
    )
    return table.sort_by("ts")


def _km(lat: float, lon: float) -> float:
    p1, p2 = math.radians(GROUNDING[0]), math.radians(lat)
    dl = math.radians(lon - GROUNDING[1])
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371.0088 * math.acos(min(1.0, c))


def _place(lat: float, lon: float) -> str:
    for name, (a, b, c, d) in ANCHORAGES.items():
        if a <= lat <= b and c <= lon <= d:
            return name
    return "grounding_site" if _km(lat, lon) < 5 else "elsewhere"


def test_loitering_at_the_anchorages_and_behind_the_ship(positions: pa.Table) -> None:
    ev, _ = loitering.detect(positions)
    rows = ev.to_pylist()
    assert len(rows) == 201
    assert len({r["mmsi"] for r in rows}) == 151
    assert sum(r["end_ts"] is None for r in rows) == 51  # still waiting when the data ends
    places: dict[str, int] = {}
    for r in rows:
        places[_place(r["lat"], r["lon"])] = places.get(_place(r["lat"], r["lon"]), 0) + 1
    assert places == {
        "suez_south": 105,
        "great_bitter_lake": 28,
        "port_said": 64,
        "grounding_site": 4,
    }
    stuck = [r for r in rows if _place(r["lat"], r["lon"]) == "grounding_site"]
    # four ships stop in the canal within 90 min of the grounding and stay there
    for r in stuck:
        assert r["end_ts"] is None
        assert "2021-03-23T06:00" <= r["start_ts"].isoformat() <= "2021-03-23T07:10"
    assert min(_km(r["lat"], r["lon"]) for r in stuck) < 0.1  # the Ever Given itself
    longest = max(json.loads(r["details"])["duration_s"] for r in rows) / 3600
    assert longest == pytest.approx(108.63, abs=0.01)  # anchored for the whole record


def test_gaps(positions: pa.Table) -> None:
    ev, _ = gap.detect(positions)
    assert ev.num_rows == 316
    assert ev["end_ts"].null_count == 173
    assert pc.min(ev["confidence"]).as_py() == 0.5


@pytest.mark.parametrize("detector", [gap, loitering])
def test_real_data_in_chunks(positions: pa.Table, detector: object) -> None:
    detect = detector.detect  # type: ignore[attr-defined]
    whole, _ = detect(positions)
    outs, state = [], None
    for part in chunks(positions, range(0, positions.num_rows, 1777)):
        ev, state = detect(part, state=state)
        outs.append(ev)
    assert combine(outs).equals(combine([whole]))
