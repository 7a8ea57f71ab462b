"""Golden facts: Strait of Gibraltar, 1 June 2016 00:00–15:48 UTC (Argenni sample of a
MarineTraffic-style export: ``SPEED_KNOTSx10``, ``STATUS`` 95 on base stations' rows and 98
on aids to navigation's, ``NULL`` for nulls).

19,999 rows, 524 MMSIs; the receiver network has holes (no row at all 02:24–04:04,
06:40–07:59, 10:27–11:43 and 13:02–15:43). Each fact was checked against the raw rows
(read here with :mod:`csv`, not with seawatch).
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from typing import Any

import pyarrow.compute as pc
import pytest

from .realdata import GIBRALTAR, Run, gaps, km, median_on_grid, read_csv, run, utc

STATIONS = ("95", "98")  # MarineTraffic's STATUS of base stations, aids to navigation
# encounters of ships lying still through an outage: two runs merged, or (issue 16) one run
# continued across the silence both keep (SILENT of them, mostly the outages; 36 more
# encounters than without, 3 of them still open at the end: their last silence may go on)
ACROSS_OUTAGE, SILENT, N_ENCOUNTERS = 132, 105, 275


@pytest.fixture(scope="module")
def gib() -> Run:
    return run(GIBRALTAR)


@pytest.fixture(scope="module")
def raw() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = read_csv(GIBRALTAR, ";")
    for r in rows:
        r["t"] = utc(r["TIMESTAMP_UTC"], "%Y-%m-%d %H:%M:%S")
        r["mmsi"], r["lat"], r["lon"] = int(r["MMSI"]), float(r["LAT"]), float(r["LON"])
        r["kn"] = int(r["SPEED_KNOTSx10"]) / 10
    return sorted(rows, key=lambda r: (r["t"], r["mmsi"]))


def _ships(raw: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for r in raw:
        if r["STATUS"] not in STATIONS:
            out.setdefault(r["mmsi"], []).append(r)
    return out


def test_decode(gib: Run, raw: list[dict[str, Any]]) -> None:
    pos, stats = gib.tables["positions"], gib.stats
    assert (stats.lines, stats.rejected, pos.num_rows) == (19_999, 0, 19_999)
    assert len(set(pos["mmsi"].to_pylist())) == 524
    status = Counter(r["STATUS"] for r in raw)
    assert pc.sum(pos["is_base_station"]).as_py() == status["95"] == 171
    assert pc.sum(pos["is_aton"]).as_py() == status["98"] == 94
    assert stats.by_type == {4: 171, 21: 94}  # ships' rows say nothing of their type
    assert pc.max(pos["speed_kn"]).as_py() == max(r["kn"] for r in raw) == 46.1  # x10 / 10


def test_duplicates_are_one_report_twice(gib: Run, raw: list[dict[str, Any]]) -> None:
    """Eight rows repeat a vessel's position and speed within a second: one is the same
    report twice (MMSI 235094837, under two MarineTraffic SHIP_IDs), seven a second apart."""
    seen: dict[tuple[Any, ...], Any] = {}
    repeats = 0
    for r in raw:
        key = (r["mmsi"], r["lat"], r["lon"], r["kn"])
        if key in seen and (r["t"] - seen[key]).total_seconds() <= 1:
            repeats += 1
        else:
            seen[key] = r["t"]
    assert repeats == 8
    assert gib.clean.dropped["duplicate"] == 8
    assert sum(gib.clean.dropped.values()) == 8


def test_one_segment_per_vessel(gib: Run, raw: list[dict[str, Any]]) -> None:
    per = gib.segments_per_mmsi()
    assert len(per) == 524
    assert set(per.values()) == {1}
    # MarineTraffic split 235094837 (a Gibraltar naval patrol boat, up to 39 kn) into two
    # SHIP_IDs; its positions are one continuous track, and so one segment.
    boat = [r for r in raw if r["mmsi"] == 235_094_837]
    assert {r["SHIP_ID"] for r in boat} == {"199617", "3458484"}
    for a, b in itertools.pairwise(boat):
        h = max((b["t"] - a["t"]).total_seconds(), 1) / 3600
        assert km(a["lat"], a["lon"], b["lat"], b["lon"]) / 1.852 / h < 45


def test_no_speed_jump_and_one_invalid_mmsi(gib: Run, raw: list[dict[str, Any]]) -> None:
    for rows in _ships(raw).values():
        for a, b in itertools.pairwise(rows):
            h = (b["t"] - a["t"]).total_seconds() / 3600
            assert km(a["lat"], a["lon"], b["lat"], b["lon"]) <= math.hypot(h, 0.25) * 50 * 1.852
    short = {m for m in _ships(raw) if len(str(m)) != 9}
    # 002424108 is a coast station of Morocco (MID 242), 022534500 a group call of Spain
    # (MID 225), both valid ITU-R M.585 forms; 000017620 is none (a stationary unnamed
    # transmitter off Chipiona)
    assert short == {17_620, 2_424_108, 22_534_500}
    ev = gib.events("spoofing")
    assert ev["mmsi"].to_pylist() == [17_620]
    assert json.loads(ev["details"][0].as_py())["reason"] == "not_9_digits"
    first = min(r["t"] for r in raw if r["mmsi"] == 17_620)
    assert ev["start_ts"][0].as_py() == first


def test_gaps_match_an_independent_count(gib: Run, raw: list[dict[str, Any]]) -> None:
    times = {m: [r["t"] for r in rows] for m, rows in _ships(raw).items()}
    closed, still = gaps(times, raw[-1]["t"])
    assert (len(closed), len(still)) == (12, 101)
    ev = gib.events("gap")
    got = set(zip(ev["mmsi"].to_pylist(), ev["start_ts"].to_pylist(), strict=True))
    assert got == closed | still
    assert ev["end_ts"].null_count == 101


def test_draught_changes(gib: Run, raw: list[dict[str, Any]]) -> None:
    expected = set()
    for mmsi, rows in _ships(raw).items():
        known = [int(r["DRAUGHT_METERSx10"]) / 10 for r in rows if r["DRAUGHT_METERSx10"] != "NULL"]
        known = [d for d in known if d > 0]  # 0 = not available
        expected |= {(mmsi, a, b) for a, b in itertools.pairwise(known) if a != b}
    ev = gib.events("identity_change")
    details = [json.loads(d) for d in ev["details"].to_pylist()]
    assert {d["field"] for d in details} == {"draught_m"}
    got = {
        (m, d["before"], d["after"]) for m, d in zip(ev["mmsi"].to_pylist(), details, strict=True)
    }
    assert got == expected
    assert len(expected) == 28


def _window(rows: list[dict[str, Any]], e: dict[str, Any], end: Any) -> list[dict[str, Any]]:
    return [r for r in rows if e["start_ts"] <= r["t"] <= end]


def test_encounters_are_real_and_never_bridge_an_outage(
    gib: Run, raw: list[dict[str, Any]]
) -> None:
    ships, end = _ships(raw), raw[-1]["t"]
    times = sorted({r["t"] for r in raw})
    holes = [(a, b) for a, b in itertools.pairwise(times) if (b - a).total_seconds() > 3600]
    assert [(a.strftime("%H:%M"), b.strftime("%H:%M")) for a, b in holes] == [
        ("02:24", "04:04"), ("06:40", "07:59"), ("10:27", "11:43"), ("13:02", "15:43"),
    ]  # fmt: skip
    ev = gib.events("encounter")
    assert (ev.num_rows, ev["end_ts"].null_count) == (N_ENCOUNTERS, 3)
    across, silent = 0, 0
    for e in ev.to_pylist():
        stop = e["end_ts"] or end
        # a receiver outage longer than an hour is never bridged by interpolation: an
        # encounter across one is two close runs less than 4 h apart, merged
        lost = sum((b - a).total_seconds() for a, b in holes if e["start_ts"] < a and b < stop)
        across += lost > 0
        steps = json.loads(e["details"])["n_close_steps"]
        # a silence both keep is continued (issue 16): it spans steps that are not close
        d = json.loads(e["details"])
        silent += d["silent_s"] > 0
        assert 0 <= d["silent_s"] <= d["duration_s"] - 600, e
        assert steps * 600 <= (stop - e["start_ts"]).total_seconds() - lost + 600, e
        a = _window(ships[e["mmsi"]], e, stop)
        b = _window(ships[e["other_mmsi"]], e, stop)
        close = min(
            km(x["lat"], x["lon"], y["lat"], y["lon"])
            for x in a
            for y in b
            if abs((x["t"] - y["t"]).total_seconds()) <= 1800
        )
        assert close < 0.5, e
        for m in (e["mmsi"], e["other_mmsi"]):
            assert median_on_grid(ships[m], e["start_ts"], stop, "kn") < 2.0, e
    assert (across, silent) == (ACROSS_OUTAGE, SILENT)


def test_loitering_is_slow_in_the_raw_reports(gib: Run, raw: list[dict[str, Any]]) -> None:
    ships, end = _ships(raw), raw[-1]["t"]
    ev = gib.events("loitering")
    assert (ev.num_rows, ev["end_ts"].null_count) == (15, 6)
    moving = set()
    for e in ev.to_pylist():
        inside = _window(ships[e["mmsi"]], e, e["end_ts"] or end)
        if sorted(r["kn"] for r in inside)[len(inside) // 2] >= 2.0:
            moving.add(e["mmsi"])
    # The tanker 256887000 lies moored (status 5) in Algeciras Bay 08:05-09:29, shifts 4 km
    # south at 3-7 kn 10:08-10:27, and is moored again at 11:44: the hourly mean implied
    # speed of 10:00-11:00 is 1.68 kn (< 2), so its loitering continues through the shift.
    assert moving == {256_887_000}
