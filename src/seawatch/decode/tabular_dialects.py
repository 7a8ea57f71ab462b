"""The CSV dialects the tabular reader knows, each declared once as a :class:`CsvSpec`.

In: a dialect's text columns (Arrow strings, found by header name). Out: a
:class:`~seawatch.decode.tabular_norm.Frame` in seawatch's names, units and types, with the
rows that have no usable MMSI, time or number marked for rejection. A spec says which
header names identify the dialect (``signature``, for sniffing), which header names feed
which of our columns, the divisors that bring a column to seawatch's units (10 for
MarineTraffic's ``SPEED_KNOTSx10``) and how its times are written.

- ``noaa_csv``: NOAA MarineCadastre (``MMSI,BaseDateTime,LAT,LON,SOG,...``);
- ``dma_csv``: Danish Maritime Authority (``# Timestamp,Type of mobile,MMSI,...``);
- ``argenni_csv``: decoded type 1-3 reports with the vessel's static data joined on each
  row (``"timestamp";"msgid";"targetType";"mmsi";"lat";"long";...``, epoch milliseconds);
- ``marinetraffic_csv``: MarineTraffic-style exports (``MMSI;SHIP_ID;STATUS;
  SPEED_KNOTSx10;LON;LAT;COURSE;HEADING;TIMESTAMP_UTC;...;DRAUGHT_METERSx10``);
- ``vesselsvalue_csv``: VesselsValue positions (``ID,ais_pos_timestamp,longitude,latitude``,
  ``dd/mm/YYYY HH:MM``; ``ID`` is an anonymised vessel number, read as the MMSI);
- ``csv``: any other CSV whose header names the MMSI, time and position in common words
  (:data:`~seawatch.decode.tabular_columns.SYNONYMS`: ``MMSI,Latitude,Longitude,Time`` ...)
  or through the user's ``--columns`` mapping; ISO 8601 or epoch times.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import pyarrow as pa
import pyarrow.compute as _compute

from seawatch.decode.tabular_columns import NEEDED, SYNONYMS
from seawatch.decode.tabular_norm import (
    MAX_MMSI,
    ROT_MAX,
    Array,
    Frame,
    clean_text,
    epoch_auto,
    in_range,
    lookup,
    null_if,
    parse_eta,
    parse_float,
    parse_mmsi,
    parse_timestamp,
    to_int,
)

# The stubs' overloads refuse the Python scalars these functions take; check calls by test.
pc: Any = _compute

# ITU-R M.1371 navigational status, as DMA spells it out.
NAV_STATUS: Final = {
    "under way using engine": 0,
    "at anchor": 1,
    "not under command": 2,
    "restricted maneuverability": 3,
    "restricted manoeuvrability": 3,
    "constrained by her draught": 4,
    "moored": 5,
    "aground": 6,
    "engaged in fishing": 7,
    "under way sailing": 8,
    "reserved for future amendment [hsc]": 9,
    "reserved for future amendment [wig]": 10,
    "power-driven vessel towing astern": 11,
    "power-driven vessel pushing ahead or towing alongside": 12,
    "reserved for future use": 13,
    "ais-sart is active": 14,
    "ais-sart": 14,
    "unknown value": 15,
}
# Ship type names (DMA; Argenni with "_" for " ") → the ITU code of "all ships of this type".
SHIP_TYPE: Final = {
    "wig": 20, "fishing": 30, "towing": 31, "towing long/wide": 32, "dredging": 33,
    "diving": 34, "military": 35, "sailing": 36, "pleasure": 37, "hsc": 40, "pilot": 50,
    "sar": 51, "tug": 52, "port tender": 53, "anti-pollution": 54, "anti pollution": 54,
    "law enforcement": 55, "spare 1": 56, "spare 2": 57, "medical": 58,
    "not party to conflict": 59, "ships according to rr": 59, "passenger": 60, "cargo": 70,
    "tanker": 80, "other": 90,
}  # fmt: skip
# DMA "Cargo type" → second digit of the ship type, for the types that carry one.
CARGO_DIGIT: Final = {"category x": 1, "category y": 2, "category z": 3, "category os": 4}
_CARGO_BASES: Final = pa.array([20, 40, 60, 70, 80, 90], pa.int16())
# Transceiver class / type of mobile → (position msg_type, static msg_type; 0 = none).
NOAA_CLASS: Final = {"a": (1, 5), "b": (18, 24)}
DMA_MOBILE: Final = {
    "class a": (1, 5),
    "class b": (18, 24),
    "base station": (4, 0),
    "aton": (21, 21),
    "sar airborne": (9, 0),
}
# MarineTraffic writes its own codes in STATUS beside the ITU 0-15: 95 on base stations'
# rows, 98 on aids to navigation's (99 for "no status": class B and unknown).
MARINETRAFFIC_STATION: Final = {"95": (4, 0), "98": (21, 21)}
_DMA_NA: Final = ("unknown", "undefined")

TimeForm = Literal["iso", "dmy", "epoch", "auto"]


@dataclass(frozen=True)
class CsvSpec:
    """One CSV dialect, declared once: how to recognise it, its columns and their units."""

    label: str
    station: str
    signature: frozenset[str]  # normalised header names that, all present, identify it
    # (empty: told by its columns, after every dialect with a signature)
    columns: Mapping[str, tuple[str, ...]]  # our name → accepted header names (normalised)
    convert: Callable[[_Columns, Frame], None]
    # ISO 8601, dd/mm/yyyy HH:MM[:SS], epoch seconds/milliseconds, or (auto) epoch when
    # every time of a batch is a number, else ISO 8601
    time: TimeForm = "iso"
    divisor: Mapping[str, float] = field(default_factory=dict)  # our name → file units per ours
    required: tuple[str, ...] = ("mmsi", "ts")


class _Columns:
    """A batch's text columns; numeric parses apply the spec's divisors and collect
    ``bad_number``."""

    def __init__(self, cols: Mapping[str, Array], n: int, divisor: Mapping[str, float]) -> None:
        self.cols, self.n, self.divisor = cols, n, divisor
        self.bad_number: Array = pa.repeat(False, n)

    def text(self, name: str) -> Array:
        col = self.cols.get(name)
        return pa.nulls(self.n, pa.string()) if col is None else col

    def num(self, name: str, text: Array | None = None) -> Array:
        values, bad = parse_float(self.text(name) if text is None else text)
        self.bad_number = pc.or_(self.bad_number, bad)
        by = self.divisor.get(name)  # x / 10, not x * 0.1: 51 → 5.1, not 5.1000000000000005
        return values if by is None else pc.divide(values, float(by))


def _positive(values: Array, hi: float) -> Array:
    """Sizes: 0 means "not available" in AIS, above ``hi`` cannot be sent."""
    return null_if(values, pc.or_(pc.less_equal(values, 0), pc.greater(values, hi)))


def _kinematics(c: _Columns, frame: Frame) -> None:
    """Position, speed, course, heading and draught, with the AIS not-available values as null
    (a dialect without one of these columns gets nulls)."""
    cols = frame.columns
    cols["lat"] = in_range(c.num("lat"), -90, 90)  # 91 = not available
    cols["lon"] = in_range(c.num("lon"), -180, 180)  # 181 = not available
    cols["speed_kn"] = in_range(c.num("sog"), 0, 102.2)  # 102.3 = not available
    cog = c.num("cog")
    cols["course_deg"] = null_if(in_range(cog, 0, 360), pc.greater_equal(cog, 360))  # 360 = n/a
    cols["heading_deg"] = to_int(c.num("heading"), pa.int16(), 0, 359)  # 511 = n/a
    cols["draught_m"] = _positive(c.num("draught"), 25.5)
    # Length and width have no column of their own in statics and cannot be split into
    # the distances from the reference point, so they are not read.


def _dimensions(c: _Columns, frame: Frame) -> None:
    for ours, hi in (
        ("dim_to_bow_m", 511),
        ("dim_to_stern_m", 511),
        ("dim_to_port_m", 63),
        ("dim_to_starboard_m", 63),
    ):
        frame.columns[ours] = to_int(c.num(ours), pa.int16(), 0, hi)


def convert(spec: CsvSpec, cols: Mapping[str, Array], lines: Array) -> Frame:
    """A batch of ``spec``'s text columns → a frame: MMSI, time, station and line number
    (rejecting rows without a usable MMSI or time), then the dialect's own columns."""
    n = len(lines)
    c = _Columns(cols, n, spec.divisor)
    frame = Frame(columns={}, n=n)
    mmsi_f, mmsi_text_bad = parse_float(c.text("mmsi"))
    mmsi, bad_mmsi = parse_mmsi(mmsi_f)
    frame.reject(pc.or_(mmsi_text_bad, bad_mmsi), "bad_mmsi")
    ts, bad_ts = _times(spec.time, c.text("ts"))
    frame.reject(pc.or_(bad_ts, pc.is_null(ts)), "bad_timestamp")
    frame.columns.update(
        ts=ts, mmsi=mmsi, line_no=lines, station=pa.repeat(pa.scalar(spec.station), n)
    )
    _kinematics(c, frame)
    spec.convert(c, frame)
    frame.reject(c.bad_number, "bad_number")
    return frame


