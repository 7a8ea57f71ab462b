"""Triage (issue 16): incidents, not raw counts. Floods from one MMSI are one incident ranked
by its weight; open gaps at the end of the data, changes below the noise levels and invalid
MMSIs do not crowd out what matters; every incident shows its confidence. Hand-built events
whose answers are known, and the real files the issue names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from eventrows import NEAR_KOCHI, OPEN_SEA, VESSELS, events
from seawatch.cli.main import cli
from seawatch.events.incidents import incidents
from seawatch.events.triage import TriageParams, is_imo_number, update_doc
from seawatch.labels import Reader
from seawatch.serve.situation import format_situation, situation
from seawatch.settings import load_settings
from seawatch.store import open_store
from seawatch.store.query import Query

DOCS = Path(__file__).resolve().parents[1] / "docs"
OFF_KOCHI_300KM = (9.90, 73.40)  # the second transmitter, ~300 km west of the first
FAR_OUT = (5.0, 70.0)  # ~500 km off the Maldives and India


def _shared_mmsi_rows() -> list[dict[str, object]]:
    """MMSI 636000003 heard from two transmitters 300 km apart: 40 position jumps (the first
    off Kochi), 30 draught flips 6.4 <-> 6.8 m; two other vessels each jump twice far out."""
    jump = {"rule": "jump", "max_distance_m": 300_000, "n_jumps": 2, "n_two_places": 2}
    rows: list[dict[str, object]] = [
        {
            "type": "spoofing",
            "mmsi": 636000003,
            "h0": h / 2,
            "h1": h / 2,
            "at": NEAR_KOCHI if h % 2 == 0 else OFF_KOCHI_300KM,
            "details": jump,
        }
        for h in range(40)
    ]
    rows += [
        {
            "type": "identity_change",
            "mmsi": 636000003,
            "h0": k / 2 + 0.1,
            "at": (None, None),
            "details": {"field": "draught_m", "before": b, "after": a},
        }
        for k, (b, a) in enumerate([(6.4, 6.8), (6.8, 6.4)] * 15)
    ]
    far = {"rule": "jump", "max_distance_m": 50_000, "n_jumps": 1, "n_two_places": 0}
    for mmsi in (419000001, 538000002):
        rows += [
            {"type": "spoofing", "mmsi": mmsi, "h0": h, "h1": h, "at": FAR_OUT, "details": far}
            for h in (3, 4)
        ]
    return rows


def test_a_shared_mmsi_is_one_incident_ranked_by_its_weight() -> None:
    s = situation(events(_shared_mmsi_rows()), VESSELS, top=8, per_type=2)
    first = s.notable[0]
    assert (first.incident, first.vessel.mmsi, first.events) == ("shared_mmsi", 636000003, 70)
    assert first.by_type == {"spoofing": 40, "identity_change": 30}
    assert first.what == (
        "MMSI 636000003 is used by two transmitters 300 km apart (40 position jumps, 80 times "
        "in two places at once; 30 identity changes: draught 6.4 <-> 6.8 m)"
    )
    assert [n.vessel.mmsi for n in s.notable[1:]] == [419000001, 538000002]
    assert all(n.incident == "spoofing" for n in s.notable[1:])
    assert s.incidents == 3
    text = format_situation(s)
    assert re.search(r"^  spoofing +44  3 vessels  3 incidents$", text, re.M)
    assert re.search(r"^  identity_change +30  1 vessel  1 incident$", text, re.M)
    assert text.startswith("Events: 74 in 3 incidents (0 minor); not incidents: 0 routine, 0 gaps")


def test_more_events_outrank_a_single_one_of_the_same_kind() -> None:
    """Within a kind, an incident's weight (its events) counts before where its first was."""
    near = [
        {
            "type": "spoofing",
            "mmsi": 538000002,
            "h0": h,
            "at": NEAR_KOCHI,
            "details": {"rule": "on_land"},
        }
        for h in range(5)
    ]
    far = [{"type": "spoofing", "mmsi": 419000001, "at": OPEN_SEA, "details": {"rule": "on_land"}}]
    s = situation(events(far + near), VESSELS)
    assert [(n.vessel.mmsi, n.events) for n in s.notable] == [(538000002, 5), (419000001, 1)]


def test_open_gaps_at_the_end_of_the_data_are_not_incidents() -> None:
    """Ships that left a receiver's range: counted and kept, not incidents, unless the
    suspected-disabling rule fired (its own event, an incident with its confidence)."""
    t = events(
        [
            {"type": "gap", "mmsi": 419000001, "h0": 2},  # open: h1 None
            {"type": "suspected_disabling", "mmsi": 419000001, "h0": 2, "conf": 0.5},
            {"type": "gap", "mmsi": 538000002, "h0": 3},
            {"type": "gap", "mmsi": 636000003, "h0": 1, "h1": 9, "at": NEAR_KOCHI},
        ]
    )
    s = situation(t, VESSELS)
    assert [(n.incident, n.vessel.mmsi, n.confidence) for n in s.notable] == [
        ("suspected_disabling", 419000001, 0.5),
        ("gap", 636000003, 1.0),
    ]
    assert (s.total, s.incidents, s.open_at_end) == (4, 2, 2)
    text = format_situation(s)
    assert "Events: 4 in 2 incidents (0 minor); not incidents: 0 routine, 2 gaps open at" in text
    assert re.search(
        r"^  gap +3  3 vessels  1 incident, 2 open at the end of the data$", text, re.M
    )
    assert (
        "AIS went silent 787 km offshore, still at the end of the data; confidence 0.50\n" in text
    )


