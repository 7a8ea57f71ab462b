"""Live batches rendered once for every client: Arrow rows in, JSON texts out.

In: one record kind's rows of a batch as the store sink told them (with ``label_id``) and
the label dictionary. Out: a :class:`Rendered`: the rows narrowed to the stored table's
columns (what the REST routes send; ``msg_key`` never), each row's JSON text with its
``label`` marking, and its label id and MMSI as NumPy arrays, from which the hub takes each
client's items by index.

The texts are built column by column in Arrow (:func:`json_texts`): numbers, booleans and
times cast to text, strings and nested values through :func:`json.dumps` (escaping), then
each row's parts joined. They parse to what :func:`seawatch.serve.render.items` gives for
the same rows (times ISO 8601 with ``Z``; a NaN or infinite number is ``null``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.export.common import marking_array
from seawatch.labels import Label
from seawatch.serve.render import jsonable
from seawatch.store.tables import TABLES

__all__ = ["Rendered", "json_texts"]

log = logging.getLogger(__name__)

_HIDDEN = ("msg_key",)  # never sent (nor label_id: each item has its "label" instead)


@dataclass(frozen=True)
class Rendered:
    """One kind's rows of one batch, rendered once for every client: the columns the
    filters read, each row's JSON text (made when first asked), label id and vessel (MMSI,
    or -1), and each shown column's values as JSON texts (the columnar frames,
    :mod:`seawatch.serve.live_frames`, are joined from them)."""

    kind: str
    rows: pa.Table
    given_texts: np.ndarray[Any, np.dtype[np.object_]] | None
    """Each row's JSON text, when given (else made from :attr:`values` when first asked:
    :attr:`texts`)."""
    label_ids: np.ndarray[Any, np.dtype[np.int32]]
    keys: np.ndarray[Any, np.dtype[np.int64]]
    names: tuple[str, ...] = ()
    """The items' keys, in order (the last is ``label``)."""
    values: pa.Array[Any] = field(default_factory=lambda: pa.array([], pa.string()))
    """Each key's JSON value texts (``label``: the markings), one column after the other:
    the value of key ``k`` of row ``i`` is at ``k * len(rows) + i``."""
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, kind: str, rows: pa.Table, labels: Mapping[int, Label]) -> Rendered:
        """``rows`` as stored (the table's columns only: what the REST routes send)."""
        if kind in TABLES:
            have = set(rows.column_names)  # made anew at each call: once (~1 ms a batch)
            keep = [c for c in TABLES[kind].names if c in have]
            rows = rows.select(keep)
        ids: Any = rows.column("label_id").cast(pa.int32())
        hit: Any = pc.is_in(ids, value_set=pa.array(sorted(labels), pa.int32()))
        known: Any = pc.fill_null(hit, False)
        if not pc.all(known).as_py():  # denied to all: never sent
            log.error("live: %d %s with an unknown label not sent", rows.num_rows, kind)
            rows = rows.filter(known)
        shown = rows.drop_columns([c for c in _HIDDEN if c in rows.column_names])
        values = value_texts(shown, labels)
        every: Any = pa.concat_arrays([v.cast(pa.string()) for v in values.values()])
        col: Any = rows.column("mmsi") if "mmsi" in rows.column_names else None
        mmsi: Any = None if col is None else pc.fill_null(col, -1)
        keys = (
            np.asarray(mmsi.to_numpy(), np.int64)
            if mmsi is not None
            else np.full(rows.num_rows, -1, np.int64)
        )
        ids_np = np.asarray(rows.column("label_id").to_numpy(), np.int32)
        return cls(kind, rows, None, ids_np, keys, tuple(values), every)

    @property
    def texts(self) -> np.ndarray[Any, np.dtype[np.object_]]:
        """Each row's JSON text (the ``items`` form), made once when first asked: a fan-out
        whose clients all asked for the ``columns`` form never makes them."""
        if self.given_texts is not None:
            return self.given_texts
        found = self._cache.get("texts")
        if found is None:
            n = self.rows.num_rows
            parts = {name: self.values.slice(k * n, n) for k, name in enumerate(self.names)}
            found = np.array(_join(parts, n).to_pylist(), object)
            if not self._cache.get("forgotten"):
                self._cache["texts"] = found
        return found  # type: ignore[no-any-return]

    def joined_values(self, idx: np.ndarray[Any, np.dtype[np.intp]], keys: int) -> list[str]:
        """For each of the first ``keys`` keys, its values at rows ``idx`` joined by
        ``,`` (the columnar frames' columns: Arrow takes and joins them, no Python text
        per value)."""
        n, m = self.rows.num_rows, len(idx)
        if not m or not keys:
            return [""] * keys
        at = (np.arange(keys, dtype=np.int64)[:, None] * n + idx[None, :]).ravel()
        taken = self.values.take(pa.array(at, pa.int64()))
        lists = pa.ListArray.from_arrays(pa.array(np.arange(0, keys * m + 1, m), pa.int32()), taken)
        joined: Any = pc.binary_join(lists, ",")
        return joined.to_pylist()  # type: ignore[no-any-return]

    def forget(self) -> None:
        """Drop what was made for the clients of this batch (a batch superseded by the
        next: kept for SSE resumption): its item texts, made afresh each time asked."""
        self._cache.pop("texts", None)
        self._cache["forgotten"] = True

    def column(self, name: str) -> np.ndarray[Any, Any] | None:
        """Column ``name`` of the rows as NumPy (computed once; None: no such column)."""
        if name not in self._cache:
            col: Any = self.rows.column(name) if name in self.rows.column_names else None
            self._cache[name] = None if col is None else col.to_numpy()
        return self._cache[name]  # type: ignore[no-any-return]


