"""Golden facts: an 18 h own-ship log of a yacht crossing the English Channel from Devon to
Guernsey on 26 July 2011 (OpenCPN test data, ``Go_to_Guernesey.txt``).

Raw NMEA: the yacht's own $GPRMC every 2 s (the only time source for the AIS sentences,
carried forward) and 18,124 !AIVDM sentences of the ships around her; plus garbage the log
picked up: 56 corrupt $GPRMC lines dated 030313, a few garbled sentences, and 3 USCG-style
lines with an epoch time of January 2010 for MMSI 970010119 off Oahu. The facts were
checked with a small six-bit reader of the raw sentences written here (not seawatch's).
"""

from __future__ import annotations

import functools
import io
import itertools
import math
from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from seawatch.decode import decode

from .realdata import GUERNSEY, Run, gaps, km, require, run, utc

POSITION_TYPES = (1, 2, 3, 4, 18, 19, 27)  # into ``positions`` (4: base stations)
USCG = 970_010_119


@pytest.fixture(scope="module")
def guernsey() -> Run:
    return run(GUERNSEY)


def _checksum_ok(line: str) -> bool:
    body, star, ck = line[1:].partition("*")
    x = functools.reduce(lambda a, b: a ^ ord(b), body, 0)
    return bool(star) and ck[:2].upper() == f"{x:02X}"


def _bits(payload: str) -> str:
    return "".join(f"{(ord(c) - 48) - (8 if ord(c) - 48 > 40 else 0):06b}" for c in payload)


def _signed(b: str) -> int:
    v = int(b, 2)
    return v - (1 << len(b)) if b[0] == "1" else v


@pytest.fixture(scope="module")
def sentences() -> list[dict[str, Any]]:
    """Every !AIVDM sentence: line number, fields and, for a first fragment, the message
    type, MMSI and (position types) position, read from the payload bits."""
    out = []
    text = require(GUERNSEY).read_bytes().decode("ascii", errors="replace")
    rmc = ""
    for no, line in enumerate(text.splitlines(), 1):
        if line.startswith("$GPRMC") and ",260711," in line and _checksum_ok(line):
            rmc = line.split(",")[1]  # the own ship's GPS time, hhmmss
        start = line.find("!AIVDM")
        if start < 0:
            continue
        s = line[start:]
        f = s.split(",")
        row: dict[str, Any] = {"line": no, "ok": _checksum_ok(s), "count": int(f[1]), "rmc": rmc}
        row["number"], row["payload"] = int(f[2]), f[5]
        if row["number"] == 1:
            b = _bits(f[5])
            row["type"], row["mmsi"] = int(b[0:6], 2), int(b[8:38], 2)
            at = {1: 61, 2: 61, 3: 61, 18: 57, 4: 79}.get(row["type"])
            speed_at = {1: 50, 2: 50, 3: 50, 18: 46}.get(row["type"])
            row["speed"] = None if speed_at is None else int(b[speed_at : speed_at + 10], 2)
            if at is not None:
                row["lon"] = _signed(b[at : at + 28]) / 600_000
                row["lat"] = _signed(b[at + 28 : at + 55]) / 600_000
        out.append(row)
    return out


def test_decode_counts(guernsey: Run, sentences: list[dict[str, Any]]) -> None:
    stats = guernsey.stats
    assert (stats.lines, stats.sentences) == (63_318, len(sentences)) == (63_318, 18_124)
    assert all(s["ok"] for s in sentences)  # no AIS sentence is damaged
    multi = [s for s in sentences if s["count"] > 1]
    assert (len(multi), len({s["line"] for s in multi if s["number"] == 1})) == (722, 361)
    firsts = [s for s in sentences if s["number"] == 1]
    assert stats.messages == len(firsts) == 18_124 - 361
    assert stats.by_type == dict(Counter(s["type"] for s in firsts))
    assert stats.by_type == {
        1: 14_090, 3: 751, 4: 1_881, 5: 361, 11: 3, 13: 7, 14: 2, 18: 51, 20: 570, 24: 47,
    }  # fmt: skip
    assert len({s["mmsi"] for s in firsts}) == 123
    moving = {s["mmsi"] for s in firsts if s["type"] in POSITION_TYPES}
    assert set(guernsey.tables["positions"]["mmsi"].to_pylist()) == moving


