"""The frames of the live streams, built once for every client that is sent the same rows.

In: a :class:`~seawatch.serve.live_render.Rendered` batch and the rows of it one client
may read inside its filters (their indexes, chosen by the hub,
:mod:`seawatch.serve.live`). Out: a :class:`Chunk` of at most ``FRAME_ITEMS`` of those
rows, whose frame text, in each form (:data:`FORMS`), is built the first time a client asks
for it and then shared: clients sent the same rows (the hub gives them the same chunk) cost
one frame between them, whatever their readers or filters.

Two forms, chosen by the subscription's ``form`` (docs/serve.md):

- ``items`` (the default): ``{"type": kind, "marking": m, "items": [{...}, ...]}``, each
  item the REST API's record with its ``label`` marking;
- ``columns``: ``{"type": kind, "marking": m, "count": n, "labels": [marking, ...],
  "columns": {"mmsi": [...], "ts": [...], ..., "label": [0, 1, ...]}}``, the same values
  column by column (``label``: an index into ``labels``): item ``i`` is
  ``{k: columns[k][i]}`` with ``label`` looked up, less than half the bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.serve.live_render import Rendered
from seawatch.serve.live_wire import framed

__all__ = ["FORMS", "Chunk"]

FORMS = ("items", "columns")
"""The frame forms a subscription may ask for (``form``); the first is the default."""


@dataclass(eq=False)
class Chunk:
    """Rows ``idx`` of the rendered batch ``r`` (one frame's worth), for one client or
    several: read-only once made (a client's queue replaces it, never changes it)."""

    r: Rendered
    idx: np.ndarray[Any, np.dtype[np.intp]]
    _frames: dict[str, str] = field(default_factory=dict, repr=False)
    _labels: frozenset[int] | None = field(default=None, repr=False)
    _wire: dict[str, bytes] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.idx)

    @property
    def keys(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """The vessel (MMSI, or -1) of each row, for coalescing."""
        keys: np.ndarray[Any, np.dtype[np.int64]] = self.r.keys[self.idx]
        return keys

    @property
    def labels(self) -> frozenset[int]:
        """The distinct label ids of the rows."""
        if self._labels is None:
            self._labels = frozenset(np.unique(self.r.label_ids[self.idx]).tolist())
        return self._labels

    def part(self, where: np.ndarray[Any, np.dtype[np.intp]]) -> Chunk:
        """A chunk of the rows at positions ``where`` of this one (in order)."""
        return Chunk(self.r, self.idx[where])

    def frame(self, form: str, marking: Callable[[frozenset[int]], str]) -> str:
        """The frame text of the rows in ``form`` (built once), with ``marking`` the
        combined marking of the rows' labels (a :class:`~seawatch.errors.SeawatchError`
        when it cannot be computed: the frame is not sent)."""
        found = self._frames.get(form)
        if found is None:
            head = f'{{"type": "{self.r.kind}", "marking": {json.dumps(marking(self.labels))}'
            found = head + (self._columns() if form == "columns" else self._items()) + "}"
            self._frames[form] = found
        return found

    def wire(self, form: str, marking: Callable[[frozenset[int]], str]) -> tuple[bytes, str]:
        """:meth:`frame` as a whole WebSocket message too (made once, by
        :func:`~seawatch.serve.live_wire.framed`), and the text."""
        text = self.frame(form, marking)
        found = self._wire.get(form)
        if found is None:
            found = self._wire[form] = framed(text)
        return found, text

    def _items(self) -> str:
        return ', "items": [' + ",".join(self.r.texts[self.idx].tolist()) + "]"

    def _columns(self) -> str:
        ids, n, m = self.r.label_ids[self.idx], self.r.rows.num_rows, len(self.idx)
        label = len(self.r.names) - 1  # the last key
        used = sorted(set(np.unique(ids).tolist()))
        first = [int(self.idx[np.flatnonzero(ids == i)[0]]) for i in used]
        names = [self.r.values[label * n + k].as_py() for k in first]
        parts = [f', "count": {m}, "labels": [{", ".join(names)}], "columns": {{']
        for k, values in enumerate(self.r.joined_values(self.idx, label)):
            parts += [", " if k else "", _KEYS[self.r.names[k]], values, "]"]
        if len(used) == 1:
            index = ",".join(["0"] * m)
        else:  # each row's place among the labels used, as text, joined by Arrow
            place = pa.array(np.searchsorted(np.asarray(used), ids), pa.int32())
            listed = pa.ListArray.from_arrays(pa.array([0, m], pa.int32()), place.cast(pa.string()))
            joined: Any = pc.binary_join(listed, ",")
            index = joined[0].as_py()
        parts.append((", " if label else "") + f'"label": [{index}]}}')
        return "".join(parts)


class _Keys(dict[str, str]):
    """``name`` -> ``"name": [`` (made once per name)."""

    def __missing__(self, name: str) -> str:
        self[name] = found = json.dumps(name) + ": ["
        return found


_KEYS = _Keys()