def draught(before: float, after: float) -> dict[str, object]:
    return {"field": "draught_m", "before": before, "after": after}


def test_changes_below_the_noise_level_are_minor() -> None:
    t = events(
        [
            {
                "type": "identity_change",
                "mmsi": 419000001,
                "details": {"field": "draught_m", "before": 6.4, "after": 6.5},
            },
            {
                "type": "identity_change",
                "mmsi": 538000002,
                "details": {"field": "draught_m", "before": 7.6, "after": 4.6},
            },
        ]
    )
    s = situation(t, VESSELS)
    assert [n.vessel.mmsi for n in s.notable] == [538000002]
    assert (s.incidents, s.minor) == (2, 1)
    assert re.search(
        r"^  identity_change +2  2 vessels  2 incidents \(1 minor\)$", format_situation(s), re.M
    )
    exact = situation(t, VESSELS, params=TriageParams(draught_noise_m=0.0))
    assert sorted(n.vessel.mmsi for n in exact.notable) == [419000001, 538000002]


def test_invalid_mmsis_are_one_misconfigured_transponders_incident_ranked_last() -> None:
    assert is_imo_number(9074729)
    assert not is_imo_number(9074728)
    assert not is_imo_number(419000001)
    t = events(
        [
            {"type": "spoofing", "mmsi": 1, "at": FAR_OUT, "details": {"rule": "invalid_mmsi"}},
            *(
                {"type": "spoofing", "mmsi": 1, "h0": h, "at": FAR_OUT, "details": {"rule": "jump"}}
                for h in (1, 2, 3)
            ),
            {"type": "spoofing", "mmsi": 9074729, "details": {"rule": "invalid_mmsi"}},
            {"type": "gap", "mmsi": 419000001, "h0": 1, "h1": 8, "at": NEAR_KOCHI},
        ]
    )
    s = situation(t, VESSELS)
    assert [(n.incident, n.vessel.mmsi) for n in s.notable] == [
        ("gap", 419000001),
        ("misconfigured_transponders", 1),
    ]
    last = s.notable[1]
    assert (last.vessels, last.events) == (2, 5)
    assert last.what == (
        "2 misconfigured transponders: MMSI 1 (not 9 digits), 9074729 (an IMO number) (5 events)"
    )
    assert "  2. misconfigured_transponders: 2 with invalid MMSIs\n" in format_situation(s)


def test_the_triage_parameters_are_documented_in_their_generated_table() -> None:
    doc = (DOCS / "events.md").read_text(encoding="utf-8")
    assert "<!-- triage-params -->" in doc
    assert update_doc(doc) == doc, (
        "docs/events.md's triage table is out of date: run "
        "`python -m seawatch.events.triage docs/events.md`"
    )


def _shared_file(shared_data: Path, name: str) -> Path:
    path = shared_data / "ais" / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


def test_guernsey_passage_open_gaps_stay_events(shared_data: Path, tmp_path: Path) -> None:
    """The OpenCPN 18 h log: 61 of its 62 gaps are ships that left the yacht's range, still
    open at the end of the data: not incidents, still events in the store."""
    path = _shared_file(shared_data, "opencpn_testdata/Go_to_Guernesey.txt")
    out = tmp_path / "run"
    env = {"SEAWATCH_NODE_NATION": "GBR"}
    res = CliRunner().invoke(cli, ["run", str(path), "--out", str(out)], env=env)
    assert res.exit_code == 0, res.output
    text = res.stdout
    assert "Events: 63 in 1 incident (0 minor); not incidents: 1 routine, 61 gaps open" in text
    assert re.search(
        r"^  gap +62  62 vessels  1 incident, 61 open at the end of the data$", text, re.M
    )
    assert text.index("Most notable") < text.index("\nLabels: ")
    with open_store(str(out / "seawatch.duckdb"), load_settings()) as store:
        q = Query(store, Reader.node_admin("test: open gaps stay events"))
        gaps = q.events().filter(pa.compute.equal(q.events().column("event_type"), "gap"))
    assert (gaps.num_rows, gaps.column("end_ts").null_count) == (62, 61)


def test_amsa_sample_invalid_mmsis_are_one_incident(shared_data: Path) -> None:
    """AMSA's sample: 17 events of 14 invalid MMSIs (0, 111111111, an IMO number ...)."""
    from seawatch.decode import decode
    from seawatch.events import identity_change, spoofing

    tables, _ = decode(_shared_file(shared_data, "amsa_risky/ais.txt"))
    ev = pa.concat_tables(
        [spoofing.detect(tables["positions"])[0], identity_change.detect(tables["statics"])[0]]
    )
    inc = incidents(ev)
    (mis,) = inc.filter(
        pa.compute.equal(inc.column("incident"), "misconfigured_transponders")
    ).to_pylist()
    assert (mis["events"], mis["vessels"]) == (17, 14)
    reasons = {m["mmsi"]: m["reason"] for m in json.loads(mis["details"])["mmsis"]}
    assert reasons[8900660] == "imo_number"
    assert reasons[111111111] == "mid_out_of_range"
