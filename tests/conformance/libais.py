"""libais' expected JSON (``../shared/data/ais/libais/*.json``) as seawatch columns.

libais ships, beside its test NMEA, the records its decoder must produce: gpsd-like JSON,
one object per message in the order they complete, *scaled* (degrees, knots, metres as
float32) and with the communication state split into its sub-fields (``sync_state``,
``slot_timeout``, ...). :func:`normalise` puts the sub-fields back together as the raw
19 bits seawatch keeps in ``radio``; float32 rounding sets the tolerances.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .agreement import SHORT_MESSAGES, SLOT_BINARY, Case, Known, Pair, p
from .gpsd import our_key as our_key  # same keys: (type, MMSI, type 24 part)

#: NMEA files of libais' test data with their expected JSON.
EXPECTED = {"typeexamples.nmea": "typeexamples.json", "tagblock.nmea": "tagblock.json"}

DEG = 2e-5  # float32 of a value up to ±181: half an ulp is 7.6e-6
F32 = 1e-4  # speeds, courses, rates of turn, draughts (float32, up to ~720)


def load(path: Path) -> list[dict[str, Any]]:
    return [normalise(json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def _sotdma(rec: Mapping[str, Any]) -> int | None:
    """ITU-R M.1371-5 §3.3.7.2.2: sync state, slot time-out, sub-message by time-out."""
    if "slot_timeout" not in rec:
        return None
    timeout = rec["slot_timeout"]
    if timeout in (3, 5, 7):
        sub = rec["received_stations"]
    elif timeout in (2, 4, 6):
        sub = rec["slot_number"]
    elif timeout == 1:
        sub = rec["utc_hour"] << 9 | rec["utc_min"] << 2 | rec.get("utc_spare", 0)
    else:
        sub = rec["slot_offset"]
    return int(rec["sync_state"] << 17 | timeout << 14 | sub)


def _itdma(rec: Mapping[str, Any]) -> int | None:
    """ITU-R M.1371-5 §3.3.7.3.2: sync state, slot increment, slots, keep flag."""
    if "slot_increment" not in rec:
        return None
    return int(
        rec["sync_state"] << 17
        | rec["slot_increment"] << 4
        | rec["slots_to_allocate"] << 1
        | int(rec["keep_flag"])
    )


def normalise(rec: dict[str, Any]) -> dict[str, Any]:
    """Split or join libais' fields into the values seawatch has columns for."""
    t = rec["type"]
    radio = _sotdma(rec)
    if radio is None:
        radio = _itdma(rec)
    if radio is None and "commstate_cs_fill" in rec:
        radio = rec["commstate_cs_fill"]
    if radio is not None:
        rec["radio"] = radio
    if t in (4, 11) and "timestamp" in rec:
        date, _, time = rec["timestamp"].rstrip("Z").partition("T")
        parts = [*date.split("-"), *time.split(":")]
        rec.update(
            zip(("year", "month", "day", "hour", "minute", "second"), map(int, parts), strict=True)
        )
    if t == 5 and "imo" in rec:
        rec["imo"] = int(rec["imo"])
    if t == 24:
        rec["part"] = "AB"[rec["part_num"]]
    if "tagblock_timestamp" in rec:
        rec["ts"] = rec["tagblock_timestamp"].replace(".000000Z", "+00:00")
    return rec


def their_key(rec: Mapping[str, Any]) -> tuple[Any, ...]:
    return (rec["type"], rec["mmsi"], rec.get("part"))


# ---- field correspondences (scaled values)
# fmt: off

