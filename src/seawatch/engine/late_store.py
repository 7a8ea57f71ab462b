"""What re-running past days writes into the store (:mod:`seawatch.engine.late`).

In: a re-run day's outputs (released positions, events, segments, retracted ids), the rows
it took in, the store, the ids each day's old run wrote. Out: the day's positions whose
segment changed (or that are no longer kept) replaced, new ones stored; each event's and
segment's last version written unless a later day, not re-run, wrote it; ids that no longer
exist removed. All inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.decode.keys import message_keys
from seawatch.engine.pipeline import SOURCE_ID, ChunkResult
from seawatch.engine.reorder import ts_column
from seawatch.engine.run import Final
from seawatch.engine.state import NAME
from seawatch.store.archive import reopen
from seawatch.store.base import Store
from seawatch.store.records import vessel_rows

if TYPE_CHECKING:
    from seawatch.engine.store_sink import StoreSink

__all__ = ["NAME", "Outputs", "between", "derived", "named", "positions"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COUNT = pa.schema([pa.field("n", pa.int64())])


def _us(dt_us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=dt_us)


def _int64(col: Any, null: int = -1) -> np.ndarray[Any, np.dtype[np.int64]]:
    filled: Any = pc.fill_null(col, null)
    return np.asarray(filled.to_numpy(zero_copy_only=False), np.int64)


def named(table: pa.Table, names: Any) -> pa.Table:
    """``table`` with its inputs by name (:data:`NAME`) instead of by number."""
    i = table.schema.get_field_index(SOURCE_ID)
    ids = _int64(table.column(i), 0)
    lookup: Any = pa.array(list(names) or [""], pa.string())
    return table.remove_column(i).append_column(NAME, lookup.take(pa.array(ids)))


def between(table: pa.Table, lo: int | None, hi: int) -> pa.Table:
    """The rows of ``table`` at or after ``lo`` (None: any) and before ``hi``."""
    ts = ts_column(table)
    keep: Any = pc.less(ts, pa.scalar(hi))
    if lo is not None:
        keep = pc.and_(keep, pc.greater_equal(ts, pa.scalar(lo)))
    return table.filter(pc.fill_null(keep, False))


class Outputs:
    """A sink keeping a day's outputs."""

    def __init__(self) -> None:
        self.results: list[ChunkResult] = []
        self.final: Final | None = None

    def chunk(self, piece: Any, result: ChunkResult | None) -> None:
        if result is not None:
            self.results.append(result)

    def finish(self, final: Final | None) -> None:
        self.final = final

    @property
    def end(self) -> Final:
        assert self.final is not None
        return self.final

    def positions(self) -> pa.Table:
        parts = [r.positions for r in self.results] + [self.end.result.positions]
        return pa.concat_tables(parts, promote_options="default")

    def events(self) -> pa.Table:
        return pa.concat_tables([r.events for r in self.results] + [self.end.result.events])


def _ids(state: Mapping[str, Any], kind: str) -> set[Any]:
    return set(state["wrote"][kind].to_pylist())


