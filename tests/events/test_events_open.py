"""Every detector: open events left to a last call give the same events as snapshots.

A pipeline feeding time-ordered chunks passes ``open_events=False`` (closed events only, no
snapshot built per chunk) and calls each detector once more with an empty table at the end;
the result must equal :func:`combine` over full snapshots, and the whole input in one call.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pytest
from evtools import chunks

from seawatch import tracks
from seawatch.events.registry import REGISTRY, detectors
from seawatch.events.schema import combine, sort_events

SUEZ = Path(__file__).resolve().parents[3] / "shared/data/ais/movingpandas_evergiven"
DETECTORS = [d.name for d in detectors() if d.reads == "positions" and d.name != "zone_entry"]
"""Every position detector but zone_entry (the Suez table below has no zone columns)."""


@pytest.fixture(scope="module")
def suez() -> pa.Table:
    csv = SUEZ / "boat-positions.csv"
    if not csv.is_file():
        pytest.skip("../shared/data/ais/movingpandas_evergiven not present")
    opts = pcsv.ConvertOptions(timestamp_parsers=["%d/%m/%Y %H:%M"])
    t = pcsv.read_csv(csv, convert_options=opts)
    ts = t["ais_pos_timestamp"].cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
    n = t.num_rows
    table = pa.table(
        {
            "ts": ts,
            "mmsi": t["ID"].cast(pa.int32()),
            "lat": t["latitude"],
            "lon": t["longitude"],
            "distance_to_shore_km": pa.array([100.0] * n),  # far from shore: disabling may fire
            # a made-up port at 30°N (the queue south of the canal) and speeds that stop there
            "distance_to_port_km": pc.multiply(pc.abs(pc.subtract(t["latitude"], 29.9)), 100.0),
            "port_id": pa.array(["EGSUZ"] * n),
            "port_name": pa.array(["Suez"] * n),
            "speed_kn": pc.multiply(pc.abs(pc.subtract(t["latitude"], 29.9)), 10.0),
        }
    ).sort_by("ts")
    segmented, _ = tracks.segment(tracks.clean(table).positions)
    return segmented.sort_by("ts")  # segment returns (mmsi, ts) order; chunks cut by time


@pytest.mark.parametrize("name", DETECTORS)
def test_open_events_at_the_end_equal_snapshots(suez: pa.Table, name: str) -> None:
    detect = REGISTRY[name].detect
    whole, _ = detect(suez)
    assert whole.num_rows, "the real input should give this detector something to find"
    snaps, lazy, s1, s2 = [], [], None, None
    for part in chunks(suez, list(range(1500, suez.num_rows, 1500))):
        ev, s1 = detect(part, state=s1)
        snaps.append(ev)
        ev, s2 = detect(part, state=s2, open_events=False)
        assert ev["end_ts"].null_count == 0
        lazy.append(ev)
    flushed, _ = detect(suez.schema.empty_table(), state=s2)
    lazy.append(flushed)
    assert combine(snaps).equals(combine([whole]))
    assert sort_events(pa.concat_tables(lazy)).equals(combine([whole]))


def test_ended_segments_are_closed_and_forgotten() -> None:
    """Keyed by segment, a track silent for track_expiry_s has ended: closed, state dropped."""
    from evtools import MIN, T0, H, positions

    from seawatch.events import loitering, port_visit

    n = 60  # 5 h drifting at ~0.1 kn, 10 km from shore, inside a port
    slow = positions(
        [T0 + i * 5 * MIN for i in range(n)],
        [10.0 + i * 1e-5 for i in range(n)],
        [70.0] * n,
        segment_id=[7] * n,
        distance_to_port_km=[1.0] * n,
        speed_kn=[0.1] * n,
        port_id=["INMAA"] * n,
        port_name=["Chennai"] * n,
    )
    other = positions(
        [T0 + 30 * H],
        [0.0],
        [0.0],
        mmsi=367_000_001,
        segment_id=[8],
        distance_to_port_km=[500.0],
        speed_kn=[10.0],
        port_id=["XXXXX"],
        port_name=["Far"],
    )
    in_port = loitering.LoiteringParams(min_distance_to_port_km=0.0)  # loiters in port
    for module, kind, params in (
        (loitering, "loitering", in_port),
        (port_visit, "port_visit", port_visit.PortVisitParams()),
    ):
        ev, state = module.detect(slow, params, open_events=False)
        assert ev.num_rows == 0  # still running: nothing closed
        assert len(state.keys) == 1
        ev, state = module.detect(other, params, state=state)
        assert ev["event_type"].to_pylist() == [kind]
        assert ev["end_ts"].null_count == 0  # ended 25 h before the data's end: closed
        assert state.keys.to_pylist() == [8]  # segment 7 forgotten, 8 kept
    ev, state = port_visit.detect(pa.concat_tables([slow, other]))
    assert json.loads(ev["details"][0].as_py())["ended_by"] == "track_ended"
