"""Segmentation: thresholds at their edges, shared MMSIs, and chunk invariance."""

from __future__ import annotations

import math
import sys

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.errors import InputError
from seawatch.tracks.schemas import SEGMENT_ID
from seawatch.tracks.segment import SegmenterState, SegmentParams, segment
from tracks.helpers import NM_DEG, pos, positions

P = SegmentParams()
seg_module = sys.modules["seawatch.tracks.segment"]  # the module (the package names the function)
ALLOWED_1H_NM = math.hypot(1.0, P.buffer_hours) * P.max_speed_kn  # 25.77 nm after 1 h


def ids(rows: list[dict[str, object]], params: SegmentParams = P) -> list[int | None]:
    out, _ = segment(positions(rows), params=params)
    return out.column("segment_id").to_pylist()


def n_segments(rows: list[dict[str, object]], params: SegmentParams = P) -> int:
    return len(set(ids(rows, params)))


def test_jump_just_under_the_allowed_distance_stays_in_the_segment() -> None:
    rows = [pos(0, 0.0), pos(1, (ALLOWED_1H_NM - 0.05) * NM_DEG)]
    assert n_segments(rows) == 1


def test_jump_just_over_the_allowed_distance_opens_a_segment() -> None:
    rows = [pos(0, 0.0), pos(1, (ALLOWED_1H_NM + 0.05) * NM_DEG)]
    assert n_segments(rows) == 2


def test_dead_reckoning_allows_a_fast_straight_run() -> None:
    # 40 kn due north for 1 h: far beyond 25 kn, but exactly where the ship said it was going
    rows = [
        pos(0, 0.0, speed_kn=40.0, course_deg=0.0),
        pos(1, 40 * NM_DEG, speed_kn=40.0, course_deg=0.0),
    ]
    assert n_segments(rows) == 1


def test_silence_up_to_max_gap_keeps_the_segment_and_beyond_closes_it() -> None:
    assert n_segments([pos(0, 0.0), pos(P.max_gap_hours - 1e-3, 0.0)]) == 1
    assert n_segments([pos(0, 0.0), pos(P.max_gap_hours + 1e-3, 0.0)]) == 2


def test_two_ships_sharing_an_mmsi_become_two_segments() -> None:
    rows = []
    for k in range(20):  # alternate reports 600 nm apart, each ship steady
        rows.append(pos(k * 0.1, 10.0 + k * 0.001, 80.0))
        rows.append(pos(k * 0.1 + 0.05, 20.0 - k * 0.001, 80.0))
    got = ids(rows)
    assert len(set(got)) == 2
    assert len(set(got[0::2])) == 1
    assert len(set(got[1::2])) == 1


def test_impossible_jump_is_isolated() -> None:
    rows = [pos(k * 0.1, 0.0) for k in range(10)]
    rows.insert(5, pos(0.45, 30.0))  # one report 1800 nm away
    got = ids(rows)
    assert len(set(got)) == 2
    assert sum(1 for g in got if g == got[5]) == 1


def test_type_27_near_other_positions_is_noise_but_alone_is_kept() -> None:
    near = ids([pos(0, 0.0), pos(P.min_type_27_hours - 0.01, 0.0, msg_type=27)])
    assert near[1] is None
    far = ids([pos(0, 0.0), pos(P.min_type_27_hours + 0.01, 0.0, msg_type=27)])
    assert far[0] == far[1]


def test_class_mismatch_breaks_ties_between_candidates() -> None:
    # Class A and Class B ships 10 nm apart; a Class B report 5.5 nm from A, 4.5 nm from B
    rows = [
        pos(0, 0.0, msg_type=1), pos(0, 10 * NM_DEG, msg_type=18),
        pos(1, 5.5 * NM_DEG, msg_type=18),
    ]  # fmt: skip
    got = ids(rows)
    assert got[2] == got[1]  # the mismatch weight makes B clearly the better candidate
    same = ids(rows, SegmentParams(transponder_mismatch_weight=1.0))
    assert len(set(same)) == 3  # without it: ambiguous, both close and a new one opens


def test_output_schema_is_the_positions_schema_plus_segment_id() -> None:
    table = positions([pos(1, 0.0), pos(0, 0.0)])
    out, _ = segment(table)
    assert out.schema == table.schema.append(SEGMENT_ID)
    assert out.column("ts").to_pylist() == table.column("ts").to_pylist()  # input order
    again, _ = segment(out)  # re-segmenting replaces the column
    assert again.schema == out.schema


def test_segment_ids_are_stable_hashes_of_the_first_point() -> None:
    a = ids([pos(0, 0.0), pos(1, 0.0)])
    b = ids([pos(0, 0.0), pos(1, 0.0), pos(2, 0.0)])
    assert a[0] == b[0]
    assert a[0] is not None
    assert a[0] > 0


def test_max_open_segments_closes_the_longest_silent() -> None:
    params = SegmentParams(max_open_segments=2)
    rows = [pos(0, 0.0), pos(0.01, 10.0), pos(0.02, 20.0), pos(0.03, 0.0)]
    got = ids(rows, params)
    assert len(set(got)) == 4  # the first segment was closed when the third opened


