"""The encounter grid computed task by task equals the grid of whole tracks.

A (day, bucket) task resamples only the rows it released, with the lookback its bucket's
previous task left (seawatch.engine.encounter_grid); every grid point must come out once,
equal to what resampling each whole track gives, wherever the tasks are cut; and the
close steps of a slot read from those points equal the encounter rule's own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.engine.encounter_grid import GRID_SCHEMA, GridTail, grid_points, slot_close_steps
from seawatch.events import encounter
from seawatch.events.tracks_in import US_PER_S, prepare

PARAMS = encounter.EncounterParams()
STEP_US = PARAMS.step_s * US_PER_S
T0 = 1_748_736_000 * US_PER_S  # 2025-06-01T00:00Z


def _positions(draw: Any) -> pa.Table:
    """A few vessels' tracks near one spot: steps around the 10-minute grid and the 1-hour
    gap, equal times, several segments of one MMSI, two vessels on one track."""
    rows: list[tuple[int, int, float, float, int]] = []
    for v in range(draw(st.integers(1, 4))):
        mmsi = 200_000_000 + v
        t = T0 + draw(st.integers(0, 18)) * 600 * US_PER_S  # often right on a grid step
        for _ in range(draw(st.integers(0, 40))):
            t += draw(st.sampled_from([0, 1, 60, 599, 600, 601, 1800, 3600, 3601, 5000])) * US_PER_S
            t += draw(st.sampled_from([0, 0, 0, 1])) * US_PER_S
            seg = mmsi * 10 + draw(st.integers(0, 1))
            lat = 10.0 + draw(st.integers(0, 20)) * 1e-3
            lon = 60.0 + draw(st.integers(0, 20)) * 1e-3 + v * 1e-4
            rows.append((t, mmsi, lat, lon, seg))
    rows.sort(key=lambda r: r[0])
    ts, mmsi, lat, lon, seg = (list(c) for c in zip(*rows, strict=True)) if rows else ([],) * 5
    return pa.table(
        {
            "ts": pa.array(ts, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "mmsi": pa.array(mmsi, pa.int64()),
            "lat": pa.array(lat, pa.float64()),
            "lon": pa.array(lon, pa.float64()),
            "segment_id": pa.array(seg, pa.int64()),
        }
    )


@st.composite
def tracks_and_cuts(draw: Any) -> tuple[pa.Table, list[int]]:
    table = _positions(draw)
    n = table.num_rows
    cuts = sorted(set(draw(st.lists(st.integers(0, n), max_size=4))))
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    # a task releases rows in time order: never cut between two rows of the same time
    cuts = [c for c in cuts if 0 < c < n and ts[c] != ts[c - 1]]
    return table, cuts


def _by_task(table: pa.Table, cuts: list[int]) -> tuple[list[pa.Table], GridTail]:
    """The grid points of ``table`` cut into tasks at ``cuts``, each resuming the last."""
    tail, parts = GridTail(), []
    for a, b in zip([0, *cuts], [*cuts, table.num_rows], strict=True):
        points, tail = grid_points(tail, table.slice(a, b - a), PARAMS, 0)
        parts.append(points)
    return parts, tail


def _sorted(points: pa.Table) -> list[tuple[Any, ...]]:
    return sorted(zip(*(points.column(n).to_pylist() for n in GRID_SCHEMA.names), strict=True))


@settings(max_examples=200, deadline=None)
@given(tracks_and_cuts())
def test_the_grid_computed_task_by_task_is_the_grid_of_whole_tracks(
    case: tuple[pa.Table, list[int]],
) -> None:
    table, cuts = case
    whole, _ = grid_points(GridTail(), table, PARAMS, 0)
    parts, tail = _by_task(table, cuts)
    assert _sorted(pa.concat_tables([GRID_SCHEMA.empty_table(), *parts])) == _sorted(whole)
    # and the tail stays bounded: rows within the lookback of the newest only
    if tail.rows is not None and tail.rows.num_rows:
        t = tail.rows.column("ts").cast(pa.int64()).to_numpy()
        assert t.min() >= t.max() - 2 * 3600 * US_PER_S - STEP_US


@settings(max_examples=100, deadline=None)
@given(tracks_and_cuts())
def test_a_slots_close_steps_from_grid_points_are_the_rules_own(
    case: tuple[pa.Table, list[int]],
) -> None:
    table, cuts = case
    parts, _ = _by_task(table, cuts)
    got = slot_close_steps(parts, PARAMS, -(2**40), 2**40)
    rows = table.sort_by([(n, "ascending") for n in ("mmsi", "ts", "segment_id", "lat", "lon")])
    kd = prepare(rows, None, {}, watermark_us=0)
    if not len(kd.ts_us):
        assert got is None
        return
    gk, gs, glat, glon, gv, _, p, q, d = encounter._close_steps(kd, PARAMS)
    keys = np.asarray(kd.keys.cast(pa.int64()).to_numpy(), np.int64)
    want = sorted(
        zip(keys[gk[p]], keys[gk[q]], gs[p], glat[p], glon[p], gv[p], glat[q], gv[q], d,
            strict=True)
    )  # fmt: skip
    have = [] if got is None else sorted(
        zip(got["key_a"], got["key_b"], got["step"], got["lat_a"], got["lon_a"],
            got["speed_kn_a"], got["lat_b"], got["speed_kn_b"], got["distance_m"], strict=True)
    )  # fmt: skip
    assert have == want


def test_the_lookback_holds_the_row_before_the_pair_across_a_cut() -> None:
    """A pair (a, b) across the cut whose a is on a grid step: whether its first point is
    a's step depends on the row before a, an hour earlier, older than an hour before the
    newest row of the previous task (another vessel's)."""
    s = US_PER_S
    rows = [(T0, 1, 10.0), (T0 + 3600 * s, 1, 10.01), (T0 + 3601 * s, 2, 10.0),
            (T0 + 5400 * s, 1, 10.02)]  # fmt: skip
    table = pa.table(
        {
            "ts": pa.array([r[0] for r in rows], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "mmsi": pa.array([200_000_000 + r[1] for r in rows], pa.int64()),
            "lat": pa.array([r[2] for r in rows]),
            "lon": pa.array([60.0] * len(rows)),
            "segment_id": pa.array([r[1] for r in rows], pa.int64()),
        }
    )
    whole, _ = grid_points(GridTail(), table, PARAMS, 0)
    first, tail = grid_points(GridTail(), table.slice(0, 3), PARAMS, 0)
    second, _ = grid_points(tail, table.slice(3), PARAMS, 0)
    assert _sorted(pa.concat_tables([first, second])) == _sorted(whole)
    assert whole.num_rows == 10  # steps T0 .. T0 + 1.5 h of vessel 1, each once