def positions(
    store: Store, sink: StoreSink, out: Outputs, taken: pa.Table, statics: pa.Table
) -> int:
    """Replace the stored positions of ``taken`` (the rows the day took in, by input name,
    before its end) whose segment changed or that are no longer kept; store the new ones.
    ``statics``: the day's, whose labels go into its derived rows' labels. Returns the rows
    written."""
    rows = vessel_rows(out.positions())
    rows = sink.labelled(rows.append_column("msg_key", message_keys(rows, "positions")))
    if statics.num_rows:
        sink.labelled(_numbered(statics, sink).append_column(
            "msg_key", message_keys(statics, "statics")))  # fmt: skip
    taken = vessel_rows(taken)
    if not taken.num_rows:
        return 0
    keys = _int64(message_keys(taken, "positions"))
    reopen(store, ts_column(taken))  # an archived day comes back first (store.archive)
    lo, hi = (_us(v.as_py()) for v in pc.min_max(ts_column(taken)).values())
    stored = store.backend.fetch(
        "SELECT msg_key, segment_id FROM positions WHERE ts BETWEEN ? AND ?",
        [lo, hi],
        pa.schema([pa.field("msg_key", pa.int64()), pa.field("segment_id", pa.int64())]),
    )
    sk, sseg = _int64(stored.column(0)), _int64(stored.column(1))
    mine = np.isin(sk, keys)
    sk, sseg = sk[mine], sseg[mine]
    nk, nseg = _int64(rows.column("msg_key")), _int64(rows.column("segment_id"))
    same = np.zeros(len(sk), bool)
    if len(nk):
        order = np.argsort(nk, kind="stable")
        at = np.clip(np.searchsorted(nk[order], sk), 0, len(nk) - 1)
        same = (nk[order][at] == sk) & (nseg[order][at] == sseg)
    gone = sk[~same].tolist()
    for i in range(0, len(gone), 500):
        part = gone[i : i + 500]
        store.backend.execute(
            "DELETE FROM positions WHERE ts BETWEEN ? AND ? AND msg_key IN "
            f"({', '.join('?' * len(part))})",
            [lo, hi, *part],
        )
    return store.write("positions", rows.filter(pa.array(~np.isin(nk, sk[same]))))


def _numbered(table: pa.Table, sink: StoreSink) -> pa.Table:
    """``table`` (by input name) numbered among ``sink``'s inputs."""
    names = [str(n) for n in table.column(NAME).to_pylist()]
    for n in dict.fromkeys(names):
        if n not in sink.sources:
            sink.sources.append(n)
    index = {n: i for i, n in enumerate(sink.sources)}
    ids = pa.array([index[n] for n in names], pa.int32())
    return table.drop_columns([NAME]).append_column(SOURCE_ID, ids)


def derived(
    store: Store,
    days: list[tuple[Mapping[str, Any], StoreSink, Outputs]],
    later: Sequence[Mapping[str, Any]],
) -> dict[str, int]:
    """Events and segments of the re-run ``days`` (each: the old run's state, the labels of
    the re-run, its outputs), the states of the ``later`` days (not re-run): see the module
    docstring of :mod:`seawatch.engine.late`. Returns the rows written and removed."""
    counts = dict.fromkeys(("events", "removed", "segments"), 0)
    for kind, key in (("events", "event_id"), ("segments", "segment_id")):
        latest: dict[Any, tuple[int, int]] = {}
        tables: list[pa.Table] = []
        retracted: set[Any] = set()
        for _, sink, out in days:
            if kind == "events":
                for ident in out.end.result.retract:
                    latest.pop(ident, None)
                    retracted.add(ident)
                rows = out.events()
            else:
                rows = out.end.segments
            if not rows.num_rows:
                continue
            tables.append(sink.labeller.derived(rows, kind=kind))
            for i, written in enumerate(tables[-1].column(key).to_pylist()):
                latest[written] = (len(tables) - 1, i)
                retracted.discard(written)
        stays: set[Any] = set()
        for state in later:
            stays |= _ids(state, kind) | (_ids(state, "retracted") if kind == "events" else set())
        old: set[Any] = set(retracted)
        for state, _, _ in days:
            old |= _ids(state, kind) | (_ids(state, "retracted") if kind == "events" else set())
        gone = sorted(old - set(latest) - stays, key=repr)
        for at in range(0, len(gone), 500):
            part = gone[at : at + 500]
            where = f"FROM {kind} WHERE {key} IN ({', '.join('?' * len(part))})"
            if kind == "events":  # those stored (the others were removed before)
                n = store.backend.fetch(f"SELECT count(*) AS n {where}", part, _COUNT)
                counts["removed"] += int(n.column(0)[0].as_py())
            store.backend.execute(f"DELETE {where}", part)
        for t, table in enumerate(tables):
            pick = sorted(i for ident, (tt, i) in latest.items() if tt == t and ident not in stays)
            if pick:
                counts[kind] += store.write(kind, table.take(pa.array(pick, pa.int64())))
    return counts