def test_rejects_are_the_garbage_lines_only() -> None:
    quarantine = io.BytesIO()
    _, stats = decode(require(GUERNSEY), quarantine=quarantine)
    assert stats.rejects == {"bad_checksum": 60, "not_nmea": 5}
    rows = [line.split("\t", 2) for line in quarantine.getvalue().decode().splitlines()]
    assert len(rows) == 65
    kinds = Counter(
        (reason, "rmc_030313" if ",030313," in text else text[:3]) for _, reason, text in rows
    )
    assert kinds == {
        ("bad_checksum", "rmc_030313"): 56,  # 40004205.686,N,8888801147.298,E ...
        ("bad_checksum", "$GP"): 4,  # $GPGLL lines with a garbled field
        ("not_nmea", "GPO"): 3,  # fragments of GPS sentences that lost their "$"
        ("not_nmea", "GPB"): 1,
        ("not_nmea", "GBO"): 1,
    }
    assert not any("VDM" in text for _, _, text in rows)


def test_times_come_from_the_own_ship_gps(guernsey: Run, sentences: list[dict[str, Any]]) -> None:
    pos = guernsey.tables["positions"].to_pylist()
    times = sorted(p["ts"] for p in pos if p["mmsi"] != USCG)
    assert times[0] >= utc("2011-07-26 03:52:58", "%Y-%m-%d %H:%M:%S")  # first $GPRMC
    assert times[-1] <= utc("2011-07-26 22:03:52", "%Y-%m-%d %H:%M:%S")  # last
    uscg = [p for p in pos if p["mmsi"] == USCG]
    assert {p["ts"] for p in uscg} == {datetime.fromtimestamp(1_264_100_667, tz=times[0].tzinfo)}
    assert len(uscg) == 3
    assert all(abs(p["lat"] - 21.3286) < 1e-3 and abs(p["lon"] + 158.1204) < 1e-3 for p in uscg)


def test_cleaning(guernsey: Run, sentences: list[dict[str, Any]]) -> None:
    missing = [s for s in sentences if "lat" in s and (abs(s["lat"]) > 90 or abs(s["lon"]) > 180)]
    assert len(missing) == 5  # 91 / 181: not available
    # the same report twice at one own-ship GPS time (heard on both channels): duplicates;
    # the three USCG lines are one report too (their times are equal epochs)
    seen, repeats = set(), 0
    for s in sentences:
        if "lat" in s and abs(s["lat"]) <= 90 and abs(s["lon"]) <= 180:
            key = (
                s["rmc"] if s["mmsi"] != USCG else "epoch",
                s["mmsi"],
                s["lat"],
                s["lon"],
                s["speed"],
            )
            repeats += key in seen
            seen.add(key)
    assert repeats == 57
    dropped = {k: v for k, v in guernsey.clean.dropped.items() if v}
    assert dropped == {"missing_position": 5, "duplicate": 57}


def test_one_segment_per_mmsi_and_no_jumps(guernsey: Run) -> None:
    per = guernsey.segments_per_mmsi()
    assert len(per) == 123
    assert set(per.values()) == {1}
    rows = sorted(guernsey.clean.positions.to_pylist(), key=lambda p: (p["mmsi"], p["ts"]))
    for m, group in itertools.groupby(rows, key=lambda p: p["mmsi"]):
        for a, b in itertools.pairwise(list(group)):
            h = (b["ts"] - a["ts"]).total_seconds() / 3600
            assert km(a["lat"], a["lon"], b["lat"], b["lon"]) <= math.hypot(h, 0.25) * 50 * 1.852, m
    for detector in ("spoofing", "loitering", "encounter"):
        assert guernsey.events(detector).num_rows == 0, detector


def test_gaps(guernsey: Run) -> None:
    """Ships drop out of VHF range as the yacht sails on: all but one gap stay open."""
    pos = [p for p in guernsey.clean.positions.to_pylist() if not p["is_base_station"]]
    end = max(p["ts"] for p in pos)
    times: dict[int, list[datetime]] = {}
    for p in pos:
        times.setdefault(p["mmsi"], []).append(p["ts"])
    closed, still = gaps(times, end)
    ev = guernsey.events("gap")
    got = set(zip(ev["mmsi"].to_pylist(), ev["start_ts"].to_pylist(), strict=True))
    assert got == closed | still
    assert (len(closed), len(still)) == (1, 61)
    # 235008741 falls silent 13:45-20:26 near 49.63 N 3.20 W, back 4.6 km further on
    ((mmsi, start),) = closed
    assert (mmsi, start) == (235_008_741, utc("2011-07-26 13:45:06", "%Y-%m-%d %H:%M:%S"))
    # the USCG lines' vessel is silent from January 2010 to the end of the passage
    assert (USCG, min(times[USCG])) in still
