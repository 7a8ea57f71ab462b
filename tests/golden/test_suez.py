"""Golden facts: the Suez Canal blockage, 20–24 March 2021 (VesselsValue positions via
movingpandas-examples; ``ID`` is an anonymised vessel number, read as the MMSI).

The Ever Given grounded on 23 March 2021 at about 05:40 UTC near 30.018 N 32.580 E and
blocked the canal for six days; ships queued in the canal behind her and at the Suez
(south) and Port Said anchorages. Each fact was checked against the raw rows (read here
with :mod:`csv`, not with seawatch).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from .realdata import SUEZ, Run, gaps, km, read_csv, run, utc

EVER_GIVEN = 235  # the ID that stops for good at the grounding site, see below
GROUNDING = (30.01765, 32.5802)  # her position from 05:47 on 23 March to the end
QUEUE = (8, 168)  # the two ships of her convoy that stopped behind her
PLACES = {  # lat_min, lat_max, lon_min, lon_max
    "suez_anchorage": (29.70, 29.97, 32.44, 32.60),
    "canal_behind_ever_given": (29.99, 30.017, 32.57, 32.59),
    "port_said_anchorage": (31.15, 31.65, 32.25, 32.46),
}


@pytest.fixture(scope="module")
def suez() -> Run:
    return run(SUEZ)


@pytest.fixture(scope="module")
def raw() -> dict[int, list[dict[str, Any]]]:
    """Each vessel's distinct reports in time order (213 rows repeat one exactly)."""
    out: dict[int, list[dict[str, Any]]] = {}
    seen = set()
    for r in read_csv(SUEZ, ","):
        key = (r["ID"], r["ais_pos_timestamp"], r["latitude"], r["longitude"])
        if key in seen:
            continue
        seen.add(key)
        row = {
            "t": utc(r["ais_pos_timestamp"], "%d/%m/%Y %H:%M"),
            "lat": float(r["latitude"]),
            "lon": float(r["longitude"]),
        }
        out.setdefault(int(r["ID"]), []).append(row)
    for rows in out.values():
        rows.sort(key=lambda r: r["t"])
    return out


def _place(lat: float, lon: float) -> str:
    for name, (a, b, c, d) in PLACES.items():
        if a <= lat <= b and c <= lon <= d:
            return name
    return "elsewhere"


def _pieces(rows: list[dict[str, Any]], silence_h: float = 24) -> list[list[dict[str, Any]]]:
    out = [[rows[0]]]
    for a, b in itertools.pairwise(rows):
        if (b["t"] - a["t"]).total_seconds() > silence_h * 3600:
            out.append([])
        out[-1].append(b)
    return out


def test_decode_and_clean(suez: Run, raw: dict[int, list[dict[str, Any]]]) -> None:
    pos, stats = suez.tables["positions"], suez.stats
    assert (stats.lines, stats.rejected, pos.num_rows) == (22_287, 0, 22_287)
    assert suez.tables["statics"].num_rows == 0
    assert len(raw) == 256
    assert sum(len(rows) for rows in raw.values()) == 22_287 - 213
    assert suez.clean.dropped["duplicate"] == 213  # the same minute, place and vessel twice
    assert sum(suez.clean.dropped.values()) == 213


def test_segments_split_only_at_a_day_of_silence(
    suez: Run, raw: dict[int, list[dict[str, Any]]]
) -> None:
    per = suez.segments_per_mmsi()
    expected = {m: len(_pieces(rows)) for m, rows in raw.items()}
    assert per == expected
    assert sum(per.values()) == 270
    assert sorted(m for m, n in per.items() if n > 1) == [
        53, 85, 89, 92, 123, 175, 197, 199, 206, 214, 215, 219, 256,
    ]  # fmt: skip
    assert per[199] == 3


def test_gaps_per_vessel(suez: Run, raw: dict[int, list[dict[str, Any]]]) -> None:
    """Per MMSI, not per segment (docs/events.md): a silence that ends a segment is a gap."""
    end = max(r["t"] for rows in raw.values() for r in rows)
    closed, still = gaps({m: [r["t"] for r in rows] for m, rows in raw.items()}, end)
    ev = suez.events("gap")
    got = set(zip(ev["mmsi"].to_pylist(), ev["start_ts"].to_pylist(), strict=True))
    assert got == closed | still
    assert (ev.num_rows, ev["end_ts"].null_count) == (len(closed) + len(still), len(still))
    assert (len(closed), len(still)) == (143, 173)


