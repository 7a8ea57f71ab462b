"""CSV readers for AIS tables others already decoded: NOAA MarineCadastre and the
Danish Maritime Authority (DMA).

In: a binary stream of CSV, header first. Out: batches (:class:`TabularBatch`) of
seawatch ``positions`` and ``statics``. Columns are found by header name,
case-insensitively, so older MarineCadastre files (``TranscieverClass``, fewer columns)
read too. The file is parsed by :func:`pyarrow.csv.open_csv` with every column as text,
then converted column-wise; a row with the wrong number of fields is counted as
``bad_row`` and skipped without disturbing its neighbours.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, Final, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as _compute
import pyarrow.csv as pcsv

from seawatch.decode.tabular_norm import (
    MAX_MMSI,
    ROT_MAX,
    Array,
    Frame,
    TabularBatch,
    clean_text,
    finish,
    in_range,
    lookup,
    null_if,
    parse_eta,
    parse_float,
    parse_mmsi,
    parse_timestamp,
    to_int,
)
from seawatch.errors import DecodeError

# The stubs' overloads refuse the Python scalars these functions take; check calls by test.
pc: Any = _compute

log = logging.getLogger(__name__)

_BYTES_PER_ROW: Final = 160  # sizes the parser's blocks from chunk_rows

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
# DMA "Ship type" names → the ITU ship-type code of "all ships of this type".
SHIP_TYPE: Final = {
    "wig": 20, "fishing": 30, "towing": 31, "towing long/wide": 32, "dredging": 33,
    "diving": 34, "military": 35, "sailing": 36, "pleasure": 37, "hsc": 40, "pilot": 50,
    "sar": 51, "tug": 52, "port tender": 53, "anti-pollution": 54, "law enforcement": 55,
    "spare 1": 56, "spare 2": 57, "medical": 58, "not party to conflict": 59,
    "passenger": 60, "cargo": 70, "tanker": 80, "other": 90,
}  # fmt: skip
# DMA "Cargo type" → second digit of the ship type, for the types that carry one.
CARGO_DIGIT: Final = {"category x": 1, "category y": 2, "category z": 3, "category os": 4}
_CARGO_BASES: Final = pa.array([20, 40, 60, 70, 80, 90], pa.int16())
# Transceiver class / type of mobile → (position msg_type, static msg_type).
NOAA_CLASS: Final = {"a": (1, 5), "b": (18, 24)}
DMA_MOBILE: Final = {
    "class a": (1, 5),
    "class b": (18, 24),
    "base station": (4, 0),
    "aton": (21, 21),
    "sar airborne": (9, 0),
}
_DMA_NA: Final = ("unknown", "undefined")


@dataclass(frozen=True)
class CsvSpec:
    """One CSV dialect: its station name, header aliases and column conversion."""

    label: str
    station: str
    columns: Mapping[str, tuple[str, ...]]  # our name → accepted header names (normalised)
    convert: Callable[[Mapping[str, Array], Array, str], Frame]
    required: tuple[str, ...] = ("mmsi", "ts")


def normalize_header(name: str) -> str:
    """``'# Timestamp '`` → ``'timestamp'``; ``'"TranscieverClass"'`` → ``'transcieverclass'``."""
    return " ".join(name.replace("\ufeff", "").strip().strip('"').lstrip("#").split()).lower()


class _Columns:
    """Access to a batch's text columns; numeric parses collect ``bad_number``."""

    def __init__(self, cols: Mapping[str, Array], n: int) -> None:
        self.cols, self.n = cols, n
        self.bad_number: Array = pa.repeat(False, n)

    def text(self, name: str) -> Array:
        col = self.cols.get(name)
        return pa.nulls(self.n, pa.string()) if col is None else col

    def num(self, name: str, text: Array | None = None) -> Array:
        values, bad = parse_float(self.text(name) if text is None else text)
        self.bad_number = pc.or_(self.bad_number, bad)
        return values


def _positive(values: Array, hi: float) -> Array:
    """Sizes: 0 means "not available" in AIS, above ``hi`` cannot be sent."""
    return null_if(values, pc.or_(pc.less_equal(values, 0), pc.greater(values, hi)))


def _kinematics(c: _Columns, frame: Frame) -> None:
    """The columns NOAA and DMA share, with the AIS not-available values as null."""
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


