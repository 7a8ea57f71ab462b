"""Assembled messages (scanner output) → one Arrow table per published schema.

Every message goes to the table(s) of the layouts it matches: its type, and the
``select`` predicates of variant layouts (type 24 part A/B, IMO application messages).
Rows keep input order within each table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from seawatch.decode import nmea
from seawatch.decode.extract import (
    CONVERTERS,
    N_SPEC,
    TEXT_TABLE,
    as_buffer,
    extract_binary,
    extract_ints,
    extract_text,
    field_spec,
    gather_bytes,
    source_fields,
    validity,
)
from seawatch.decode.fields import Kind, Layout, Select
from seawatch.decode.schemas import PLANS, TS_TYPE, TablePlan
from seawatch.decode.timeparse import NO_TIME
from seawatch.decode.workspace import Workspace


@dataclass(frozen=True)
class Messages:
    """Scanner output for one chunk, trimmed to what was used."""

    msg: np.ndarray  # int64[nmea.N_M, n]: one row per M_* column
    pay: np.ndarray  # uint64 words, ten six-bit values each (see nmea.M_START)
    station: np.ndarray  # uint8
    raw: np.ndarray  # uint8 (empty unless raw was requested)
    keep_raw: bool

    @property
    def count(self) -> int:
        return int(self.msg.shape[1])


def min_bits_by_type() -> np.ndarray:
    """Shortest message accepted per type (the minimum over its layouts); 0 = no layout."""
    out = np.full(28, 1 << 30, np.int64)
    for plan in PLANS.values():
        for part in plan.parts:
            for lay in part.layouts:
                out[lay.msg_type] = min(out[lay.msg_type], lay.min_bits)
    out[out == 1 << 30] = 1 << 30
    return out


def _source_columns(m: Messages, rows: np.ndarray) -> dict[str, pa.Array[Any]]:
    msg = m.msg
    ts, ts_ok, line, vdo, ch_off, ch_data, ch_ok, tk_off, tk_data, tk_ok = source_fields(
        msg[nmea.M_TS],
        msg[nmea.M_LINE],
        msg[nmea.M_VDO],
        msg[nmea.M_CHANNEL],
        msg[nmea.M_TALKER],
        rows,
        NO_TIME,
    )
    n = len(rows)
    return {
        "ts": pa.Array.from_buffers(TS_TYPE, n, [validity(ts_ok), as_buffer(ts)]),
        "channel": pa.Array.from_buffers(
            pa.string(), n, [validity(ch_ok), as_buffer(ch_off), as_buffer(ch_data)]
        ),
        "talker": pa.Array.from_buffers(
            pa.string(), n, [validity(tk_ok), as_buffer(tk_off), as_buffer(tk_data)]
        ),
        "own_ship": pa.Array.from_buffers(
            pa.bool_(), n, [None, as_buffer(np.packbits(vdo, bitorder="little"))]
        ),
        "line_no": pa.Array.from_buffers(pa.int64(), n, [None, as_buffer(line)]),
        "station": _gather(m.station, msg[nmea.M_STATION_START], msg[nmea.M_STATION_LEN], rows),
        "raw": (
            _gather(m.raw, msg[nmea.M_RAW_START], msg[nmea.M_RAW_LEN], rows)
            if m.keep_raw
            else pa.nulls(n, pa.string())
        ),
    }


def _gather(
    buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, rows: np.ndarray
) -> pa.Array[Any]:
    if len(buf) == 0:
        return pa.nulls(len(rows), pa.string())
    offsets, data = gather_bytes(buf, starts, lengths, rows)
    valid = lengths[rows] > 0
    mask = None if valid.all() else as_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        pa.string(), len(rows), [mask, as_buffer(offsets), as_buffer(data)]
    )


def _holds(sel: Select, m: Messages, rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` satisfy one predicate (false where the bits are missing)."""
    vals = np.empty((1, len(rows)), np.int32)
    valid = np.zeros((1, len(rows)), np.bool_)
    spec = np.array([[field_spec(0, sel.offset, sel.width, False, None, 2, 0)]], np.int64)
    none8 = np.empty((0, len(rows)), np.int8)
    none16 = np.empty((0, len(rows)), np.int16)
    extract_ints(
        m.pay,
        m.msg[nmea.M_START],
        m.msg[nmea.M_NBITS],
        rows,
        np.zeros(len(rows), np.int8),
        np.ones(1, np.int64),
        spec,
        none8,
        none16,
        vals,
        valid,
    )
    v = vals[0].astype(np.int64)
    hit = v == sel.value if sel.upper is None else (v >= sel.value) & (v <= sel.upper)
    ok: np.ndarray = valid[0] & hit
    return ok


