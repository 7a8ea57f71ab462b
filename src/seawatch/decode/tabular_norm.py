"""Vectorised clean-up shared by the tabular readers (CSV, gpsd JSON).

In: Arrow string or float64 columns as a source wrote them. Out: columns in seawatch's
units and types, with the AIS "not available" values as nulls, a per-row reject reason,
and finally the ``positions`` / ``statics`` tables of one :class:`TabularBatch`.
Every function works on whole columns with :mod:`pyarrow.compute`; none loops over rows.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as _compute

from seawatch.decode.schemas import SCHEMAS, conform

# The stubs' overloads refuse the Python scalars these functions take; check calls by test.
pc: Any = _compute

Array = Any  # a pyarrow.Array; the stubs' generics add nothing here
Table = pa.Table

# Tokens sources write for "no value" (DMA: Unknown, Undefined; gpsd: nan).
NA_TOKENS: Final = pa.array(
    ["", "nan", "null", "none", "n/a", "na", "unknown", "undefined"], pa.string()
)
_NUMBER: Final = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_ISO: Final = (
    r"^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})[Tt ](?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<f>\d{1,9}))?\s*(?P<z>[Zz]|[+-]\d{2}:?\d{2})?$"
)
_DMY: Final = (
    r"^(?P<d>\d{1,2})/(?P<mo>\d{1,2})/(?P<y>\d{4})[ T](?P<h>\d{1,2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,9}))?)?(?P<z>)$"
)
_DMY_FORMATS: Final = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")  # seconds may be left out
_ZONED: Final = re.compile(r"([Zz]|[+-]\d\d:?\d\d)$")
MAX_MMSI: Final = (1 << 30) - 1  # 30-bit field in every AIS message
ROT_SCALE: Final = 4.733  # ITU-R M.1371: ROT_AIS = 4.733 * sqrt(degrees per minute)
ROT_MAX: Final = (127 / ROT_SCALE) ** 2  # ROT_AIS ±127, "turning fast", as the decoder has it
TS_TYPE: Final = pa.timestamp("us", tz="UTC")
_EPOCH_MIN_S: Final = 315_532_800  # 1980-01-01
_EPOCH_MAX_S: Final = 4_102_444_800  # 2100-01-01

# Columns a statics row carries beyond its key; a row with none of them is no static.
STATIC_VALUES: Final = (
    "imo", "callsign", "name", "destination", "ship_type", "dim_to_bow_m", "dim_to_stern_m",
    "dim_to_port_m", "dim_to_starboard_m", "draught_m", "eta_month", "eta_day", "eta_hour",
    "eta_minute",
)  # fmt: skip
# Message types whose static fields the NMEA decoder writes to ``statics`` ...
STATIC_TYPES: Final = pa.array([5, 19, 24], pa.int8())
# ... and to ``positions`` (types 19 and 21 carry name, type and size with the position).
_IN_POSITION_TYPES: Final = pa.array([19, 21], pa.int8())
_POSITION_STATICS: Final = (
    "name", "ship_type", "dim_to_bow_m", "dim_to_stern_m", "dim_to_port_m", "dim_to_starboard_m",
)  # fmt: skip
_ETA: Final = {
    False: r"^(?P<mo>\d{1,2})-(?P<d>\d{1,2})T(?P<h>\d{1,2}):(?P<mi>\d{1,2})Z?$",
    True: r"^(?P<d>\d{1,2})/(?P<mo>\d{1,2})/\d{4}[ T](?P<h>\d{1,2}):(?P<mi>\d{1,2})(?::\d{2})?$",
}


def null_if(values: Array, mask: Array) -> Array:
    """``values`` with nulls where ``mask`` is true (a null mask keeps the value)."""
    return pc.if_else(pc.fill_null(mask, False), pa.scalar(None, values.type), values)


def _try_cast(values: Array, type_: pa.DataType) -> Array | None:
    """``values`` cast to ``type_``, or None if any value does not convert."""
    try:
        return pc.cast(values, type_)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _no_empty(text: Array) -> Array:
    return null_if(text, pc.equal(text, ""))


def parse_float(text: Array) -> tuple[Array, Array]:
    """Text → (float64, bad mask). Empty and NA tokens are null, not bad; NaN and ±inf
    may come through as values (:func:`finite` and :func:`in_range` drop them).
    """
    fast = _try_cast(_no_empty(text), pa.float64())  # the usual case: clean numbers
    if fast is not None:
        return fast, pa.repeat(False, len(text))
    s = pc.utf8_trim_whitespace(text)
    ok = pc.match_substring_regex(s, _NUMBER)
    na = pc.is_in(pc.utf8_lower(s), value_set=NA_TOKENS)
    bad = pc.fill_null(pc.and_(pc.invert(ok), pc.invert(na)), False)
    values = pc.cast(pc.if_else(ok, s, pa.scalar(None, pa.string())), pa.float64())
    return values, bad


def finite(values: Array) -> Array:
    """float64 with NaN and ±inf as null."""
    return null_if(values, pc.invert(pc.is_finite(values)))


def in_range(values: Array, lo: float, hi: float) -> Array:
    """float64 with values outside ``[lo, hi]`` (and NaN) as null."""
    v = finite(values)
    return null_if(v, pc.or_(pc.less(v, lo), pc.greater(v, hi)))


def to_int(values: Array, type_: pa.DataType, lo: float, hi: float) -> Array:
    """float64 → integer ``type_``, rounded; outside ``[lo, hi]`` becomes null."""
    return pc.cast(pc.round(in_range(values, lo, hi)), type_)


def clean_text(text: Array, na: Iterable[str] = ()) -> Array:
    """Trim spaces and AIS '@' padding; empty strings and ``na`` (any case) become null."""
    s = pc.utf8_trim(text, characters=" @\t\r\n")
    mask = pc.equal(s, "")
    tokens = [t.lower() for t in na]
    if tokens:
        mask = pc.or_(mask, pc.is_in(pc.utf8_lower(s), value_set=pa.array(tokens, pa.string())))
    return null_if(s, mask)


def lookup(text: Array, table: Mapping[str, int], type_: pa.DataType) -> Array:
    """Case-insensitive text → code via ``table``; unknown text is null."""
    keys = pa.array(list(table), pa.string())
    codes = pa.array(list(table.values()), type_)
    idx = pc.index_in(pc.utf8_lower(pc.utf8_trim_whitespace(text)), value_set=keys)
    return pc.take(codes, idx)


def _as_utc(naive: Array) -> Array:
    """A zone-less timestamp column read as UTC, in microseconds."""
    return pc.cast(pc.cast(naive, pa.timestamp("us")), pa.int64()).cast(TS_TYPE)


def parse_timestamp(text: Array, *, day_first: bool = False) -> tuple[Array, Array]:
    """ISO 8601 (``2023-01-11T00:00:00``, fraction, ``Z`` or ``±hh:mm``) or, with
    ``day_first``, ``dd/mm/yyyy HH:MM:SS`` or ``dd/mm/yyyy HH:MM`` → (timestamp[us, UTC],
    bad mask).

    Zone-less times are UTC. Impossible dates (30 February) are bad; a leap second
    (``:60``) is read as ``:00`` of the next minute, as POSIX time has it.
    """
    s = _no_empty(text)
    if day_first:
        for fmt in _DMY_FORMATS:
            ts = pc.strptime(s, format=fmt, unit="s", error_is_null=True)
            # strptime rolls 31/02 over to March: a valid time formats back to itself.
            if (
                ts.null_count == s.null_count
                and pc.all(pc.equal(pc.strftime(ts, format=fmt), s)).as_py()
            ):
                return _as_utc(ts), pa.repeat(False, len(text))
    else:
        # A failed cast costs more than a good one: try first the form the data starts with.
        valid = s.drop_null()
        first = valid[0].as_py() if len(valid) else ""
        forms: list[Any] = [TS_TYPE, pa.timestamp("us")]
        if not _ZONED.search(first):
            forms.reverse()
        for form in forms:
            ts = _try_cast(s, form)
            if ts is not None:
                return _as_utc(ts) if form.tz is None else ts, pa.repeat(False, len(text))
    return _parse_timestamp_slow(text, day_first=day_first)


def _parse_timestamp_slow(text: Array, *, day_first: bool) -> tuple[Array, Array]:
    """Field by field, for batches with a bad, leap-second or mixed-form time."""
    s = pc.utf8_trim_whitespace(text)
    parts = pc.extract_regex(s, _DMY if day_first else _ISO)
    matched = pc.is_valid(parts)

    def part(name: str) -> Array:
        return pc.struct_field(parts, name)

    def num(name: str) -> Array:
        return pc.cast(pc.if_else(pc.equal(part(name), ""), "0", part(name)), pa.int64())

    date = pc.binary_join_element_wise(
        part("y"), pc.utf8_lpad(part("mo"), 2, "0"), pc.utf8_lpad(part("d"), 2, "0"), "-"
    )
    day = pc.strptime(date, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 2023-02-30 over to March: a valid date formats back to itself.
    day = null_if(day, pc.not_equal(pc.strftime(day, format="%Y-%m-%d"), date))
    h, mi, sec = num("h"), num("mi"), num("s")
    bad_clock = pc.or_(pc.or_(pc.greater(h, 23), pc.greater(mi, 59)), pc.greater(sec, 60))
    frac = pc.utf8_slice_codeunits(pc.utf8_rpad(part("f"), 6, "0"), 0, 6)
    zone = part("z")
    zone_digits = pc.replace_substring(pc.utf8_slice_codeunits(zone, 1, 6), ":", "")
    has_offset = pc.greater(pc.utf8_length(zone_digits), 0)
    off_h = pc.cast(
        pc.if_else(has_offset, pc.utf8_slice_codeunits(zone_digits, 0, 2), "0"), pa.int64()
    )
    off_m = pc.cast(
        pc.if_else(has_offset, pc.utf8_slice_codeunits(zone_digits, 2, 4), "0"), pa.int64()
    )
    sign = pc.if_else(pc.starts_with(zone, "-"), -1, 1)
    offset_s = pc.multiply(sign, pc.add(pc.multiply(off_h, 3600), pc.multiply(off_m, 60)))
    seconds = pc.add(
        pc.cast(pc.cast(day, pa.timestamp("s")), pa.int64()),
        pc.subtract(pc.add(pc.add(pc.multiply(h, 3600), pc.multiply(mi, 60)), sec), offset_s),
    )
    micros = pc.add(pc.multiply(seconds, 1_000_000), pc.cast(frac, pa.int64()))
    micros = null_if(micros, bad_clock)
    ts = pc.cast(micros, pa.int64()).cast(TS_TYPE)
    present = pc.fill_null(pc.greater(pc.utf8_length(s), 0), False)
    bad = pc.and_(present, pc.or_(pc.invert(matched), pc.fill_null(pc.is_null(ts), True)))
    return ts, pc.fill_null(bad, False)


def parse_eta(text: Array, *, day_first: bool = False) -> dict[str, Array]:
    """gpsd's ``"03-14T12:40Z"`` or DMA's ``14/03/2023 12:40:00`` → the ``eta_*`` columns
    (int8; the AIS not-available values month 0, day 0, hour 24, minute 60 are null).
    """
    parts = pc.extract_regex(pc.utf8_trim_whitespace(text), _ETA[day_first])
    out = {}
    for key, column, hi in (("mo", "month", 12), ("d", "day", 31), ("h", "hour", 23),
                            ("mi", "minute", 59)):  # fmt: skip
        values = pc.cast(pc.struct_field(parts, key), pa.float64())
        out[f"eta_{column}"] = to_int(values, pa.int8(), 0 if key in ("h", "mi") else 1, hi)
    return out


def epoch_seconds(values: Array) -> Array:
    """float64 Unix seconds → timestamp[us, UTC]; outside [1980, 2100) is null."""
    v = in_range(values, _EPOCH_MIN_S, _EPOCH_MAX_S)
    v = null_if(v, pc.equal(v, _EPOCH_MAX_S))  # [1980, 2100), as the NMEA scanner has it
    return pc.cast(pc.round(pc.multiply(v, 1e6)), pa.int64()).cast(TS_TYPE)


def epoch_auto(values: Array) -> Array:
    """float64 Unix seconds or milliseconds, told apart by size as the NMEA scanner does
    (values beyond 2100 in seconds are milliseconds) → timestamp[us, UTC]; outside
    [1980, 2100) is null."""
    ms = pc.greater_equal(values, _EPOCH_MAX_S)
    return epoch_seconds(pc.if_else(ms, pc.divide(values, 1000.0), values))


def parse_mmsi(values: Array) -> tuple[Array, Array]:
    """float64 → (int32 MMSI, bad mask): missing, fractional or outside 30 bits is bad."""
    v = finite(values)
    ok = pc.and_(
        pc.and_(pc.greater_equal(v, 0), pc.less_equal(v, MAX_MMSI)), pc.equal(pc.floor(v), v)
    )
    ok = pc.fill_null(ok, False)
    mmsi = pc.cast(pc.if_else(ok, v, pa.scalar(None, pa.float64())), pa.int32())
    return mmsi, pc.invert(ok)


@dataclass(frozen=True)
class TabularBatch:
    """One chunk of a tabular source, converted.

    ``tables`` maps a table name (``positions``, ``statics``, or any seawatch table for
    Parquet) to a table conforming to its published schema. ``rejects`` counts input rows
    dropped, by reason (``bad_row``, ``bad_json``, ``bad_mmsi``, ``bad_timestamp``,
    ``bad_number``). ``rows`` is the number of input rows (blank lines aside) the batch
    covers: ``rows - sum(rejects.values())`` were accepted. An accepted row gives at most
    one position and one static (statics de-duplicated per batch), and neither when it is
    of a kind these tables do not take (a gpsd binary message, a gpsd ``TPV`` record).
    """

    tables: dict[str, pa.Table]
    rejects: dict[str, int]
    rows: int


@dataclass
class Frame:
    """Columns of one batch in seawatch names and types, before they become tables.

    ``columns`` holds position and static columns (``msg_type`` is the position's,
    ``static_msg_type`` the static's); ``reason`` is the reject reason per row (null for
    a good row, first reason wins); ``is_position`` says which good rows are positions.
    """

    columns: dict[str, Array]
    n: int
    reason: Array = None
    is_position: Array = None
    extra_rejects: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.reason is None:
            self.reason = pa.nulls(self.n, pa.string())
        if self.is_position is None:
            self.is_position = pa.repeat(True, self.n)

    def reject(self, mask: Array, reason: str) -> None:
        """Mark rows where ``mask`` holds (and no earlier reason did) with ``reason``."""
        hit = pc.and_(pc.fill_null(mask, False), pc.is_null(self.reason))
        self.reason = pc.if_else(hit, reason, self.reason)


def _table(columns: Mapping[str, Array], name: str) -> Table:
    schema = SCHEMAS[name]
    present = {k: v for k, v in columns.items() if k in schema.names}
    if not present:
        return schema.empty_table()
    return conform(pa.table(present), name)


def _dedupe_statics(table: Table, value_columns: Sequence[str]) -> Table:
    """Keep the first row of each distinct (mmsi, values) combination, in input order."""
    if table.num_rows < 2:
        return table
    keyed = table.append_column("__row", pa.array(np.arange(table.num_rows)))
    first = keyed.group_by(["mmsi", *value_columns], use_threads=False).aggregate(
        [("__row", "min")]
    )
    rows = first["__row_min"]
    return table.take(pc.take(rows, pc.sort_indices(rows)))


def finish(frame: Frame, rows: int) -> TabularBatch:
    """Split a frame into ``positions`` and ``statics`` tables plus reject counts."""
    good = pc.is_null(frame.reason)
    rejects = Counter(frame.extra_rejects)
    if frame.n:
        counts = pc.value_counts(pc.drop_null(frame.reason))
        for item in counts.to_pylist():
            rejects[str(item["values"])] += int(item["counts"])
    cols = frame.columns
    n = frame.n
    msg_type = cols.get("msg_type", pa.nulls(n, pa.int8()))

    pos = dict(cols)
    carries = pc.fill_null(pc.is_in(msg_type, value_set=_IN_POSITION_TYPES), False)
    for c in _POSITION_STATICS:
        if c in pos:
            pos[c] = null_if(pos[c], pc.invert(carries))
    pos["is_base_station"] = pc.fill_null(pc.equal(msg_type, 4), False)
    pos["is_aton"] = pc.fill_null(pc.equal(msg_type, 21), False)
    pos_mask = pc.and_(good, pc.fill_null(frame.is_position, False))
    positions = _table({k: pc.filter(v, pos_mask) for k, v in pos.items()}, "positions")

    values = [c for c in STATIC_VALUES if c in SCHEMAS["statics"].names and c in cols]
    has_static = pa.repeat(False, n)
    for c in values:
        has_static = pc.or_(has_static, pc.is_valid(cols[c]))
    st_type = cols.get("static_msg_type", pa.nulls(n, pa.int8()))
    static_kind = pc.or_(pc.is_null(st_type), pc.is_in(st_type, value_set=STATIC_TYPES))
    st_mask = pc.and_(pc.and_(good, has_static), static_kind)
    st_cols = {k: pc.filter(v, st_mask) for k, v in cols.items() if k != "msg_type"}
    st_cols["msg_type"] = pc.filter(st_type, st_mask)
    st_cols.pop("static_msg_type", None)
    statics = _dedupe_statics(_table(st_cols, "statics"), values)
    return TabularBatch({"positions": positions, "statics": statics}, dict(rejects), rows)
