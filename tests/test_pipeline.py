"""The chunked pipeline: any chunking of a roughly time-ordered feed gives the whole-input result.

The reference is the whole input in one pass, stage by stage (what ``seawatch detect`` did
before it streamed): tracks.clean → tracks.segment → segments_table / identity_history →
each detector called once.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch import tracks
from seawatch.decode import decode
from seawatch.decode.schemas import SCHEMAS, conform
from seawatch.engine.pipeline import Pipeline, time_order
from seawatch.events.registry import detectors
from seawatch.events.schema import EVENTS_SCHEMA, sort_events
from seawatch.tracks.identity import SegmentsAccumulator, identity_history, segments_table
from tracks.helpers import at, pos, positions, statics

WINDOW_S = 600.0
SORT_KEYS = ("mmsi", "ts", "lat", "lon", "segment_id")


def eventful(t0: datetime) -> tuple[pa.Table, pa.Table]:
    """Vessels that make events over 14 h from ``t0``: a gap (closed and open), loitering,
    an encounter, a spoofed jump, identity changes."""

    def row(mmsi: int, minutes: float, lat: float, lon: float, speed: float) -> dict[str, Any]:
        ts = t0 + timedelta(minutes=minutes)
        return {"ts": ts, "mmsi": mmsi, "lat": lat, "lon": lon, "speed_kn": speed,
                "course_deg": 90.0, "msg_type": 1}  # fmt: skip

    rows = [row(366000001, m, 5.0, 85.0 + m / 600, 6.0) for m in range(0, 61, 10)]
    rows += [row(366000001, m, 5.0, 86.0 + m / 600, 6.0) for m in range(540, 601, 10)]
    rows += [row(366000002, m, 6.0, 86.0 + m / 600, 6.0) for m in range(0, 121, 10)]  # open gap
    rows += [row(366000003, m, 7.0, 87.0 + m * 1e-5, 0.3) for m in range(0, 600, 10)]  # loiters
    rows += [row(366000004, m, 8.0, 88.0 + m * 1e-5, 0.5) for m in range(0, 300, 5)]
    rows += [row(366000005, m, 8.001, 88.0 + m * 1e-5, 0.5) for m in range(2, 300, 5)]  # meet
    rows += [row(366000006, m, 9.0 + (m // 30 % 2) * 2, 89.0, 10.0) for m in range(0, 240, 5)]
    reports = [
        {"ts": t0 + timedelta(minutes=m), "mmsi": 366000003, "name": name, "ship_type": 30}
        for m, name in ((1, "LOITER ONE"), (200, "LOITER ONE"), (301, "LOITER TWO"))
    ]
    return positions(rows), statics(reports)


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo feed decoded, in an arrival order up to 5 minutes out of time order.

    ``arrival`` is each row's arrival time (µs), by which chunks are cut.
    """
    from seawatch.sim.synth import write_sample

    path = tmp_path_factory.mktemp("feed") / "sample.nmea"
    write_sample(path, vessels=20, minutes=40, seed=11)
    tables, _ = decode(path)
    t0 = tables["positions"]["ts"][0].as_py()
    extra = eventful(t0)
    for name, more in zip(("positions", "statics"), extra, strict=True):
        tables[name] = pa.concat_tables([conform(tables[name], name), more])
    rng = np.random.default_rng(3)
    out: dict[str, Any] = {}
    for name in ("positions", "statics"):
        t = conform(tables[name], name)
        ts = np.asarray(t["ts"].cast(pa.int64()), np.int64)
        arrival = ts + rng.integers(0, 300_000_000, len(ts))
        order = np.argsort(arrival, kind="stable")
        out[name], out[f"{name}_arrival"] = t.take(order), arrival[order]
    return out


