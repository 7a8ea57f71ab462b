"""The quality scorer: hand-built truth and event tables pin its matching semantics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from seawatch.errors import InputError
from seawatch.events.schema import EVENTS_SCHEMA
from seawatch.sim.score import (
    DEFAULT_TOLERANCE_S,
    TOLERANCE_S,
    read_truth,
    score,
    truth_table,
)

T0 = datetime(2025, 6, 1, tzinfo=UTC)
A, B, C = 419000001, 419000002, 538000003


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def iso(minutes: float) -> str:
    return at(minutes).strftime("%Y-%m-%dT%H:%M:%SZ")


def truth(*rows: tuple[Any, ...]) -> pa.Table:
    """(event_type, mmsi, start min, end min[, other_mmsi[, params[, injected]]])."""
    recs = []
    for r in rows:
        kind, mmsi, start, end = r[:4]
        recs.append(
            {
                "event_type": kind,
                "mmsi": mmsi,
                "other_mmsi": r[4] if len(r) > 4 else None,
                "start_ts": iso(start),
                "end_ts": iso(end),
                "params": r[5] if len(r) > 5 else {},
                "injected": r[6] if len(r) > 6 else True,
            }
        )
    return truth_table(recs)


def events(*rows: tuple[Any, ...]) -> pa.Table:
    """(event_type, mmsi, start min, end min or None[, other_mmsi[, details]])."""
    out = []
    for k, r in enumerate(rows):
        kind, mmsi, start, end = r[:4]
        out.append(
            {
                "event_id": f"e{k}",
                "event_type": kind,
                "start_ts": at(start),
                "end_ts": None if end is None else at(end),
                "mmsi": mmsi,
                "other_mmsi": r[4] if len(r) > 4 else None,
                "lat": 10.0,
                "lon": 80.0,
                "segment_ids": None,
                "confidence": 1.0,
                "details": json.dumps(r[5] if len(r) > 5 else {}),
            }
        )
    return pa.Table.from_pylist(out, schema=EVENTS_SCHEMA)


def test_a_detection_inside_the_window_matches() -> None:
    s = score(truth(("gap", A, 60, 480)), events(("gap", A, 55, 485)))["gap"]
    assert (s.truth, s.detected, s.true_positives) == (1, 1, 1)
    assert s.precision == s.recall == 1.0
    assert s.missed.num_rows == s.false.num_rows == 0


def test_one_detection_satisfies_one_truth_and_the_reverse() -> None:
    # two detections of one behaviour: one true positive, one false
    s = score(truth(("gap", A, 60, 480)), events(("gap", A, 55, 300), ("gap", A, 310, 485)))
    g = s["gap"]
    assert (g.true_positives, g.precision, g.recall) == (1, 0.5, 1.0)
    assert g.false.num_rows == 1
    # one long detection over two behaviours: one true positive, one missed
    s = score(truth(("gap", A, 60, 480), ("gap", A, 600, 1000)), events(("gap", A, 50, 1010)))
    g = s["gap"]
    assert (g.true_positives, g.precision, g.recall) == (1, 1.0, 0.5)
    assert g.missed.num_rows == 1


def test_matching_is_maximal_not_greedy() -> None:
    # D1 overlaps both truths, D2 only the first: a greedy D1 -> T1 would leave D2 unmatched
    t = truth(("loitering", A, 0, 300), ("loitering", A, 900, 1200))
    e = events(("loitering", A, 200, 1000), ("loitering", A, 10, 290))
    s = score(t, e)["loitering"]
    assert s.true_positives == 2
    # the result does not depend on row order
    e2 = events(("loitering", A, 10, 290), ("loitering", A, 200, 1000))
    assert score(t, e2)["loitering"].true_positives == 2


def test_closest_pairing_among_equal_counts() -> None:
    t = truth(("port_visit", A, 0, 100), ("port_visit", A, 110, 200))
    e = events(("port_visit", A, 111, 201), ("port_visit", A, 1, 99))
    s = score(t, e)["port_visit"]
    assert s.true_positives == 2
    assert s.false.num_rows == 0


@pytest.mark.parametrize(
    ("start_min", "matches"),
    [
        (480 + DEFAULT_TOLERANCE_S / 60, True),  # starts exactly tolerance after the truth end
        (480 + DEFAULT_TOLERANCE_S / 60 + 1 / 60, False),  # one second later
    ],
)
def test_tolerance_after_the_truth_window(start_min: float, matches: bool) -> None:
    s = score(truth(("gap", A, 60, 480)), events(("gap", A, start_min, start_min + 500)))
    assert s["gap"].true_positives == int(matches)


@pytest.mark.parametrize(
    ("end_min", "matches"),
    [(60 - DEFAULT_TOLERANCE_S / 60, True), (60 - DEFAULT_TOLERANCE_S / 60 - 1 / 60, False)],
)
def test_tolerance_before_the_truth_window(end_min: float, matches: bool) -> None:
    s = score(truth(("gap", A, 60, 480)), events(("gap", A, end_min - 400, end_min)))
    assert s["gap"].true_positives == int(matches)


def test_tolerance_per_type_and_override() -> None:
    assert TOLERANCE_S["identity_change"] == 7200.0
    t = truth(("identity_change", A, 100, 100))
    e = events(("identity_change", A, 100 + 90, 100 + 90))  # 90 min after the change
    assert score(t, e)["identity_change"].true_positives == 1
    tight = score(t, e, tolerance_s={"identity_change": 3600.0})["identity_change"]
    assert tight.true_positives == 0


def test_open_detection_runs_to_the_end_of_time() -> None:
    s = score(truth(("gap", A, 600, 1440)), events(("gap", A, 590, None)))
    assert s["gap"].true_positives == 1


def test_vessels_and_types_must_agree() -> None:
    t = truth(("gap", A, 60, 480))
    assert score(t, events(("gap", B, 60, 480)))["gap"].true_positives == 0
    s = score(t, events(("loitering", A, 60, 480)))
    assert s["gap"].true_positives == 0
    assert s["loitering"].precision == 0.0
    assert s["loitering"].recall is None


def test_encounter_pair_in_either_order() -> None:
    t = truth(("encounter", A, 60, 240, B))
    assert score(t, events(("encounter", B, 70, 230, A)))["encounter"].true_positives == 1
    assert score(t, events(("encounter", A, 70, 230, B)))["encounter"].true_positives == 1
    assert score(t, events(("encounter", A, 70, 230, C)))["encounter"].true_positives == 0


def test_spoofing_rules_must_agree() -> None:
    t = truth(
        ("spoofing", A, 60, 120, None, {"rule": "on_land"}),
        ("spoofing", B, 0, 1440, None, {"rule": "two_places"}),
    )
    e = events(
        ("spoofing", A, 60, 61, None, {"rule": "jump"}),
        ("spoofing", B, 300, 900, None, {"rule": "jump"}),  # a shared MMSI shows as jumps
    )
    s = score(t, e)["spoofing"]
    assert s.true_positives == 1
    assert s.missed.column("rule").to_pylist() == ["on_land"]


def test_injected_recall_counts_injected_records_only() -> None:
    t = truth(("gap", A, 60, 480), ("gap", B, 60, 480, None, {"cause": "coverage"}, False))
    s = score(t, events(("gap", A, 60, 480)))["gap"]
    assert (s.injected, s.injected_found, s.injected_recall) == (1, 1, 1.0)
    assert s.recall == 0.5


def test_nothing_to_score_is_none_not_zero() -> None:
    s = score(truth(), events(), types=["zone_entry"])["zone_entry"]
    assert s.precision is None
    assert s.recall is None
    assert s.injected_recall is None


def test_read_truth_file(tmp_path: Path) -> None:
    f = tmp_path / "truth.jsonl"
    rec = {
        "event_type": "gap",
        "mmsi": A,
        "other_mmsi": None,
        "start_ts": "2025-06-01T01:00:00Z",
        "end_ts": "2025-06-01T08:00:00Z",
        "params": {},
    }
    f.write_text(json.dumps(rec) + "\n\n")
    t = read_truth(f)
    assert t.num_rows == 1
    assert t.column("injected").to_pylist() == [True]  # files from before the field
    assert t.column("start_ts").to_pylist() == [at(60)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "truth.jsonl:2: not JSON"),
        ('{"event_type": "gap", "mmsi": 1}', "truth.jsonl:2: a truth record needs"),
        (
            '{"event_type": "gap", "mmsi": 1, "start_ts": "2025-06-01T02:00:00Z", '
            '"end_ts": "2025-06-01T01:00:00Z"}',
            "truth.jsonl:2: end_ts before start_ts",
        ),
        (
            '{"event_type": "gap", "mmsi": 1, "start_ts": "yesterday", "end_ts": "x"}',
            "truth.jsonl:2: not an ISO 8601 UTC time",
        ),
    ],
)
def test_read_truth_bad_line(tmp_path: Path, line: str, message: str) -> None:
    f = tmp_path / "truth.jsonl"
    good = '{"event_type": "gap", "mmsi": 1, "start_ts": "2025-06-01T00:00:00Z", '
    good += '"end_ts": "2025-06-01T07:00:00Z"}'
    f.write_text(good + "\n" + line + "\n")
    with pytest.raises(InputError, match=message):
        read_truth(f)


def test_events_without_the_schema_columns() -> None:
    with pytest.raises(InputError, match="column 'details' missing"):
        score(truth(), events().drop_columns(["details"]))


def test_simulate_ingest_detect_meets_the_goals(tmp_path: Path) -> None:
    """End to end on a small run, as bench/quality.py does it: simulate, ingest with detect
    (and the simulated zones), read the events through the query layer, score. The types
    whose figures the bench shows within the goals stay there; encounter (satellite-only
    coverage) and the on_land rule (coastal lanes in a 1 km land mask) are the documented
    exceptions and are not asserted."""
    import numpy as np
    import shapely

    from seawatch.engine.ingest import ingest
    from seawatch.geo.zones import ZoneLayer
    from seawatch.labels import Reader
    from seawatch.settings import load_settings
    from seawatch.sim import SimConfig, simulate
    from seawatch.store import open_store
    from seawatch.store.query import Query

    simulate(SimConfig(seed=2, vessels=60, hours=18), tmp_path)
    t = read_truth(tmp_path / "truth.jsonl")
    boxes = {
        tuple(json.loads(p)["bbox"])
        for p, kind in zip(t["params"].to_pylist(), t["event_type"].to_pylist(), strict=True)
        if kind == "zone_entry"
    }
    layer = ZoneLayer(
        "simwaters",
        pa.table({"name": [str(b) for b in boxes]}),
        np.array([shapely.box(*b) for b in boxes], dtype=object),
    )
    settings = load_settings(env={})
    store = open_store(tmp_path / "store.duckdb", settings)
    try:
        files = sorted(tmp_path.glob("ais-*.nmea"))
        ingest(store, files, settings, detect=True, zones=[layer])
        ev = Query(store, Reader.node_admin("test: scoring")).events()
    finally:
        store.close()
    scores = score(t, ev)
    jump_t = t.filter(pa.array([r in ("jump", "two_places") for r in t["rule"].to_pylist()]))
    rules = [json.loads(d).get("rule") for d in ev["details"].to_pylist()]
    jump_e = ev.filter(pa.array([r == "jump" for r in rules]))
    scores["jump"] = score(jump_t, jump_e, types=["spoofing"])["spoofing"]
    checked = ("gap", "suspected_disabling", "loitering", "port_visit", "zone_entry")
    for kind in (*checked, "identity_change", "jump"):
        s = scores[kind]
        assert s.truth > 0, kind
        assert s.precision is not None
        assert s.precision >= 0.95, (kind, s.false.to_pylist()[:3])
        assert s.recall is not None
        assert s.recall >= 0.9, (kind, s.missed.to_pylist()[:3])
