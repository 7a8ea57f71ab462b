"""What every position detector needs: clean rows, a track key, per-track state arrays.

A track is a ``segment_id`` when the positions carry one (from the tracks stage; rows with a
null ``segment_id``, noise the matcher rejected, belong to no track), else an ``mmsi``.
Rows are ordered by (track, ts) with a stable sort, so equal timestamps keep their input
order and chunked runs see rows in the same order as a whole run. Detector state is a
struct of arrays with one slot per track ever seen (:class:`TrackArrays`).

A detector leaves the state it is given as it was and returns a new one (it may be run
twice on the same state). Laying out the new state copies every column of every track,
whatever the chunk's size: with 150,000 tracks that is most of a small live batch's cost.
The engine's pipeline owns its states and drops each once it has been advanced, so within
:func:`advancing_in_place` (the pipeline's detector loop, nowhere else) :func:`prepare`
writes the new state into the old one's buffers instead, which are made with room to grow;
the old state must then not be used again.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from seawatch.errors import SeawatchError
from seawatch.events import track_slots
from seawatch.tracks import layout
from seawatch.tracks.order import filter_rows, group_order, is_sorted

EARTH_RADIUS_M = 6_371_008.8
M_PER_NM = 1852.0
US_PER_S = 1_000_000
US_PER_H = 3_600 * US_PER_S
GEOGRAPHY = ("distance_to_shore_km", "distance_to_port_km", "on_land")  # from enrichment

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class EventsInputError(SeawatchError):
    """Positions given to a detector lack a required column or change track key type."""


@njit(cache=True, nogil=True)
def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:  # pragma: no cover
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class TrackArrays:
    """Per-track state: ``keys[i]`` is track i; ``cols[name][i]`` its value."""

    keys: pa.Array[Any] | None = None
    cols: dict[str, npt.NDArray[Any]] = field(default_factory=dict)
    now_us: int = -(2**62)  # latest timestamp seen: the end of the data so far
    by_segment: bool | None = None


@dataclass(frozen=True)
class Keyed:
    """One chunk's rows in (track, ts) order with the state expanded to its tracks."""

    keys: pa.Array[Any]
    track: I64  # track index per row, in order
    ts_us: I64
    lat: F64
    lon: F64
    mmsi: I64
    rows: pa.Table  # the cleaned rows, in input order
    order: I64  # rows.take(order) is in (track, ts) order
    cols: dict[str, npt.NDArray[Any]]
    now_us: int
    by_segment: bool
    speed_kn: F64 | None = None  # ``speed_kn`` in (track, ts) order, when known already

    def segment_text(self, track: int) -> list[str] | None:
        return [str(self.keys[track].as_py())] if self.by_segment else None

    def segment_lists(self, tracks: I64) -> pa.Array[Any] | list[None]:
        """``[segment_text(k) for k in tracks]``, as one Arrow ``list<string>`` array when
        keyed by segment (no Python object per event)."""
        if not self.by_segment:
            return [None] * len(tracks)
        text = self.keys.take(np.asarray(tracks, dtype=np.int64)).cast(pa.string())
        lists: Any = pa.ListArray
        out: pa.Array[Any] = lists.from_arrays(np.arange(len(tracks) + 1, dtype=np.int32), text)
        return out

    @property
    def has_segments(self) -> bool:
        return "segment_id" in self.rows.column_names

    def segments_at(self, idx: I64) -> list[str]:
        """``segment_id`` as text of the rows at ``idx`` (in (track, ts) order)."""
        col = self.rows.column("segment_id").take(self.order[idx])
        if pa.types.is_integer(col.type) and not col.null_count:  # the decimal text str gives
            return cast("list[str]", col.cast(pa.string()).to_pylist())
        return [str(v) for v in col.to_pylist()]

    def remember_segments(self, last_seg: npt.NDArray[Any], last_ts: I64) -> None:
        """Set ``last_seg[k]`` to the segment of track k's latest row (MMSI-keyed detectors).

        Only for tracks whose ``last_ts`` is that row's time (a late row changes nothing).
        """
        if not self.has_segments or not len(self.track):
            return
        ends = np.flatnonzero(np.r_[self.track[1:] != self.track[:-1], True])
        ends = ends[last_ts[self.track[ends]] == self.ts_us[ends]]
        last_seg[self.track[ends]] = np.array(self.segments_at(ends), dtype=object)

    def column(self, name: str) -> F64 | None:
        """An optional numeric column as float64 (NaN for nulls), or None when absent."""
        if name == "speed_kn" and self.speed_kn is not None:
            return self.speed_kn.copy()  # as tracks.segment laid it out: no gather
        if name not in self.rows.column_names:
            return None
        col = self.rows.column(name).cast(pa.float64())
        return np.asarray(col.to_numpy(), dtype=np.float64)[self.order]  # nulls become NaN


