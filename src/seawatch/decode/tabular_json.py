"""Reader for newline-delimited AIS JSON from gpsd (``gpsdecode -j``, scaled or ``-u``
unscaled) and gpsdio (Global Fishing Watch tracks, ``ssvid`` for ``mmsi``).

In: a binary stream, one JSON object per line. Out: batches (:class:`TabularBatch`) of
seawatch ``positions`` and ``statics``. Each chunk of lines goes through
:func:`pyarrow.json.read_json` with a fixed schema; a chunk Arrow refuses is halved until
the bad lines are isolated, and only those small pieces are parsed line by line with
:func:`json.loads`, so one bad line costs ``bad_json`` for itself and nothing more.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any, BinaryIO, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as _compute
import pyarrow.json as pj

from seawatch.decode.tabular_norm import (
    MAX_MMSI,
    NA_TOKENS,
    ROT_MAX,
    ROT_SCALE,
    Array,
    Frame,
    TabularBatch,
    clean_text,
    epoch_seconds,
    finish,
    in_range,
    null_if,
    parse_eta,
    parse_mmsi,
    parse_timestamp,
    to_int,
)

# The stubs' overloads refuse the Python scalars these functions take; check calls by test.
pc: Any = _compute

NUMBERS: Final = (
    "mmsi", "ssvid", "type", "lat", "lon", "speed", "course", "heading", "status", "turn",
    "imo", "shiptype", "to_bow", "to_stern", "to_port", "to_starboard", "draught",
    "tagblock_timestamp",
)  # fmt: skip
TEXTS: Final = (
    "class", "timestamp", "shipname", "name", "callsign", "destination", "eta", "tagblock_station",
)  # fmt: skip
SCHEMA: Final = pa.schema(
    [(f, pa.float64()) for f in NUMBERS]
    + [(f, pa.string()) for f in TEXTS]
    + [("scaled", pa.bool_())]
)
# Added per row: the line it came from, and what the line-by-line path could not read.
ROW_SCHEMA: Final = (
    SCHEMA.append(pa.field("__line", pa.int64()))
    .append(pa.field("__bad_mmsi", pa.bool_()))
    .append(pa.field("__bad_number", pa.bool_()))
)
_PARSE: Final = pj.ParseOptions(explicit_schema=SCHEMA, unexpected_field_behavior="ignore")
# gpsd's scaled output writes these strings where numbers go: "nan" is not available,
# "fast" is SOG 102.2 kn or more, fastleft/fastright are ROT_AIS -127/+127. AIS text is
# upper case, so the lower-case quoted tokens cannot be a ship's name.
_GPSD_TOKENS: Final = {
    "nan": None, "fast": 102.2, "fastleft": -ROT_MAX, "fastright": ROT_MAX,
}  # fmt: skip
_TOKEN_BYTES: Final = tuple(
    (f'"{k}"'.encode(), b"null" if v is None else repr(v).encode())
    for k, v in sorted(_GPSD_TOKENS.items(), key=lambda kv: -len(kv[0]))
)
_NA_TEXT: Final = frozenset(NA_TOKENS.to_pylist())
_NUMBER: Final = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
POSITION_TYPES: Final = pa.array([1, 2, 3, 4, 9, 18, 19, 21, 27], pa.float64())
_LEAF_LINES: Final = 32  # below this, a refused piece is parsed line by line
_BLOCK: Final = 1 << 23  # bytes read from the stream at a time
_PARSE_BLOCK: Final = 1 << 20
_SIGN_SAFE: Final = pa.array([0.0, ROT_MAX])
_SPACE: Final = np.frombuffer(b" \t\r\n\f\v", np.uint8)


def read_gpsd_json(stream: BinaryIO, *, chunk_rows: int) -> Iterator[TabularBatch]:
    """Read gpsd/gpsdio JSON lines in batches of at most ``chunk_rows`` lines.

    ``station`` is the record's ``tagblock_station``, else ``"gpsd"`` for gpsd's own
    records (``"class": "AIS"``) and ``"gpsdio"`` for the rest.
    """
    segments: list[bytes] = []
    seg_lines = 0
    first_line = 1
    tail = b""
    while True:
        block = stream.read(_BLOCK)
        if not block:
            if tail:
                segments.append(tail)
                seg_lines += 1
            break
        data = tail + block
        cut = data.rfind(b"\n") + 1
        complete, tail = data[:cut], data[cut:]
        if complete:
            segments.append(complete)
            seg_lines += complete.count(b"\n")
        if seg_lines >= chunk_rows:  # segments hold whole lines only
            joined = b"".join(segments)
            newlines = np.flatnonzero(np.frombuffer(joined, np.uint8) == 10)
            start, done = 0, 0
            while seg_lines - done >= chunk_rows:
                pos = int(newlines[done + chunk_rows - 1]) + 1
                yield _chunk(joined[start:pos], first_line)
                first_line += chunk_rows
                done += chunk_rows
                start = pos
            seg_lines -= done
            segments = [joined[start:]] if start < len(joined) else []
    if segments:
        yield _chunk(b"".join(segments), first_line)


class _Lines:
    """The lines of one chunk: byte ranges, which are blank, their line numbers."""

    def __init__(self, chunk: bytes, first_line: int) -> None:
        arr = np.frombuffer(chunk, np.uint8)
        newlines = np.flatnonzero(arr == 10)
        self.starts = np.concatenate(([0], newlines + 1))
        self.ends = np.concatenate((newlines, [len(arr)]))
        if self.starts[-1] == len(arr):  # the chunk ends with a newline
            self.starts, self.ends = self.starts[:-1], self.ends[:-1]
        # A line is filled if it starts with a non-space byte (nearly all do: "{");
        # the few others are checked one by one.
        self.filled = np.zeros(len(self.starts), dtype=bool)
        nonempty = self.ends > self.starts
        first = arr[self.starts[nonempty]]
        self.filled[nonempty] = ~np.isin(first, _SPACE)
        for k in np.flatnonzero(nonempty & ~self.filled):
            self.filled[k] = bool(chunk[self.starts[k] : self.ends[k]].strip())
        self.numbers = first_line + np.arange(len(self.starts), dtype=np.int64)
        self.chunk = chunk


def _chunk(chunk: bytes, first_line: int) -> TabularBatch:
    lines = _Lines(chunk, first_line)
    parts: list[pa.Table] = []
    rejects: Counter[str] = Counter()
    _parse(lines, 0, len(lines.starts), parts, rejects)
    table = pa.concat_tables(parts) if parts else ROW_SCHEMA.empty_table()
    frame = _frame(table)
    frame.extra_rejects.update(rejects)
    return finish(frame, int(lines.filled.sum()))


def _parse(lines: _Lines, i: int, j: int, parts: list[pa.Table], rejects: Counter[str]) -> None:
    """Parse lines ``[i, j)`` with Arrow, halving on refusal down to line-by-line."""
    filled = lines.filled[i:j]
    want = int(filled.sum())
    if want == 0:
        return
    piece = lines.chunk[lines.starts[i] : lines.ends[j - 1]]
    for token, value in _TOKEN_BYTES:
        piece = piece.replace(token, value)
    try:
        table = pj.read_json(
            io.BytesIO(piece),
            # Blocks are parsed in parallel and joined in order; a line longer than a
            # block fails here and is found by the halving below.
            read_options=pj.ReadOptions(use_threads=True, block_size=_PARSE_BLOCK),
            parse_options=_PARSE,
        )
    except pa.ArrowException:
        table = None
    if table is not None and table.num_rows == want:  # two objects on a line also fail
        false = pa.repeat(False, want)
        parts.append(
            table.append_column("__line", pa.array(lines.numbers[i:j][filled]))
            .append_column("__bad_mmsi", false)
            .append_column("__bad_number", false)
        )
    elif j - i > _LEAF_LINES:
        mid = (i + j) // 2
        _parse(lines, i, mid, parts, rejects)
        _parse(lines, mid, j, parts, rejects)
    else:
        parts.append(_parse_each(lines, i, j, rejects))


def _py_number(value: Any) -> tuple[float | None, bool]:
    """A JSON value where a number belongs → (number or None, understood)."""
    if value is None:
        return None, True
    if isinstance(value, bool):
        return None, False
    if isinstance(value, int | float):
        return float(value), True
    if isinstance(value, str):
        text = value.strip()
        if text in _GPSD_TOKENS:
            return _GPSD_TOKENS[text], True
        if text.lower() in _NA_TEXT:
            return None, True
        if _NUMBER.fullmatch(text):
            return float(text), True
    return None, False


def _py_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _parse_each(lines: _Lines, i: int, j: int, rejects: Counter[str]) -> pa.Table:
    """The slow path for a few lines Arrow refused: ``json.loads`` each one."""
    rows: dict[str, list[Any]] = {f.name: [] for f in ROW_SCHEMA}
    for k in range(i, j):
        if not lines.filled[k]:
            continue
        try:
            obj = json.loads(lines.chunk[lines.starts[k] : lines.ends[k]])
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            rejects["bad_json"] += 1
            continue
        bad = {"mmsi": False, "other": False}
        for f in NUMBERS:
            value, ok = _py_number(obj.get(f))
            rows[f].append(value)
            if not ok:
                bad["mmsi" if f in ("mmsi", "ssvid") else "other"] = True
        for f in TEXTS:
            rows[f].append(_py_text(obj.get(f)))
        scaled = obj.get("scaled")
        rows["scaled"].append(scaled if isinstance(scaled, bool) else None)
        rows["__line"].append(int(lines.numbers[k]))
        rows["__bad_mmsi"].append(bad["mmsi"])
        rows["__bad_number"].append(bad["other"])
    return pa.table(rows, schema=ROW_SCHEMA)


def _flag(mask: Array) -> Array:
    return pc.fill_null(mask, False)


def _frame(t: pa.Table) -> Frame:
    """Parsed JSON rows → seawatch columns, scaled to degrees/knots where gpsd was not."""
    n = t.num_rows
    frame = Frame(columns={}, n=n)

    def col(name: str) -> Array:
        return t.column(name).combine_chunks()

    typ = col("type")
    cls = col("class")
    # gpsd daemon streams interleave other classes (TPV, SKY, ...): not AIS, not errors.
    ais = pc.invert(_flag(pc.and_(pc.is_valid(cls), pc.not_equal(cls, "AIS"))))
    mmsi, bad_mmsi = parse_mmsi(pc.coalesce(col("mmsi"), col("ssvid")))
    frame.reject(pc.and_(pc.or_(bad_mmsi, col("__bad_mmsi")), ais), "bad_mmsi")
    # In gpsd's own records ("class": "AIS") "timestamp" is message content (the UTC of a
    # type 4 report, the time of a type 8 met report), not a receive time: gpsd has none.
    gpsd = _flag(pc.equal(cls, "AIS"))
    ts, bad_ts = parse_timestamp(null_if(col("timestamp"), gpsd))
    frame.reject(pc.and_(bad_ts, ais), "bad_timestamp")
    frame.reject(pc.and_(col("__bad_number"), ais), "bad_number")
    ts = pc.coalesce(ts, epoch_seconds(col("tagblock_timestamp")))

    unscaled = _flag(pc.equal(col("scaled"), False))
    t27, t9 = _flag(pc.equal(typ, 27)), _flag(pc.equal(typ, 9))
    deg = pc.if_else(unscaled, pc.if_else(t27, 600.0, 600_000.0), 1.0)
    speed_div = pc.if_else(pc.and_(unscaled, pc.invert(pc.or_(t9, t27))), 10.0, 1.0)
    speed = pc.divide(col("speed"), speed_div)
    speed_na = pc.if_else(t27, 63.0, pc.if_else(t9, 1023.0, 102.25))
    course = pc.divide(col("course"), pc.if_else(pc.and_(unscaled, pc.invert(t27)), 10.0, 1.0))
    turn = col("turn")
    raw_rot = pc.divide(turn, ROT_SCALE)
    rot_unscaled = null_if(  # -128 (gpsd also writes 128) is "not available"
        pc.multiply(pc.sign(turn), pc.multiply(raw_rot, raw_rot)), pc.greater(pc.abs(turn), 127)
    )
    # gpsd's scaled output squares ROT_AIS/4.733 and drops the sign (gpsd 3.22, ais_json.c):
    # only 0 and the signed fastleft/fastright survive; other scaled turns are unusable.
    unsigned = pc.and_(
        pc.and_(gpsd, pc.invert(unscaled)), pc.invert(pc.is_in(pc.abs(turn), _SIGN_SAFE))
    )
    turn_scaled = null_if(turn, unsigned)
    draught = pc.divide(col("draught"), pc.if_else(unscaled, 10.0, 1.0))
    names = clean_text(col("tagblock_station"))
    msg_type = to_int(typ, pa.int8(), 1, 27)
    frame.columns.update(
        ts=ts,
        mmsi=mmsi,
        msg_type=msg_type,
        static_msg_type=msg_type,
        lat=in_range(pc.divide(col("lat"), deg), -90, 90),
        lon=in_range(pc.divide(col("lon"), deg), -180, 180),
        speed_kn=null_if(in_range(speed, 0, 1022), pc.greater_equal(speed, speed_na)),
        course_deg=null_if(in_range(course, 0, 360), pc.greater_equal(course, 360)),
        heading_deg=to_int(col("heading"), pa.int16(), 0, 359),
        nav_status=to_int(col("status"), pa.int8(), 0, 15),
        rate_of_turn_degpm=in_range(
            pc.if_else(unscaled, rot_unscaled, turn_scaled), -ROT_MAX, ROT_MAX
        ),
        imo=to_int(col("imo"), pa.int32(), 1, MAX_MMSI),
        ship_type=to_int(col("shiptype"), pa.int16(), 1, 255),
        dim_to_bow_m=to_int(col("to_bow"), pa.int16(), 0, 511),
        dim_to_stern_m=to_int(col("to_stern"), pa.int16(), 0, 511),
        dim_to_port_m=to_int(col("to_port"), pa.int16(), 0, 63),
        dim_to_starboard_m=to_int(col("to_starboard"), pa.int16(), 0, 63),
        draught_m=null_if(in_range(draught, 0, 25.5), pc.equal(draught, 0)),
        name=pc.coalesce(clean_text(col("shipname")), clean_text(col("name"))),
        callsign=clean_text(col("callsign")),
        destination=clean_text(col("destination")),
        station=pc.coalesce(names, pc.if_else(gpsd, "gpsd", "gpsdio")),
        line_no=col("__line"),
        **parse_eta(col("eta")),
    )
    # A record without a type (gpsdio tracks) is a position report, as a CSV row is.
    frame.is_position = pc.and_(pc.or_(pc.is_null(typ), pc.is_in(typ, POSITION_TYPES)), ais)
    return frame