def test_lookback_skips_a_noisy_point_instead_of_splitting_the_track() -> None:
    # hourly reports at lat 0; a report 12 nm off at 3.9 h (the only candidate: it joins);
    # at 4.0 h the track is back, 12 nm from that point in 0.1 h (allowed: 6.7 nm)
    rows = [pos(h, 0.0) for h in range(4)] + [pos(3.9, 12 * NM_DEG), pos(4.0, 0.0)]
    rows += [pos(5.0, 0.0)]
    assert len(set(ids(rows, SegmentParams(lookback=1)))) == 2  # last point only: split
    got = ids(rows)  # the 4.0 h report follows the 3.0 h one, skipping the noisy point
    assert len(set(got)) == 1
    _, state = segment(positions(rows))
    assert state.depth.tolist() == [5]  # the skipped point left the window
    assert state.point[0, : state.depth[0], 0].tolist() == [0.0] * 5


def test_lookback_window_crosses_chunks() -> None:
    rows = [pos(h, 0.0) for h in range(4)] + [pos(3.9, 12 * NM_DEG), pos(4.0, 0.0)]
    _, state = segment(positions(rows[:5]))
    out, _ = segment(positions(rows[5:]), state)  # the next day: still follows 3.0 h
    assert out.column("segment_id").to_pylist() == ids(rows)[5:]


def test_gpsdio_2019_scoring_allows_less_distance_after_a_long_silence() -> None:
    # after 10 h develop allows hypot(10, 0.25) x 25 = 250 nm; the 2019 release penalises
    # the hours first: (10 + 1/12) / (1 + sqrt(10)) x 25 = 61 nm
    rows = [pos(0, 0.0), pos(10, 100 * NM_DEG)]
    assert n_segments(rows) == 1
    assert n_segments(rows, SegmentParams.gpsdio_2019()) == 2
    assert n_segments([pos(0, 0.0), pos(10, 55 * NM_DEG)], SegmentParams.gpsdio_2019()) == 1


def test_bad_params_and_a_state_of_other_params_are_input_errors() -> None:
    with pytest.raises(InputError, match="scoring"):
        SegmentParams(scoring="newest")
    with pytest.raises(InputError, match="lookback"):
        SegmentParams(lookback=0)
    _, state = segment(positions([pos(0, 0.0)]))
    with pytest.raises(InputError, match="same SegmentParams"):
        segment(positions([pos(1, 0.0)]), state, SegmentParams(lookback=2))


def test_nulls_and_unordered_chunks_are_input_errors() -> None:
    with pytest.raises(InputError, match="clean"):
        segment(positions([pos(0, 0.0), {"ts": None, "mmsi": 1, "lat": 0.0, "lon": 0.0}]))
    _, state = segment(positions([pos(5, 0.0)]))
    with pytest.raises(InputError, match="time-ordered"):
        segment(positions([pos(1, 0.0)]), state)


def test_open_until_drops_only_segments_that_cannot_match() -> None:
    _, state = segment(positions([pos(0, 0.0, mmsi=1), pos(20, 0.0, mmsi=2)]))
    t = int(positions([pos(30, 0.0)]).column("ts").cast(pa.int64())[0].as_py())
    assert len(state) == 2
    assert len(state.open_until(t)) == 1


def test_state_keeps_only_segments_that_can_still_match() -> None:
    """The state is bounded by the last max_gap_hours of traffic, not the input's length."""
    _, state = segment(positions([pos(0, 0.0, mmsi=1), pos(30, 0.0, mmsi=2)]))
    assert state.mmsi.tolist() == [2]  # MMSI 1, silent 30 h > 24 h, can never match again


def test_state_of_many_mmsis_carries_every_window() -> None:
    rows = [pos(0.01 * k, float(k % 7), float(k), mmsi=200_000_000 + k) for k in range(300)]
    first, state = segment(positions(rows))
    assert len(state) == 300
    assert state.ts.shape == (300, P.lookback)
    again, _ = segment(positions([pos(5, 0.0, 0.0, mmsi=200_000_000)]), state)
    assert again.column("segment_id")[0] == first.column("segment_id")[0]


def _random_track(seed: int, n: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    hours = np.sort(rng.uniform(0, 72, n))
    rows = [
        pos(
            float(h), float(rng.uniform(-2, 2)), float(rng.uniform(-2, 2)),
            mmsi=int(rng.integers(1, 4)), speed_kn=float(rng.uniform(0, 20)),
            course_deg=float(rng.uniform(0, 360)),
            msg_type=int(rng.choice([1, 18, 27])),
        )
        for h in hours
    ]  # fmt: skip
    return positions(rows)


CHUNKED_PARAMS = [SegmentParams(), SegmentParams(lookback=1), SegmentParams.gpsdio_2019()]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1), n=st.integers(0, 120), data=st.data(),
    params=st.sampled_from(CHUNKED_PARAMS),
)  # fmt: skip
def test_chunking_does_not_change_segment_ids(
    seed: int, n: int, data: st.DataObject, params: SegmentParams
) -> None:
    table = _random_track(seed, n)
    whole, _ = segment(table, params=params)
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=6)))
    state = SegmenterState.empty(params.lookback)
    parts = []
    for a, b in zip([0, *cuts], [*cuts, n], strict=True):
        out, state = segment(table.slice(a, b - a), state, params)
        parts.append(out)
    chunked = pa.concat_tables([whole.slice(0, 0), *parts])
    assert chunked.num_rows == whole.num_rows
    assert by_point(chunked) == by_point(whole)


