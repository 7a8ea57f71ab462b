"""Identity history per segment and the segments table; every producer emits its schema."""

from __future__ import annotations

import pyarrow as pa
import pytest

from seawatch.errors import InputError
from seawatch.tracks.identity import DEFAULT_MAX_ATTRIBUTION_S, identity_history, segments_table
from seawatch.tracks.schemas import IDENTITY, SEGMENTS
from seawatch.tracks.segment import segment
from tracks.helpers import at, pos, positions, statics

MMSI = 419000001
H = DEFAULT_MAX_ATTRIBUTION_S / 3600


def two_ships() -> pa.Table:
    """Two ships sharing MMSI 419000001, 600 nm apart: segment A at lat 0, B at lat 10."""
    rows = [pos(0, 0.0), pos(1, 0.0), pos(0.5, 10.0), pos(0.6, 10.0)]
    out, _ = segment(positions(rows))
    return out


def seg_at(table: pa.Table, lat: float) -> int:
    rows = table.filter(pa.compute.equal(table.column("lat"), lat)).column("segment_id")
    return int(rows[0].as_py())


def test_history_keeps_change_points_only_and_carries_partial_reports() -> None:
    p = two_ships()
    s = statics(
        [
            {"ts": at(0.1), "mmsi": MMSI, "name": "ALPHA", "callsign": "AB12", "imo": 9074729},
            {"ts": at(0.2), "mmsi": MMSI, "name": "ALPHA", "callsign": "AB12", "imo": 9074729},
            {"ts": at(0.9), "mmsi": MMSI, "name": "ALPHA", "destination": "CHENNAI"},
            {"ts": at(0.95), "mmsi": MMSI, "callsign": "AB13", "imo": 0, "name": " "},
        ]
    )
    h = identity_history(s, p)
    assert h.schema == IDENTITY
    assert h.column("segment_id").to_pylist() == [seg_at(p, 0.0)] * 3
    assert h.column("changed").to_pylist() == [
        ["name", "callsign", "imo"],
        ["destination"],
        ["callsign"],
    ]
    last = h.to_pylist()[-1]
    assert (last["name"], last["callsign"], last["imo"]) == ("ALPHA", "AB13", 9074729)


def test_statics_go_to_the_segment_nearest_in_time_within_the_limit() -> None:
    p = two_ships()
    s = statics(
        [
            {"ts": at(0.55), "mmsi": MMSI, "name": "BRAVO"},  # nearest: B at 0.5 / 0.6
            {"ts": at(1 + H * 0.99), "mmsi": MMSI, "name": "LATE"},  # A's last point + < 1 h
            {"ts": at(1 + H * 1.01), "mmsi": MMSI, "name": "TOO LATE"},
            {"ts": at(0.5), "mmsi": 123456789, "name": "OTHER MMSI"},
        ]
    )
    h = identity_history(s, p)
    got = dict(zip(h.column("name").to_pylist(), h.column("segment_id").to_pylist(), strict=True))
    assert got == {"BRAVO": seg_at(p, 10.0), "LATE": seg_at(p, 0.0)}


def test_segments_table_summarises_each_segment() -> None:
    p = two_ships()
    s = statics(
        [
            {"ts": at(0.1), "mmsi": MMSI, "name": "ALPHA", "ship_type": 30},
            {"ts": at(0.2), "mmsi": MMSI, "name": "ALPHA", "ship_type": 30},
            {"ts": at(0.15), "mmsi": MMSI, "name": "ALFA"},
            {"ts": at(0.5), "mmsi": MMSI, "name": "BRAVO", "callsign": "XY"},
        ]
    )
    t = segments_table(p, s)
    assert t.schema == SEGMENTS
    rows = {r["segment_id"]: r for r in t.to_pylist()}
    a, b = rows[seg_at(p, 0.0)], rows[seg_at(p, 10.0)]
    assert (a["n_positions"], a["duration_s"], a["name"], a["ship_type"]) == (
        2,
        3600.0,
        "ALPHA",
        30,
    )
    assert (b["n_positions"], b["name"], b["callsign"], b["imo"]) == (2, "BRAVO", "XY", None)
    assert (a["flag"], a["mmsi_class"], a["n_statics"]) == ("IND", "ship", 3)
    assert b["n_statics"] == 1


def test_producers_cope_with_no_statics() -> None:
    p = two_ships()
    empty = statics([{"ts": at(0), "mmsi": MMSI}]).slice(0, 0)
    assert identity_history(empty, p).num_rows == 0
    t = segments_table(p)
    assert t.schema == SEGMENTS
    assert t.column("n_statics").to_pylist() == [0, 0]
    assert segments_table(p.slice(0, 0)).num_rows == 0


def test_unsegmented_positions_are_an_input_error() -> None:
    s = statics([{"ts": at(0), "mmsi": MMSI, "name": "A"}])
    with pytest.raises(InputError, match="segment first"):
        identity_history(s, positions([pos(0, 0.0)]))
    with pytest.raises(InputError, match="statics table lacks"):
        identity_history(s.drop_columns(["name"]), two_ships())
