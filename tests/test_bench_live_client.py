"""The fan-out bench's light client times a columnar frame by its first ``ts`` alone
(bench/serve_live.py ``_first_ts``): the same value a full parse of the frame gives."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

_BENCH = str(Path(__file__).parents[1] / "bench")
sys.path.insert(0, _BENCH)  # only while serve_live is imported: bench/store.py would
try:  # otherwise shadow tests/store for the test files that import from it later
    from serve_live import HIST_MS, _first_ts, _item_latencies_ms
finally:
    sys.path.remove(_BENCH)

_TS = st.datetimes().map(lambda t: t.isoformat() + "Z")


@given(st.lists(_TS, min_size=1, max_size=5), st.integers(0, 3), st.booleans())
def test_the_first_ts_is_the_one_a_full_parse_gives(
    ts: list[str], before: int, spaced: bool
) -> None:
    cols = {f"c{k}": list(range(len(ts))) for k in range(before)} | {
        "ts": ts,
        "lat": [1.5] * len(ts),
    }
    sep = (", ", ": ") if spaced else (",", ": ")
    frame = json.dumps(
        {"type": "positions", "marking": "U", "count": len(ts), "columns": cols}, separators=sep
    ).encode()
    assert _first_ts(frame) == json.loads(frame)["columns"]["ts"][0].encode()


def test_a_frame_without_ts_has_none() -> None:
    assert _first_ts(b'{"type": "positions", "count": 0, "columns": {}}') is None


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=50), st.integers(0, 3))
def test_a_sampled_frame_times_each_item_by_its_own_ts(offsets_ms: list[int], before: int) -> None:
    base = 1_800_000_000.0  # epoch seconds
    now = base + 2_000.0
    ts = [
        np.datetime_as_string(np.datetime64(int((base + ms / 1e3) * 1e6), "us")) + "Z"
        for ms in offsets_ms
    ]
    cols = {f"c{k}": list(range(len(ts))) for k in range(before)} | {"ts": ts, "lat": [1.5]}
    frame = json.dumps({"type": "positions", "count": len(ts), "columns": cols}).encode()
    got = _item_latencies_ms(frame, now)
    assert got is not None
    want = [min(HIST_MS, max(0, round(2_000_000 - ms))) for ms in offsets_ms]
    assert np.abs(got - np.asarray(want)).max() <= 1  # 1 ms bins, float rounding


def test_a_frame_without_items_has_no_latencies() -> None:
    assert _item_latencies_ms(b'{"type": "positions", "count": 0, "columns": {}}', 0.0) is None
    assert _item_latencies_ms(b'{"columns": {"ts": []}}', 0.0) is None
