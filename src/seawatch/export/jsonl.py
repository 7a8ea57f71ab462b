"""JSON Lines export: a marking line, then one JSON object per record with its ``label``.

In: any kind of records (an Arrow table with ``label_id``) and the label dictionary. Out:
UTF-8 text, one JSON object per line. The first line marks the file:
``{"seawatch": {"kind": ..., "label": <banner>, "labels": [<distinct markings>]}}``; every
other line is a record: ``label`` (its CAPCO marking) first, then each column in the
table's order (``label_id`` left out), as GeoJSON properties are written: times ISO 8601
UTC with ``Z``, NaN and missing values ``null``, lists and structs JSON. Read back with
:func:`read_jsonl`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from seawatch.export.common import (
    LABEL_COLUMN,
    ExportResult,
    Kind,
    binary_output,
    check_table,
    column_values,
    from_text_columns,
    marking_array,
    marking_of,
)
from seawatch.labels import Label, Policy

__all__ = ["HEADER_KEY", "read_jsonl", "write_jsonl"]

HEADER_KEY = "seawatch"
BATCH_ROWS = 65536


def write_jsonl(
    table: pa.Table,
    labels: Mapping[int, Label],
    out: IO[bytes] | str | Path,
    *,
    kind: Kind,
    policy: Policy,
) -> ExportResult:
    """Write ``table`` (already filtered for its reader) to ``out`` as JSON Lines."""
    check_table(table, kind)
    marked = marking_of(table, labels, policy)
    head = {"kind": kind, "label": marked.overall.marking, "labels": sorted(set(marked.markings))}
    names = [n for n in table.column_names if n != "label_id"]
    with binary_output(out) as fh:
        fh.write(json.dumps({HEADER_KEY: head}, ensure_ascii=False).encode() + b"\n")
        for batch in table.to_batches(max_chunksize=BATCH_ROWS):
            part = pa.Table.from_batches([batch])
            cols = {LABEL_COLUMN: marking_array(part, labels).to_pylist()}
            cols.update({n: column_values(part.column(n)) for n in names})
            keys = list(cols)
            lines = (
                json.dumps({k: cols[k][i] for k in keys}, ensure_ascii=False)
                for i in range(part.num_rows)
            )
            fh.write("".join(line + "\n" for line in lines).encode())
    return marked.result(table.num_rows)


def read_jsonl(
    path: str | Path, schema: pa.Schema | None = None
) -> tuple[pa.Table, dict[str, Any]]:
    """A JSON Lines export: its records as a table (typed by ``schema`` when given) and
    the marking line's ``seawatch`` object."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    head: dict[str, Any] = json.loads(lines[0])[HEADER_KEY] if lines else {}
    rows = [json.loads(line) for line in lines[1:] if line]
    names = list(schema.names) if schema is not None else list(rows[0]) if rows else []
    columns = {n: [r.get(n) for r in rows] for n in names}
    return from_text_columns(columns, schema), head
