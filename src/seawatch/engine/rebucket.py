"""Another ``--buckets`` for a partitioned engine's daily runs: the carried state re-split.

In: the store's states (:mod:`seawatch.engine.partition_state`) made with N buckets, the run
to resume from (its record, at its watermark) and the run's
:class:`~seawatch.engine.partition_tasks.TaskConfig` (its detectors and parameters); M, the
new bucket count. Out: at that same watermark, M buckets' states (``pMMMM-bBBBB/``), the
stage across vessels' state (``pMMMM-across/``) and last a record (``pMMMM-run/``) marked
``rebucketed_from`` N; the run then resumes from them as from a run made with M buckets.

Each bucket's state is a :class:`~seawatch.engine.pipeline.Pipeline`'s, and every part of
it is per vessel: the rows held in the reorder buffers and the identity's waiting statics
(by their MMSI), the cleaner's tail, the segmenter's open segments, the ship types (per
MMSI), each detector's tracks (keyed by MMSI, or by segment with the track's MMSI in a
column: :data:`TRACK_MMSI`), the identity accumulator's sums and carried rows (per segment,
each segment's MMSI from its sums) and the ids of the events left open (each event's MMSI,
from the detectors' states: the events open at the watermark are computed again and must be
exactly the ids kept). Each part goes to the new bucket of its MMSI
(:func:`~seawatch.engine.partitions.bucket_of`, the same stable hash); the parts of a new
bucket from several old ones are put together (disjoint vessels: concatenated, re-sorted
where a stage needs an order). The scalars are the run's (the watermark, the buffers'
horizons: the same in every bucket) or a bound (the newest time seen: the largest, which the
partitioned tasks never read, as they give their own times). The stage across vessels is
not per bucket (its state is per run: encounters, identity changes) and is kept as it is.

Refused with an :class:`~seawatch.errors.InputError`, nothing written: a state a part of
which cannot be told per vessel (a detector registered at run time keyed by segment, a
segment whose MMSI the state does not hold, open events that are not those kept); rows older
than the run resumed from in the run that changes the count, or later in a run falling
before it (the runs before keep their journals per old bucket: that late data is refused,
:func:`past_refused`).

Each file is written under a temporary name and renamed (:meth:`StateStore.save`), the
record last: a run killed before it leaves files no record names, which nothing reads (the
next run re-splits again); the old bucket count's states are never touched, so a run with
N buckets still resumes from them.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.engine.partition_state import (
    Carry,
    _iso,
    across_name,
    bucket_name,
    portable,
    record_name,
)
from seawatch.engine.partitions import bucket_of
from seawatch.engine.pipeline import SOURCE_ID, Pipeline
from seawatch.engine.state import StateStore
from seawatch.errors import ConfigError, InputError
from seawatch.events import loitering, port_visit, spoofing, zone_entry
from seawatch.events.tracks_in import TrackArrays
from seawatch.tracks.clean import CleanState
from seawatch.tracks.identity import SegmentsAccumulator
from seawatch.tracks.segment import SegmenterState

if TYPE_CHECKING:
    from seawatch.engine.partition_tasks import TaskConfig

__all__ = ["TRACK_MMSI", "past_refused", "rebucket", "split_state"]

log = logging.getLogger(__name__)

TRACK_MMSI: dict[str, tuple[str, int]] = {
    "loitering": ("i", loitering.MMSI),
    "port_visit": ("i", port_visit.MMSI),
    "zone_entry": ("i", zone_entry.MMSI),
    "spoofing": ("i", spoofing.MMSI),
}
"""The detectors whose tracks may be keyed by segment: the column (and index) of each
track's MMSI. A detector keyed by MMSI needs none."""

I64 = np.ndarray[Any, np.dtype[np.int64]]
Pick = Callable[[I64], Any]