NOT_VESSELS = ("is_base_station", "is_aton")  # decode's derived flags


_CLEANED: list[tuple[pa.Table, pa.Table]] = []  # the last table cleaned (held: id not reused)


def _clean(positions: pa.Table) -> pa.Table:
    """Rows fit for detectors (the last table's kept: every detector cleans the same)."""
    for table, cleaned in _CLEANED:
        if table is positions:
            return cleaned
    rows = _cleaned(positions)
    _CLEANED[:] = [(positions, rows)]
    return rows


@njit(cache=True, nogil=True)
def _on_earth(lat: F64, lon: F64) -> bool:  # pragma: no cover
    for i in range(len(lat)):  # noqa: SIM110 - a compiled loop, stops at the first
        if not (abs(lat[i]) <= 90.0 and abs(lon[i]) <= 180.0):  # NaN (null) fails
            return False
    return True


def _cleaned(positions: pa.Table) -> pa.Table:
    for name in ("ts", "mmsi", "lat", "lon"):
        if name not in positions.column_names:
            raise EventsInputError(f"positions have no {name!r} column; give decoded positions")
    for flag in NOT_VESSELS:  # base stations and aids to navigation are not vessels
        if flag in positions.column_names:
            flagged = positions[flag].cast(pa.bool_()).fill_null(pa.scalar(False))  # keep nulls
            drop = np.asarray(flagged.to_numpy(), dtype=bool)
            if drop.any():
                positions = positions.filter(~drop)
    lat = np.asarray(positions["lat"].cast(pa.float64()).to_numpy(), dtype=np.float64)
    lon = np.asarray(positions["lon"].cast(pa.float64()).to_numpy(), dtype=np.float64)
    if not positions["ts"].null_count + positions["mmsi"].null_count and _on_earth(lat, lon):
        return positions  # the usual case (cleaned rows): one compiled pass, no masks
    ok = np.asarray(pc.is_valid(positions["ts"]).to_numpy(), dtype=bool)
    ok &= np.asarray(pc.is_valid(positions["mmsi"]).to_numpy(), dtype=bool)
    with np.errstate(invalid="ignore"):
        ok &= (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)  # NaN (null) fails both
    return positions if bool(ok.all()) else positions.filter(ok)


@dataclass(frozen=True)
class _Chunk:
    """The state-independent part of :func:`prepare`: one chunk cleaned, keyed and sorted."""

    rows: pa.Table
    ukeys: pa.Array[Any]  # the chunk's distinct track keys
    local: I64  # per sorted row: its key's index in ukeys
    order: I64
    ts_us: I64
    lat: F64
    lon: F64
    mmsi: I64
    by_segment: bool
    speed_kn: F64 | None = None  # in ``order``, from the kept layout


_CACHE: list[tuple[pa.Table, str, _Chunk]] = []
"""The last chunks prepared (one per key kind): every detector of a pipeline reads the same
table, so it is cleaned, keyed and sorted once. Holds the table itself, so its ``id`` is not
reused while cached."""