def by_point(table: pa.Table) -> dict[tuple[object, ...], object]:
    cols = table.select(["mmsi", "ts", "lat", "segment_id"]).to_pylist()
    return {(r["mmsi"], r["ts"], r["lat"]): r["segment_id"] for r in cols}


def _states_equal(a: SegmenterState, b: SegmenterState) -> bool:
    return all(
        np.array_equal(getattr(a, f), getattr(b, f)) for f in ("mmsi", "seg", "n", "depth")
    ) and all(
        np.array_equal(np.where(d[:, :, None] if x.ndim == 3 else d, x, 0),
                       np.where(d[:, :, None] if y.ndim == 3 else d, y, 0))
        for x, y, d in ((a.ts, b.ts, _valid(a)), (a.point, b.point, _valid(a)),
                        (a.tclass, b.tclass, _valid(a)))
    )  # fmt: skip


def _valid(state: SegmenterState) -> np.ndarray:
    """Which window slots hold a point (the rest is left over and means nothing)."""
    return np.arange(state.ts.shape[1])[None, :] < state.depth[:, None]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_a_small_chunk_among_many_open_segments_matches_the_whole_state(
    seed: int, data: st.DataObject
) -> None:
    """A chunk of a few MMSIs among many open segments runs the matcher on their rows only
    and splices them back (a live batch): ids and state equal the whole state's run."""
    rng = np.random.default_rng(seed)
    fleet = [pos(float(h), float(rng.uniform(-2, 2)), float(rng.uniform(-2, 2)),
                 mmsi=int(m), speed_kn=float(rng.uniform(0, 20)))
             for h, m in zip(np.sort(rng.uniform(0, 1, 400)), rng.integers(1, 150, 400),
                             strict=True)]  # fmt: skip
    _, state = segment(positions(fleet))
    batch = [pos(float(h), float(rng.uniform(-2, 2)), float(rng.uniform(-2, 2)),
                 mmsi=int(m), speed_kn=float(rng.uniform(0, 20)), msg_type=int(t))
             for h, m, t in zip(np.sort(rng.uniform(1, 3, 12)),
                                data.draw(st.lists(st.integers(0, 160), min_size=12, max_size=12)),
                                rng.choice([1, 18, 27], 12), strict=True)]  # fmt: skip
    chunk = positions(batch)
    got = {}
    for splice in (True, False, "in place"):
        seg_module.SPLICE_MIN_ROWS, before = (0 if splice else 10**9), seg_module.SPLICE_MIN_ROWS
        given = _copied(state) if splice == "in place" else state
        try:
            got[splice] = segment(chunk, given, in_place=splice == "in place")
        finally:
            seg_module.SPLICE_MIN_ROWS = before
    for splice in (True, "in place"):
        assert by_point(got[splice][0]) == by_point(got[False][0])
        assert _states_equal(got[splice][1], got[False][1])
        assert np.all(np.diff(got[splice][1].mmsi) >= 0)


def _copied(state: SegmenterState) -> SegmenterState:
    return SegmenterState(*(getattr(state, f).copy() for f in seg_module._STATE_FIELDS))


def test_a_live_batch_of_known_vessels_is_spliced_in_place() -> None:
    """The pipeline's state (``in_place``): a batch whose vessels keep their segments is
    written into the state's own arrays, with the same ids and state as a copy's."""
    fleet = [pos(h / 60, 10.0 + m / 10 + h / 6000, 20.0, mmsi=m, speed_kn=6.0)
             for h in range(3) for m in range(1, 60)]  # fmt: skip
    _, state = segment(positions(fleet))
    batch = positions([pos(3 / 60 + m / 6000, 10.0 + m / 10 + 3 / 6000, 20.0, mmsi=m,
                           speed_kn=6.0) for m in (5, 17, 42)])  # fmt: skip
    got = {}
    for in_place in (False, True):
        seg_module.SPLICE_MIN_ROWS, before = 0, seg_module.SPLICE_MIN_ROWS
        given = _copied(state)
        try:
            got[in_place] = segment(batch, given, in_place=in_place)
        finally:
            seg_module.SPLICE_MIN_ROWS = before
        assert (got[in_place][1] is given) == in_place
    assert by_point(got[True][0]) == by_point(got[False][0])
    assert _states_equal(got[True][1], got[False][1])
    assert got[True][0].column("segment_id").null_count == 0
