"""Detectors grouping a segmented chunk from tracks.segment's layout find the same events.

``tracks.segment`` keeps its (mmsi, ts) layout (:mod:`seawatch.tracks.layout`), and the
detectors given its table group rows from it instead of hashing and sorting. The same rows
in a table of fresh arrays (no layout) are grouped the old way: the events must be the
same, row order aside, and each track's rows the same in the same order.
"""

from __future__ import annotations

import importlib

import numpy as np
import pyarrow as pa
import pytest
from evtools import MIN, T0, TS

from seawatch import tracks
from seawatch.engine.pipeline import DETECTORS
from seawatch.events.schema import sort_events
from seawatch.events.tracks_in import Keyed, _clean, prepare
from seawatch.tracks import layout

POSITION_DETECTORS = [name for name, table in DETECTORS if table == "positions"]


def _fleet(seed: int, jumpy: int = 0) -> pa.Table:
    """Vessels sailing, stopping and meeting, with equal times, teleports (new segments)
    and noise (type 27 messages close to others: null ids); ``jumpy`` extra points of one
    MMSI, each far from the one before."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, float, float, float, float]] = []
    for v in range(12):
        mmsi = 219_000_000 + v * 7 + (v % 3)
        lat, lon = 55.0 + 0.01 * (v % 4), 11.0 + 0.01 * (v // 4)
        t = T0 + int(rng.integers(0, 30)) * MIN
        for _ in range(int(rng.integers(40, 90))):
            t += int(rng.choice([0, 1, 2, 5, 20, 400])) * MIN  # equal times, gaps
            if rng.random() < 0.05:  # a teleport: another segment
                lat, lon = lat + rng.choice([-1, 1]) * 2.0, lon + rng.choice([-1, 1]) * 2.0
            moving = rng.random() < 0.6
            lat += 0.002 * moving * rng.standard_normal()
            lon += 0.002 * moving * rng.standard_normal()
            rows.append((t, mmsi, lat, lon, 6.0 * moving, float(rng.uniform(0, 360))))
    for k in range(jumpy):
        lat = 10.0 + 3.0 * (k % 20)
        rows.append((T0 + k * MIN, 366_000_001, lat, -30.0 + 7.0 * (k % 9), 10.0, 90.0))
    rows.sort(key=lambda r: r[0])  # time-ordered, as chunks arrive
    ts, mmsi, lat, lon, speed, course = zip(*rows, strict=True)
    return pa.table(
        {
            "ts": pa.array(ts, pa.int64()).cast(TS),
            "mmsi": pa.array(mmsi, pa.int32()),
            "lat": pa.array(lat, pa.float64()),
            "lon": pa.array(lon, pa.float64()),
            "speed_kn": pa.array(speed, pa.float64()),
            "course_deg": pa.array(course, pa.float64()),
            "msg_type": pa.array(np.where(rng.random(len(rows)) < 0.05, 27, 1), pa.int32()),
        }
    )


def _fresh(table: pa.Table) -> pa.Table:
    """The same rows in new arrays: no layout applies."""
    out = pa.table({n: pa.concat_arrays([c.combine_chunks(), c.combine_chunks()[:0]])
                    for n, c in zip(table.column_names, table.columns, strict=True)})  # fmt: skip
    assert layout.sorted_rows(out) is None
    return out


@pytest.mark.parametrize(("seed", "jumpy"), [(1, 0), (2, 0), (3, 90)])
def test_detectors_from_the_layout_find_the_same_events(seed: int, jumpy: int) -> None:
    raw = _fleet(seed, jumpy)
    cut = raw.num_rows // 2
    cstate = sstate = None
    states: dict[str, dict[str, object]] = {"layout": {}, "fresh": {}}
    found: dict[str, dict[str, list[pa.Table]]] = {"layout": {}, "fresh": {}}
    for part in (raw.slice(0, cut), raw.slice(cut)):
        res = tracks.clean(part, state=cstate)
        cstate = res.state
        pos, sstate = tracks.segment(res.positions, sstate, order=res.order)
        assert layout.sorted_rows(pos) is not None
        for side, table in (("layout", pos), ("fresh", _fresh(pos))):
            for name in POSITION_DETECTORS:
                module = importlib.import_module(f"seawatch.events.{name}")
                ev, states[side][name] = module.detect(
                    table, state=states[side].get(name), open_events=False
                )
                found[side].setdefault(name, []).append(ev)
    for name in POSITION_DETECTORS:  # the end of the data: events still open
        module = importlib.import_module(f"seawatch.events.{name}")
        for side in ("layout", "fresh"):
            ev, _ = module.detect(pos.schema.empty_table(), state=states[side][name])
            found[side][name].append(ev)
        got, want = (sort_events(pa.concat_tables(found[s][name])) for s in ("layout", "fresh"))
        assert got.equals(want), name
    assert sum(pa.concat_tables(found["fresh"][n]).num_rows for n in POSITION_DETECTORS) > 0


@pytest.mark.parametrize("key", ["auto", "mmsi"])
@pytest.mark.parametrize("jumpy", [0, 90])
def test_each_track_has_the_same_rows_in_the_same_order(key: str, jumpy: int) -> None:
    res = tracks.clean(_fleet(4, jumpy))
    pos, _ = tracks.segment(res.positions, order=res.order)
    a, b = prepare(pos, None, {}, key=key), prepare(_fresh(pos), None, {}, key=key)
    assert a.by_segment == b.by_segment == (key == "auto")
    assert a.rows.num_rows == b.rows.num_rows
    assert _per_track(a) == _per_track(b)


def _per_track(kd: Keyed) -> dict[object, list[tuple[int, float, float, int]]]:
    out: dict[object, list[tuple[int, float, float, int]]] = {}
    keys = kd.keys.to_pylist()
    for r, t in enumerate(kd.track.tolist()):
        row = (int(kd.ts_us[r]), float(kd.lat[r]), float(kd.lon[r]), int(kd.order[r]))
        out.setdefault(keys[t], []).append(row)
    return out


@pytest.mark.parametrize(
    ("lat", "lon", "ts_null", "kept"),
    [
        (55.0, 11.0, False, 3),  # every row fit: the table itself
        (90.0, -180.0, False, 3),  # the limits are on the Earth
        (90.5, 11.0, False, 2),
        (55.0, -180.5, False, 2),
        (float("nan"), 11.0, False, 2),
        (55.0, 11.0, True, 2),
    ],
)
def test_detectors_drop_the_rows_off_the_earth_or_without_a_time(
    lat: float, lon: float, ts_null: bool, kept: int
) -> None:
    t = pa.table(
        {
            "ts": pa.array([T0, T0 + MIN, None if ts_null else T0 + 2 * MIN], pa.int64()).cast(TS),
            "mmsi": pa.array([1, 1, 1], pa.int64()),
            "lat": pa.array([55.0, 55.1, lat]),
            "lon": pa.array([11.0, 11.1, lon]),
        }
    )
    out = _clean(t)
    assert out.num_rows == kept
    assert (out is t) == (kept == 3)


@pytest.mark.parametrize("key", ["auto", "mmsi"])
@pytest.mark.parametrize("jumpy", [0, 90])
def test_speeds_from_the_layout_are_the_columns_in_track_order(key: str, jumpy: int) -> None:
    raw = _fleet(5, jumpy)
    speed = raw["speed_kn"].to_numpy()
    nulls = np.arange(raw.num_rows) % 7 == 3  # unknown speeds: NaN, as a gather gives
    raw = raw.set_column(4, "speed_kn", pa.array(speed, mask=nulls))
    res = tracks.clean(raw)
    pos, _ = tracks.segment(res.positions, order=res.order)
    kd = prepare(pos, None, {}, key=key)
    # from the layout, not gathered (an MMSI with > 64 segments in a chunk: grouped as before)
    assert (kd.speed_kn is not None) == (jumpy == 0 or key == "mmsi")
    got = kd.column("speed_kn")
    want = np.asarray(kd.rows.column("speed_kn").to_numpy(), np.float64)[kd.order]
    assert np.isnan(want).any()
    np.testing.assert_array_equal(got, want)
    assert got is not kd.speed_kn  # a copy: the caller may write it
    assert prepare(_fresh(pos), None, {}, key=key).speed_kn is None
    # speed_kn replaced after segmentation: read from the table, not the layout
    other = pos.set_column(pos.column_names.index("speed_kn"), "speed_kn",
                           pa.array(np.arange(pos.num_rows, dtype=np.float64)))  # fmt: skip
    c = prepare(other, None, {}, key=key)
    assert c.speed_kn is None
    replaced = np.asarray(c.rows.column("speed_kn").to_numpy(), np.float64)[c.order]
    np.testing.assert_array_equal(c.column("speed_kn"), replaced)