def _chunk(positions: pa.Table, key: str) -> _Chunk:
    for table, k, chunk in _CACHE:
        if table is positions and k == key:
            return chunk
    rows = _clean(positions)
    by_segment = key == "auto" and "segment_id" in rows.column_names
    if rows is positions and (g := layout.grouped(rows, by_segment)) is not None:
        chunk = _Chunk(
            rows=filter_rows(rows, pc.is_valid(rows["segment_id"])) if g.dropped else rows,
            ukeys=g.ukeys, local=g.local, order=g.order, ts_us=g.ts, lat=g.lat, lon=g.lon,
            mmsi=g.mmsi, by_segment=by_segment, speed_kn=g.speed_kn,
        )  # fmt: skip  # grouped from the layout tracks.segment computed (no hash, no sort)
        _CACHE[:] = [(positions, key, chunk), *_CACHE[:2]]
        return chunk
    if "segment_id" in rows.column_names and rows["segment_id"].null_count:
        rows = filter_rows(rows, pc.is_valid(rows["segment_id"]))  # noise the matcher rejected
    keycol = rows["segment_id"] if by_segment else rows["mmsi"].cast(pa.int64())
    enc = cast("pa.DictionaryArray[Any, Any]", pc.dictionary_encode(keycol.combine_chunks()))
    idx = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    ts = np.asarray(rows["ts"].cast(TS_INT).to_numpy(), dtype=np.int64)
    mmsi = np.asarray(rows["mmsi"].cast(pa.int64()).to_numpy(), dtype=np.int64)
    if is_sorted(ts):
        order = group_order(idx, len(enc.dictionary))  # time-ordered: one counting pass
    else:
        order = np.lexsort((ts, idx))
    chunk = _Chunk(
        rows=rows,
        ukeys=enc.dictionary,
        local=idx[order],
        order=order,
        ts_us=ts[order],
        lat=np.asarray(rows["lat"].cast(pa.float64()).to_numpy(), dtype=np.float64)[order],
        lon=np.asarray(rows["lon"].cast(pa.float64()).to_numpy(), dtype=np.float64)[order],
        mmsi=mmsi[order],
        by_segment=by_segment,
    )
    _CACHE[:] = [(positions, key, chunk), *_CACHE[:2]]
    return chunk


_IN_PLACE: contextvars.ContextVar[bool] = contextvars.ContextVar("in_place", default=False)
_BUFFERS: dict[int, weakref.ref[npt.NDArray[Any]]] = {}
"""id → the buffers :func:`prepare` made with room to grow (only these are written past a
state's end); an entry goes with its buffer."""


@contextlib.contextmanager
def advancing_in_place() -> Iterator[None]:
    """Within: :func:`prepare` may write the state it is given (see the module docstring).
    For the owner of the states only, which never uses a state again once advanced."""
    token = _IN_PLACE.set(True)
    try:
        yield
    finally:
        _IN_PLACE.reset(token)