_POS = (
    p("accuracy", kind="bool"),
    p("lon", na=(181,), tol=DEG),
    p("lat", na=(91,), tol=DEG),
)
_SPEED = p("speed", "speed_kn", na=(102.3,), tol=F32)
_COURSE = p("course", "course_deg", na=(360,), tol=F32)
_HEADING = p("heading", "heading_deg", na=(511,))
_SECOND = p("second", na=(60,))
_RAIM = p("raim", kind="bool")
_DIMS = (
    p("to_bow", "dim_to_bow_m"), p("to_stern", "dim_to_stern_m"),
    p("to_port", "dim_to_port_m"), p("to_starboard", "dim_to_starboard_m"),
)
_EPFD = p("epfd", na=(0,))
_CORNERS = tuple(p(f"{c}_{x}", tol=DEG) for c in ("ne", "sw") for x in ("lon", "lat"))
_TAGBLOCK = (p("ts", "ts_iso"), p("tagblock_station", "station", kind="text"))


def _text(theirs: str, ours: str | None = None) -> Pair:
    return p(theirs, ours, kind="text")


_CLASS_A = (
    p("status", "nav_status"), p("turn", "rate_of_turn_degpm", tol=F32),
    _SPEED, *_POS, _COURSE, _HEADING, _SECOND, p("maneuver", na=(0,)), _RAIM, p("radio"),
)
_UTC = (
    p("year", na=(0,)), p("month", na=(0,)), p("day", na=(0,)),
    p("hour", na=(24,)), p("minute", na=(60,)), p("second", na=(60,)),
    *_POS, _EPFD, p("transmission_ctl", "long_range_tx", kind="bool"), _RAIM, p("radio"),
)
_ACK = tuple(p(f"mmsi{i}", f"dest_mmsi{i}", absent=(0,)) for i in range(1, 5))

PAIRS: dict[int, tuple[Pair, ...]] = {
    1: _CLASS_A, 2: _CLASS_A, 3: _CLASS_A,
    4: _UTC,
    5: (
        p("ais_version"), p("imo", na=(0,)), _text("callsign"), _text("shipname", "name"),
        p("shiptype", "ship_type", na=(0,)), *_DIMS, _EPFD,
        p("draught", "draught_m", na=(0,), tol=F32), _text("destination"),
        p("dte", kind="bool"),
    ),
    6: (
        p("seqno", "seq_num"), p("dest_mmsi"), p("retransmit", kind="bool"),
        p("dac"), p("fid", "fi"),
    ),
    7: _ACK,
    8: (p("dac"), p("fid", "fi")),
    9: (
        p("alt", "altitude_m", na=(4095,)), p("speed", "speed_kn", na=(1023,), tol=F32),
        *_POS, _COURSE, _SECOND, p("alt_sensor", "altitude_baro", kind="bool"),
        p("dte", kind="bool"), p("assigned", kind="bool"), _RAIM, p("radio"),
    ),
    10: (p("dest_mmsi", "dest_mmsi1"),),
    11: _UTC,
    12: (
        p("seqno", "seq_num"), p("dest_mmsi"), p("retransmit", kind="bool"), _text("text"),
    ),
    13: _ACK,
    14: (_text("text"),),
    15: (
        p("mmsi1", "dest_mmsi1"), p("type1_1", "requested_type1_1"),
        p("offset1_1", "slot_offset1_1"), p("type1_2", "requested_type1_2", absent=(0,)),
        p("offset1_2", "slot_offset1_2", absent=(0,)), p("mmsi2", "dest_mmsi2", absent=(0,)),
        p("type2_1", "requested_type2_1", absent=(0,)),
        p("offset2_1", "slot_offset2_1", absent=(0,)),
    ),
    16: (
        p("mmsi1", "dest_mmsi_a"), p("offset1", "offset_a"), p("increment1", "increment_a"),
        p("mmsi2", "dest_mmsi_b", absent=(0,)), p("offset2", "offset_b", absent=(0,)),
        p("increment2", "increment_b", absent=(0,)),
    ),
    17: (p("lon", na=(181,), tol=DEG), p("lat", na=(91,), tol=DEG)),
    18: (
        _SPEED, *_POS, _COURSE, _HEADING, _SECOND,
        p("unit", "cs_unit", kind="bool"), p("display", kind="bool"), p("dsc", kind="bool"),
        p("band", kind="bool"), p("msg22", kind="bool"), p("mode", "assigned", kind="bool"),
        _RAIM, p("radio"),
    ),
    20: tuple(
        q
        for i in range(1, 5)
        for q in (
            p(f"offset{i}", na=(0,)), p(f"number{i}", na=(0,)),
            p(f"timeout{i}", f"timeout{i}_min"), p(f"increment{i}"),
        )
    ),
    21: (
        p("aid_type", na=(0,)), _text("name", "full_name"), *_POS, *_DIMS, _EPFD, _SECOND,
        p("off_position", kind="bool"), p("regional", "aton_status"), _RAIM,
        p("virtual_aid", kind="bool"), p("assigned", kind="bool"),
    ),
    22: (
        p("channel_a"), p("channel_b"), p("txrx", "txrx_mode"),
        p("power", "power_low", kind="bool"), *_CORNERS,
        p("band_a", "band_a", kind="bool"), p("band_b", "band_b", kind="bool"),
        p("zonesize", "zone_size"),
    ),
    23: (
        *_CORNERS, p("stationtype", "station_type"), p("shiptype", "ship_type"),
        p("txrx", "txrx_mode"), p("interval", "report_interval"), p("quiet", "quiet_time_min"),
    ),
    24: (p("part_num"), _text("shipname", "name")),
    25: (p("dest_mmsi"),),
    26: (p("dest_mmsi"), p("dac"), p("fid", "fi")),
    27: (
        p("status", "nav_status"), p("accuracy", kind="bool"),
        p("lon", na=(181,), tol=DEG), p("lat", na=(91,), tol=DEG),
        p("speed", "speed_kn", na=(63,)), p("course", "course_deg", na=(511,)),
        _RAIM, p("gnss", kind="bool"),
    ),
}

