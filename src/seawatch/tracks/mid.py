"""MMSI → kind of station and flag, from the Maritime Identification Digits (MID).

In: MMSIs (an int32/int64 Arrow array). Out: the station class (:data:`CLASSES`), the MID
(3 digits, at the offset the class puts it) and the flag administration it is allocated
to (ISO 3166-1 alpha-2 and alpha-3, and the ITU's name), all vectorised.

``mid.csv`` beside this module is seawatch's own table, written from the ITU list of
MIDs (ITU Radio Regulations Appendix 43, ITU MARS "Table of Maritime Identification
Digits"); territories carry their own ISO code where ISO has one (e.g. 236 Gibraltar GI)
and the sovereign's where it has not (204 Azores → PT). Formats from ITU-R M.585:

======================  ===========  ======================================
class                   form         example
======================  ===========  ======================================
``ship``                MIDxxxxxx    419000001 (India)
``group``               0MIDxxxxx    041900001
``coast_station``       00MIDxxxx    004190001 (AIS base stations)
``sar_aircraft``        111MIDxxx    111419001
``aton``                99MIDxxxx    994191001 (aids to navigation)
``auxiliary_craft``     98MIDxxxx    984191001 (craft associated with a parent ship)
``handheld``            8MIDxxxxx    841900001 (handheld VHF with DSC and GNSS)
``sart_mob_epirb``      970/972/974  970xxyyyy (no flag)
``invalid``             anything else, including MIDs 000-199 and 800-999
======================  ===========  ======================================
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

CLASSES = (
    "invalid",
    "ship",
    "group",
    "coast_station",
    "sar_aircraft",
    "aton",
    "auxiliary_craft",
    "handheld",
    "sart_mob_epirb",
)


def _doc(name: str, typ: pa.DataType, doc: str) -> pa.Field[Any]:
    return pa.field(name, typ, metadata={"doc": doc})


FLAG_SCHEMA = pa.schema(
    [
        _doc("mmsi_class", pa.string(), "Kind of station the MMSI's form denotes (CLASSES)"),
        _doc("mid", pa.int16(), "Maritime Identification Digits (null: the form has none)"),
        _doc("flag", pa.string(), "Flag, ISO 3166-1 alpha-3 (null: no MID or unallocated)"),
        _doc("flag_iso2", pa.string(), "Flag, ISO 3166-1 alpha-2"),
        _doc("flag_name", pa.string(), "Flag administration, as the ITU names it"),
    ],
    metadata={"table": "flags"},
)


@dataclass(frozen=True)
class MidEntry:
    mid: int
    iso2: str
    iso3: str
    name: str


@cache
def mid_table() -> dict[int, MidEntry]:
    """The packaged MID table, keyed by MID."""
    text = resources.files("seawatch.tracks").joinpath("mid.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return {int(r["mid"]): MidEntry(int(r["mid"]), r["iso2"], r["iso3"], r["name"]) for r in rows}


@cache
def _lookup() -> tuple[Any, Any, Any, np.ndarray[Any, np.dtype[np.bool_]]]:
    table = mid_table()
    iso2 = [table[m].iso2 if m in table else None for m in range(1000)]
    iso3 = [table[m].iso3 if m in table else None for m in range(1000)]
    name = [table[m].name if m in table else None for m in range(1000)]
    known = np.array([m in table for m in range(1000)])
    return pa.array(iso2, pa.string()), pa.array(iso3, pa.string()), pa.array(name), known


_RULES = np.array(  # (class, low, high inclusive, MID = v // div % 1000)
    [
        (1, 200_000_000, 799_999_999, 1_000_000),
        (2, 20_000_000, 79_999_999, 100_000),
        (3, 2_000_000, 7_999_999, 10_000),
        (4, 111_200_000, 111_799_999, 1_000),
        (5, 992_000_000, 997_999_999, 10_000),
        (6, 982_000_000, 987_999_999, 10_000),
        (7, 820_000_000, 877_999_999, 100_000),
    ],
    dtype=np.int64,
)


@njit(cache=True, nogil=True)
def _classify_kernel(v: Any, rules: Any) -> tuple[Any, Any]:  # pragma: no cover
    cls = np.zeros(v.shape[0], np.int8)
    mid = np.full(v.shape[0], -1, np.int64)
    for i in range(v.shape[0]):
        x = v[i]
        for r in range(rules.shape[0]):
            if rules[r, 1] <= x <= rules[r, 2]:
                cls[i] = rules[r, 0]
                mid[i] = x // rules[r, 3] % 1000
        prefix = x // 1_000_000
        if prefix == 970 or prefix == 972 or prefix == 974:
            cls[i] = 8
    return cls, mid


def _classify(v: np.ndarray[Any, np.dtype[np.int64]]) -> tuple[np.ndarray[Any, Any], ...]:
    """(class index, MID or -1) for each MMSI value (-1 for nulls): the ranges of
    ``_RULES`` (search and rescue aircraft, AIS-SART/MOB/EPIRB by prefix), one pass."""
    out: tuple[np.ndarray[Any, Any], ...] = _classify_kernel(np.ascontiguousarray(v), _RULES)
    return out


def _classified(mmsi: pa.Array | pa.ChunkedArray) -> tuple[Any, Any, Any, Any]:  # type: ignore[type-arg]
    """Per MMSI: null or not, class index, MID (-1: none) and the index of its flag in
    :func:`_lookup`'s arrays (null when unknown or none)."""
    is_null = np.asarray(mmsi.is_null(), dtype=bool)
    v = np.asarray(pc.fill_null(mmsi.cast(pa.int64()), pa.scalar(-1, pa.int64())), np.int64)
    cls, mid = _classify(v)
    known = _lookup()[3]
    has_mid = mid >= 0
    flagged = has_mid & known[np.where(has_mid, mid, 0)]
    idx = pa.array(np.where(flagged, mid, 0), mask=~flagged, type=pa.int64())
    return is_null, cls, mid, idx


def flags(mmsi: pa.Array | pa.ChunkedArray) -> pa.Table:  # type: ignore[type-arg]
    """Class, MID and flag of each MMSI, as a table with :data:`FLAG_SCHEMA`."""
    is_null, cls, mid, idx = _classified(mmsi)
    iso2, iso3, name, _ = _lookup()
    has_mid = mid >= 0
    cls_idx = pa.array(cls.astype(np.int64), mask=is_null, type=pa.int64())
    classes = pa.array(CLASSES, pa.string()).take(cls_idx)
    arrays: list[Any] = [
        classes,
        pa.array(mid.astype(np.int16), mask=~has_mid, type=pa.int16()),
        iso3.take(idx),
        iso2.take(idx),
        name.take(idx),
    ]
    return pa.Table.from_arrays(arrays, schema=FLAG_SCHEMA)


def flag_of(mmsi: pa.Array | pa.ChunkedArray) -> pa.Array:  # type: ignore[type-arg]
    """Flag (ISO 3166-1 alpha-3) of each MMSI from its MID; null when unknown or none."""
    flag: pa.Array[Any] = _lookup()[1].take(_classified(mmsi)[3])  # only the flag column
    return flag


def mmsi_class(mmsi: pa.Array | pa.ChunkedArray) -> pa.Array:  # type: ignore[type-arg]
    """Kind of station of each MMSI (:data:`CLASSES`)."""
    return flags(mmsi).column("mmsi_class").combine_chunks()