def _times(form: TimeForm, text: Array) -> tuple[Array, Array]:
    """A batch's time column → (timestamp[us, UTC], bad mask), as ``form`` has it written."""
    if form in ("epoch", "auto"):
        seconds, bad = parse_float(text)
        numbers = not pc.any(bad).as_py() and seconds.null_count < len(text)
        if form == "epoch" or numbers:
            return epoch_auto(seconds), bad
    return parse_timestamp(text, day_first=form == "dmy")


def _msg_types(text: Array, table: Mapping[str, tuple[int, int]], frame: Frame) -> None:
    frame.columns["msg_type"] = lookup(text, {k: v[0] for k, v in table.items()}, pa.int8())
    static = lookup(text, {k: v[1] for k, v in table.items()}, pa.int8())
    frame.columns["static_msg_type"] = null_if(static, pc.equal(static, 0))


def _noaa(c: _Columns, frame: Frame) -> None:
    out = frame.columns
    out["nav_status"] = to_int(c.num("status"), pa.int8(), 0, 15)
    imo = pc.replace_substring_regex(c.text("imo"), r"^\s*[Ii][Mm][Oo]", "")
    out["imo"] = to_int(c.num("imo", imo), pa.int32(), 1, MAX_MMSI)
    out["ship_type"] = to_int(c.num("ship_type"), pa.int16(), 1, 255)
    out["name"] = clean_text(c.text("name"))
    out["callsign"] = clean_text(c.text("callsign"))
    _msg_types(c.text("class"), NOAA_CLASS, frame)


