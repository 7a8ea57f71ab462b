"""The published Arrow schemas of decoded tables, derived from the message layouts.

A table's columns are: ``ts``, then the fields of every layout written to it (in order
of first appearance, spares left out, a ``<name>_nbits`` count after each binary field),
then derived flags, then where the row came from (``station``, ``channel``, ``talker``,
``own_ship``, ``line_no``, ``raw``). Every column carries its description in the field
metadata under ``b"doc"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from seawatch.decode.extract import arrow_type
from seawatch.decode.fields import Field, Kind, Layout
from seawatch.decode.layouts import LAYOUTS
from seawatch.errors import SchemaError

TS_TYPE = pa.timestamp("us", tz="UTC")


def _doc(name: str, typ: pa.DataType, doc: str) -> pa.Field[Any]:
    return pa.field(name, typ, metadata={"doc": doc})


_FRONT = (_doc("ts", TS_TYPE, "Receive time, UTC (null when the input gave none)"),)
_SOURCE = (
    _doc(
        "station",
        pa.string(),
        "Receiving station or source (tag block s:, USCG r-field, or the reader's name)",
    ),
    _doc("channel", pa.string(), "VHF channel the sentence reports (A, B, 1, 2)"),
    _doc("talker", pa.string(), "NMEA talker of the sentence (AI, AB, BS, ...)"),
    _doc("own_ship", pa.bool_(), "True for VDO (own vessel) sentences"),
    _doc("line_no", pa.int64(), "1-based input line (or row) of the message's first sentence"),
    _doc("raw", pa.string(), "The raw sentence(s), newline-joined; only when requested"),
)
_DERIVED: dict[str, tuple[pa.Field[Any], ...]] = {
    "positions": (
        _doc("is_base_station", pa.bool_(), "Row is a base station report (type 4)"),
        _doc("is_aton", pa.bool_(), "Row is an aid-to-navigation report (type 21)"),
    ),
}


@dataclass(frozen=True)
class Part:
    """Layouts of one table that decode the same way (e.g. types 1, 2 and 3)."""

    layouts: tuple[Layout, ...]
    projected: bool  # True when the table takes only its own columns from these layouts

    @property
    def msg_types(self) -> tuple[int, ...]:
        return tuple(sorted({lay.msg_type for lay in self.layouts}))


@dataclass(frozen=True)
class TablePlan:
    name: str
    schema: pa.Schema
    parts: tuple[Part, ...]


def _field_for(f: Field) -> pa.Field[Any]:
    return pa.field(f.name, arrow_type(f), metadata={"doc": f.doc or f.name})


def _merge(table: str, old: pa.Field[Any], new: pa.Field[Any]) -> pa.Field[Any]:
    if old.type == new.type:
        return old
    if pa.types.is_integer(old.type) and pa.types.is_integer(new.type):
        return old if old.type.bit_width >= new.type.bit_width else old.with_type(new.type)
    raise SchemaError(
        f"column {old.name!r} of table {table!r} is declared as {old.type} and as {new.type}; "
        "give the fields one meaning or different names"
    )


def _structure(lay: Layout) -> tuple[object, ...]:
    fields = tuple((f.name, f.width, f.kind, f.scale, f.na, f.convert) for f in lay.fields[1:])
    return (fields, lay.select, lay.unless, lay.min_bits)


def build_plans(layouts: tuple[Layout, ...] = LAYOUTS) -> dict[str, TablePlan]:
    columns: dict[str, dict[str, pa.Field[Any]]] = {}
    members: dict[str, list[tuple[Layout, bool]]] = {}
    for lay in layouts:
        cols = columns.setdefault(lay.table, {})
        members.setdefault(lay.table, []).append((lay, False))
        for f in lay.fields:
            if f.kind == Kind.SPARE:
                continue
            limit = 32 if f.kind == Kind.INT else 31
            if f.kind in (Kind.UINT, Kind.INT, Kind.BOOL) and f.width > limit:
                raise SchemaError(f"{f.name!r} of {lay.name!r} is wider than the 32-bit kernels")
            fld = _field_for(f)
            cols[f.name] = _merge(lay.table, cols[f.name], fld) if f.name in cols else fld
            if f.kind == Kind.BITS:
                nb = _doc(f"{f.name}_nbits", pa.int32(), f"Number of bits in {f.name}")
                cols.setdefault(nb.name, nb)
    for lay in layouts:
        for target in lay.also:
            if target not in columns:
                raise SchemaError(f"layout {lay.name!r} is projected into unknown table {target!r}")
            members[target].append((lay, True))
    plans = {}
    for name, cols in columns.items():
        fields = [*_FRONT, *cols.values(), *_DERIVED.get(name, ()), *_SOURCE]
        schema = pa.schema(fields, metadata={"table": name})
        groups: dict[tuple[object, ...], list[Layout]] = {}
        projected: dict[tuple[object, ...], bool] = {}
        for lay, proj in members[name]:
            key = (*_structure(lay), proj)
            groups.setdefault(key, []).append(lay)
            projected[key] = proj
        parts = tuple(Part(tuple(v), projected[k]) for k, v in groups.items())
        plans[name] = TablePlan(name, schema, parts)
    return plans


PLANS: dict[str, TablePlan] = build_plans()
SCHEMAS: dict[str, pa.Schema] = {name: plan.schema for name, plan in PLANS.items()}


def conform(table: pa.Table, name: str) -> pa.Table:
    """Give ``table`` exactly the published schema of ``name``.

    Missing columns become nulls; present ones are cast. Unknown columns are an error:
    a producer must not invent columns the schema does not document.
    """
    try:
        schema = SCHEMAS[name]
    except KeyError:
        raise SchemaError(f"unknown table {name!r}; known: {', '.join(sorted(SCHEMAS))}") from None
    extra = set(table.column_names) - set(schema.names)
    if extra:
        raise SchemaError(f"columns {sorted(extra)} are not in the {name!r} schema")
    arrays = []
    for fld in schema:
        if fld.name in table.column_names:
            col = table.column(fld.name)
            try:
                arrays.append(col.cast(fld.type) if col.type != fld.type else col)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                msg = f"column {fld.name!r} of {name!r} cannot be {fld.type}: {e}"
                raise SchemaError(msg) from e
        else:
            arrays.append(pa.nulls(table.num_rows, fld.type))
    return pa.Table.from_arrays(arrays, schema=schema)
