"""CSV export (RFC 4180): one row per record, with a ``label`` column.

In: positions, latest positions or events (an Arrow table with ``label_id``) and the label
dictionary. Out: a header line, then one row per record: ``label`` (the record's CAPCO
marking) first, then every other column in the table's order (``label_id``, the node's
internal id, is left out). Times are ISO 8601 UTC text (``2024-05-01T12:00:00.000000Z``),
lists and structs JSON text, missing values and NaN empty cells. No comment lines: the
collection's marking is what :func:`write_csv` returns (the CLI prints it) and the most
restrictive of the ``label`` cells. Read back with :func:`read_csv`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from seawatch.export.common import (
    LABEL_COLUMN,
    ExportResult,
    Kind,
    binary_output,
    check_table,
    from_text_columns,
    iso_times,
    marking_array,
    marking_of,
)
from seawatch.labels import Label, Policy

__all__ = ["read_csv", "write_csv"]

BATCH_ROWS = 65536


def _cell_column(column: pa.ChunkedArray[Any]) -> pa.Array[Any]:
    typ = column.type
    if pa.types.is_timestamp(typ):
        return pa.array(iso_times(column), pa.string())
    if pa.types.is_floating(typ):
        finite: Any = pc.if_else(pc.is_finite(column), column, pa.scalar(None, typ))
        return cast("pa.Array[Any]", finite.combine_chunks())
    if pa.types.is_nested(typ):
        values = column.to_pylist()
        text = [None if v is None else json.dumps(v, separators=(",", ":")) for v in values]
        return pa.array(text, pa.string())
    return column.combine_chunks()


def _csv_table(part: pa.Table, labels: Mapping[int, Label]) -> pa.Table:
    names = [LABEL_COLUMN] + [n for n in part.column_names if n != "label_id"]
    arrays = [marking_array(part, labels)]
    arrays += [_cell_column(part.column(n)) for n in names[1:]]
    return pa.Table.from_arrays(arrays, names=names)


def write_csv(
    table: pa.Table,
    labels: Mapping[int, Label],
    out: IO[bytes] | str | Path,
    *,
    kind: Kind,
    policy: Policy,
) -> ExportResult:
    """Write ``table`` (already filtered for its reader) to ``out`` as CSV."""
    check_table(table, kind)
    marked = marking_of(table, labels, policy)
    first = _csv_table(table.slice(0, 0), labels)
    with binary_output(out) as fh, pacsv.CSVWriter(fh, first.schema) as writer:
        for offset in range(0, table.num_rows, BATCH_ROWS):
            writer.write_table(_csv_table(table.slice(offset, BATCH_ROWS), labels))
    return marked.result(table.num_rows)


def read_csv(path: str | Path, schema: pa.Schema | None = None) -> pa.Table:
    """A CSV export back as a table; with ``schema``, typed (and ordered) as it says."""
    text_types = {name: pa.string() for name in (schema.names if schema else [])}
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types=text_types, strings_can_be_null=True, quoted_strings_can_be_null=False
        ),
    )
    if schema is None:
        return table
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    return from_text_columns(columns, schema)