def _common(
    cols: Mapping[str, Array], lines: Array, station: str, *, day_first: bool = False
) -> tuple[_Columns, Frame]:
    """MMSI, time, station and line number, rejecting rows without a usable MMSI or time."""
    n = len(lines)
    c = _Columns(cols, n)
    frame = Frame(columns={}, n=n)
    mmsi_f, mmsi_text_bad = parse_float(c.text("mmsi"))
    mmsi, bad_mmsi = parse_mmsi(mmsi_f)
    frame.reject(pc.or_(mmsi_text_bad, bad_mmsi), "bad_mmsi")
    ts, bad_ts = parse_timestamp(c.text("ts"), day_first=day_first)
    frame.reject(pc.or_(bad_ts, pc.is_null(ts)), "bad_timestamp")
    frame.columns.update(ts=ts, mmsi=mmsi, line_no=lines, station=pa.repeat(pa.scalar(station), n))
    return c, frame


def _msg_types(text: Array, table: Mapping[str, tuple[int, int]], frame: Frame) -> None:
    frame.columns["msg_type"] = lookup(text, {k: v[0] for k, v in table.items()}, pa.int8())
    static = lookup(text, {k: v[1] for k, v in table.items()}, pa.int8())
    frame.columns["static_msg_type"] = null_if(static, pc.equal(static, 0))


def _noaa(cols: Mapping[str, Array], lines: Array, station: str) -> Frame:
    c, frame = _common(cols, lines, station)
    _kinematics(c, frame)
    out = frame.columns
    out["nav_status"] = to_int(c.num("status"), pa.int8(), 0, 15)
    imo = pc.replace_substring_regex(c.text("imo"), r"^\s*[Ii][Mm][Oo]", "")
    out["imo"] = to_int(c.num("imo", imo), pa.int32(), 1, MAX_MMSI)
    out["ship_type"] = to_int(c.num("ship_type"), pa.int16(), 1, 255)
    out["name"] = clean_text(c.text("name"))
    out["callsign"] = clean_text(c.text("callsign"))
    _msg_types(c.text("class"), NOAA_CLASS, frame)
    frame.reject(c.bad_number, "bad_number")
    return frame


def _dma(cols: Mapping[str, Array], lines: Array, station: str) -> Frame:
    c, frame = _common(cols, lines, station, day_first=True)
    _kinematics(c, frame)
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
    for ours, theirs, hi in (
        ("dim_to_bow_m", "a", 511),
        ("dim_to_stern_m", "b", 511),
        ("dim_to_port_m", "c", 63),
        ("dim_to_starboard_m", "d", 63),
    ):
        out[ours] = to_int(c.num(theirs), pa.int16(), 0, hi)
    out.update(parse_eta(c.text("eta"), day_first=True))
    for col in ("name", "callsign", "destination"):
        out[col] = clean_text(c.text(col), _DMA_NA)
    _msg_types(c.text("mobile"), DMA_MOBILE, frame)
    frame.reject(c.bad_number, "bad_number")
    return frame


NOAA: Final = CsvSpec(
    label="NOAA MarineCadastre",
    station="noaa",
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
    columns={
        "ts": ("timestamp",), "mobile": ("type of mobile",), "mmsi": ("mmsi",),
        "lat": ("latitude",), "lon": ("longitude",), "status": ("navigational status",),
        "rot": ("rot",), "sog": ("sog",), "cog": ("cog",), "heading": ("heading",),
        "imo": ("imo",), "callsign": ("callsign",), "name": ("name",),
        "ship_type": ("ship type",), "cargo": ("cargo type",),
        "draught": ("draught",), "destination": ("destination",),
        "eta": ("eta",), "a": ("a",), "b": ("b",), "c": ("c",), "d": ("d",),
    },
    convert=_dma,
)  # fmt: skip
SPECS: Final = {"noaa_csv": NOAA, "dma_csv": DMA}


def _good_lines(start: int, n: int, skipped: np.ndarray) -> tuple[np.ndarray, int]:
    """Line numbers of ``n`` parsed rows from ``start`` on, stepping over ``skipped``."""
    lo = int(np.searchsorted(skipped, start))
    k = 0
    while True:
        end = start + n + k
        k2 = int(np.searchsorted(skipped, end)) - lo
        if k2 == k:
            break
        k = k2
    cand = np.arange(start, end, dtype=np.int64)
    return cand[~np.isin(cand, skipped[lo : lo + k])], end