def _select(lay: Layout, m: Messages, candidates: np.ndarray) -> np.ndarray:
    """The messages of ``candidates`` (all of type ``lay.msg_type``) that ``lay`` decodes."""
    nbits = m.msg[nmea.M_NBITS]
    rows = candidates[nbits[candidates] >= lay.min_bits]
    for sel in lay.select:
        rows = rows[_holds(sel, m, rows)]
    if lay.unless and len(rows):
        excluded = np.ones(len(rows), np.bool_)
        for sel in lay.unless:
            excluded &= _holds(sel, m, rows)
        rows = rows[~excluded]
    selected: np.ndarray = rows
    return selected


@dataclass(frozen=True)
class _Columns:
    """How to decode one table's field columns for each of its layout groups."""

    ints: tuple[str, ...]
    dest: tuple[tuple[int, int], ...]  # per int column: (output matrix 0/1/2, row in it)
    widths: tuple[int, int, int]  # rows of the int8, int16 and int32 matrices
    count: np.ndarray  # int64[groups]: integer fields each group has
    spec: np.ndarray  # int64[groups, fields, 6]: see extract.F_*
    scale: np.ndarray  # float64[groups, ints]
    convert: tuple[tuple[str | None, ...], ...]  # [int column][group]
    varlen: tuple[tuple[str, Kind, np.ndarray, np.ndarray], ...]  # name, kind, offs[g], widths[g]


def _plan_columns(plan: TablePlan) -> _Columns:
    names = set(plan.schema.names)
    ints: list[str] = []
    varlen: dict[str, Kind] = {}
    for part in plan.parts:
        for f in part.layouts[0].fields:
            if f.kind == Kind.SPARE or f.name not in names:
                continue
            if f.kind in (Kind.TEXT, Kind.BITS):
                varlen.setdefault(f.name, f.kind)
            elif f.name not in ints:
                ints.append(f.name)
    ng, nf = len(plan.parts), len(ints)
    dest: list[tuple[int, int]] = []
    used = [0, 0, 0]
    for col in ints:
        typ = plan.schema.field(col).type
        if pa.types.is_boolean(typ) or typ == pa.int8():
            d = 0
        elif typ == pa.int16():
            d = 1
        else:  # int32, and the raw integers of float columns
            d = 2
        dest.append((d, used[d]))
        used[d] += 1
    count = np.zeros(ng, np.int64)
    spec = np.zeros((ng, max(nf, 1), N_SPEC), np.int64)
    scale = np.ones((ng, nf), np.float64)
    convert: list[list[str | None]] = [[None] * ng for _ in ints]
    voffs = {name: np.full(ng, -1, np.int64) for name in varlen}
    vwidths = {name: np.zeros(ng, np.int64) for name in varlen}
    for g, part in enumerate(plan.parts):
        lay = part.layouts[0]
        for f, off in zip(lay.fields, lay.offsets, strict=True):
            if f.name in varlen:
                voffs[f.name][g] = off
                vwidths[f.name][g] = f.width or f.max_width
            elif f.name in ints and f.kind != Kind.SPARE:
                k = ints.index(f.name)
                d, slot = dest[k]
                signed = f.kind == Kind.INT
                spec[g, count[g]] = field_spec(k, off, f.width, signed, f.na, d, slot)
                count[g] += 1
                scale[g, k] = f.scale
                convert[k][g] = f.convert
    return _Columns(
        tuple(ints),
        tuple(dest),
        (used[0], used[1], used[2]),
        count,
        spec,
        scale,
        tuple(tuple(c) for c in convert),
        tuple((name, kind, voffs[name], vwidths[name]) for name, kind in varlen.items()),
    )


_COLUMNS = {name: _plan_columns(plan) for name, plan in PLANS.items()}


