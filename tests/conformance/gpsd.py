"""gpsd's ``gpsdecode -u -j -s``: running it, and its JSON fields as seawatch columns.

``-u`` (unscaled) gives the raw integer of each field, ``-s`` a record per type 24 part
(without it gpsd merges part A into the following part B and drops lone parts). Field
names and meanings follow gpsd's AIVDM documentation and JSON output (3.22). The
not-available values are declared here from ITU-R M.1371-5, not taken from seawatch's
layouts, so a wrong layout shows up as a disagreement.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

from .agreement import SHORT_MESSAGES, SLOT_BINARY, Case, Known, Pair, p
from .ours import Decoded, Message

GPSDECODE = shutil.which("gpsdecode")
ARGS = ("-u", "-j", "-s")

# Raw "not available" values of positions in 1/10 000 minute
LON_NA = 181 * 600_000
LAT_NA = 91 * 600_000


def run(data: bytes) -> list[dict[str, Any]]:
    """gpsdecode's AIS records for ``data``, normalised (see :func:`normalise`).

    gpsdecode gets the lines holding AIS sentences as they are (tag blocks and trailing
    fields included), each ending in a newline (without one it drops the last sentence).
    Leaving out the GPS, instrument and radar sentences of the ship logs cannot change
    its AIS output and makes it several times faster.
    """
    assert GPSDECODE is not None, "gpsdecode is not on PATH"
    lines = [line.rstrip(b"\r") + b"\n" for line in data.splitlines() if b"VD" in line]
    out = subprocess.run(
        [GPSDECODE, *ARGS], input=b"".join(lines), capture_output=True, check=True, timeout=120
    ).stdout
    records = []
    for line in out.splitlines():
        rec = json.loads(line)
        if rec.get("class") == "AIS":
            records.append(normalise(rec))
    return records


_TS = re.compile(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)Z")
_ETA = re.compile(r"(\d+)-(\d+)T(\d+):(\d+)Z")
_DHM = re.compile(r"(\d+)T(\d+):(\d+)Z")


def bits(data: str) -> str:
    """gpsd binary data ``"<nbits>:<hex>"`` → a string of '0'/'1'."""
    n, _, hexa = data.partition(":")
    return "".join(f"{int(c, 16):04b}" for c in hexa)[: int(n)]


def normalise(rec: dict[str, Any]) -> dict[str, Any]:
    """Split gpsd's composite fields into the parts seawatch has columns for."""
    t = rec["type"]
    if "data" in rec:
        rec["data"] = bits(rec["data"])
    ts = rec.get("timestamp")
    if ts is not None:
        if t in (4, 11) and (m := _TS.fullmatch(ts)):
            names = ("year", "month", "day", "hour", "minute", "second")
            rec.update(zip(names, map(int, m.groups()), strict=True))
        elif t == 8 and (m := _DHM.fullmatch(ts)):
            rec.update(zip(("day", "hour", "minute"), map(int, m.groups()), strict=True))
    if t == 5 and (m := _ETA.fullmatch(rec.get("eta", ""))):
        names = ("eta_month", "eta_day", "eta_hour", "eta_minute")
        rec.update(zip(names, map(int, m.groups()), strict=True))
    if t in (9, 18) and "radio" in rec:
        # 20 bits: the communication state selector, then the 19-bit state
        rec["radio_selector"] = rec["radio"] >> 19
        rec["radio"] &= (1 << 19) - 1
    if t == 9 and "regional" in rec:
        rec["altitude_sensor"] = rec["regional"] >> 7  # the first of gpsd's 8 "regional" bits
    if t == 24:
        if "part" not in rec:  # part B merged with the part A before it
            rec["part"] = "B"
            rec.pop("shipname", None)
        if "vendorid" in rec:  # gpsd: 7 characters; ITU-R M.1371-5: 3, then model and serial
            rec["vendorid"] = rec["vendorid"][:3].rstrip("@ ")
    if t in (25, 26) and rec.get("structured"):
        rec["dac"], rec["fid"] = rec["app_id"] >> 6, rec["app_id"] & 63
    return rec