def _mmsi(values: Any) -> I64:
    """MMSIs as int64, a null as 0 (where :func:`~seawatch.engine.partitions._split` puts
    a row without one)."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        column: Any = values.cast(pa.int64())
        filled: Any = pc.fill_null(column, 0)
        values = filled.to_numpy()
    return np.asarray(values, np.int64)


class _Split:
    """One old bucket's state cut per new bucket: :meth:`part` gives new bucket ``b``'s."""

    def __init__(self, state: dict[str, Any], events: pa.Table, buckets: int, where: str):
        self.state, self.buckets, self.where = state, buckets, where
        self.found: set[int] = set()
        self._cache: dict[str, I64] = {}
        identity: SegmentsAccumulator = state["_identity"]
        agg = identity._agg.table()
        seg = np.asarray(agg.column("segment_id"), np.int64)
        self.seg_order = np.argsort(seg)
        self.seg_sorted = seg[self.seg_order]
        self.seg_bucket = self._of(_mmsi(agg.column("mmsi")))[self.seg_order]
        ids = events.column("event_id").to_pylist()
        self.open_ids = dict(zip(ids, self._of(_mmsi(events.column("mmsi"))).tolist(),
                                 strict=True))  # fmt: skip

    def _of(self, mmsi: I64) -> I64:
        out = np.asarray(bucket_of(mmsi, self.buckets), np.int64)
        self.found.update(np.unique(out).tolist())
        return out

    def _at(self, key: str, get: Callable[[], I64]) -> I64:
        """The new bucket of each row of the part ``key`` (computed once)."""
        if key not in self._cache:
            self._cache[key] = get()
        return self._cache[key]

    def by_segment(self, segment_ids: Any, what: str) -> I64:
        """The new bucket of each segment (its MMSI from the identity's sums)."""
        seg = np.asarray(segment_ids, np.int64)
        at = np.searchsorted(self.seg_sorted, seg)
        ok = at < len(self.seg_sorted)
        ok[ok] &= self.seg_sorted[at[ok]] == seg[ok]
        if not ok.all():
            raise InputError(
                f"{self.where}: {what} holds segment {int(seg[~ok][0])}, whose MMSI the state "
                "does not hold, so it cannot be re-split per vessel: go on with the --buckets "
                "the store's daily runs were made with"
            )
        return self.seg_bucket[at]

    def _rows(self, key: str, table: pa.Table, b: int) -> pa.Table:
        at = self._at(key, lambda: self._of(_mmsi(table.column("mmsi"))))
        return table.filter(pa.array(at == b))

    def _tracks(self, name: str, s: TrackArrays | None, b: int) -> TrackArrays | None:
        if s is None or s.keys is None or not len(s.keys):
            return s
        if not s.by_segment:
            keys = self._at(name, lambda: self._of(_mmsi(s.keys)))
        elif name in TRACK_MMSI:
            col, i = TRACK_MMSI[name]
            n, mmsi = len(s.keys), s.cols[col]
            keys = self._at(name, lambda: self._of(_mmsi(mmsi[:n, i])))
        else:
            raise InputError(
                f"{self.where}: the detector {name!r} keeps its tracks by segment and its "
                "tracks' MMSI is not known here (a detector registered at run time?), so its "
                "state cannot be re-split per vessel: go on with the --buckets the store's "
                "daily runs were made with"
            )
        mask = keys == b
        cols = {k: v[: len(mask)][mask] for k, v in s.cols.items()}
        return dataclasses.replace(s, keys=s.keys.filter(pa.array(mask)), cols=cols)

    def part(self, b: int) -> dict[str, Any]:
        s = self.state
        out = dict(s)
        out["held"] = {k: (h, self._rows(f"held.{k}", t, b)) for k, (h, t) in s["held"].items()}
        c: CleanState | None = s["_clean"]
        if c is not None:
            m = self._at("_clean", lambda: self._of(c.mmsi)) == b
            out["_clean"] = CleanState(*(getattr(c, f.name)[m] for f in dataclasses.fields(c)))
        g: SegmenterState | None = s["_segment"]
        if g is not None:
            m = self._at("_segment", lambda: self._of(_mmsi(g.mmsi))) == b
            out["_segment"] = SegmenterState(*(getattr(g, f.name)[m]
                                               for f in dataclasses.fields(g)))  # fmt: skip
        out["_states"] = {n: self._tracks(n, t, b) for n, t in s["_states"].items()}
        ship = copy.copy(s["_ship"])
        m = self._at("_ship", lambda: self._of(ship.mmsi)) == b
        ship.mmsi, ship.code = ship.mmsi[m], ship.code[m]
        out["_ship"] = ship
        out["_identity"] = self._identity(s["_identity"], b)
        out["_open_ids"] = {i for i in s["_open_ids"] if self.open_ids[i] == b}
        return out

    def _identity(self, acc: SegmentsAccumulator, b: int) -> SegmentsAccumulator:
        new = copy.copy(acc)
        for name in ("_agg", "_n_statics"):
            setattr(new, name, self._sums(getattr(acc, name), b, name))
        new._modes = {f: self._sums(s, b, f"_modes[{f}]") for f, s in acc._modes.items()}
        carry = copy.copy(acc._carry)
        carry._merged, carry._parts, carry._rows = self._rows("carry", acc._carry.table(), b), [], 0
        new._carry = carry
        m = self._at("_tail", lambda: self._of(acc._tail[0])) == b
        new._tail = (acc._tail[0][m], acc._tail[1][m], acc._tail[2][m])
        new._pending = self._rows("_pending", acc._pending, b)
        new._history = [self._rows(f"history{k}", t, b) for k, t in enumerate(acc._history)]
        return new

    def _sums(self, sums: Any, b: int, what: str) -> Any:
        table = sums.table()
        at = self._at(what, lambda: self.by_segment(table.column("segment_id"),
                                                     f"the identity's {what}"))  # fmt: skip
        m = at == b
        new = copy.copy(sums)
        new._merged, new._parts, new._rows = table.filter(pa.array(m)), [], 0
        return new


def _joined(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """New bucket's state from its parts of several old buckets (disjoint vessels)."""
    out = dict(parts[0])
    out["latest_us"] = max(p["latest_us"] for p in parts)
    out["watermark_us"] = max(p["watermark_us"] for p in parts)
    out["held"] = {k: (max(p["held"][k][0] for p in parts),
                       pa.concat_tables([p["held"][k][1] for p in parts]))
                   for k in parts[0]["held"]}  # fmt: skip
    cleans = [p["_clean"] for p in parts if p["_clean"] is not None]
    if cleans:
        out["_clean"] = CleanState(*(np.concatenate([getattr(c, f.name) for c in cleans])
                                     for f in dataclasses.fields(cleans[0])))  # fmt: skip
    segs = [p["_segment"] for p in parts if p["_segment"] is not None]
    if segs:
        cat = [np.concatenate([getattr(g, f.name) for g in segs])
               for f in dataclasses.fields(segs[0])]  # fmt: skip
        order = np.argsort(cat[0], kind="stable")  # sorted by MMSI, as the matcher needs
        out["_segment"] = SegmenterState(*(a[order] for a in cat))
    out["_states"] = {n: _tracks([p["_states"].get(n) for p in parts])
                      for n in {n for p in parts for n in p["_states"]}}  # fmt: skip
    out["_schemas"] = {n: t for p in reversed(parts) for n, t in p["_schemas"].items()}
    ship = copy.copy(parts[0]["_ship"])
    mmsi = np.concatenate([p["_ship"].mmsi for p in parts])
    code = np.concatenate([p["_ship"].code for p in parts])
    order = np.argsort(mmsi, kind="stable")
    ship.mmsi, ship.code = mmsi[order], code[order]
    out["_ship"] = ship
    out["_identity"] = _identity([p["_identity"] for p in parts])
    out["_open_ids"] = set().union(*(p["_open_ids"] for p in parts))
    return out


def _tracks(parts: list[TrackArrays | None]) -> TrackArrays | None:
    found = [p for p in parts if p is not None]
    full = [p for p in found if p.keys is not None and len(p.keys)]
    if not full:
        return found[0] if found else None
    keys = pa.concat_arrays([p.keys.cast(full[0].keys.type) for p in full])  # type: ignore[union-attr]
    cols = {k: np.concatenate([p.cols[k][: len(p.keys)] for p in full])  # type: ignore[arg-type]
            for k in full[0].cols}  # fmt: skip
    return dataclasses.replace(full[0], keys=keys, cols=cols,
                               now_us=max(p.now_us for p in found))  # fmt: skip


def _identity(parts: list[SegmentsAccumulator]) -> SegmentsAccumulator:
    new = copy.copy(parts[0])

    def sums(get: Callable[[SegmentsAccumulator], Any]) -> Any:
        s = copy.copy(get(parts[0]))
        s._merged = pa.concat_tables([get(p)._merged for p in parts])
        return s

    new._agg = sums(lambda a: a._agg)
    new._n_statics = sums(lambda a: a._n_statics)
    new._modes = {f: sums(lambda a, f=f: a._modes[f]) for f in parts[0]._modes}  # type: ignore[misc]
    new._carry = sums(lambda a: a._carry)
    cat = [np.concatenate([p._tail[k] for p in parts]) for k in range(3)]
    order = np.lexsort((cat[1], cat[0]))  # (mmsi, ts), as merge_sorted needs
    new._tail = (cat[0][order], cat[1][order], cat[2][order])
    new._pending = pa.concat_tables([p._pending for p in parts])
    new._history = [t for p in parts for t in p._history]
    return new


def split_state(
    state: dict[str, Any], events: pa.Table, buckets: int, where: str
) -> dict[int, dict[str, Any]]:
    """A pipeline's state (:meth:`Pipeline.state`) cut per new bucket of ``buckets``: the
    buckets its vessels fall in, each with its part. ``events``: those open at its
    watermark (event id, MMSI); ``where``: the file, named in a refusal."""
    cut = _Split(state, events, buckets, where)
    missing = set(state["_open_ids"]) - set(cut.open_ids)
    if missing or len(cut.open_ids) != len(state["_open_ids"]):
        raise InputError(
            f"{where}: the events left open are not those its detectors' states hold open "
            f"(e.g. {sorted(missing)[:1]}), so they cannot be re-split per vessel: go on with "
            "the --buckets the store's daily runs were made with"
        )
    cut.part(0)  # every part's buckets found, before the parts are cut
    return {b: cut.part(b) for b in sorted(cut.found)}


def _opened(probe: Pipeline, state: dict[str, Any]) -> pa.Table:
    """The events open at the state's watermark (what its checkpoint issued)."""
    found = [pa.table({"event_id": pa.array([], pa.string()), "mmsi": pa.array([], pa.int64())})]
    for name, schema in state["_schemas"].items():
        events, _ = probe._detectors[name].detect(
            schema.empty_table(), probe.params[name], state=state["_states"][name],
            watermark_us=state["watermark_us"],
        )  # fmt: skip
        found.append(events.select(["event_id", "mmsi"]).cast(found[0].schema))
    return pa.concat_tables(found)


def rebucket(carry: Carry, cfg: TaskConfig) -> None:
    """``carry``'s states, made with ``carry.rebucket_from`` buckets, re-split into
    ``carry.buckets`` at the watermark resumed from (see the module docstring); ``carry``
    then resumes from them."""
    from seawatch.engine.partition_tasks import PER_VESSEL

    old, mark, rec = carry.rebucket_from, carry.resume_us, carry.record
    assert old is not None
    assert mark is not None
    states = StateStore(Path(carry.root))
    # the detectors and parameters of the run (geography left out: the open events do not
    # depend on it, and this process may lack its data while the tasks' workers have it)
    probe = Pipeline(zones=cfg.zones, geography=False, params=cfg.params,
                     reorder_window_s=cfg.reorder_window_s, carry_source=True,
                     only=PER_VESSEL)  # fmt: skip
    made = {probe._made_with()}
    probe.geography = True
    made.add(probe._made_with())
    names = list(rec.get("sources", []))
    parts: dict[int, list[dict[str, Any]]] = {}
    for b in rec["kept"]:
        name = bucket_name(old, b)
        where = str(states.path(name, mark))
        found = states.load(name, mark)
        assert found is not None
        tree = found[1]
        state = tree["pipeline"]
        if state.get("made_with") not in made:
            raise ConfigError(f"{where} was made with other detectors, parameters, reorder "
                              "window or zones: run with those")  # fmt: skip
        names += [n for n in tree["sources"] if n not in names]
        ids = np.array([names.index(n) for n in tree["sources"]] or [0], np.int32)
        for k, (horizon, table) in state["held"].items():
            i = table.schema.get_field_index(SOURCE_ID)
            column = pa.array(ids[np.asarray(table.column(i), np.int64)], pa.int32())
            state["held"][k] = (horizon, table.set_column(i, table.schema.field(i), column))
        for nb, part in split_state(state, _opened(probe, state), carry.buckets, where).items():
            parts.setdefault(nb, []).append(part)
    kept: dict[int, list[str]] = {}
    for nb, pieces in sorted(parts.items()):
        tree = portable(_joined(pieces), names)
        states.save(bucket_name(carry.buckets, nb), mark, tree)
        kept[nb] = tree["sources"]
    across = states.load(across_name(old), mark)
    if across is not None and across[0] == mark:
        states.save(across_name(carry.buckets), mark, across[1])
    keys = ("inputs", "latest_us", "prev_us")
    record = {k: rec[k] for k in keys if k in rec} | {
        "buckets": carry.buckets, "kept": sorted(kept),
        "sources": sorted({n for v in kept.values() for n in v}), "rebucketed_from": old,
    }  # fmt: skip
    states.save(record_name(carry.buckets), mark, record)
    carry.record, carry.rebucket_from = record, None
    log.info("the states of %d bucket(s) of %d at %s re-split into %d of %d", len(rec["kept"]),
             old, _iso(mark), len(kept), carry.buckets)  # fmt: skip


def past_refused(record: dict[str, Any], mark: int, oldest_us: int) -> InputError:
    """Rows older than a re-bucketing (the record at ``mark``): what to do."""
    return InputError(
        f"rows from {_iso(oldest_us)} on are older than the change of --buckets from "
        f"{record['rebucketed_from']} to {record['buckets']} (at {_iso(mark)}): the runs "
        "before it kept their journals per old bucket, and are not run again across that "
        "change; leave those rows out, or run the period again from its start in a new store"
    )