def read_csv(
    stream: BinaryIO, fmt: str, *, chunk_rows: int, name: str = ""
) -> Iterator[TabularBatch]:
    """Read a NOAA (``fmt="noaa_csv"``) or DMA (``"dma_csv"``) CSV stream in batches of
    at most ``chunk_rows`` rows. ``line_no`` is the 1-based line in the file (header = 1).
    """
    spec = SPECS[fmt]
    try:
        header = stream.readline()
    except io.UnsupportedOperation:  # e.g. a zstandard stream reader
        stream = io.BufferedReader(stream)  # type: ignore[arg-type,type-var]
        header = stream.readline()
    if not header.strip():
        return
    names = next(csv.reader([header.decode("utf-8-sig", errors="replace").rstrip("\r\n")]))
    normalized = [normalize_header(h) for h in names]
    index: dict[str, int] = {}
    for ours, aliases in spec.columns.items():
        hits = [i for i, h in enumerate(normalized) if h in aliases]
        if hits:
            index[ours] = hits[0]
    missing = [spec.columns[c][0] for c in spec.required if c not in index]
    if missing:
        raise DecodeError(
            f"{name or 'input'}: not a {spec.label} CSV: the header has no "
            f"{', '.join(missing)} column (found: {', '.join(names)}); "
            "check the file or pass the right format"
        )
    raw = [f"c{i}" for i in range(len(names))]
    include = sorted({raw[i] for i in index.values()})
    skipped: list[int] = []

    def on_invalid(row: pcsv.InvalidRow) -> Literal["skip"]:
        skipped.append(row.number or 0)  # always known when the parser is single-threaded
        return "skip"

    reader = pcsv.open_csv(
        stream,
        read_options=pcsv.ReadOptions(
            column_names=raw,
            use_threads=False,
            block_size=min(max(chunk_rows * _BYTES_PER_ROW, 1 << 20), 1 << 26),
        ),
        parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid, ignore_empty_lines=False),
        convert_options=pcsv.ConvertOptions(
            column_types={c: pa.string() for c in include},
            include_columns=include,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    next_line, bad_counted = 1, 0
    for batch in reader:
        skipped_arr = np.asarray(skipped, dtype=np.int64)
        lines, next_line = _good_lines(next_line, batch.num_rows, skipped_arr)
        cols = {ours: batch.column(raw[i]) for ours, i in index.items()}
        # Blank lines (every field empty) are not rows.
        filled = pa.repeat(False, batch.num_rows)
        for col in cols.values():
            filled = pc.or_(filled, pc.greater(pc.utf8_length(col), 0))
        if not pc.all(filled).as_py():
            cols = {k: pc.filter(v, filled) for k, v in cols.items()}
            lines = lines[np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)]
        bad_rows = int(np.searchsorted(skipped_arr, next_line)) - bad_counted
        bad_counted += bad_rows
        yield from _emit(spec, cols, lines, chunk_rows, bad_rows)
    if len(skipped) > bad_counted:
        yield from _emit(spec, {}, np.zeros(0, np.int64), chunk_rows, len(skipped) - bad_counted)
    if skipped:
        log.info(
            "%s: %d CSV rows with the wrong number of fields skipped (first at line %d)",
            name or "input",
            len(skipped),
            skipped[0] + 1,
        )


def _emit(
    spec: CsvSpec, cols: Mapping[str, Array], lines: np.ndarray, chunk_rows: int, bad_rows: int
) -> Iterator[TabularBatch]:
    n = len(lines)
    if n == 0 and bad_rows == 0:
        return
    for start in range(0, max(n, 1), chunk_rows):
        stop = min(start + chunk_rows, n)
        part = {k: v.slice(start, stop - start) for k, v in cols.items()}
        frame = spec.convert(part, pa.array(lines[start:stop] + 1), spec.station)
        if bad_rows:
            frame.extra_rejects["bad_row"] += bad_rows
        yield finish(frame, stop - start + bad_rows)
        bad_rows = 0
