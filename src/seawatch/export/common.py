"""What every export writer shares: the kinds of records, their labels, text forms of values.

In: an Arrow table with a ``label_id`` column (what the store's query layer returns) and the
store's label dictionary ``{label_id: Label}``. Out: each record's CAPCO marking, the
marking of the whole collection (:func:`collection_label`), values as text and JSON, and a
file written under a temporary name and renamed into place (:func:`atomic_output`).
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, Literal, cast
from xml.sax.saxutils import escape, quoteattr

import pyarrow as pa
import pyarrow.compute as pc

from seawatch.errors import LabelError, SchemaError
from seawatch.labels import Label, Policy, combine

__all__ = [
    "KINDS",
    "LABEL_COLUMN",
    "PLACED",
    "TS_TYPE",
    "ExportResult",
    "Kind",
    "Marking",
    "atomic_output",
    "binary_output",
    "check_table",
    "collection_label",
    "column_values",
    "from_text_columns",
    "iso_times",
    "marking_array",
    "marking_of",
    "text_value",
    "used_labels",
    "xml_attr",
    "xml_text",
]

Kind = Literal["positions", "latest", "events", "vessels"]
KINDS: Final[tuple[Kind, ...]] = ("positions", "latest", "events", "vessels")
"""What a file can hold: positions, each vessel's latest position, events, vessels (their
latest static report, :meth:`seawatch.store.query.Query.vessels`; no position)."""
PLACED: Final[tuple[Kind, ...]] = ("positions", "latest", "events")
"""The kinds whose records have a position (the map formats hold only these)."""
LABEL_COLUMN: Final = "label"
TS_TYPE: Final = pa.timestamp("us", tz="UTC")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_REQUIRED: Final[Mapping[str, tuple[str, ...]]] = {
    "positions": ("ts", "mmsi", "lon", "lat", "label_id"),
    "latest": ("ts", "mmsi", "lon", "lat", "label_id"),
    "events": ("event_id", "event_type", "start_ts", "mmsi", "lon", "lat", "label_id"),
    "vessels": ("mmsi", "label_id"),
}


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: records, the collection's marking, the distinct markings."""

    rows: int
    marking: str
    markings: tuple[str, ...]


@dataclass(frozen=True)
class Marking:
    """The labels an export holds: the distinct ones and the whole file's combination."""

    used: tuple[Label, ...]
    overall: Label

    @property
    def markings(self) -> tuple[str, ...]:
        """The distinct markings, in label id order."""
        return tuple(lb.marking for lb in self.used)

    def result(self, rows: int) -> ExportResult:
        """What an export of ``rows`` records under this marking wrote."""
        return ExportResult(rows, self.overall.marking, self.markings)


def marking_of(table: pa.Table, labels: Mapping[int, Label], policy: Policy) -> Marking:
    """The labels ``table``'s records carry and their combination (:func:`collection_label`)."""
    used = used_labels(table, labels)
    return Marking(tuple(used), collection_label(used, policy))


def check_table(table: pa.Table, kind: str) -> None:
    """Raise :class:`SchemaError` unless ``table`` has the columns an export of ``kind`` needs."""
    if kind not in _REQUIRED:
        raise SchemaError(f"unknown export kind {kind!r} (use one of {', '.join(KINDS)})")
    missing = [c for c in _REQUIRED[kind] if c not in table.column_names]
    if missing:
        raise SchemaError(f"cannot export {kind}: the table has no column {', '.join(missing)}")
    if LABEL_COLUMN in table.column_names:
        raise SchemaError(f"the table already has a {LABEL_COLUMN!r} column; exports write it")


def marking_array(table: pa.Table, labels: Mapping[int, Label]) -> pa.Array[Any]:
    """The canonical marking of each record's label, a string per row.

    A record whose ``label_id`` is null or not in ``labels`` raises :class:`LabelError`:
    a record is never written without its label.
    """
    ids = sorted(labels)
    value_set = pa.array(ids, pa.int32())
    column = table.column("label_id").combine_chunks().cast(pa.int32())
    index: Any = pc.index_in(column, value_set=value_set)
    if index.null_count:
        bad = pc.unique(pc.filter(column, pc.is_null(index))).to_pylist()
        raise LabelError(
            f"{index.null_count} record(s) have label ids not in the labels table: "
            f"{bad[:5]} (every exported record needs a known label)"
        )
    markings = pa.array([labels[i].marking for i in ids], pa.string())
    return cast("pa.Array[Any]", markings.take(index))


def used_labels(table: pa.Table, labels: Mapping[int, Label]) -> list[Label]:
    """The distinct labels the records of ``table`` carry, in label id order."""
    found: list[Any] = pc.unique(table.column("label_id").combine_chunks()).to_pylist()
    missing = [i for i in found if i is None or i not in labels]
    if missing:
        raise LabelError(f"label ids {missing[:5]} are not in the labels table")
    return [labels[i] for i in sorted(found)]


