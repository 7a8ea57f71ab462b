"""JSON text of a page written by Arrow: byte for byte what json.dumps of the items writes."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.labels.label import parse_label
from seawatch.labels.policy import Policy
from seawatch.serve.render import items
from seawatch.serve.render_json import items_json
from seawatch.settings import load_settings

POLICY = Policy.from_settings(load_settings(env={}))
LABELS = {
    1: parse_label("UNCLASSIFIED", POLICY),
    7: parse_label("SECRET//REL TO USA, GBR", POLICY),
}
TS = pa.timestamp("us", tz="UTC")


def _same(rows: pa.Table) -> str:
    got = items_json(rows, LABELS)
    assert got is not None
    assert got.decode() == json.dumps(items(rows, LABELS))
    return got.decode()


def test_a_page_of_positions_is_what_json_dumps_writes() -> None:
    rng = np.random.default_rng(3)
    n = 2_000
    t0 = datetime(2025, 6, 1, tzinfo=UTC)
    rows = pa.table(
        {
            "ts": pa.array([t0 + timedelta(seconds=int(s)) for s in rng.integers(0, 86400, n)], TS),
            "mmsi": pa.array(rng.integers(200_000_000, 800_000_000, n), pa.int32()),
            "msg_type": pa.array(rng.integers(1, 4, n), pa.int8()),
            "lat": rng.uniform(-90, 90, n),
            "lon": rng.uniform(-180, 180, n),
            "speed_kn": rng.uniform(0, 30, n).round(1),
            "course_deg": np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0, 360, n)),
            "heading_deg": pa.array(
                [None if h == 511 else int(h) for h in rng.integers(0, 512, n)], pa.int16()
            ),
            "accuracy": pa.array(rng.random(n) < 0.5),
            "station": pa.array(["rx-1" if i % 3 else None for i in range(n)], pa.string()),
            "label_id": pa.array(np.where(rng.random(n) < 0.5, 1, 7), pa.int32()),
        }
    )
    text = _same(rows)
    assert json.loads(text)[0]["label"] in {lb.marking for lb in LABELS.values()}


def test_edge_values_are_written_as_python_writes_them() -> None:
    rows = pa.table(
        {
            "event_id": ["a", 'quote " and \\ back', "café\n\t\x01", ""],
            "start_ts": pa.array(
                [
                    datetime(2025, 6, 1, 0, 0, 5, tzinfo=UTC),
                    datetime(2025, 6, 1, 0, 0, 5, 123000, tzinfo=UTC),
                    datetime(2025, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
                    None,
                ],
                TS,
            ),
            "x": [1e-5, 1e12, -0.0, 5e-324],
            "y": [float("nan"), float("inf"), -float("inf"), 1.7976931348623157e308],
            "z": [90.0, 1e9, 999999999.9999999, 0.0001],
            "flag": [True, None, False, True],
            "ids": pa.array([["1", "2"], [], None, ["é"]], pa.list_(pa.string())),
            "nothing": pa.nulls(4),
            "never": pa.nulls(4, TS),
            "none_text": pa.nulls(4, pa.string()),
            "none_number": pa.nulls(4, pa.float64()),
            "label_id": pa.array([1, 7, 1, 7], pa.int32()),
        }
    )
    _same(rows)
    assert items_json(rows.slice(0, 0), LABELS) == b"[]"


def test_other_types_are_left_to_the_row_by_row_writer() -> None:
    naive = pa.table(
        {
            "ts": pa.array([datetime(2025, 6, 1, 1, 2, 3)], pa.timestamp("us")),  # noqa: DTZ001
            "label_id": pa.array([1], pa.int32()),
        }
    )
    assert items_json(naive, LABELS) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
            st.one_of(st.none(), st.text(max_size=8)),
            st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_doubles_strings_and_integers(
    values: list[tuple[float | None, str | None, int | None]],
) -> None:
    rows = pa.table(
        {
            "d": pa.array([v[0] for v in values], pa.float64()),
            "s": pa.array([v[1] for v in values], pa.string()),
            "i": pa.array([v[2] for v in values], pa.int64()),
            "label_id": pa.array([1] * len(values), pa.int32()),
        }
    )
    text = _same(rows)
    for got, (d, _, _) in zip(json.loads(text), values, strict=True):
        assert got["d"] == (d if d is not None and math.isfinite(d) else None)