def their_key(rec: Mapping[str, Any]) -> tuple[Any, ...]:
    return (rec["type"], rec["mmsi"], rec.get("part"))


def our_key(decoded: Decoded, msg: Message) -> tuple[Any, ...]:
    part = None
    if msg.msg_type == 24:
        part = "AB"[decoded.value(msg, "part_num")]
    return (msg.msg_type, msg.mmsi, part)


# ---- field correspondences
# fmt: off

_POS = (
    p("accuracy", kind="bool"),
    p("lon", scale=600_000, na=(LON_NA,)),
    p("lat", scale=600_000, na=(LAT_NA,)),
)
_SPEED = p("speed", "speed_kn", scale=10, na=(1023,))
_COURSE = p("course", "course_deg", scale=10, na=(3600,))
_HEADING = p("heading", "heading_deg", na=(511,))
_SECOND = p("second", na=(60,))
_RAIM = p("raim", kind="bool")
_DIMS = (
    p("to_bow", "dim_to_bow_m"),
    p("to_stern", "dim_to_stern_m"),
    p("to_port", "dim_to_port_m"),
    p("to_starboard", "dim_to_starboard_m"),
)
_EPFD = p("epfd", na=(0,))
_SHIPTYPE = p("shiptype", "ship_type", na=(0,))
_CORNERS = tuple(p(f"{c}_{x}", scale=600) for c in ("ne", "sw") for x in ("lon", "lat"))


def _text(theirs: str, ours: str | None = None) -> Pair:
    return p(theirs, ours, kind="text")


_CLASS_A = (
    p("status", "nav_status"),
    p("turn", "rate_of_turn_degpm", na=(-128,), kind="rot"),
    _SPEED, *_POS, _COURSE, _HEADING, _SECOND,
    p("maneuver", na=(0,)),
    _RAIM,
    p("radio"),
)
_UTC = (
    p("year", na=(0,)), p("month", na=(0,)), p("day", na=(0,)),
    p("hour", na=(24,)), p("minute", na=(60,)), p("second", na=(60,)),
    *_POS, _EPFD, _RAIM, p("radio"),
)
_BINARY = (p("data", kind="bits"),)
_ADDRESSED = (
    p("seqno", "seq_num"), p("dest_mmsi"), p("retransmit", kind="bool"),
)
_SLOT_BINARY = (
    p("addressed", kind="bool"), p("structured", kind="bool"),
    p("dest_mmsi", absent=(0,)), p("dac"), p("fid", "fi"),
)