def _int_column(
    cols: _Columns,
    k: int,
    v: np.ndarray,
    ok: np.ndarray,
    pid: np.ndarray,
    typ: pa.DataType,
) -> pa.Array[Any]:
    """Raw integers of column ``k`` → its Arrow array (scaled, converted, nulls applied)."""
    conv = cols.convert[k]
    if pa.types.is_floating(typ):
        if any(conv):
            out = v.astype(np.float64)
            for g, name in enumerate(conv):
                sel = pid == g
                out[sel] = CONVERTERS[name](v[sel]) if name else v[sel] / cols.scale[g, k]
        else:
            sc = cols.scale[:, k]
            out = v / (sc[0] if (sc == sc[0]).all() else sc[pid])
        data = as_buffer(out)
    elif pa.types.is_boolean(typ):
        data = as_buffer(np.packbits(v.view(np.bool_), bitorder="little"))
    else:
        data = as_buffer(v)  # already of the column's width
    return pa.Array.from_buffers(typ, len(v), [validity(ok), data])


def _merge_groups(
    picked: list[tuple[np.ndarray, int]], count: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of several layout groups merged into input order, with each row's group."""
    if len(picked) == 1:
        rows, g = picked[0]
        return rows, np.full(len(rows), g, np.int8)
    group = np.full(count, -1, np.int8)  # a scatter and a scan beat sorting the rows
    for rows, g in picked:
        group[rows] = g
    merged = np.flatnonzero(group >= 0)
    return merged, group[merged]


def build(m: Messages, ws: Workspace) -> tuple[dict[str, pa.Table], np.ndarray]:
    """Decode every message into its tables. Returns the tables and the indices of the
    messages no layout matched (a variant the layouts do not know, e.g. type 24 part 2)."""
    starts = m.msg[nmea.M_START]
    nbits = m.msg[nmea.M_NBITS]
    types = (m.pay[starts] >> np.uint64(58)).astype(np.uint8)
    # message indices by type, in input order (one radix sort instead of a pass per type)
    order = np.argsort(types, kind="stable")
    bounds = np.searchsorted(types[order], np.arange(29))
    by_type = [order[bounds[t] : bounds[t + 1]] for t in range(28)]
    matched = np.zeros(m.count, np.bool_)
    out: dict[str, pa.Table] = {}
    for name, plan in PLANS.items():
        picked: list[tuple[np.ndarray, int]] = []
        for g, part in enumerate(plan.parts):
            for lay in part.layouts:
                if len(by_type[lay.msg_type]) == 0:
                    continue
                sel = _select(lay, m, by_type[lay.msg_type])
                if len(sel):
                    picked.append((sel, g))
                    if not part.projected:
                        matched[sel] = True
        if not picked:
            continue
        rows, pid = _merge_groups(picked, m.count)
        cols = _COLUMNS[name]
        decoded: dict[str, pa.Array[Any]] = {}
        if cols.ints:
            # fresh, not workspace: integer columns are zero-copy views of their rows
            n8, n16, n32 = cols.widths
            out8 = np.empty((n8, len(rows)), np.int8)
            out16 = np.empty((n16, len(rows)), np.int16)
            out32 = np.empty((n32, len(rows)), np.int32)
            valid = ws.get("valid", (len(cols.ints), len(rows)), np.bool_)
            valid[:] = False
            extract_ints(
                m.pay, starts, nbits, rows, pid, cols.count, cols.spec, out8, out16, out32, valid
            )
            mats = (out8, out16, out32)
            for k, col in enumerate(cols.ints):
                which, slot = cols.dest[k]
                typ = plan.schema.field(col).type
                decoded[col] = _int_column(cols, k, mats[which][slot], valid[k], pid, typ)
        for col, kind, offs, widths in cols.varlen:
            if kind == Kind.TEXT:
                o, d, ok = extract_text(m.pay, starts, nbits, rows, pid, offs, widths, TEXT_TABLE)
                decoded[col] = pa.Array.from_buffers(
                    pa.string(), len(rows), [validity(ok), as_buffer(o), as_buffer(d)]
                )
            else:
                o, d, nb, ok = extract_binary(m.pay, starts, nbits, rows, pid, offs, widths)
                decoded[col] = pa.Array.from_buffers(
                    pa.binary(), len(rows), [validity(ok), as_buffer(o), as_buffer(d)]
                )
                decoded[f"{col}_nbits"] = pa.Array.from_buffers(
                    pa.int32(), len(rows), [validity(ok), as_buffer(nb)]
                )
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
        out[name] = pa.Table.from_arrays(arrays, schema=plan.schema)
    return out, np.flatnonzero(~matched)