def _dma(c: _Columns, frame: Frame) -> None:
    out = frame.columns
    status_text = c.text("status")
    status_num, _ = parse_float(status_text)
    out["nav_status"] = pc.coalesce(
        lookup(status_text, NAV_STATUS, pa.int8()), to_int(status_num, pa.int8(), 0, 15)
    )
    out["rate_of_turn_degpm"] = in_range(c.num("rot"), -ROT_MAX, ROT_MAX)
    out["imo"] = to_int(c.num("imo"), pa.int32(), 1, MAX_MMSI)
    ship_text = c.text("ship_type")
    base = lookup(ship_text, SHIP_TYPE, pa.int16())
    digit = pc.if_else(
        pc.is_in(base, value_set=_CARGO_BASES),
        pc.coalesce(lookup(c.text("cargo"), CARGO_DIGIT, pa.int16()), pa.scalar(0, pa.int16())),
        pa.scalar(0, pa.int16()),
    )
    ship_num, _ = parse_float(ship_text)
    out["ship_type"] = pc.coalesce(pc.add(base, digit), to_int(ship_num, pa.int16(), 1, 255))
    _dimensions(c, frame)
    out.update(parse_eta(c.text("eta"), day_first=True))
    for col in ("name", "callsign", "destination"):
        out[col] = clean_text(c.text(col), _DMA_NA)
    _msg_types(c.text("mobile"), DMA_MOBILE, frame)


def _argenni(c: _Columns, frame: Frame) -> None:
    out = frame.columns
    _msg_types(c.text("class"), NOAA_CLASS, frame)
    # msgid is the position's own message type; the class only stands in when it is missing.
    out["msg_type"] = pc.coalesce(to_int(c.num("msgid"), pa.int8(), 1, 27), out["msg_type"])
    out["accuracy"] = pc.cast(to_int(c.num("accuracy"), pa.int8(), 0, 1), pa.bool_())
    ship_text = pc.replace_substring(c.text("ship_type"), "_", " ")
    out["ship_type"] = lookup(ship_text, SHIP_TYPE, pa.int16())  # UNKNOWN, UNDEFINED: null
    _dimensions(c, frame)
    out["imo"] = to_int(c.num("imo"), pa.int32(), 1, MAX_MMSI)
    for col in ("name", "callsign"):
        out[col] = clean_text(c.text(col))


def _marinetraffic(c: _Columns, frame: Frame) -> None:
    status = c.num("status")
    frame.columns["nav_status"] = to_int(status, pa.int8(), 0, 15)  # 95-99: not a status
    code = pc.cast(to_int(status, pa.int16(), 0, 99), pa.string())
    _msg_types(code, MARINETRAFFIC_STATION, frame)  # null for ships: types 1-3 or 18


def _generic(c: _Columns, frame: Frame) -> None:
    out = frame.columns
    status_text = c.text("status")
    status_num, _ = parse_float(status_text)
    out["nav_status"] = pc.coalesce(
        lookup(status_text, NAV_STATUS, pa.int8()), to_int(status_num, pa.int8(), 0, 15)
    )
    imo = pc.replace_substring_regex(c.text("imo"), r"^\s*[Ii][Mm][Oo]", "")
    out["imo"] = to_int(c.num("imo", imo), pa.int32(), 1, MAX_MMSI)
    ship_text = c.text("ship_type")
    ship_num, _ = parse_float(ship_text)
    out["ship_type"] = pc.coalesce(
        to_int(ship_num, pa.int16(), 1, 255), lookup(ship_text, SHIP_TYPE, pa.int16())
    )
    for col in ("name", "callsign", "destination"):
        out[col] = clean_text(c.text(col), _DMA_NA)