def test_the_ever_given(suez: Run, raw: dict[int, list[dict[str, Any]]]) -> None:
    ship = raw[EVER_GIVEN]
    grounded = [r for r in ship if r["t"] >= utc("2021-03-23 05:47", "%Y-%m-%d %H:%M")]
    assert grounded[-1]["t"] == utc("2021-03-24 12:52", "%Y-%m-%d %H:%M")  # end of the data
    assert len(grounded) == 207
    assert max(km(*GROUNDING, r["lat"], r["lon"]) for r in grounded) < 0.05
    before = [r for r in ship if r["t"] < grounded[0]["t"]]
    assert km(*GROUNDING, before[-1]["lat"], before[-1]["lon"]) > 3  # 05:33: 3.4 km south
    # No other vessel came within a kilometre of her after she grounded
    after = utc("2021-03-23 05:47", "%Y-%m-%d %H:%M")
    nearest = min(
        km(*GROUNDING, r["lat"], r["lon"])
        for m, rows in raw.items()
        if m != EVER_GIVEN
        for r in rows
        if r["t"] >= after
    )
    assert 1.3 < nearest < 1.35  # ID 8, first in the queue

    ev = suez.events("loitering")
    mine = [e for e in ev.to_pylist() if e["mmsi"] == EVER_GIVEN]
    waiting, stuck = mine
    # waiting at the southern anchorage for the northbound convoy, 22 March 22:08 - 03:48
    assert _place(waiting["lat"], waiting["lon"]) == "suez_anchorage"
    assert (waiting["start_ts"], waiting["end_ts"]) == (
        utc("2021-03-22 22:08", "%Y-%m-%d %H:%M"),
        utc("2021-03-23 03:48", "%Y-%m-%d %H:%M"),
    )
    # aground: from the first position of her first slow hour, still open at the end
    assert stuck["start_ts"] == utc("2021-03-23 06:02", "%Y-%m-%d %H:%M")
    assert stuck["end_ts"] is None
    assert km(*GROUNDING, stuck["lat"], stuck["lon"]) < 0.05
    assert (
        json.loads(stuck["details"])["n_positions"]
        == len([r for r in grounded if r["t"] >= stuck["start_ts"]])
        == 205
    )

    enc = suez.events("encounter")
    assert EVER_GIVEN not in enc["mmsi"].to_pylist() + enc["other_mmsi"].to_pylist()


def test_the_queue_behind_her(suez: Run, raw: dict[int, list[dict[str, Any]]]) -> None:
    """Her convoy's next two ships stopped 1.3 and 1.6 km behind her by 06:46 and stayed."""
    after = utc("2021-03-23 06:46", "%Y-%m-%d %H:%M")
    for m, dist in zip(QUEUE, (1.33, 1.63), strict=True):
        still = [r for r in raw[m] if r["t"] >= after]
        assert all(abs(km(*GROUNDING, r["lat"], r["lon"]) - dist) < 0.03 for r in still), m
        assert all(r["lat"] < GROUNDING[0] for r in still)  # south of her
    enc = [e for e in suez.events("encounter").to_pylist() if (e["mmsi"], e["other_mmsi"]) == QUEUE]
    assert len(enc) == 1
    assert enc[0]["start_ts"] == utc("2021-03-23 06:30", "%Y-%m-%d %H:%M")
    assert enc[0]["end_ts"] is None
    assert _place(enc[0]["lat"], enc[0]["lon"]) == "canal_behind_ever_given"


def test_encounters_are_at_the_anchorages(suez: Run, raw: dict[int, list[dict[str, Any]]]) -> None:
    end = max(r["t"] for rows in raw.values() for r in rows)
    ev = suez.events("encounter").to_pylist()
    places = Counter(_place(e["lat"], e["lon"]) for e in ev)
    assert places == {"suez_anchorage": 17, "port_said_anchorage": 9, "canal_behind_ever_given": 1}
    for e in ev:
        stop = e["end_ts"] or end
        a = [r for r in raw[e["mmsi"]] if e["start_ts"] <= r["t"] <= stop]
        b = [r for r in raw[e["other_mmsi"]] if e["start_ts"] <= r["t"] <= stop]
        close = min(
            km(x["lat"], x["lon"], y["lat"], y["lon"])
            for x in a
            for y in b
            if abs(x["t"] - y["t"]) <= timedelta(minutes=30)
        )
        assert close < 0.5, e
        for side in (a, b):  # lying still: under 2 kn between reports, as a rule
            speeds = sorted(
                km(p["lat"], p["lon"], q["lat"], q["lon"])
                / 1.852
                / max((q["t"] - p["t"]).total_seconds() / 3600, 1 / 60)
                for p, q in itertools.pairwise(side)
            )
            assert speeds[len(speeds) // 2] < 2.0, e
    # 143 and 146 lie 11-12 m apart off Suez: moored alongside, three times
    alongside = [e for e in ev if {e["mmsi"], e["other_mmsi"]} == {143, 146}]
    assert len(alongside) == 3
    assert all(json.loads(e["details"])["median_distance_m"] < 13 for e in alongside)


def test_ids_are_not_mmsis_and_nobody_jumps(suez: Run) -> None:
    ev = suez.events("spoofing")
    details = [json.loads(d) for d in ev["details"].to_pylist()]
    assert len(details) == 256
    assert {(d["rule"], d["reason"]) for d in details} == {("invalid_mmsi", "not_9_digits")}
