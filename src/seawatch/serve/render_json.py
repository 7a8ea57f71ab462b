"""A page of records as JSON text, written by Arrow column by column.

In: the rows a route read (with ``label_id``) and the labels the reader may read. Out: the
JSON array of the page's items, byte for byte what ``json.dumps(render.items(rows, labels))``
writes (same keys in the same order, ``", "`` and ``": "`` separators, times ``...Z``, NaN
and infinities null, non-ASCII escaped), without a Python object per value: each column
becomes the JSON text of its values by Arrow kernels (numbers cast to text, strings
quoted), and each row the concatenation of its columns' texts. A 30-day track of 3,900
positions (1.2 MB) takes ~2 ms of CPU instead of ~18 (``items`` + ``json.dumps``,
bench/serve_parts.py).

Where Arrow's text could differ from Python's, the value goes through ``json.dumps``:
doubles outside ``[1e-4, 1e9)`` in magnitude (Arrow switches to exponents elsewhere than
Python does), strings holding anything but printable ASCII, ``"`` or ``\\`` (escapes), and
list columns. :func:`items_json` answers None for a table of other column types (the
caller renders it row by row).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from functools import cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as compute

from seawatch.export.common import marking_array
from seawatch.labels import Label

__all__ = ["items_json"]

pc: Any = compute  # the kernels' stubs type scalars and arrays apart; the code mixes them

_SAFE_MIN, _SAFE_MAX = 1e-4, 1e9
"""Doubles whose magnitude is in ``[_SAFE_MIN, _SAFE_MAX)`` (and zero): Arrow's shortest
text equals Python's ``repr`` but for a missing ``.0`` on whole numbers (checked on
millions of values, tests/serve/test_render_json.py)."""
_UNSAFE_TEXT = r"[^\x20\x21\x23-\x5b\x5d-\x7e]"
"""A character ``json.dumps`` would escape (control, ``"``, ``\\``, non-ASCII)."""


def _quoted(text: Any) -> Any:
    return pc.binary_join_element_wise('"', text, '"', "")


def _python(values: list[Any]) -> Any:
    return pa.array([json.dumps(v) for v in values], pa.string())


def _doubles(column: Any) -> Any:
    finite = pc.is_finite(column)
    size = pc.abs(column)
    safe = pc.or_(
        pc.equal(column, 0.0),
        pc.and_(pc.greater_equal(size, _SAFE_MIN), pc.less(size, _SAFE_MAX)),
    )
    text = pc.cast(column, pa.string())
    whole = pc.equal(column, pc.floor(column))  # Arrow writes 90.0 as "90", -0.0 as "-0"
    text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    odd = pc.and_(finite, pc.invert(safe))
    if pc.any(odd).as_py():  # rare: Python's own text for those
        values = column.to_pylist()
        picked = odd.to_pylist()
        text = pc.if_else(
            odd, _python([v if p else 0.0 for v, p in zip(values, picked, strict=True)]), text
        )
    return pc.if_else(finite, text, pa.scalar(None, pa.string()))


def _strings(column: Any) -> Any:
    if pc.any(pc.match_substring_regex(column, _UNSAFE_TEXT)).as_py():
        return _python(column.to_pylist())
    return _quoted(column)


_US_PER_DAY = 86_400_000_000
_FIRST_US, _END_US = -62_135_596_800_000_000, 253_402_300_800_000_000
"""0001-01-01 and 10000-01-01 in microseconds since 1970: the years ``isoformat`` writes."""


@cache
def _clock() -> Any:
    """``THH:MM:SS`` of each second of a day (taken by index: no per-value formatting)."""
    return pa.array(
        [f"T{h:02d}:{m:02d}:{sec:02d}" for h in range(24) for m in range(60) for sec in range(60)]
    )


def _utc_text(column: Any) -> Any:
    """UTC times as ``datetime.isoformat`` and ``Z`` (``2025-06-01T00:00:05Z``, microseconds
    only when not zero): each distinct day and each second of the day formatted once
    (Arrow's ``strftime`` costs ~1 us a value)."""
    us = pc.cast(column.cast(pa.timestamp("us", tz="UTC")), pa.int64())
    lo, hi = pc.min_max(us).values()
    if lo.is_valid and (lo.as_py() < _FIRST_US or hi.as_py() >= _END_US):
        text = pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
        return pc.replace_substring_regex(text, pattern=r"\.000000Z$", replacement="Z")
    shifted = pc.subtract(us, _FIRST_US)  # >= 0: integer division is floor division
    days = pc.divide(shifted, _US_PER_DAY)
    of_day = pc.subtract(shifted, pc.multiply(days, _US_PER_DAY))
    seconds = pc.divide(of_day, 1_000_000)
    micros = pc.subtract(of_day, pc.multiply(seconds, 1_000_000))
    distinct = pc.drop_null(pc.unique(days))
    first = date(1, 1, 1)
    dates = pa.array(
        [(first + timedelta(days=d)).isoformat() for d in distinct.to_pylist()], pa.string()
    )
    day_text = pc.take(dates, pc.index_in(days, distinct))
    parts = [day_text, pc.take(_clock(), seconds)]
    if pc.any(pc.not_equal(micros, 0)).as_py():
        six = pc.utf8_lpad(pc.cast(micros, pa.string()), width=6, padding="0")
        parts.append(pc.if_else(pc.equal(micros, 0), "", pc.binary_join_element_wise(".", six, "")))
    return pc.binary_join_element_wise(*parts, "Z", "")


def _column_text(column: Any) -> Any | None:
    """Each value of ``column`` as JSON text (null where the value is null); None for a
    type rendered row by row."""
    t = column.type
    if pa.types.is_timestamp(t):
        if t.tz not in ("UTC", "+00:00"):
            return None
        return _quoted(_utc_text(column))
    if pa.types.is_floating(t):
        return _doubles(column.cast(pa.float64()))
    if pa.types.is_integer(t):
        return pc.cast(column, pa.string())
    if pa.types.is_boolean(t):
        return pc.if_else(column, "true", "false")
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _strings(column.cast(pa.string()))
    if pa.types.is_null(t):
        return pa.nulls(len(column), pa.string())
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        from seawatch.serve.render import jsonable

        return _python([jsonable(v) for v in column.to_pylist()])
    return None


def items_json(rows: pa.Table, labels: Mapping[int, Label]) -> bytes | None:
    """The JSON array of ``rows`` as items (see the module), UTF-8, or None when a column's
    type is not one this writes (the caller renders row by row)."""
    if not rows.num_rows:
        return b"[]"
    marks = marking_array(rows, labels)
    body = rows.drop_columns(["label_id"])
    parts: list[Any] = []
    for i, (name, column) in enumerate(zip(body.column_names, body.columns, strict=True)):
        text = _column_text(column.combine_chunks())
        if text is None:
            return None
        parts += [("{" if i == 0 else ", ") + json.dumps(name) + ": ", pc.fill_null(text, "null")]
    parts += [(", " if parts else "{") + '"label": ', _strings(marks), "}"]
    joined = pc.binary_join_element_wise(*parts, "")
    whole = pa.ListArray.from_arrays(pa.array([0, len(joined)], pa.int32()), joined)
    out: bytes = pc.binary_join(whole, ", ")[0].as_buffer().to_pybytes()
    return b"[" + out + b"]"
