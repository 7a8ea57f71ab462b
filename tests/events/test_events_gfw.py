"""Spoofing on GFW's shared-MMSI example: 416000000, a placeholder many Taiwanese vessels use.

../shared/data/ais/gfw_gpsdio_segment/416000000.json: 1,668 positions in January 2014 from
the South China Sea to the Indian Ocean and the Gulf of Guinea; GFW's segmenter splits them
into 29 segments and switches segment 166 times between time-consecutive points.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pj
import pytest

from seawatch.events import spoofing

DATA = Path(__file__).resolve().parents[2].parent / "shared/data/ais/gfw_gpsdio_segment"


def test_one_mmsi_in_many_places() -> None:
    path = DATA / "416000000.json"
    if not path.is_file():
        pytest.skip("../shared/data/ais/gfw_gpsdio_segment not present")
    t = pj.read_json(path)
    ts = t["timestamp"].cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
    pos = pa.table(
        {"ts": ts, "mmsi": t["ssvid"].cast(pa.int32()), "lat": t["lat"], "lon": t["lon"]}
    )
    ev, _ = spoofing.detect(pos.sort_by("ts"))
    d = [json.loads(x) for x in ev["details"].to_pylist()]
    assert {x["rule"] for x in d} == {"jump"}  # 416 is a valid MID: not an invalid MMSI
    assert len(d) == 74
    assert sum(x["n_jumps"] for x in d) == 131  # GFW's stricter 25 kn bound: 166 switches
    assert sum(x["n_two_places"] for x in d) == 2
    assert ev["end_ts"].null_count == 1