def whole(raw: pa.Table, st_: pa.Table) -> dict[str, pa.Table]:
    """The one-pass reference (equal times in the pipeline's order: MMSI, message key)."""
    raw, st_ = time_order(raw, "positions"), time_order(st_, "statics")
    segmented, _ = tracks.segment(tracks.clean(raw).positions)
    inputs = {"positions": segmented, "statics": st_}
    found = [EVENTS_SCHEMA.empty_table()]
    for d in detectors():
        events, _ = d.detect(inputs[d.reads])
        found.append(events)
    return {
        "positions": segmented,
        "segments": segments_table(segmented, st_),
        "identity": identity_history(st_, segmented),
        "events": sort_events(pa.concat_tables(found)),
    }


def chunked(feed: dict[str, Any], cuts: list[int]) -> tuple[dict[str, pa.Table], Pipeline]:
    """The pipeline fed the rows that arrived between successive arrival times ``cuts``."""
    pipe = Pipeline(geography=False, reorder_window_s=WINDOW_S)
    outs, events = [], []
    bounds = [None, *cuts, None]
    for lo, hi in itertools.pairwise(bounds):
        part = {}
        for name in ("positions", "statics"):
            arr = feed[f"{name}_arrival"]
            a = 0 if lo is None else int(np.searchsorted(arr, lo))
            b = len(arr) if hi is None else int(np.searchsorted(arr, hi))
            part[name] = feed[name].slice(a, b - a)
        res = pipe.feed(part["positions"], part["statics"])
        outs.append(res.positions)
        events.append(res.events)
    res = pipe.finish()
    outs.append(res.positions)
    events.append(res.events)
    return {
        "positions": pa.concat_tables(outs),
        "segments": pipe.segments(),
        "identity": pipe.history(),
        "events": sort_events(pa.concat_tables(events)),
    }, pipe


def assert_same(got: dict[str, pa.Table], want: dict[str, pa.Table]) -> None:
    order = [(k, "ascending") for k in SORT_KEYS]
    assert got["positions"].sort_by(order).equals(want["positions"].sort_by(order))
    for name in ("segments", "identity", "events"):
        assert got[name].equals(want[name]), name


@pytest.fixture(scope="module")
def reference(feed: dict[str, Any]) -> dict[str, pa.Table]:
    return whole(feed["positions"], feed["statics"])


def test_reference_finds_something(reference: dict[str, pa.Table]) -> None:
    assert reference["segments"].num_rows > 10
    assert reference["identity"].num_rows > 10
    events = reference["events"]
    kinds = set(events["event_type"].to_pylist())
    assert {"gap", "loitering", "encounter", "spoofing", "identity_change"} <= kinds, kinds
    assert 0 < events["end_ts"].null_count < events.num_rows  # open and closed events
    assert reference["segments"]["n_statics"].to_numpy().sum() > 0


@settings(max_examples=6, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), max_size=8), st.booleans())
def test_any_chunking_gives_the_whole_input_result(
    feed: dict[str, Any], reference: dict[str, pa.Table], fractions: list[float], one_row: bool
) -> None:
    arrival = feed["positions_arrival"]
    lo, hi = int(arrival[0]), int(arrival[-1])
    cuts = sorted({lo + int(f * (hi - lo)) for f in fractions})
    if one_row:  # and a few chunks of a single row
        cuts = sorted({*cuts, *(int(a) for a in arrival[100:103])})
    got, pipe = chunked(feed, cuts)
    assert pipe.late == {"positions": 0, "statics": 0}
    assert_same(got, reference)