def _values(col: Any) -> Any:
    """Each value of ``col`` as JSON text (null for a missing value)."""
    t = col.type
    if pa.types.is_floating(t):
        bad = pc.or_(pc.is_nan(col), pc.is_inf(col))
        return pc.if_else(bad, pa.scalar(None, pa.string()), pc.cast(col, pa.string()))
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return pc.cast(col, pa.string())
    if pa.types.is_timestamp(t) and t.tz in ("UTC", "+00:00"):
        text = pc.strftime(col, format="%Y-%m-%dT%H:%M:%S")
        text = pc.replace_substring_regex(text, pattern=r"\.0{6}$", replacement="")
        return pc.binary_join_element_wise(pa.scalar('"'), text, pa.scalar('Z"'), "")
    if pa.types.is_string(t) or pa.types.is_large_string(t):  # few distinct: each once
        enc: Any = pc.dictionary_encode(col)
        texts = [json.dumps(v) for v in enc.dictionary.to_pylist()]
        return pa.array(texts, pa.string()).take(enc.indices)
    out = [None if v is None else json.dumps(jsonable(v), default=str) for v in col.to_pylist()]
    return pa.array(out, pa.string())


def value_texts(rows: pa.Table, labels: Mapping[int, Label]) -> dict[str, pa.Array[Any]]:
    """Each column of ``rows`` (with ``label_id``) as JSON value texts (``null`` for a
    missing value): its columns but ``label_id``, then ``label`` (the marking of each
    row's label), in the order the items have them."""
    marks = marking_array(rows, labels) if rows.num_rows else pa.array([], pa.string())
    names = [n for n in rows.column_names if n != "label_id"] + ["label"]
    out: dict[str, pa.Array[Any]] = {}
    for name in names:
        col = marks if name == "label" else rows.column(name).combine_chunks()
        texts: Any = _values(col)
        out[name] = pc.fill_null(texts, "null")  # type: ignore[arg-type]
    return out


def _join(values: Mapping[str, pa.Array[Any]], n: int) -> pa.Array[Any]:
    """Each row of ``values`` (:func:`value_texts`) as one JSON object text."""
    if not n:
        return pa.array([], pa.string())
    parts: list[Any] = []
    for k, (name, texts) in enumerate(values.items()):
        parts += [pa.scalar(("{" if k == 0 else ", ") + json.dumps(name) + ": "), texts]
    parts.append(pa.scalar("}"))
    return pc.binary_join_element_wise(*parts, "")  # type: ignore[no-any-return]


def json_texts(rows: pa.Table, labels: Mapping[int, Label]) -> pa.Array[Any]:
    """Each row of ``rows`` (with ``label_id``) as a JSON object text: its columns but
    ``label_id``, then ``label`` (the marking of its label), like
    :func:`seawatch.serve.render.items`."""
    return _join(value_texts(rows, labels), rows.num_rows)
