"""Golden facts: Baltic and Danish straits, 1 April 2018 00:03–10:56 UTC (Argenni sample).

19,999 decoded type 1–3 reports of 387 class A vessels, the vessel's static data joined on
each row, every ~6 min per vessel; a thinned sample (``micro_20k``), so positions of one
vessel can be far apart. Each fact was checked against the raw rows (read here with
:mod:`csv`, not with seawatch).
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pyarrow.compute as pc
import pytest

from .realdata import BALTIC, Run, gaps, km, median_on_grid, read_csv, run

FLEMHUDE = 211_523_660


@pytest.fixture(scope="module")
def baltic() -> Run:
    return run(BALTIC)


@pytest.fixture(scope="module")
def raw() -> list[dict[str, Any]]:
    """The file's rows in time order, with ``t``: the epoch milliseconds as a datetime."""
    rows: list[dict[str, Any]] = read_csv(BALTIC, ";")
    for r in rows:
        r["t"] = datetime.fromtimestamp(float(r["timestamp"]) / 1000, tz=UTC)
    return sorted(rows, key=lambda r: (r["t"], int(r["mmsi"])))


def _by_mmsi(raw: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for r in raw:
        out.setdefault(int(r["mmsi"]), []).append(r)
    return out


def test_decode(baltic: Run, raw: list[dict[str, Any]]) -> None:
    pos, stats = baltic.tables["positions"], baltic.stats
    assert (stats.lines, stats.rejected, pos.num_rows) == (19_999, 0, 19_999)
    assert stats.by_type == {
        **Counter(int(r["msgid"]) for r in raw),  # 1: 9931, 2: 352, 3: 9716
        5: baltic.tables["statics"].num_rows,
    }
    assert len(set(pos["mmsi"].to_pylist())) == 387
    assert pc.min(pos["ts"]).as_py() == raw[0]["t"]
    assert pc.max(pos["ts"]).as_py() == raw[-1]["t"]
    assert baltic.clean.positions.num_rows == 19_999  # no duplicate, no sentinel
    assert sum(baltic.clean.dropped.values()) == 0


def test_every_vessel_one_segment_but_the_one_that_jumps(baltic: Run) -> None:
    per = baltic.segments_per_mmsi()
    assert len(per) == 387
    assert {m: n for m, n in per.items() if n != 1} == {FLEMHUDE: 3}
    seg = baltic.segmented.filter(pc.equal(baltic.segmented["mmsi"], FLEMHUDE)).sort_by("ts")
    ids = seg["segment_id"].to_pylist()
    # four positions: 1 | 2, 3 | 4 — a new segment after each 50 km jump
    assert len(ids) == 4
    assert ids[1] == ids[2]
    assert len({ids[0], ids[1], ids[3]}) == 3


def test_speed_jumps_only_flemhude(baltic: Run, raw: list[dict[str, Any]]) -> None:
    # Independent: consecutive reports of a vessel farther apart than the jump bound
    # hypot(h, 0.25 h) x 50 kn. FLEMHUDE reports 12-17 kn, yet its 4 positions in
    # 26 min hop 50 km, 11 km and 55 km north-east across the Mecklenburg Bight.
    jumps = []
    for mmsi, rows in _by_mmsi(raw).items():
        for a, b in itertools.pairwise(rows):
            h = (b["t"] - a["t"]).total_seconds() / 3600
            d = km(float(a["lat"]), float(a["long"]), float(b["lat"]), float(b["long"]))
            if d > math.hypot(h, 0.25) * 50 * 1.852:
                jumps.append((mmsi, a["t"], round(d)))
    assert [(m, d) for m, _, d in jumps] == [(FLEMHUDE, 50), (FLEMHUDE, 55)]  # km
    assert max(float(r["sog"]) for r in _by_mmsi(raw)[FLEMHUDE]) < 17

    ev = baltic.events("spoofing")
    assert ev["mmsi"].to_pylist() == [FLEMHUDE, FLEMHUDE]
    assert ev["start_ts"].to_pylist() == [t for _, t, _ in jumps]
    details = [json.loads(d) for d in ev["details"].to_pylist()]
    assert [d["rule"] for d in details] == ["jump", "jump"]
    assert [round(d["max_distance_m"], -3) for d in details] == [50_000, 55_000]


def test_gaps_match_an_independent_count(baltic: Run, raw: list[dict[str, Any]]) -> None:
    times = {m: [r["t"] for r in rows] for m, rows in _by_mmsi(raw).items()}
    closed, still = gaps(times, raw[-1]["t"])
    assert (len(closed), len(still)) == (2, 7)
    ev = baltic.events("gap")
    got = set(zip(ev["mmsi"].to_pylist(), ev["start_ts"].to_pylist(), strict=True))
    assert got == closed | still
    assert ev["end_ts"].null_count == len(still)


def test_draught_changes_are_the_only_identity_changes(
    baltic: Run, raw: list[dict[str, Any]]
) -> None:
    expected = set()
    for mmsi, rows in _by_mmsi(raw).items():
        for field in ("name", "callsign", "imo"):
            assert len({r[field] for r in rows}) == 1, (mmsi, field)
        draughts = [float(r["draught"]) for r in rows if r["draught"] not in ("NA", "0")]
        for a, b in itertools.pairwise(draughts):
            if a != b:
                expected.add((mmsi, a, b))
    assert len(expected) == 17
    ev = baltic.events("identity_change")
    details = [json.loads(d) for d in ev["details"].to_pylist()]
    assert {d["field"] for d in details} == {"draught_m"}
    got = {
        (m, d["before"], d["after"]) for m, d in zip(ev["mmsi"].to_pylist(), details, strict=True)
    }
    assert got == expected


def test_loitering_is_slow_in_the_raw_reports(baltic: Run, raw: list[dict[str, Any]]) -> None:
    by = _by_mmsi(raw)
    ev = baltic.events("loitering")
    assert ev.num_rows == 203  # no shore filter without geography: moored ships count
    for e in ev.to_pylist():
        end = e["end_ts"] or raw[-1]["t"]
        inside = [r for r in by[e["mmsi"]] if e["start_ts"] <= r["t"] <= end]
        assert len(inside) >= 2
        sogs = sorted(float(r["sog"]) for r in inside)
        assert sogs[len(sogs) // 2] < 2.0, e
        spread = max(km(e["lat"], e["lon"], float(r["lat"]), float(r["long"])) for r in inside)
        hours = (end - e["start_ts"]).total_seconds() / 3600
        assert spread < 2 * 1.852 * hours + 1, e


def test_encounters_are_ships_moored_together(baltic: Run, raw: list[dict[str, Any]]) -> None:
    """Without geography (no port filter) every encounter is two ships lying still side by
    side, mostly at quays in Rostock, Kiel, Swinoujscie, Sassnitz."""
    by = _by_mmsi(raw)
    ev = baltic.events("encounter")
    assert (ev.num_rows, ev["end_ts"].null_count) == (97, 71)  # 96 before shared silences
    for e in ev.to_pylist():
        end = e["end_ts"] or raw[-1]["t"]
        a = [r for r in by[e["mmsi"]] if e["start_ts"] <= r["t"] <= end]
        b = [r for r in by[e["other_mmsi"]] if e["start_ts"] <= r["t"] <= end]
        close = min(
            km(float(x["lat"]), float(x["long"]), float(y["lat"]), float(y["long"]))
            for x in a
            for y in b
            if abs((x["t"] - y["t"]).total_seconds()) <= 1800
        )
        assert close < 0.5, e
        for m in (e["mmsi"], e["other_mmsi"]):
            assert median_on_grid(by[m], e["start_ts"], end, "sog") < 2.0, e