@pytest.mark.parametrize("merge_rows", [0, 40])
def test_merging_the_segments_state_at_any_size_changes_nothing(
    feed: dict[str, Any], reference: dict[str, pa.Table], merge_rows: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from seawatch.tracks import segment_state

    monkeypatch.setattr(segment_state, "MERGE_ROWS", merge_rows)
    arrival = feed["positions_arrival"]
    lo, hi = int(arrival[0]), int(arrival[-1])
    got, _ = chunked(feed, [lo + k * (hi - lo) // 12 for k in range(1, 12)])
    assert_same(got, reference)


def test_one_chunk_is_the_whole_input(feed: dict[str, Any], reference: dict[str, pa.Table]) -> None:
    got, _ = chunked(feed, [])
    assert_same(got, reference)


def mmsi_rows(hours: list[float], mmsi: int = 419000001) -> pa.Table:
    return positions([pos(h, 10.0 + h / 100, mmsi=mmsi) for h in hours])


def test_rows_within_the_window_are_reordered_later_ones_quarantined() -> None:
    pipe = Pipeline(geography=False, reorder_window_s=WINDOW_S)
    no_statics = SCHEMAS["statics"].empty_table()
    first = pipe.feed(mmsi_rows([i / 6 for i in range(13)]), no_statics)  # 0 h .. 2 h
    assert first.late["positions"].num_rows == 0
    late_h, fine_h = 2 - 700 / 3600, 2 - 300 / 3600
    second = pipe.feed(mmsi_rows([late_h, fine_h]), no_statics)
    assert second.late["positions"]["ts"].to_pylist() == [at(late_h)]
    assert pipe.late == {"positions": 1, "statics": 0}
    last = pipe.finish()
    out = pa.concat_tables([first.positions, second.positions, last.positions])
    times = out["ts"].to_pylist()
    assert at(fine_h) in times
    assert at(late_h) not in times
    assert times == sorted(times)
    assert out.num_rows == 14
    assert first.positions.num_rows < 13  # the last 10 minutes were held back


def test_statics_wait_for_their_nearest_position() -> None:
    """A report whose nearest position comes in a later chunk goes to that position's segment."""
    rows = [pos(0, 0.0), pos(1, 0.0), pos(0.5, 10.0), pos(0.6, 10.0)]  # two ships, one MMSI
    segmented, _ = tracks.segment(positions(rows))
    report = statics([{"ts": at(0.45), "mmsi": 419000001, "name": "BRAVO"}])
    split = pc.less(segmented["ts"], pa.scalar(at(0.47), segmented["ts"].type))
    acc = SegmentsAccumulator()
    acc.add(segmented.filter(split), report, horizon=at(0.47))
    acc.add(segmented.filter(pc.invert(split)), report.slice(0, 0), horizon=at(2))
    acc.finish()
    assert acc.segments().equals(segments_table(segmented, report))
    assert acc.history().equals(identity_history(report, segmented))
    bravo = acc.history()["segment_id"][0].as_py()
    lat_10 = segmented.filter(pc.equal(segmented["lat"], 10.0))["segment_id"][0].as_py()
    assert bravo == lat_10


def test_feed_after_finish_is_an_error() -> None:
    pipe = Pipeline(geography=False)
    pipe.finish()
    with pytest.raises(RuntimeError, match="after finish"):
        pipe.feed(mmsi_rows([0]), SCHEMAS["statics"].empty_table())


def test_zone_events_know_the_ship_type_from_statics() -> None:
    """Positions carry no ship type; the pipeline gives the detectors each MMSI's last
    reported one, so a zone rule on ship types can match (and details report it)."""
    import shapely

    from seawatch.geo.zones import ZoneLayer

    box = shapely.box(10.0, 10.5, 11.0, 11.5)  # lon 10..11, lat 10.5..11.5
    layer = ZoneLayer("waters", pa.table({"name": ["W"]}), np.array([box], dtype=object))
    pipe = Pipeline(zones=[layer], reorder_window_s=WINDOW_S)
    fishing, cargo = 419000001, 419000002
    rows = [pos(h / 6, 10.0 + h / 60, lon=10.5, mmsi=m, speed_kn=6.0) for h in range(60)
            for m in (fishing, cargo)]  # fmt: skip
    reports = statics(
        [
            {"ts": at(0.01), "mmsi": fishing, "ship_type": 30},
            {"ts": at(0.01), "mmsi": cargo, "ship_type": 70},
        ]
    )
    first = pipe.feed(positions(rows), reports)
    last = pipe.finish()
    events = pa.concat_tables([first.events, last.events])
    entries = events.filter(pc.equal(events["event_type"], "zone_entry")).to_pylist()
    import json

    types = {e["mmsi"]: json.loads(e["details"])["ship_type"] for e in entries}
    assert types == {fishing: 30, cargo: 70}
    assert first.positions["ship_type"].null_count == first.positions.num_rows  # as decoded
