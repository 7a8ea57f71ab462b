"""Release rules: validated when read, matched per record in Arrow (first rule wins), deny
unless a rule releases; bounding boxes across the antimeridian; delays by record time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from seawatch.errors import ConfigError
from seawatch.labels import Policy, parse_label
from seawatch.share.rules import Rules, make_rule, parse_delay
from seawatch.store import TABLES

NOW = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)
POLICY = Policy(node_nation="IND")


def positions(lons: list[float], ages_h: list[float], label_ids: list[int]) -> pa.Table:
    n = len(lons)
    rows = {
        "lat": [10.0] * n,
        "lon": lons,
        "mmsi": pa.array([1] * n, pa.int32()),
        "ts": pa.array([NOW - dt.timedelta(hours=h) for h in ages_h], pa.timestamp("us", "UTC")),
        "label_id": pa.array(label_ids, pa.int32()),
    }
    return TABLES["positions"].conform(pa.table(rows))


def test_delays() -> None:
    assert [parse_delay(t) for t in ("90", "90s", "30m", "6h", "2d", "1.5h")] == [
        90, 90, 1800, 21600, 172800, 5400
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="6h"):
        parse_delay("six hours")


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ({}, "'peer'"),
        ({"peer": "p", "colour": "red"}, "unknown key"),
        ({"peer": "p", "bbox": [1, 2, 3]}, "bbox"),
        ({"peer": "p", "bbox": [0, 50, 10, 40]}, "bbox"),
        ({"peer": "p", "types": "positions"}, "list of names"),
        ({"peer": "p", "delay_s": -1}, "negative"),
    ],
)
def test_bad_rules_are_refused(row: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        make_rule(row)


def test_first_match_in_order_and_deny_by_default(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    rules = Rules.load(path)
    rules.append(make_rule({"peer": "usa", "bbox": [170.0, 0.0, -170.0, 20.0]}))  # across 180°
    rules.append(make_rule({"peer": "usa", "marking": "CONFIDENTIAL//REL TO IND, USA",
                            "delay_s": 6 * 3600}))  # fmt: skip
    rules.append(make_rule({"peer": "jpn"}))
    again = Rules.load(path)
    assert again.rules == rules.rules
    labels = {
        1: parse_label("UNCLASSIFIED", POLICY),
        2: parse_label("CONFIDENTIAL//REL TO IND, USA", POLICY),
    }
    rows = positions(
        lons=[175.0, -175.0, 0.0, 0.0, 0.0],
        ages_h=[0, 0, 7, 1, 7],
        label_ids=[1, 1, 2, 2, 1],
    )
    got = again.first_match("usa", "positions", rows, labels, POLICY, "IND", NOW)
    assert got.to_pylist() == [1, 1, 2, 0, 0]
    got = again.first_match("jpn", "positions", rows, labels, POLICY, "IND", NOW)
    assert got.to_pylist() == [3] * 5
    assert (
        again.first_match("gbr", "positions", rows, labels, POLICY, "IND", NOW).to_pylist()
        == [0] * 5
    )
    assert again.check(POLICY, "IND", ["usa"]) == [
        "rule 3: peer 'jpn' is not pinned (seawatch peers add)"
    ]
