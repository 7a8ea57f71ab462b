"""Smoke facts on real data: Baltic, 1 April 2018, 00:03–10:56 UTC (Argenni sample).

../shared/data/ais/argenni_ais_reconstruction: 19,999 decoded type 1–3 reports of 387
MMSIs in the Baltic and Danish straits, static fields joined on each row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pytest

from seawatch.events import gap, identity_change, loitering, spoofing

DATA = (
    Path(__file__).resolve().parents[2].parent
    / "shared/data/ais/argenni_ais_reconstruction"
    / "decoded_reports_baltic_all_ships_april_2018_micro_20k_sample_ais_data.csv"
)


@pytest.fixture(scope="module")
def baltic() -> pa.Table:
    if not DATA.is_file():
        pytest.skip("../shared/data/ais/argenni_ais_reconstruction not present")
    t = pcsv.read_csv(DATA, parse_options=pcsv.ParseOptions(delimiter=";"))
    ts = pc.multiply(t["timestamp"].cast(pa.int64()), 1000).cast(pa.timestamp("us", tz="UTC"))
    cols = {
        "ts": ts,
        "mmsi": t["mmsi"].cast(pa.int32()),
        "lat": t["lat"],
        "lon": t["long"],
        "name": t["name"],
        "imo": t["imo"].cast(pa.int32()),
        "callsign": t["callsign"],
        "draught_m": t["draught"],
    }
    return pa.table(cols).sort_by("ts")


def test_one_mmsi_jumps_50_km(baltic: pa.Table) -> None:
    ev, _ = spoofing.detect(baltic)
    assert set(ev["mmsi"].to_pylist()) == {211_523_660}  # and no invalid MMSI
    d = [json.loads(x) for x in ev["details"].to_pylist()]
    assert [x["rule"] for x in d] == ["jump", "jump"]
    assert all(49_000 < x["max_distance_m"] < 56_000 for x in d)
    assert all(x["max_implied_speed_kn"] > 200 for x in d)
    assert ev["end_ts"].null_count == 1  # the second jump is still unresolved at the end


def test_draught_changes(baltic: pa.Table) -> None:
    ev, _ = identity_change.detect(baltic)
    d = [json.loads(x) for x in ev["details"].to_pylist()]
    assert len(d) == 17
    assert {x["field"] for x in d} == {"draught_m"}
    assert max(abs(x["after"] - x["before"]) for x in d) == pytest.approx(4.6)


def test_gaps_and_loitering(baltic: pa.Table) -> None:
    ev, _ = gap.detect(baltic)
    assert (ev.num_rows, ev["end_ts"].null_count) == (9, 7)
    ev, _ = loitering.detect(baltic)
    assert (ev.num_rows, ev["end_ts"].null_count) == (203, 141)


def test_events_on_segmented_positions(baltic: pa.Table) -> None:
    """The tracks stage's output is valid input; events name the segments they happened on."""
    from seawatch import tracks

    pos = baltic.select(["ts", "mmsi", "lat", "lon"])
    pos = pos.append_column("msg_type", pa.array([1] * pos.num_rows, pa.int8()))
    seg, _ = tracks.segment(tracks.clean(pos).positions)
    mmsi_of = dict(zip(seg["segment_id"].to_pylist(), seg["mmsi"].to_pylist(), strict=True))
    for detector in (gap, loitering):
        ev, _ = detector.detect(seg)
        assert ev.num_rows > 0
        for ids, mmsi in zip(ev["segment_ids"].to_pylist(), ev["mmsi"].to_pylist(), strict=True):
            assert len(ids) == 1
            assert mmsi_of[int(ids[0])] == mmsi
