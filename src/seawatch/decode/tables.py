"""Assembled messages (scanner output) → one Arrow table per published schema.

Every message goes to the table(s) of the layouts it matches: its type, and the
``select`` predicates of variant layouts (type 24 part A/B, IMO application messages).
Rows keep input order within each table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from seawatch.decode import nmea
from seawatch.decode.extract import bit_counts, column, extract_int, gather_bytes, int_columns
from seawatch.decode.fields import Field, Kind, Layout
from seawatch.decode.schemas import PLANS, Part
from seawatch.decode.timeparse import NO_TIME


@dataclass(frozen=True)
class Messages:
    """Scanner output for one chunk, trimmed to what was used."""

    msg: np.ndarray  # int64[n, nmea.N_M]
    pay: np.ndarray  # uint8 six-bit values
    station: np.ndarray  # uint8
    raw: np.ndarray  # uint8 (empty unless raw was requested)
    keep_raw: bool

    @property
    def count(self) -> int:
        return int(self.msg.shape[0])


def min_bits_by_type() -> np.ndarray:
    """Shortest message accepted per type (the minimum over its layouts); 0 = no layout."""
    out = np.full(28, 1 << 30, np.int64)
    for plan in PLANS.values():
        for part in plan.parts:
            for lay in part.layouts:
                out[lay.msg_type] = min(out[lay.msg_type], lay.min_bits)
    out[out == 1 << 30] = 1 << 30
    return out


def _codes(codes: np.ndarray, width: int) -> pa.Array:
    """Small ASCII codes packed in integers (channel 'A', talker 'AI') → strings; 0 = null."""
    n = len(codes)
    valid = codes > 0
    k = int(valid.sum())
    data = np.empty((k, width), np.uint8)
    present = codes[valid]
    for i in range(width):
        data[:, i] = (present >> (8 * (width - 1 - i))) & 0xFF
    if k == n:
        offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    else:
        offsets = np.zeros(n + 1, np.int32)
        np.cumsum(valid * width, out=offsets[1:])
    mask = None if k == n else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        pa.string(), n, [mask, pa.py_buffer(offsets), pa.py_buffer(data.reshape(-1))]
    )


def _source_columns(m: Messages, rows: np.ndarray) -> dict[str, pa.Array]:
    msg = m.msg
    ts = msg[rows, nmea.M_TS]
    ts_mask = ts == NO_TIME
    cols = {
        "ts": pa.array(ts, pa.timestamp("us", tz="UTC"), mask=ts_mask if ts_mask.any() else None),
        "channel": _codes(msg[rows, nmea.M_CHANNEL], 1),
        "talker": _codes(msg[rows, nmea.M_TALKER], 2),
        "own_ship": pa.array(msg[rows, nmea.M_VDO].astype(np.bool_)),
        "line_no": pa.array(msg[rows, nmea.M_LINE]),
        "station": _gather(m.station, msg[:, nmea.M_STATION_START], msg[:, nmea.M_STATION_LEN], rows),
        "raw": (
            _gather(m.raw, msg[:, nmea.M_RAW_START], msg[:, nmea.M_RAW_LEN], rows)
            if m.keep_raw
            else pa.nulls(len(rows), pa.string())
        ),
    }
    return cols


def _gather(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, rows: np.ndarray) -> pa.Array:
    if len(buf) == 0:
        return pa.nulls(len(rows), pa.string())
    offsets, data = gather_bytes(buf, starts, lengths, rows)
    valid = lengths[rows] > 0
    mask = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        pa.string(), len(rows), [mask, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _select(lay: Layout, m: Messages, candidates: np.ndarray) -> np.ndarray:
    starts = m.msg[:, nmea.M_START]
    nbits = m.msg[:, nmea.M_NBITS]
    rows = candidates[nbits[candidates] >= lay.min_bits]
    for sel in lay.select:
        vals, valid = extract_int(m.pay, starts, nbits, rows, sel.offset, sel.width, False, 0, False)
        rows = rows[valid & (vals == sel.value)]
    return rows


def _part_rows(part: Part, m: Messages, types: np.ndarray) -> np.ndarray:
    chunks = [_select(lay, m, np.flatnonzero(types == lay.msg_type)) for lay in part.layouts]
    rows = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
    return np.sort(rows) if len(chunks) > 1 else rows


def build(m: Messages) -> tuple[dict[str, pa.Table], int]:
    """Decode every message into its tables. Returns the tables and how many messages
    matched no layout (a variant the layouts do not know, e.g. type 24 part 2)."""
    starts = m.msg[:, nmea.M_START]
    nbits = m.msg[:, nmea.M_NBITS]
    types = m.pay[starts].astype(np.int64) if m.count else np.zeros(0, np.int64)
    matched = np.zeros(m.count, np.bool_)
    out: dict[str, pa.Table] = {}
    for name, plan in PLANS.items():
        names = set(plan.schema.names)
        pieces: list[pa.Table] = []
        order: list[np.ndarray] = []
        for part in plan.parts:
            rows = _part_rows(part, m, types)
            if not part.projected:
                matched[rows] = True
            if rows.size == 0:
                continue
            lay = part.layouts[0]
            decoded: dict[str, pa.Array] = {}
            numeric: list[tuple[Field, int]] = []
            for f, off in zip(lay.fields, lay.offsets, strict=True):
                if f.kind == Kind.SPARE or f.name not in names:
                    continue
                if f.kind in (Kind.TEXT, Kind.BITS) or f.width == 0:
                    typ = plan.schema.field(f.name).type
                    decoded[f.name] = column(f, off, m.pay, starts, nbits, rows, typ)
                    if f.kind == Kind.BITS:
                        decoded[f"{f.name}_nbits"] = bit_counts(f, off, m.pay, starts, nbits, rows)
                else:
                    numeric.append((f, off))
            if numeric:
                types_ = [plan.schema.field(f.name).type for f, _ in numeric]
                arrays_ = int_columns(numeric, m.pay, starts, nbits, rows, types_)
                decoded.update({f.name: a for (f, _), a in zip(numeric, arrays_, strict=True)})
            if name == "positions":
                t = types[rows]
                decoded["is_base_station"] = pa.array(t == 4)
                decoded["is_aton"] = pa.array(t == 21)
            source = _source_columns(m, rows)
            arrays = []
            for fld in plan.schema:
                if fld.name in decoded:
                    arrays.append(decoded[fld.name])
                elif fld.name in source:
                    arrays.append(source[fld.name])
                else:
                    arrays.append(pa.nulls(len(rows), fld.type))
            pieces.append(pa.Table.from_arrays(arrays, schema=plan.schema))
            order.append(rows)
        if not pieces:
            continue
        if len(pieces) == 1:
            out[name] = pieces[0]
        else:
            table = pa.concat_tables(pieces)
            perm = np.argsort(np.concatenate(order), kind="stable")
            out[name] = table.take(pa.array(perm)).combine_chunks()
    return out, int(m.count - matched.sum())
