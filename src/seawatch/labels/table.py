"""The ``labels`` table: the store's dictionary of distinct labels, as Arrow.

Records carry a ``label_id`` (int32); the labels they point to are few and kept once, in a
table of :data:`LABELS_SCHEMA`. In: ``{label_id: Label}``. Out: that table, and back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from seawatch.errors import SchemaError
from seawatch.labels.label import Label, parse_label
from seawatch.labels.policy import Policy

__all__ = ["LABELS_SCHEMA", "labels_from_table", "labels_table"]


def _doc(name: str, typ: pa.DataType, doc: str, nullable: bool = False) -> pa.Field[Any]:
    return pa.field(name, typ, nullable=nullable, metadata={"doc": doc})


LABELS_SCHEMA = pa.schema(
    [
        _doc("label_id", pa.int32(), "Id the records' label_id column refers to"),
        _doc("marking", pa.string(), "Canonical CAPCO-style marking, e.g. SECRET//REL TO USA, IND"),
        _doc(
            "classification_rank",
            pa.int16(),
            "Position of the classification in the policy's order, lowest 0",
        ),
        _doc("originator", pa.string(), "ISO 3166-1 alpha-3 code of the owning nation"),
        _doc(
            "releasable_to",
            pa.list_(pa.string()),
            "REL TO entries as written (nations, coalition names), canonical order; "
            "null: no restriction by nation",
            nullable=True,
        ),
        _doc("caveats", pa.list_(pa.string()), "Restrictive caveats, alphabetical"),
        _doc(
            "derived",
            pa.bool_(),
            "Built from other nations' records: REL TO as listed, originator not added",
        ),
    ]
)


def labels_table(labels: Mapping[int, Label], policy: Policy) -> pa.Table:
    """``labels`` as a table of :data:`LABELS_SCHEMA`, ordered by ``label_id``."""
    ids = sorted(labels)
    rows = [labels[i] for i in ids]
    ranks = []
    for label in rows:
        rank = policy.of(label).rank(label.classification)
        if rank is None:
            raise SchemaError(
                f"label {label}: classification not in the policy ({policy.levels_hint()})"
            )
        ranks.append(rank)
    columns: list[pa.Array[Any]] = [
        pa.array(ids, pa.int32()),
        pa.array([str(lb) for lb in rows], pa.string()),
        pa.array(ranks, pa.int16()),
        pa.array([lb.originator for lb in rows], pa.string()),
        pa.array([lb.rel_to_list() for lb in rows], pa.list_(pa.string())),
        pa.array([sorted(lb.caveats) for lb in rows], pa.list_(pa.string())),
        pa.array([lb.derived for lb in rows], pa.bool_()),
    ]
    return pa.Table.from_arrays(columns, schema=LABELS_SCHEMA)


def labels_from_table(table: pa.Table, policy: Policy) -> dict[int, Label]:
    """The ``{label_id: Label}`` dictionary a ``labels`` table holds (markings re-parsed).

    Raises :class:`SchemaError` when the table does not have the labels schema or a row's
    marking disagrees with its columns.
    """
    if not table.schema.equals(LABELS_SCHEMA, check_metadata=False):
        raise SchemaError(f"not a labels table: schema {table.schema} != {LABELS_SCHEMA}")
    out: dict[int, Label] = {}
    for row in table.to_pylist():
        label = parse_label(
            row["marking"], policy, originator=row["originator"], derived=row["derived"]
        )
        rel = row["releasable_to"]
        if (None if rel is None else frozenset(rel)) != label.releasable_to or frozenset(
            row["caveats"]
        ) != label.caveats:
            raise SchemaError(f"labels table row {row['label_id']}: marking and columns differ")
        out[row["label_id"]] = label
    return out