PAIRS: dict[int, tuple[Pair, ...]] = {
    1: _CLASS_A,
    2: _CLASS_A,
    3: _CLASS_A,
    4: _UTC,
    5: (
        p("ais_version"), p("imo", na=(0,)), _text("callsign"), _text("shipname", "name"),
        _SHIPTYPE, *_DIMS, _EPFD,
        p("eta_month", na=(0,)), p("eta_day", na=(0,)), p("eta_hour", na=(24,)),
        p("eta_minute", na=(60,)),
        p("draught", "draught_m", scale=10, na=(0,)),
        _text("destination"), p("dte", kind="bool"),
    ),
    6: (*_ADDRESSED, p("dac"), p("fid", "fi"), *_BINARY),
    7: tuple(p(f"mmsi{i}", f"dest_mmsi{i}", absent=(0,)) for i in range(1, 5)),
    8: (p("dac"), p("fid", "fi"), *_BINARY),
    9: (
        p("alt", "altitude_m", na=(4095,)),
        p("speed", "speed_kn", na=(1023,)),
        *_POS, _COURSE, _SECOND,
        p("altitude_sensor", "altitude_baro", kind="bool"),
        p("dte", kind="bool"),
        _RAIM,
        p("radio_selector", "comm_state_itdma", kind="bool"),
        p("radio"),
    ),
    10: (p("dest_mmsi", "dest_mmsi1"),),
    11: _UTC,
    12: (*_ADDRESSED, _text("text")),
    13: tuple(p(f"mmsi{i}", f"dest_mmsi{i}", absent=(0,)) for i in range(1, 5)),
    14: (_text("text"),),
    15: (
        p("mmsi1", "dest_mmsi1"),
        p("type1_1", "requested_type1_1"), p("offset1_1", "slot_offset1_1"),
        p("type1_2", "requested_type1_2", absent=(0,)),
        p("offset1_2", "slot_offset1_2", absent=(0,)),
        p("mmsi2", "dest_mmsi2", absent=(0,)),
        p("type2_1", "requested_type2_1", absent=(0,)),
        p("offset2_1", "slot_offset2_1", absent=(0,)),
    ),
    16: (
        p("mmsi1", "dest_mmsi_a"), p("offset1", "offset_a"), p("increment1", "increment_a"),
        p("mmsi2", "dest_mmsi_b", absent=(0,)), p("offset2", "offset_b", absent=(0,)),
        p("increment2", "increment_b", absent=(0,)),
    ),
    17: (
        p("lon", scale=600, na=(181 * 600,)), p("lat", scale=600, na=(91 * 600,)), *_BINARY,
    ),
    18: (
        _SPEED, *_POS, _COURSE, _HEADING, _SECOND,
        p("cs", "cs_unit", kind="bool"), p("display", kind="bool"), p("dsc", kind="bool"),
        p("band", kind="bool"), p("msg22", kind="bool"), _RAIM,
        p("radio_selector", "comm_state_itdma", kind="bool"), p("radio"),
    ),
    19: (
        _SPEED, *_POS, _COURSE, _HEADING, _SECOND,
        _text("shipname", "name"), _SHIPTYPE, *_DIMS, _EPFD, _RAIM,
        p("dte", kind="bool"), p("assigned", kind="bool"),
    ),
    20: tuple(
        q
        for i in range(1, 5)
        for q in (
            p(f"offset{i}", na=(0,)), p(f"number{i}", na=(0,)),
            p(f"timeout{i}", f"timeout{i}_min", absent=(0,)),
            p(f"increment{i}", absent=(0,)),
        )
    ),
    21: (
        p("aid_type", na=(0,)), _text("name", "full_name"), *_POS, *_DIMS, _EPFD, _SECOND,
        p("off_position", kind="bool"), p("regional", "aton_status"), _RAIM,
        p("virtual_aid", kind="bool"),
    ),
    22: (
        p("channel_a"), p("channel_b"), p("txrx", "txrx_mode"),
        p("power", "power_low", kind="bool"),
        *_CORNERS, p("dest1", "dest_mmsi1"), p("dest2", "dest_mmsi2"),
        p("addressed", kind="bool"), p("band_a", kind="bool"), p("band_b", kind="bool"),
        p("zonesize", "zone_size"),
    ),
    23: (
        *_CORNERS, p("stationtype", "station_type"), p("shiptype", "ship_type"),
        p("interval", "report_interval"), p("quiet", "quiet_time_min"),
    ),
    24: (
        _text("shipname", "name"), _SHIPTYPE, _text("vendorid", "vendor_id"), p("model"),
        p("serial"), _text("callsign"), *_DIMS, p("mothership_mmsi"),
    ),
    25: (*_SLOT_BINARY, *_BINARY),
    26: (
        *_SLOT_BINARY,
        p("data", "data_without_radio", kind="bits"),
        p("radio", "radio_in_data"),
    ),
    27: (
        p("status", "nav_status"), p("accuracy", kind="bool"),
        p("lon", scale=600, na=(181 * 600,)), p("lat", scale=600, na=(91 * 600,)),
        p("speed", "speed_kn", na=(63,)), p("course", "course_deg", na=(511,)),
        _RAIM, p("gnss", kind="bool"),
    ),
}


