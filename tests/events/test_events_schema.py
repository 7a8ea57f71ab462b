"""Every detector emits exactly the events schema; every event type and parameter is documented."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path

import pyarrow as pa
import pytest
from evtools import MIN, T0, TS, positions
from hypothesis import example, given, settings
from hypothesis import strategies as st

from seawatch.events import suspected_disabling
from seawatch.events.registry import REGISTRY, Detector, detectors, update_events_doc
from seawatch.events.schema import EVENTS_SCHEMA, build_events, combine, json_objects

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"
QUIET = {"encounter", "port_visit", "zone_entry"}
"""Detectors the one-vessel sample below gives nothing (no second vessel, port or zone)."""
FEW = {suspected_disabling.DisablingParams: {"min_positions_per_12h": 1.0}}


def _sample() -> pa.Table:
    ts = [T0 + i * 20 * MIN for i in range(40)] + [T0 + 30 * 60 * MIN]
    lat = [0.0] * 20 + [5.0] * 21
    shore = [100.0] * 41
    t = positions(
        ts, lat, [0.0] * 41, mmsi=[12345] * 41, on_land=[True] * 41, distance_to_shore_km=shore
    )
    names = pa.array(["A"] * 20 + ["B"] * 21)
    return t.append_column("name", names).append_column("segment_id", pa.array([7] * 41))


def _events(d: Detector) -> pa.Table:
    return d.detect(_sample(), d.params(**FEW.get(d.params, {})))[0]


@pytest.mark.parametrize("name", list(REGISTRY))
def test_detectors_emit_exactly_the_schema(name: str) -> None:
    d = REGISTRY[name]
    ev = _events(d)
    assert ev.num_rows > 0 or name in QUIET
    assert ev.schema.equals(EVENTS_SCHEMA, check_metadata=True)
    assert set(ev["event_type"].to_pylist()) <= {e.name for e in d.emits}
    empty, _ = d.detect(_sample().slice(0, 0))
    assert empty.num_rows == 0
    assert empty.schema.equals(EVENTS_SCHEMA, check_metadata=True)


def test_every_field_is_described() -> None:
    for f in EVENTS_SCHEMA:
        assert f.metadata, f.name
        assert f.metadata[b"doc"], f.name


def test_event_ids_are_stable() -> None:
    a = build_events(
        "gap",
        start_us=[T0],
        end_us=[None],
        mmsi=[1],
        lat=[0.0],
        lon=[0.0],
        confidence=[1.0],
        details=[{}],
    )
    recipe = hashlib.blake2b(f"gap|1||{T0}|".encode(), digest_size=16).hexdigest()
    assert a["event_id"][0].as_py() == recipe == "de28a9205d427320057fce526920a3f7"
    assert a["start_ts"].type == TS
    assert combine([]).num_rows == 0


def test_every_event_type_and_parameter_is_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for d in detectors():
        for event_type in d.emits:
            assert re.search(rf"^## {event_type.name}\b", doc, re.M), event_type
        for f in dataclasses.fields(d.params):
            assert f"`{f.name}`" in doc, (d.params.__name__, f.name)


def test_parameter_tables_are_generated_from_the_classes() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert update_events_doc(doc) == doc, (
        "docs/events.md parameter tables are out of date: run "
        "`python -m seawatch.events.registry docs/events.md`"
    )
    for d in detectors():
        assert f"<!-- params:{d.name} -->" in doc, f"no generated parameter table for {d.name}"
        for spec in d.specs.values():
            assert spec.help, (d.name, spec.name)


@given(st.lists(st.one_of(st.none(), st.text(max_size=12)), min_size=1, max_size=30))
@settings(deadline=None)  # a loaded machine: no timing in tests
@example(["EVER GIVEN", None, "x#[]~ !", ""])
@example(['a"b', "back\\slash", "ü"])
def test_text_details_are_json_dumps_of_each_text(texts: list[str | None]) -> None:
    """An Arrow text array in ``json_objects`` is quoted and escaped as ``json.dumps`` does
    (column-wise when every text is plain ASCII, else one by one)."""
    got = json_objects(len(texts), {"after": pa.array(texts, pa.string()), "n": 1})
    want = [json.dumps({"after": t, "n": 1}, sort_keys=True, separators=(",", ":")) for t in texts]
    assert got.to_pylist() == want
