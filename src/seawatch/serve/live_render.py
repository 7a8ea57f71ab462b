"""Live batches rendered once for every client: Arrow rows in, JSON texts out.

In: one record kind's rows of a batch as the store sink told them (with ``label_id``) and
the label dictionary. Out: a :class:`Rendered`: the rows narrowed to the stored table's
columns (what the REST routes send; ``msg_key`` never), each row's JSON text with its
``label`` marking (:func:`seawatch.serve.render.items`), and its label id and MMSI as
NumPy arrays, from which the hub takes each client's items by index.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.labels import Label
from seawatch.serve.render import items
from seawatch.store.tables import TABLES

__all__ = ["Rendered"]

log = logging.getLogger(__name__)

_HIDDEN = ("msg_key",)  # never sent (nor label_id: each item has its "label" instead)


@dataclass(frozen=True)
class Rendered:
    """One kind's rows of one batch, rendered once for every client: the columns the
    filters read, each row's JSON text, label id and vessel (MMSI, or -1)."""

    kind: str
    rows: pa.Table
    texts: np.ndarray[Any, np.dtype[np.object_]]
    label_ids: np.ndarray[Any, np.dtype[np.int32]]
    keys: np.ndarray[Any, np.dtype[np.int64]]

    @classmethod
    def of(cls, kind: str, rows: pa.Table, labels: Mapping[int, Label]) -> Rendered:
        """``rows`` as stored (the table's columns only: what the REST routes send)."""
        if kind in TABLES:
            keep = [c for c in TABLES[kind].names if c in rows.column_names]
            rows = rows.select(keep)
        ids: Any = rows.column("label_id").cast(pa.int32())
        hit: Any = pc.is_in(ids, value_set=pa.array(sorted(labels), pa.int32()))
        known: Any = pc.fill_null(hit, False)
        if not pc.all(known).as_py():  # denied to all: never sent
            log.error("live: %d %s with an unknown label not sent", rows.num_rows, kind)
            rows = rows.filter(known)
        shown = rows.drop_columns([c for c in _HIDDEN if c in rows.column_names])
        texts = np.array([json.dumps(i, default=str) for i in items(shown, labels)], object)
        col: Any = rows.column("mmsi") if "mmsi" in rows.column_names else None
        mmsi: Any = None if col is None else pc.fill_null(col, -1)
        keys = (
            np.asarray(mmsi.to_numpy(), np.int64)
            if mmsi is not None
            else np.full(rows.num_rows, -1, np.int64)
        )
        ids_np = np.asarray(rows.column("label_id").to_numpy(), np.int32)
        return cls(kind, rows, texts, ids_np, keys)
