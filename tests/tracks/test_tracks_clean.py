"""Cleaning: each reason at its edge, counts that add up, chunk invariance."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.tracks.clean import DROP_REASONS, CleanParams, CleanState, clean
from seawatch.tracks.layout import sorted_keys
from seawatch.tracks.segment import segment
from tracks.helpers import at, pos, positions

W = CleanParams().duplicate_window_s


def dropped(rows: list[dict[str, object]], **kw: object) -> dict[str, int]:
    res = clean(positions(rows), CleanParams(**kw))  # type: ignore[arg-type]
    assert res.positions.num_rows + sum(res.dropped.values()) == len(rows)
    return {k: v for k, v in res.dropped.items() if v}


def test_clean_input_is_untouched() -> None:
    rows = [pos(0, 1.0), pos(1, 1.1)]
    res = clean(positions(rows))
    assert res.positions.equals(positions(rows))
    assert set(res.dropped) == set(DROP_REASONS)
    assert sum(res.dropped.values()) == 0


def test_duplicate_within_the_window_is_dropped_and_beyond_kept() -> None:
    second = W / 3600
    assert dropped([pos(0, 1.0, station="a"), pos(second * 0.999, 1.0, station="b")]) == {
        "duplicate": 1
    }
    assert dropped([pos(0, 1.0), pos(second * 1.001, 1.0)]) == {}


def test_duplicates_need_the_same_position_speed_and_mmsi() -> None:
    assert dropped([pos(0, 1.0), pos(0, 1.000001)]) == {}
    assert dropped([pos(0, 1.0), pos(0, 1.0, speed_kn=0.1)]) == {}
    assert dropped([pos(0, 1.0), pos(0, 1.0, mmsi=2)]) == {}
    assert dropped([pos(0, 1.0), pos(0, 1.0), pos(0, 1.0)]) == {"duplicate": 2}


def test_invalid_positions_are_counted_by_first_reason() -> None:
    rows = [
        {"ts": None, "mmsi": 1, "lat": 1.0, "lon": 1.0},
        {"ts": at(0), "mmsi": None, "lat": 1.0, "lon": 1.0},
        pos(0, 1.0, lon=None),
        pos(0, 91.0),  # 'not available' kept as a number by a CSV export
        pos(0, 90.0),  # the pole itself is valid
        pos(0, 1.0, lon=181.0),
        pos(0, 1.0, lon=-180.0),
        pos(1, 0.0, lon=0.0),
    ]
    assert dropped(rows) == {
        "missing_ts": 1,
        "missing_mmsi": 1,
        "missing_position": 1,
        "lat_out_of_range": 1,
        "lon_out_of_range": 1,
        "null_island": 1,
    }
    assert dropped([pos(1, 0.0, lon=0.0)], drop_null_island=False) == {}


def test_speed_sentinels_are_nulled_and_noise_speeds_dropped() -> None:
    rows = [
        pos(0, 1.0, speed_kn=102.2),
        pos(1, 1.0, speed_kn=102.1),
        pos(2, 1.0, speed_kn=63.0, msg_type=27),
        pos(3, 1.0, speed_kn=63.0, msg_type=1),
        pos(4, 1.0, speed_kn=51.2),
        pos(5, 1.0, course_deg=360.0),
    ]
    res = clean(positions(rows))
    assert res.dropped["noise_speed"] == 1
    assert res.nulled == {"speed_not_available": 2, "course_not_available": 1}
    assert res.positions.column("speed_kn").to_pylist() == [None, 102.1, None, 63.0, 0.0]
    assert res.positions.column("course_deg").null_count == 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 80), data=st.data())
def test_chunking_does_not_change_what_is_kept(seed: int, n: int, data: st.DataObject) -> None:
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.integers(0, 20, n)) / 4  # many rows within a second of each other
    rows = [
        pos(float(s) / 3600, float(rng.integers(0, 2)), mmsi=int(rng.integers(1, 3)),
            line_no=k)
        for k, s in enumerate(seconds)
    ]  # fmt: skip
    table = positions(rows)
    whole = clean(table)
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=5)))
    state, kept = CleanState(), []
    for a, b in zip([0, *cuts], [*cuts, n], strict=True):
        res = clean(table.slice(a, b - a), state=state)
        state = res.state
        kept.extend(res.positions.column("line_no").to_pylist())
    assert kept == whole.positions.column("line_no").to_pylist()
    assert pa.array(kept, pa.int64()).equals(whole.positions.column("line_no").combine_chunks())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 80), ordered=st.booleans())
def test_order_is_the_segment_order_of_the_kept_rows(seed: int, n: int, ordered: bool) -> None:
    rng = np.random.default_rng(seed)
    seconds = rng.integers(0, 20, n) / 4
    seconds = np.sort(seconds) if ordered else seconds  # time-ordered or not
    rows = [
        pos(float(s) / 3600, float(rng.integers(0, 2)), mmsi=int(rng.integers(1, 4)),
            lon=float(rng.choice([0.0, 1.0, 200.0])), line_no=k)
        for k, s in enumerate(seconds)
    ]  # fmt: skip
    res = clean(positions(rows))
    out = res.positions
    ts = np.asarray(out.column("ts").cast(pa.int64()), dtype=np.int64)
    mmsi = np.asarray(out.column("mmsi").cast(pa.int64()), dtype=np.int64)
    assert res.order is not None
    assert res.order.tolist() == np.lexsort((ts, mmsi)).tolist()
    with_order, _ = segment(out, order=res.order)
    without, _ = segment(out)
    assert with_order.equals(without)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 80), data=st.data())
def test_segment_reads_cleans_keys_as_it_would_gather_them(
    seed: int, n: int, data: st.DataObject
) -> None:
    """Segment takes the kept rows' MMSIs and times in order from clean (the ``order``
    object it returned, with its table) instead of gathering them: chunk by chunk, states
    carried, duplicates and invalid rows dropped, the same ids and states as a copy of the
    order (another object: gathered)."""
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.integers(0, 40, n)) / 4
    rows = [
        pos(float(s) / 3600, float(rng.integers(0, 2)) / 10, mmsi=int(rng.integers(1, 4)),
            lon=float(rng.choice([0.0, 0.01, 200.0])), line_no=k)
        for k, s in enumerate(seconds)
    ]  # fmt: skip
    table = positions(rows)
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=4)))
    cstate, s_kept, s_gathered = CleanState(), None, None
    for a, b in zip([0, *cuts], [*cuts, n], strict=True):
        res = clean(table.slice(a, b - a), state=cstate)
        cstate = res.state
        assert res.order is not None
        assert sorted_keys(res.order, res.positions) is not None
        assert sorted_keys(res.order.copy(), res.positions) is None
        kept, s_kept = segment(res.positions, s_kept, order=res.order)
        gathered, s_gathered = segment(res.positions, s_gathered, order=res.order.copy())
        assert kept.equals(gathered)
        for f in ("mmsi", "seg", "n", "depth", "ts", "point", "tclass"):
            assert np.array_equal(getattr(s_kept, f), getattr(s_gathered, f))
