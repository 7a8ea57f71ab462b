"""``schema.json_objects`` against ``json.dumps`` of each event's details: every field kind
(numpy floats with NaN, integers, Arrow numbers with nulls, texts, lists, constants) in
one object, built by one join."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.events.schema import json_objects

FLOATS = st.floats(allow_infinity=False, width=64)
KINDS = ("np_float", "np_int", "pa_float", "pa_int", "text", "list", "const")


def _expected(fields: dict[str, Any], n: int) -> list[str]:
    rows = []
    for i in range(n):
        obj: dict[str, Any] = {}
        for key, (kind, value) in fields.items():
            if kind == "const":
                obj[key] = value
            else:
                v = value[i]
                obj[key] = None if isinstance(v, float) and math.isnan(v) else v
        rows.append(json.dumps(obj, sort_keys=True, separators=(",", ":")))
    return rows


def _column(kind: str, n: int, data: st.DataObject) -> tuple[Any, Any]:
    """(what json_objects gets, the Python values json.dumps gets)."""
    if kind == "np_float":
        vals = data.draw(st.lists(FLOATS, min_size=n, max_size=n))
        return np.array(vals, np.float64), vals
    if kind == "np_int":
        vals = data.draw(st.lists(st.integers(-(2**62), 2**62), min_size=n, max_size=n))
        return np.array(vals, np.int64), vals
    if kind == "pa_float":
        vals = data.draw(st.lists(st.none() | FLOATS, min_size=n, max_size=n))
        return pa.array(vals, pa.float64()), vals
    if kind == "pa_int":
        vals = data.draw(st.lists(st.none() | st.integers(-1000, 1000), min_size=n, max_size=n))
        return pa.array(vals, pa.int32()), vals
    if kind == "text":
        vals = data.draw(st.lists(st.none() | st.text(max_size=5), min_size=n, max_size=n))
        return pa.array(vals, pa.string()), vals
    if kind == "list":
        vals = data.draw(st.lists(st.lists(st.integers(0, 9), max_size=2), min_size=n, max_size=n))
        return vals, vals
    consts = st.none() | st.integers() | st.dictionaries(st.text(max_size=3), st.integers())
    const = data.draw(consts)
    return const, const


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 6),
    kinds=st.lists(st.sampled_from(KINDS), max_size=6),
    data=st.data(),
)
def test_json_objects_are_json_dumps_per_event(
    n: int, kinds: list[str], data: st.DataObject
) -> None:
    given_fields: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for j, kind in enumerate(kinds):
        key = f"{kind}_{j}"
        arg, vals = _column(kind, n, data)
        given_fields[key] = arg
        fields[key] = (kind, vals)
    got = json_objects(n, given_fields)
    assert got.type == pa.string()
    want = _expected(fields, n)
    assert [json.loads(x) for x in got.to_pylist()] == [json.loads(x) for x in want]
    assert [list(json.loads(x)) for x in got.to_pylist()] == [list(json.loads(x)) for x in want]


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(width=64)
    | st.text(max_size=4)
    | st.floats(width=64).map(np.float64)
    | st.lists(st.integers(), max_size=2)
)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(SCALARS, max_size=8))
def test_list_values_are_json_dumps_of_each(values: list[Any]) -> None:
    """A list field's texts are exactly ``json.dumps`` of each value (floats by ``repr``,
    NaN and infinities, bools, numpy floats and containers by the encoder)."""
    if not values:
        return
    got = json_objects(len(values), {"v": values}).to_pylist()
    want = [json.dumps({"v": v}, sort_keys=True, separators=(",", ":")) for v in values]
    assert got == want