def collection_label(used: Sequence[Label], policy: Policy) -> Label:
    """The marking of a whole export: the most restrictive combination of its records' labels.

    Rule (docs/exports.md): :func:`seawatch.labels.combine` of the distinct labels present,
    i.e. the highest classification, REL TO the intersection of the (expanded) lists, the
    union of the caveats; a single label is kept as it is. An empty export is marked with
    the policy's lowest classification. When no nation may read every record (only a
    node-admin export can hold such a mix), the collection is ``NOFORN`` to this node.
    """
    if not used:
        return Label(policy.levels[0], policy.node_nation)
    if len(set(used)) == 1:
        return used[0]
    try:
        return combine(used, policy)
    except LabelError:
        top = max(used, key=lambda lb: policy.rank(lb.classification) or 0).classification
        caveats = frozenset().union(*(lb.caveats for lb in used))
        node = policy.node_nation
        return Label(top, node, frozenset({node}), caveats, derived=True)


def iso_times(values: pa.Array[Any] | pa.ChunkedArray[Any], digits: int = 6) -> list[str | None]:
    """Timestamps as ISO 8601 UTC text with ``Z``: ``2024-05-01T12:00:00.000000Z``.

    ``digits`` fractional digits (6: microseconds, 3: milliseconds).
    """
    ts: Any = values.cast(TS_TYPE)
    text: Any = pc.strftime(ts, format="%Y-%m-%dT%H:%M:%SZ")
    out = cast("list[str | None]", text.to_pylist())
    if digits == 6:
        return out
    cut = 20 + digits if digits else 19
    return [None if t is None else t[:cut].rstrip(".") + "Z" for t in out]


def _finite(values: pa.Array[Any] | pa.ChunkedArray[Any]) -> Any:
    if pa.types.is_floating(values.type):
        return pc.if_else(pc.is_finite(values), values, pa.scalar(None, values.type))
    return values


def column_values(column: pa.Array[Any] | pa.ChunkedArray[Any]) -> list[Any]:
    """A column as JSON-able Python values: timestamps as ISO text, NaN/inf as None,
    binary as base64 text, lists and structs as lists and dicts."""
    typ = column.type
    if pa.types.is_timestamp(typ):
        return iso_times(column)
    if pa.types.is_date(typ):
        return [None if v is None else v.isoformat() for v in column.to_pylist()]
    if pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
        return [None if v is None else base64.b64encode(v).decode() for v in column.to_pylist()]
    if pa.types.is_dictionary(typ):
        return column_values(column.cast(typ.value_type))
    values: list[Any] = _finite(column).to_pylist()
    return values


def text_value(value: Any) -> str | None:
    """One JSON-able value as the text KML data and CSV cells hold (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value) if not isinstance(value, float) else repr(value)


def from_text_columns(
    columns: Mapping[str, Sequence[Any]], schema: pa.Schema | None = None
) -> pa.Table:
    """A table from columns of text (or JSON) values; with ``schema``, typed as it says.

    Text is cast with Arrow's parsers (ISO times, numbers, ``true``/``false``); list and
    struct columns are JSON text. Columns of ``schema`` that are absent become nulls.
    """
    if schema is None:
        return pa.table({k: pa.array(list(v)) for k, v in columns.items()})
    n = len(next(iter(columns.values()))) if columns else 0
    arrays: list[Any] = []
    for fld in schema:
        raw = list(columns.get(fld.name, [None] * n))
        typ = fld.type
        if pa.types.is_list(typ) or pa.types.is_struct(typ) or pa.types.is_large_list(typ):
            parsed = [json.loads(v) if isinstance(v, str) else v for v in raw]
            arrays.append(pa.array(parsed, typ))
        elif pa.types.is_binary(typ):
            arrays.append(pa.array([None if v is None else base64.b64decode(v) for v in raw], typ))
        else:
            text = [None if v is None else text_value(v) for v in raw]
            arrays.append(pa.array(text, pa.string()).cast(typ))
    return pa.Table.from_arrays(arrays, schema=schema)


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto ``path`` when the block succeeds.

    On failure the temporary file is removed and ``path`` is left as it was.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def binary_output(out: IO[bytes] | str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Open a path for writing bytes, or use a binary file object as it is (not closed)."""
    if isinstance(out, str | os.PathLike):
        with Path(out).open("wb") as fh:
            yield fh
    else:
        yield out


def xml_text(text: str) -> str:
    """``text`` escaped for XML character data; characters XML 1.0 forbids are dropped."""
    return escape(_NOT_XML.sub("", text))


def xml_attr(text: str) -> str:
    """``text`` as a quoted, escaped XML attribute value (forbidden characters dropped)."""
    return quoteattr(_NOT_XML.sub("", text))