# fmt: on


def pairs_for(msg_type: int, dac: int | None = None, fi: int | None = None) -> tuple[Pair, ...]:
    """The fields to compare for a message of ``msg_type`` (libais decodes no IMO
    application message that seawatch tabulates, so DAC and FI do not matter)."""
    return _PAIRS_FOR[msg_type]


_PAIRS_FOR = {t: (p("repeat"), *PAIRS.get(t, ()), *_TAGBLOCK) for t in range(1, 28)}


# ---- known causes of disagreement (docs/decoding.md says which side is right)

_LIBAIS_SIXBIT = str.maketrans({"-": "_", "`": "'"})


def _sixbit_table(c: Case) -> bool:
    """libais' JSON shows '_' as '-' and "'" as '`' (its six-bit table differs from ITU-R
    M.1371-5 Table 47 in those two codes)."""
    t = c.converted
    return isinstance(t, str) and t.translate(_LIBAIS_SIXBIT) == c.ours


def _type9_speed(c: Case) -> bool:
    """libais divides the type 9 speed by 10; ITU-R M.1371-5 gives it in whole knots."""
    return (
        c.msg.msg_type == 9
        and c.column == "speed_kn"
        and isinstance(c.ours, float)
        and abs(c.theirs * 10 - c.ours) < 1e-3
    )


def _type6_retransmit(c: Case) -> bool:
    """libais inverts the type 6 retransmit flag (bit 70; its type 12 reads it right)."""
    return c.msg.msg_type == 6 and c.column == "retransmit" and c.ours is (not c.converted)


def _position_latency(c: Case) -> bool:
    """Type 27: libais inverts the position latency bit (its ``gnss`` is true when the
    bit is 0, i.e. the position is current)."""
    return c.msg.msg_type == 27 and c.column == "gnss" and c.ours is (not c.converted)


KNOWN: tuple[Known, ...] = (
    Known("libais-six-bit-table", _sixbit_table),
    Known("libais-type-9-speed", _type9_speed),
    Known("libais-type-6-retransmit", _type6_retransmit),
    SHORT_MESSAGES,
    SLOT_BINARY,
    Known("type-27-position-latency", _position_latency),
)
