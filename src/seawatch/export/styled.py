"""Records as the map formats write them: typed properties a GIS can style, ids as text.

In: an Arrow table of positions, latest positions or events (an events table's ``details``
is the JSON text each detector writes). Out: the same records with

- event ``details`` flattened into typed columns (:func:`flat_details`): each detail key
  becomes a column of its own name (``median_distance_m``, ``duration_s``, ``rule``);
  a parameter of the detector, ``param_<name>`` (``param_max_distance_m``); an identity
  change's ``before``/``after`` values, ``<field>_before``/``<field>_after``
  (``draught_m_before``: the values of one field share one type); any other nested object,
  its keys joined by ``_``; a key that is already a column, ``details_<key>``. One column
  has one type across the file: integers (int64), numbers (float64), booleans, text or
  lists as the values are; a key whose values mix kinds is text (JSON for non-text);
- identifiers that are 64-bit integers (``msg_key``, ``segment_id``, ``*_id``) as text
  (:func:`text_ids`): QGIS reads 64-bit integers as floats and JavaScript loses their
  precision, so an id is never a number a consumer may round. MMSIs and IMO numbers
  (nine and seven digits) stay integers.

GeoJSON and KML write what :func:`for_maps` gives (docs/exports.md); the columnar and
tabular formats keep ``details`` as the stored JSON text, so they round-trip to the store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import pyarrow as pa

from seawatch.export.common import Kind

__all__ = ["DETAILS_PREFIX", "PARAM_PREFIX", "flat_details", "flat_keys", "for_maps", "text_ids"]

DETAILS_PREFIX: Final = "details_"
"""Prefix of a detail key that is already a column of the events table."""
PARAM_PREFIX: Final = "param_"
"""Prefix of a detector parameter (``details.params``)."""
_INT_IDS: Final = ("msg_key",)


def flat_keys(details: Mapping[str, Any]) -> dict[str, Any]:
    """One event's details as flat ``{column: value}`` (the naming rule of this module,
    before the event table's column names are reserved)."""
    out: dict[str, Any] = {}
    field = details.get("field")
    for key, value in details.items():
        if key == "params" and isinstance(value, Mapping):
            _flatten(PARAM_PREFIX.rstrip("_"), value, out)
        elif key in ("before", "after") and isinstance(field, str) and field:
            out[f"{field}_{key}"] = value
        elif isinstance(value, Mapping):
            _flatten(key, value, out)
        else:
            out[key] = value
    return out


def _flatten(prefix: str, value: Mapping[str, Any], out: dict[str, Any]) -> None:
    for key, inner in value.items():
        name = f"{prefix}_{key}"
        if isinstance(inner, Mapping):
            _flatten(name, inner, out)
        else:
            out[name] = inner


def _column(values: list[Any]) -> pa.Array[Any]:
    """One column of values: typed as they are, or text when their kinds mix."""
    kinds = {type(v) for v in values if v is not None}
    if kinds == {int}:
        try:
            return pa.array(values, pa.int64())
        except OverflowError:
            pass
    elif kinds and kinds <= {int, float}:
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    elif kinds in ({bool}, {str}, {list}):
        try:
            typed: pa.Array[Any] = pa.array(values)
            return typed
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    elif not kinds:
        return pa.nulls(len(values), pa.string())
    text = [
        None if v is None else v if isinstance(v, str) else json.dumps(v, sort_keys=True)
        for v in values
    ]
    return pa.array(text, pa.string())


def flat_details(table: pa.Table) -> pa.Table:
    """``table`` with its ``details`` JSON column replaced by typed columns (module
    docstring); columns in order of first appearance. Unreadable details stay text in
    ``details``."""
    if "details" not in table.column_names:
        return table
    raw: list[Any] = table.column("details").to_pylist()
    rows: list[dict[str, Any]] = []
    bad: list[str | None] = []
    for text in raw:
        try:
            parsed = json.loads(text) if text else {}
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            rows.append(flat_keys(parsed))
            bad.append(None)
        else:
            rows.append({})
            bad.append(text)
    taken = set(table.column_names) | {"label"}
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    at = table.schema.get_field_index("details")
    out = table.remove_column(at)
    if any(b is not None for b in bad):
        out = out.add_column(at, "details", pa.array(bad, pa.string()))
        at += 1
    for name in names:
        column = name if name not in taken else f"{DETAILS_PREFIX}{name}"
        out = out.add_column(at, column, _column([row.get(name) for row in rows]))
        at += 1
    return out


def text_ids(table: pa.Table) -> pa.Table:
    """``table`` with its 64-bit integer identifiers (``msg_key``, ``*_id``) as text."""
    for i, fld in enumerate(table.schema):
        is_id = fld.name in _INT_IDS or (fld.name.endswith("_id") and fld.name != "label_id")
        if is_id and pa.types.is_integer(fld.type) and fld.type.bit_width > 32:
            table = table.set_column(i, fld.name, table.column(i).cast(pa.string()))
    return table


def for_maps(table: pa.Table, kind: Kind) -> pa.Table:
    """``table`` as GeoJSON and KML write it: ids as text, event details flattened."""
    table = text_ids(table)
    return flat_details(table) if kind == "events" else table
