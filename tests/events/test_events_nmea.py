"""Detectors on raw NMEA decoded by seawatch (the decode stage's full positions schema).

- opencpn_testdata/Go_to_Guernesey.txt: 18 h recorded aboard a yacht crossing to Guernsey.
- amsa_risky/ais.txt: Australian (AMSA) satellite/terrestrial sample with odd MMSIs.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from evtools import MIN, T0, positions

from seawatch.decode import decode
from seawatch.events import gap, identity_change, loitering, spoofing

AIS = Path(__file__).resolve().parents[2].parent / "shared/data/ais"


def _decoded(name: str) -> dict[str, pa.Table]:
    path = AIS / name
    if not path.is_file():
        pytest.skip(f"../shared/data/ais/{name} not present")
    tables, _ = decode(path)
    return tables


def _rules(events: pa.Table) -> Counter[str]:
    return Counter(json.loads(d)["rule"] for d in events["details"].to_pylist())


def test_guernsey_passage() -> None:
    pos = _decoded("opencpn_testdata/Go_to_Guernesey.txt")["positions"]
    ev, _ = gap.detect(pos)
    assert (ev.num_rows, ev["end_ts"].null_count) == (62, 61)  # ships left the yacht's range
    assert loitering.detect(pos)[0].num_rows == 0  # base stations and AtoNs are not vessels
    assert spoofing.detect(pos)[0].num_rows == 0


def test_amsa_sample() -> None:
    tables = _decoded("amsa_risky/ais.txt")
    ev, _ = spoofing.detect(tables["positions"])
    assert _rules(ev) == {"invalid_mmsi": 14, "jump": 3}
    ev, _ = identity_change.detect(tables["statics"])
    fields = Counter(json.loads(d)["field"] for d in ev["details"].to_pylist())
    assert fields == {"destination": 4, "draught_m": 3}


def test_base_stations_and_aids_to_navigation_are_skipped() -> None:
    ts = [T0 + i * 10 * MIN for i in range(60)]
    t = positions(ts, [50.0] * 60, [-2.0] * 60, is_aton=[True] * 60, is_base_station=[None] * 60)
    assert loitering.detect(t)[0].num_rows == 0
    t = t.set_column(t.column_names.index("is_aton"), "is_aton", pa.array([False] * 60))
    assert loitering.detect(t)[0].num_rows == 1
