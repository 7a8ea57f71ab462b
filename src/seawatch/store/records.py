"""Decoded and derived tables made ready to store: message keys and labels.

In: decoded ``positions``/``statics`` chunks, pipeline events and segments, the labelling
rules (or one label for the whole run). Out: the same rows with ``msg_key`` (a
deterministic hash: the same message from two receivers or two runs has one key) and
``label_id``. Events and segments get :func:`seawatch.labels.combine` of the labels of
their vessels' records seen in the run (:class:`VesselLabels`) and of the rule for their
event type, so whoever may read one may read everything it was built from.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.errors import LabelError
from seawatch.labels import Label, LabelRules, combine
from seawatch.store.base import Store

__all__ = ["Labeller", "VesselLabels", "vessel_rows"]

log = logging.getLogger(__name__)

PENDING_PAIRS = 65_536
"""(MMSI, label) pairs :class:`VesselLabels` keeps unfolded at most (a few MB)."""


def vessel_rows(positions: pa.Table) -> pa.Table:
    """Positions a vessel reported with a time and a position (base stations, aids to
    navigation and rows without ts/lat/lon are not vessel positions)."""
    keep: Any = pc.and_(
        pc.and_(pc.is_valid(positions.column("ts")), pc.is_valid(positions.column("lat"))),
        pc.is_valid(positions.column("lon")),
    )
    for flag in ("is_base_station", "is_aton"):
        if flag in positions.column_names:
            flagged: Any = pc.fill_null(positions.column(flag), pa.scalar(False))
            kept: Any = pc.invert(flagged)
            keep = pc.and_(keep, kept)
    if keep.null_count == 0 and pc.all(keep).as_py() is not False:  # every row: no copy
        return positions
    return positions.filter(keep)


@dataclass
class VesselLabels:
    """Label ids of each MMSI's records stored in this run (for derived records)."""

    _pairs: np.ndarray[Any, np.dtype[np.int64]] = field(
        default_factory=lambda: np.empty(0, np.int64)
    )
    """Each (MMSI, label id) pair added, as ``mmsi << 32 | label_id``, sorted and distinct:
    a live feed's batches repeat the same vessels, a day's 100,000 vessels add as many
    pairs; both are merged in NumPy (a Python set of them cost ~1.4 CPU-s a day)."""
    _pending: list[np.ndarray[Any, np.dtype[np.int64]]] = field(default_factory=list)
    """Each batch's distinct pairs, not yet in :attr:`_pairs`: folded in when they are read
    (the events' and segments' labels, after the detectors) or when
    :data:`PENDING_PAIRS` wait, so a live batch's positions are not held."""
    _pending_n: int = 0
    _dict: dict[int, set[int]] | None = None
    """:attr:`by_mmsi` once built (until new pairs come)."""

    @property
    def by_mmsi(self) -> dict[int, set[int]]:
        """MMSI → the label ids of its records added so far."""
        self._fold()
        if self._dict is None:
            mm, lab = self._pairs >> 32, self._pairs & 0xFFFFFFFF
            uniq, first = np.unique(mm, return_index=True)
            self._dict = (
                {
                    m: set(ids.tolist())
                    for m, ids in zip(uniq.tolist(), np.split(lab, first[1:]), strict=True)
                }
                if len(uniq)
                else {}
            )
        return self._dict

    @by_mmsi.setter
    def by_mmsi(self, value: dict[int, set[int]]) -> None:
        self._pending, self._pending_n, self._dict = [], 0, None
        keys = [m << 32 | i for m, ids in value.items() for i in ids]
        self._pairs = np.unique(np.array(keys, np.int64))

    def add(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        mmsi, lid = rows.column("mmsi"), rows.column("label_id")
        valid = pc.and_(pc.is_valid(mmsi), pc.is_valid(lid))
        if valid.null_count or not pc.all(valid).as_py():
            mmsi, lid = mmsi.filter(valid), lid.filter(valid)
        m = np.asarray(mmsi.to_numpy(zero_copy_only=False), np.int64)
        lab = np.asarray(lid.to_numpy(zero_copy_only=False), np.int64)
        keys = np.unique((m << 32) | (lab & 0xFFFFFFFF))  # MMSIs are < 2**30, label ids int32
        self._pending.append(keys)
        self._pending_n += len(keys)
        if self._pending_n >= PENDING_PAIRS:
            self._fold()

    def _fold(self) -> None:
        if not self._pending:
            return
        keys = np.unique(np.concatenate(self._pending))
        self._pending, self._pending_n = [], 0
        pairs = self._pairs
        if len(pairs):  # only pairs not seen yet: a live feed's usually add none
            at = np.minimum(np.searchsorted(pairs, keys), len(pairs) - 1)
            keys = keys[pairs[at] != keys]
        if len(keys):
            self._pairs = np.sort(np.concatenate([pairs, keys]))
            self._dict = None

    def codes(
        self, mmsi: np.ndarray[Any, np.dtype[np.int64]]
    ) -> tuple[np.ndarray[Any, np.dtype[np.intp]], list[tuple[int, ...]]]:
        """For each of ``mmsi`` (-1: none) the index of its label ids (sorted; ``()`` for an
        MMSI without records) in the list returned: :meth:`of` for many rows at once, in
        NumPy (a Python loop only over the MMSIs with more than one label)."""
        self._fold()
        pairs = self._pairs
        mm, lab = pairs >> 32, pairs & 0xFFFFFFFF
        uniq, first, count = np.unique(mm, return_index=True, return_counts=True)
        code = lab[first]  # an MMSI's code: its label id when it has one, else a tuple's
        multi: dict[tuple[int, ...], int] = {}
        for k in np.flatnonzero(count > 1).tolist():
            t = tuple(lab[first[k] : first[k] + count[k]].tolist())
            code[k] = (1 << 32) + multi.setdefault(t, len(multi))
        at = np.minimum(np.searchsorted(uniq, mmsi), max(len(uniq) - 1, 0))
        hit = uniq[at] == mmsi if len(uniq) else np.zeros(len(mmsi), bool)
        rows = np.where(hit, code[at] if len(uniq) else -1, -1)
        distinct, inverse = np.unique(rows, return_inverse=True)
        tuples = {v: t for t, v in multi.items()}
        sets = [() if c < 0 else (c,) if c < 1 << 32 else tuples[c - (1 << 32)]
                for c in distinct.tolist()]  # fmt: skip
        return inverse.reshape(-1), sets

    def of(self, mmsis: Iterable[int | None]) -> set[int]:
        out: set[int] = set()
        by_mmsi = self.by_mmsi
        for m in mmsis:
            if m is not None:
                out |= by_mmsi.get(int(m), set())
        return out


class Labeller:
    """Gives rows their ``label_id``: one label for the run, or the settings' rules."""

    def __init__(self, store: Store, rules: LabelRules, fixed: Label | None = None) -> None:
        self.store = store
        self.rules = rules
        self.fixed = fixed
        self.vessels = VesselLabels()
        self.unlabelled = 0
        by_value = {k for r in rules.rules for k in r.values}
        self._per_row = bool(by_value & {"feed", "message_type"})
        self.by_source = fixed is None and "source" in by_value
        """Whether a record's label depends on the input it was read from (a ``source=``
        rule): if not, rows of many inputs are labelled in one call."""

    def records(self, rows: pa.Table, source: str) -> pa.Table:
        """``rows`` (positions or statics) with ``label_id``; remembered per MMSI."""
        n = rows.num_rows
        if self.fixed is not None:
            ids = np.full(n, self.store.label_id(self.fixed), dtype=np.int32)
        elif not self._per_row:
            ids = self._points(rows, source, None, None)
        else:
            ids = np.empty(n, dtype=np.int32)
            combos = rows.select(["station", "msg_type"]).group_by(["station", "msg_type"])
            for combo in combos.aggregate([]).to_pylist():
                st, mt = combo["station"], combo["msg_type"]
                hit = pc.and_(
                    _eq(rows.column("station"), st), _eq(rows.column("msg_type"), mt)
                ).to_numpy(zero_copy_only=False)
                ids[hit] = self._points(rows.filter(pa.array(hit)), source, st, mt)
        out = rows.append_column("label_id", pa.array(ids, pa.int32()))
        self.vessels.add(out)
        return out

    def _points(
        self, rows: pa.Table, source: str, feed: str | None, msg_type: int | None
    ) -> np.ndarray[Any, np.dtype[np.int32]]:
        lon = (
            rows.column("lon").to_numpy(zero_copy_only=False)
            if "lon" in rows.column_names
            else None
        )
        lat = (
            rows.column("lat").to_numpy(zero_copy_only=False)
            if "lat" in rows.column_names
            else None
        )
        if lon is None or lat is None:
            lon = lat = np.full(rows.num_rows, np.nan)
        codes, labels = self.rules.labels_for_points(
            lon, lat, source=source, feed=feed, message_type=msg_type
        )
        lookup = np.array([self.store.label_id(lb) for lb in labels], dtype=np.int32)
        return lookup[codes] if len(lookup) else np.empty(0, np.int32)

    def derived(self, rows: pa.Table, *, kind: str) -> pa.Table:
        """Events or segments with ``label_id``: combine of their vessels' labels in this run
        and (events) the rule for their type. Rows whose inputs no single nation may all
        read cannot be labelled; they are left out, counted and logged."""
        labels = self.store.labels()
        # combine's answer for each distinct set of inputs (rows share a few: a run's
        # vessels carry one or a few labels), and the error it raised
        known: dict[tuple[tuple[int, ...], Label | None], int | LabelError] = {}
        if "other_mmsi" not in rows.column_names and (self.fixed is not None or kind != "events"):
            return self._by_vessel(rows, kind, labels, known)  # (segments: 100 k a day)
        ids: list[int | None] = []
        # each row's vessels' labels (its MMSI's and the other vessel's), per distinct pair
        n = rows.num_rows
        inverse, sets = self.vessels.codes(
            np.concatenate([_mmsi(rows, "mmsi"), _mmsi(rows, "other_mmsi")])
        )
        pair = inverse[:n] * max(len(sets), 1) + inverse[n:]
        distinct, of_row = np.unique(pair, return_inverse=True)
        vessels = [
            tuple(sorted({*sets[p // len(sets)], *sets[p % len(sets)]})) for p in distinct.tolist()
        ]
        for k, row in zip(
            of_row.reshape(-1).tolist(),
            rows.select(
                [c for c in ("mmsi", "event_type", "lon", "lat") if c in rows.column_names]
            ).to_pylist(),
            strict=True,
        ):
            vessel = vessels[k]
            extra: Label | None = None
            if self.fixed is not None:
                extra = self.fixed
            elif kind == "events":
                extra = self.rules.rule_for(
                    event_type=row.get("event_type"), lon=row.get("lon"), lat=row.get("lat")
                )
            elif not vessel:
                extra = self.rules.default
            found = self._combined(vessel, extra, labels, known)
            if isinstance(found, LabelError):
                log.warning("%s row of MMSI %s not stored: %s", kind, row.get("mmsi"), found)
                self.unlabelled += 1
                ids.append(None)
            else:
                ids.append(found)
        out = rows.append_column("label_id", pa.array(ids, pa.int32()))
        return out.filter(pc.is_valid(out.column("label_id")))

    def _combined(
        self, vessel: tuple[int, ...], extra: Label | None, labels: Any,
        known: dict[tuple[tuple[int, ...], Label | None], int | LabelError],
    ) -> int | LabelError:  # fmt: skip
        """The label id of combine(the vessel's labels, ``extra``), or its error."""
        found = known.get((vessel, extra))
        if found is None:
            inputs = [labels[i] for i in vessel] + ([] if extra is None else [extra])
            try:
                found = self.store.label_id(combine(inputs, self.store.policy))
            except LabelError as exc:
                found = exc
            known[vessel, extra] = found
        return found

    def _by_vessel(
        self, rows: pa.Table, kind: str, labels: Any,
        known: dict[tuple[tuple[int, ...], Label | None], int | LabelError],
    ) -> pa.Table:  # fmt: skip
        """:meth:`derived` of rows whose label depends on their MMSI's labels only (no
        other vessel, no event rule): once per distinct set of labels, not per row."""
        mmsi = _mmsi(rows, "mmsi")
        inverse, sets = self.vessels.codes(mmsi)
        found = [
            self._combined(v, self.fixed if self.fixed is not None
                           else None if v else self.rules.default, labels, known)
            for v in sets
        ]  # fmt: skip
        bad = np.array([isinstance(f, LabelError) for f in found], bool)[inverse]
        value = np.array([0 if isinstance(f, LabelError) else f for f in found], np.int64)
        for k in np.flatnonzero(bad).tolist():  # each logged, as a row at a time did
            m = int(mmsi[k])
            log.warning("%s row of MMSI %s not stored: %s", kind, None if m < 0 else m,
                        found[inverse[k]])  # fmt: skip
            self.unlabelled += 1
        out = rows.append_column("label_id", pa.array(value[inverse], pa.int32(), mask=bad))
        return out.filter(pc.is_valid(out.column("label_id")))


def _mmsi(rows: pa.Table, name: str) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Column ``name`` of ``rows`` as int64, -1 where null or where there is no such column."""
    if name not in rows.column_names:
        return np.full(rows.num_rows, -1, np.int64)
    given: Any = rows.column(name).cast(pa.int64())
    col: Any = pc.fill_null(given, -1)
    return np.asarray(col.to_numpy(zero_copy_only=False), np.int64)


def _eq(col: Any, value: Any) -> Any:
    return pc.is_null(col) if value is None else pc.fill_null(pc.equal(col, value), False)