def _positions_only(c: _Columns, frame: Frame) -> None:
    """Nothing beyond the time, MMSI and position read by :func:`convert`."""


NOAA: Final = CsvSpec(
    label="NOAA MarineCadastre",
    station="noaa",
    signature=frozenset({"mmsi", "basedatetime"}),
    columns={
        "mmsi": ("mmsi",), "ts": ("basedatetime",), "lat": ("lat", "latitude"),
        "lon": ("lon", "longitude"), "sog": ("sog",), "cog": ("cog",),
        "heading": ("heading",), "name": ("vesselname",), "imo": ("imo",),
        "callsign": ("callsign",), "ship_type": ("vesseltype",), "status": ("status",),
        "draught": ("draft", "draught"),
        "class": ("transceiverclass", "transcieverclass"),
    },
    convert=_noaa,
)  # fmt: skip
DMA: Final = CsvSpec(
    label="Danish Maritime Authority",
    station="dma",
    signature=frozenset({"mmsi", "type of mobile"}),
    columns={
        "ts": ("timestamp",), "mobile": ("type of mobile",), "mmsi": ("mmsi",),
        "lat": ("latitude",), "lon": ("longitude",), "status": ("navigational status",),
        "rot": ("rot",), "sog": ("sog",), "cog": ("cog",), "heading": ("heading",),
        "imo": ("imo",), "callsign": ("callsign",), "name": ("name",),
        "ship_type": ("ship type",), "cargo": ("cargo type",),
        "draught": ("draught",), "destination": ("destination",), "eta": ("eta",),
        "dim_to_bow_m": ("a",), "dim_to_stern_m": ("b",), "dim_to_port_m": ("c",),
        "dim_to_starboard_m": ("d",),
    },
    convert=_dma,
    time="dmy",
)  # fmt: skip
ARGENNI: Final = CsvSpec(
    label="Argenni decoded reports",
    station="argenni",
    signature=frozenset({"mmsi", "timestamp", "long"}),
    columns={
        "ts": ("timestamp",), "msgid": ("msgid",), "class": ("targettype",),
        "mmsi": ("mmsi",), "lat": ("lat",), "lon": ("long",), "accuracy": ("posacc",),
        "sog": ("sog",), "cog": ("cog",), "ship_type": ("shiptype",),
        "dim_to_bow_m": ("dimbow",), "draught": ("draught",), "dim_to_port_m": ("dimport",),
        "dim_to_starboard_m": ("dimstarboard",), "dim_to_stern_m": ("dimstern",),
        "imo": ("imo",), "name": ("name",), "callsign": ("callsign",),
    },
    convert=_argenni,
    time="epoch",
)  # fmt: skip
MARINETRAFFIC: Final = CsvSpec(
    label="MarineTraffic-style",
    station="marinetraffic",
    signature=frozenset({"mmsi", "timestamp_utc"}),
    columns={
        "mmsi": ("mmsi",), "status": ("status",), "sog": ("speed_knotsx10",),
        "lon": ("lon",), "lat": ("lat",), "cog": ("course",), "heading": ("heading",),
        "ts": ("timestamp_utc",), "draught": ("draught_metersx10",),
    },
    convert=_marinetraffic,
    divisor={"sog": 10, "draught": 10},
)  # fmt: skip
VESSELSVALUE: Final = CsvSpec(
    label="VesselsValue positions",
    station="vesselsvalue",
    signature=frozenset({"id", "ais_pos_timestamp"}),
    columns={
        "mmsi": ("id",), "ts": ("ais_pos_timestamp",), "lon": ("longitude",),
        "lat": ("latitude",),
    },
    convert=_positions_only,
    time="dmy",
)  # fmt: skip
GENERIC: Final = CsvSpec(
    label="generic",
    station="csv",
    signature=frozenset(),
    columns=SYNONYMS,
    convert=_generic,
    time="auto",
    required=NEEDED,
)
# In sniffing order: the first spec whose signature the header holds names the format;
# the generic one comes last.
SPECS: Final = {
    "noaa_csv": NOAA,
    "dma_csv": DMA,
    "argenni_csv": ARGENNI,
    "marinetraffic_csv": MARINETRAFFIC,
    "vesselsvalue_csv": VESSELSVALUE,
    "csv": GENERIC,
}
