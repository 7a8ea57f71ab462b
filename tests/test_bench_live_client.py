"""The fan-out bench's light client times a columnar frame by its first ``ts`` alone
(bench/serve_live.py ``_first_ts``): the same value a full parse of the frame gives."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from serve_live import _first_ts

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
