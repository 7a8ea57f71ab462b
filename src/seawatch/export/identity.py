"""Records joined with what other records say: a position with its vessel's identity, an
event without a position placed at its vessel's position nearest in time.

In: an Arrow table with ``mmsi`` and ``label_id``, the other records (static reports, a
vessel's positions, each with its ``label_id``), the label dictionary, the node's policy
and the reader. Out: the table with the added columns and the labels to write it with. A
record that takes values from another carries what two records say, so its label becomes
:func:`seawatch.labels.combine` of both; such labels get new negative ids in the returned
dictionary (nothing is stored). When the two cannot be combined (no single nation may
read both), or the reader may not read the combination (a record the reader sees only as
its originator's own becomes a derived one), the record keeps its own label and takes
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.errors import LabelError
from seawatch.labels import Label, Policy, Reader, combine, may_read

__all__ = [
    "IDENTITY_FIELDS",
    "VESSEL_TYPES",
    "combined_ids",
    "identities_of",
    "vessel_type",
    "with_identity",
]

IDENTITY_FIELDS: Final = ("name", "callsign", "imo", "ship_type", "destination")
"""What a vessel says of itself in its static reports and an export carries per vessel."""

VESSEL_TYPES: Final[tuple[tuple[int, int, str], ...]] = (
    (20, 29, "wing_in_ground"),
    (30, 30, "fishing"),
    (31, 32, "towing"),
    (33, 34, "special"),
    (35, 35, "military"),
    (36, 36, "sailing"),
    (37, 37, "pleasure"),
    (40, 49, "high_speed"),
    (50, 50, "pilot"),
    (51, 51, "search_and_rescue"),
    (52, 52, "tug"),
    (53, 54, "special"),
    (55, 55, "law_enforcement"),
    (56, 59, "special"),
    (60, 69, "passenger"),
    (70, 79, "cargo"),
    (80, 89, "tanker"),
    (90, 99, "other"),
)
"""ITU-R M.1371 ship type codes (first, last) and the category exports style them by;
``unknown`` for 0 (not available), codes outside these ranges and vessels without one."""


def vessel_type(codes: pa.Array[Any] | pa.ChunkedArray[Any]) -> pa.Array[Any]:
    """The category of each ship type code (:data:`VESSEL_TYPES`), ``unknown`` without."""
    fn: Any = pc  # the stubs reject a scalar fill value
    filled = fn.fill_null(codes.cast(pa.int64()), 0)
    values = np.asarray(filled.to_numpy(), dtype=np.int64)
    out = np.full(len(values), "unknown", dtype=object)
    for first, last, name in VESSEL_TYPES:
        out[(values >= first) & (values <= last)] = name
    return pa.array(out.tolist(), pa.string())


def _label_id(out: dict[int, Label], label: Label) -> int:
    found = next((i for i, v in out.items() if v == label), None)
    if found is None:
        found = min(min(out, default=0), 0) - 1
        out[found] = label
    return found


def combined_ids(
    own: Any,
    other: Any,
    labels: Mapping[int, Label],
    policy: Policy,
    reader: Reader,
) -> tuple[Any, Any, dict[int, Label]]:
    """Per row, the id of the combination of labels ``own`` and ``other`` (numpy int64
    arrays; ``other`` < 0: nothing to take), whether the row may take the other record's
    values, and the labels (``labels`` and the new combinations). Each distinct pair is
    combined once."""
    out: dict[int, Label] = dict(labels)
    pairs, inverse = np.unique(np.stack([own, other], axis=1), axis=0, return_inverse=True)
    result = np.empty(len(pairs), dtype=np.int64)
    usable = np.zeros(len(pairs), dtype=bool)
    for k, (a, b) in enumerate(pairs.tolist()):
        result[k], usable[k] = a, b >= 0
        if b < 0 or a == b:
            continue
        try:
            lb = combine([labels[a], labels[b]], policy)
        except LabelError:
            usable[k] = False
            continue
        if not may_read(reader, lb, policy):
            usable[k] = False
            continue
        result[k] = _label_id(out, lb)
    inverse = inverse.reshape(-1)
    return result[inverse], usable[inverse], out


def _present(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip().strip("@").strip())
    return value is not None and value != 0


def identities_of(
    reports: pa.Table,
    labels: Mapping[int, Label],
    policy: Policy,
    reader: Reader,
) -> tuple[pa.Table, dict[int, Label]]:
    """Each vessel's identity from its latest reports of each kind (as
    :meth:`seawatch.store.query.Query.latest_reports` returns them): per field of
    :data:`IDENTITY_FIELDS`, the newest value that is not "not available" (empty text,
    IMO or ship type 0). Columns ``mmsi``, the fields and ``label_id``, the combination of
    the labels of the reports used (a report whose label cannot join the others', or
    whose combination the reader may not read, is left out)."""
    out: dict[int, Label] = dict(labels)
    ordered = reports.sort_by([("mmsi", "ascending"), ("ts", "descending")])
    present = [f for f in IDENTITY_FIELDS if f in ordered.column_names]
    rows: dict[int, dict[str, Any]] = {}
    used: dict[int, Label] = {}
    for rep in ordered.select(["mmsi", "label_id", *present]).to_pylist():
        mmsi = rep["mmsi"]
        row = rows.setdefault(mmsi, {"mmsi": mmsi})
        new = {f: rep[f] for f in present if f not in row and _present(rep[f])}
        if not new:
            continue
        label = labels[rep["label_id"]]
        if mmsi in used and used[mmsi] != label:
            try:
                label = combine([used[mmsi], label], policy)
            except LabelError:
                continue
            if not may_read(reader, label, policy):
                continue
        used[mmsi] = label
        row.update({f: v.strip() if isinstance(v, str) else v for f, v in new.items()})
    kept = [r for m, r in rows.items() if m in used]
    schema = pa.schema(
        [("mmsi", pa.int32())]
        + [(f, reports.schema.field(f).type) for f in IDENTITY_FIELDS if f in present]
        + [("label_id", pa.int32())]
    )
    for r in kept:
        r["label_id"] = _label_id(out, used[r["mmsi"]])
    return pa.Table.from_pylist(kept, schema=schema), out


def with_identity(
    table: pa.Table,
    identities: pa.Table,
    labels: Mapping[int, Label],
    policy: Policy,
    reader: Reader,
) -> tuple[pa.Table, dict[int, Label]]:
    """Records with their vessel's identity: every column of ``identities`` (one row per
    MMSI with its ``label_id``, as :func:`identities_of` gives them) but ``mmsi``, ``ts``
    and ``label_id``, under the combined label (module docstring). Columns already in
    ``table`` are replaced."""
    fields = [c for c in identities.column_names if c not in ("mmsi", "ts", "label_id")]
    table = table.drop_columns([c for c in fields if c in table.column_names])
    mmsi = table.column("mmsi").combine_chunks().cast(pa.int32())
    index: Any = pc.index_in(mmsi, value_set=identities.column("mmsi").combine_chunks())
    own = table.column("label_id").combine_chunks().cast(pa.int64()).to_numpy()
    of_id = identities.column("label_id").cast(pa.int64()).to_numpy()
    j = index.fill_null(-1).to_numpy(zero_copy_only=False)
    other = np.where(j >= 0, of_id[np.maximum(j, 0)] if len(of_id) else -1, -1)
    ids, usable, out = combined_ids(own, other, labels, policy, reader)
    mask = pa.array(usable)
    table = table.set_column(
        table.schema.get_field_index("label_id"), "label_id", pa.array(ids.astype(np.int32))
    )
    for name in fields:
        values = identities.column(name).combine_chunks().take(index)
        nulls = pa.nulls(len(mask), values.type)
        table = table.append_column(name, pc.if_else(mask, values, nulls))
    return table, out


def nearest_rows(times_us: Sequence[int], track_us: Any) -> Any:
    """Per time of ``times_us``, the index of the nearest time in the sorted ``track_us``
    (-1 when the track is empty)."""
    track = np.asarray(track_us, dtype=np.int64)
    want = np.asarray(times_us, dtype=np.int64)
    if not len(track):
        return np.full(len(want), -1, dtype=np.int64)
    right = np.clip(np.searchsorted(track, want), 0, len(track) - 1)
    left = np.clip(right - 1, 0, len(track) - 1)
    closer_left = np.abs(want - track[left]) <= np.abs(track[right] - want)
    return np.where(closer_left, left, right)