def _buffer(rows: int, shape: Sequence[int], dtype: Any) -> npt.NDArray[Any]:
    """An empty buffer with room for ``rows`` and half as many again."""
    buf = np.empty((rows + rows // 2 + 64, *shape), dtype=dtype)
    key = id(buf)
    _BUFFERS[key] = weakref.ref(buf, lambda _: _BUFFERS.pop(key, None))
    return buf


def _room(col: npt.NDArray[Any], rows: int) -> npt.NDArray[Any] | None:
    """The buffer ``col`` is the start of, when :func:`_buffer` made it and it holds ``rows``."""
    base = col.base
    if not isinstance(base, np.ndarray):
        return None
    ref = _BUFFERS.get(id(base))
    if ref is None or ref() is not base or base.shape[0] < rows:
        return None
    if base.dtype != col.dtype or base.shape[1:] != col.shape[1:]:
        return None
    if col.ctypes.data != base.ctypes.data or not col.flags.c_contiguous:
        return None
    return base


def _layout(
    state: TrackArrays, spec: dict[str, tuple[Any, ...]], n_old: int, rows: int
) -> dict[str, npt.NDArray[Any]]:
    """The state's columns for ``rows`` tracks: its own, then ``fill`` for the new ones."""
    in_place = _IN_PLACE.get()
    cols: dict[str, npt.NDArray[Any]] = {}
    for name, (dtype, fill, *shape) in spec.items():
        old = state.cols.get(name)
        kept = n_old if old is not None else 0  # the old slots kept, the new ones filled
        buf = _room(old, rows) if in_place and old is not None else None
        if buf is None:
            buf = _buffer(rows, shape, dtype) if in_place else np.empty((rows, *shape), dtype)
            if kept:
                buf[:kept] = old
        buf[kept:rows] = fill
        cols[name] = buf[:rows] if in_place else buf
    return cols


def prepare(
    positions: pa.Table,
    state: TrackArrays | None,
    spec: dict[str, tuple[Any, ...]],
    *,
    key: str = "auto",
    keep: Sequence[str] = (),
    watermark_us: int | None = None,
) -> Keyed:
    """Clean and order ``positions``; lay out ``state`` (``spec``: name → dtype, fill[, width]).

    ``key`` is ``"auto"`` (``segment_id`` when present, else ``mmsi``) or ``"mmsi"``.
    ``watermark_us``: the time up to which the data is complete, as the engine knows it
    (no row older will come); "now" is the latest of it, the state's and the chunk's newest
    time. Without it (a detector called on its own), the newest time seen.
    ``keep`` is accepted for compatibility: ``rows`` keeps every input column.
    """
    del keep
    state = state or TrackArrays()
    ch = _chunk(positions, key)
    if state.by_segment is not None and state.by_segment != ch.by_segment:
        raise EventsInputError(
            "the chunks disagree on the track key (segment_id present in some, absent in "
            "others); give every chunk a segment_id or none"
        )
    old = state.keys
    ukeys = ch.ukeys
    if old is not None and len(old) and old.type != ukeys.type:
        ukeys = ukeys.cast(old.type)
    n_old = 0 if old is None else len(old)
    if old is None or n_old == 0:
        keys: pa.Array[Any] = ukeys
        slot = np.arange(len(ukeys), dtype=np.int64)
    else:
        slot = track_slots.slots(old, ukeys)
        new = slot < 0
        n_new = int(new.sum())
        slot[new] = n_old + np.arange(n_new, dtype=np.int64)
        keys = old
        if n_new:
            added = ukeys.filter(pa.array(new))
            keys = pa.concat_arrays([old, added])
            track_slots.extend(old, keys, added)
    cols = _layout(state, spec, n_old, len(keys))
    now = max(state.now_us, int(ch.ts_us.max()) if len(ch.ts_us) else state.now_us)
    if watermark_us is not None:
        now = max(now, watermark_us)
    return Keyed(
        keys=keys,
        track=slot[ch.local],
        ts_us=ch.ts_us,
        lat=ch.lat,
        lon=ch.lon,
        mmsi=ch.mmsi,
        rows=ch.rows,
        order=ch.order,
        cols=cols,
        now_us=now,
        by_segment=ch.by_segment,
        speed_kn=ch.speed_kn,
    )


TRACK_EXPIRY_S = 24 * 3600.0
"""Default ``track_expiry_s`` of the segment-keyed detectors: the tracks stage's default
``max_gap_hours``, after which a segment never gets another position."""
NO_TS = np.iinfo(np.int64).min


def expiring(kd: Keyed, last_ts: I64, expiry_s: float) -> I64:
    """Slots of tracks that end now: keyed by segment and silent for more than ``expiry_s``
    before the end of the data so far. Keyed by MMSI (no ``segment_id``), none: a vessel may
    come back after any silence, and its state is bounded by the number of vessels."""
    if not kd.by_segment:
        return np.empty(0, np.int64)
    return np.flatnonzero((last_ts != NO_TS) & (kd.now_us - last_ts > round(expiry_s * US_PER_S)))


def without(
    keys: pa.Array[Any], cols: dict[str, npt.NDArray[Any]], drop: I64
) -> tuple[pa.Array[Any], dict[str, npt.NDArray[Any]]]:
    """The state without the slots ``drop`` (tracks that ended)."""
    if not len(drop):
        return keys, cols
    keep = np.ones(len(keys), dtype=bool)
    keep[drop] = False
    return keys.filter(pa.array(keep)), {name: col[keep] for name, col in cols.items()}


TS_INT = pa.int64()
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_iso(us: int) -> str:
    """ISO 8601 UTC text of integer microseconds (for details)."""
    return (EPOCH + timedelta(microseconds=us)).isoformat()