def _app(table: str, *pairs: Pair) -> tuple[Pair, ...]:
    return tuple(Pair(q.theirs, f"{table}.{q.ours}", q.scale, q.na, q.absent, q.kind, q.tol)
                 for q in pairs)


def _sea(dir_na: int) -> tuple[Pair, ...]:
    def current(i: str) -> tuple[Pair, ...]:
        depth = (p(f"cdepth{i}", f"current{i}_depth_m", na=(31,)),) if i else ()
        return (
            p(f"cspeed{i}", f"current{i}_speed_kn", scale=10, na=(255,)),
            p(f"cdir{i}", f"current{i}_dir_deg", na=(dir_na,)),
            *depth,
        )

    return (
        *current(""), *current("2"), *current("3"),
        p("waveheight", "wave_height_m", scale=10, na=(255,)),
        p("waveperiod", "wave_period_s", na=(63,)),
        p("wavedir", "wave_dir_deg", na=(dir_na,)),
        p("swellheight", "swell_height_m", scale=10, na=(255,)),
        p("swellperiod", "swell_period_s", na=(63,)),
        p("swelldir", "swell_dir_deg", na=(dir_na,)),
        p("seastate", "sea_state", na=(13,)),
    )


def _wind(dir_na: int) -> tuple[Pair, ...]:
    return (
        p("wspeed", "wind_speed_kn", na=(127,)), p("wgust", "wind_gust_kn", na=(127,)),
        p("wdir", "wind_dir_deg", na=(dir_na,)), p("wgustdir", "wind_gust_dir_deg", na=(dir_na,)),
    )


_DAY_HOUR_MINUTE = (p("day", na=(0,)), p("hour", na=(24,)), p("minute", na=(60,)))

#: Application messages (type, DAC, FI) whose fields gpsd decodes and seawatch tabulates.
APP_PAIRS: dict[tuple[int, int, int], tuple[Pair, ...]] = {
    (8, 1, 11): _app(
        "met_hydro_legacy",
        p("lat", scale=60_000, na=(91 * 60_000,)), p("lon", scale=60_000, na=(181 * 60_000,)),
        *_DAY_HOUR_MINUTE, *_wind(511),
        p("airtemp", "air_temp_raw", na=(2047,)), p("humidity", "humidity_pct", na=(127,)),
        p("dewpoint", "dew_point_raw", na=(1023,)), p("pressure", "air_pressure_raw", na=(511,)),
        p("pressuretend", "pressure_tendency", na=(3,)),
        p("visibility", "visibility_nm", scale=10, na=(255,)),
        p("waterlevel", "water_level_raw", na=(511,)),
        p("leveltrend", "water_level_trend", na=(3,)),
        *_sea(511),
        p("watertemp", "water_temp_raw", na=(1023,)), p("preciptype", "precipitation", na=(7,)),
        p("salinity", "salinity_ppt", scale=10, na=(511,)), p("ice", na=(3,)),
    ),
    (8, 1, 31): _app(
        "met_hydro",
        p("lat", scale=60_000, na=(91 * 60_000,)), p("lon", scale=60_000, na=(181 * 60_000,)),
        p("accuracy", kind="bool"), *_DAY_HOUR_MINUTE, *_wind(360),
        p("airtemp", "air_temp_c", scale=10, na=(-1024,)),
        p("humidity", "humidity_pct", na=(101,)),
        p("dewpoint", "dew_point_c", scale=10, na=(501,)),
        p("pressure", "air_pressure_raw", na=(511,)),
        p("pressuretend", "pressure_tendency", na=(3,)),
        p("visgreater", "visibility_greater", kind="bool"),
        p("visibility", "visibility_nm", scale=10, na=(127,)),
        p("waterlevel", "water_level_raw", na=(4001,)),
        p("leveltrend", "water_level_trend", na=(3,)),
        *_sea(360),
        p("watertemp", "water_temp_c", scale=10, na=(501,)),
        p("preciptype", "precipitation", na=(7,)),
        p("salinity", "salinity_ppt", scale=10, na=(510,)), p("ice", na=(3,)),
    ),
    (8, 200, 10): _app(
        "inland_static",
        _text("vin", "eni"), p("length", "length_m", scale=10, na=(0,)),
        p("beam", "beam_m", scale=10, na=(0,)), p("shiptype", "ship_type_eri"),
        p("hazard", na=(5,)), p("draught", "draught_m", scale=100, na=(0,)),
        p("loaded", na=(0,)), p("speed_q", "speed_quality", kind="bool"),
        p("course_q", "course_quality", kind="bool"),
        p("heading_q", "heading_quality", kind="bool"),
    ),
    (8, 1, 29): _app("text_descriptions", p("linkage", "linkage_id", na=(0,)), _text("text")),
}

# fmt: on


def pairs_for(msg_type: int, dac: int | None = None, fi: int | None = None) -> tuple[Pair, ...]:
    """The fields to compare for a message of ``msg_type`` (and application DAC/FI)."""
    return _PAIRS_FOR.get((msg_type, dac, fi)) or _PAIRS_FOR[(msg_type, None, None)]


_REPEAT = p("repeat")
_PAIRS_FOR: dict[tuple[int, int | None, int | None], tuple[Pair, ...]] = {
    **{(t, None, None): (_REPEAT, *PAIRS.get(t, ())) for t in range(1, 28)},
    **{app: (_REPEAT, *PAIRS[app[0]], *pairs) for app, pairs in APP_PAIRS.items()},
}


# ---- known causes of disagreement (docs/decoding.md says which side is right)


def _cut_at_sign(c: Case) -> bool:
    """seawatch keeps the text after an '@'; gpsd ends the text at the first '@'."""
    return (
        isinstance(c.ours, str)
        and "@" in c.ours
        and (c.ours.split("@", 1)[0].rstrip(" ") or None) == c.converted
    )


def _name_spaces(c: Case) -> bool:
    """Type 21: a full 20-character name ending in spaces, continued by the extension:
    seawatch's ``name`` drops the spaces, so name + extension loses them."""
    t, o = c.converted, c.ours
    return (
        c.column == "full_name"
        and isinstance(t, str)
        and isinstance(o, str)
        and len(t) > 20
        and t[20:] == (c.decoded.value(c.msg, "name_extension") or "")
        and t[:20].rstrip(" ") == o
    )


def _radio26(c: Case) -> bool:
    """gpsd 3.22 writes radio 0 for every type 26 (it does not decode the field)."""
    return c.column == "radio_in_data" and c.theirs == 0


def _station_b(c: Case) -> bool:
    """Type 16 shorter than 144 bits: gpsd reports no station B; seawatch decodes the
    fields of station B that the message holds."""
    return (
        c.msg.msg_type == 16
        and c.theirs == 0
        and c.column in ("dest_mmsi_b", "offset_b", "increment_b")
        and len(c.decoded.bits(c.msg)) < 144
    )


def _inner_fill(c: Case) -> bool:
    """A sentence before the last declares fill bits: gpsd drops them from the middle of
    the message, seawatch uses the fill bits of the last sentence only."""
    return any(c.decoded.fills(c.msg)[:-1])


KNOWN: tuple[Known, ...] = (
    SHORT_MESSAGES,
    Known("text-and-the-at-sign", _cut_at_sign),
    Known("aid-to-navigation-names", _name_spaces),
    SLOT_BINARY,
    Known("type-26-communication-state", _radio26),
    Known("type-16-station-b", _station_b),
    Known("fill-bits-before-the-last-sentence", _inner_fill),
)
