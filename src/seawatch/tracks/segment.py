"""Segmentation: one MMSI's positions → plausible vessels (segments).

In: a ``positions`` table (``ts``, ``mmsi``, ``lat``, ``lon``, ``speed_kn``, ``course_deg``,
optionally ``msg_type``), usually cleaned by :func:`seawatch.tracks.clean.clean`.
Out: the same rows, in input order, with a ``segment_id`` column (int64; null for points
the matcher rejects as noise) and the :class:`SegmenterState` to pass with the
next time-ordered chunk. Processing a time-ordered input in chunks, carrying the state,
gives exactly the segment ids of processing it whole.

The matcher is GlobalFishingWatch/gpsdio-segment's, lookback included (see
:mod:`seawatch.tracks._matcher` and docs/tracks.md); its parameters and GFW's defaults are
in :class:`SegmentParams`, and ``SegmentParams.gpsdio_2019()`` are those of the release
that produced GFW's reference segmentation of MMSI 416000000.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from seawatch.errors import InputError
from seawatch.tracks import _matcher as mk
from seawatch.tracks.layout import SortedRows, remember, sorted_keys, speed_print
from seawatch.tracks.order import stable_key_time_order
from seawatch.tracks.schemas import SEGMENT_ID

SEGMENT_ID_FIELD = SEGMENT_ID
SCORINGS = ("develop", "gpsdio-2019")
SEGMENT_LOOKBACK = 5  # SegmentParams.lookback's default


@dataclass(frozen=True)
class SegmentParams:
    """Matcher parameters; defaults are GFW gpsdio-segment's (``matcher.py``, develop)."""

    max_gap_hours: float = 24.0
    """A segment closes after this long without a matching position."""
    max_speed_kn: float = 25.0
    """Allowed discrepancy is hypot(hours, buffer_hours) × this speed."""
    buffer_hours: float = 0.25
    """Padding added (in quadrature) to the time between points."""
    penalty_hours: float = 4.0
    """Dead-reckoning time is shortened around this duration (ships rarely go straight)."""
    hours_exp: float = 0.5
    """Exponent of that shortening: hours / (1 + (hours / penalty_hours) ** (1 - hours_exp))."""
    penalty_speed_kn: float = 5.0
    """Discrepancies (as a speed) above this are strongly discouraged: alpha = max/penalty."""
    shape_factor: float = 4.0
    """Weight of the 'stayed put' and 'off the path' discrepancies against dead reckoning."""
    ambiguity_factor: float = 10.0
    """Two candidate segments scoring within this factor are ambiguous: a new segment opens."""
    short_seg_threshold: int = 10
    """With several candidates, segments shorter than this many points are down-weighted."""
    transponder_mismatch_weight: float = 0.1
    """Score multiplier when Class A/B of the point and of the segment differ."""
    max_open_segments: int = 100
    """Open segments kept per MMSI; the longest-silent one closes when a new one opens."""
    min_type_27_hours: float = 1.0
    """Type 27 (long-range) positions within this time of a segment's last point are noise."""
    lookback: int = SEGMENT_LOOKBACK
    """A point may follow any of a segment's last this many points (1 = the last only)."""
    lookback_factor: float = 2.0
    """Following the k-th last point scores metric / max(1, k × this), and must beat the
    metric with which the point after it joined; the points skipped leave the matching."""
    scoring: str = "develop"
    """``develop``: GFW's current matcher. ``gpsdio-2019``: the release that produced GFW's
    reference segmentation (allowed distance and score on penalised hours, see docs)."""

    def __post_init__(self) -> None:
        if self.scoring not in SCORINGS:
            raise InputError(f"scoring {self.scoring!r}: use one of {', '.join(SCORINGS)}")
        if not 1 <= self.lookback <= 64:
            raise InputError(f"lookback {self.lookback}: use 1 to 64 points")

    @classmethod
    def gpsdio_2019(cls) -> SegmentParams:
        """gpsdio-segment's defaults of October 2019 (``core.py`` at e80d8f5), the release
        that produced GFW's ``segmented-416000000.json``. Its 60 h ``max_gap_hours`` is
        longer than the 24 h the segment-keyed detectors expire tracks after."""
        return cls(
            max_gap_hours=60.0, buffer_hours=5 / 60, penalty_hours=1.0, penalty_speed_kn=10.0,
            shape_factor=10.0, ambiguity_factor=2.0, transponder_mismatch_weight=1.0,
            max_open_segments=10, lookback_factor=1.2, scoring="gpsdio-2019",
        )  # fmt: skip

    def vector(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        """The parameters as the float64 vector the compiled matcher reads."""
        order = (
            self.max_gap_hours, self.max_speed_kn, self.buffer_hours, self.penalty_hours,
            self.hours_exp, self.penalty_speed_kn, self.shape_factor, self.ambiguity_factor,
            self.short_seg_threshold, self.transponder_mismatch_weight,
            self.max_open_segments, self.min_type_27_hours, self.lookback,
            self.lookback_factor, SCORINGS.index(self.scoring),
        )  # fmt: skip
        assert len(order) == mk.N_PARAMS == len(fields(self))
        assert SCORINGS.index("gpsdio-2019") == mk.SCORING_2019
        return np.array(order, dtype=np.float64)


_STATE_FIELDS = ("mmsi", "seg", "n", "depth", "ts", "point", "tclass")
SPLICE_MIN_ROWS = 4_096
"""A state of fewer open segments goes through the matcher whole (see :func:`_touched`)."""


@dataclass(frozen=True)
class SegmenterState:
    """Open segments carried between chunks: one entry per open segment, sorted by MMSI.

    Columnar numpy arrays with one row per open segment: its MMSI, id, point count and a
    window of its last ``lookback`` points, newest first (``depth`` of them valid): time
    (µs since the epoch, ``ts``), ``point`` = (lat, lon, speed, course, metric with which
    it joined) and transponder class (``tclass``).
    """

    mmsi: np.ndarray[Any, np.dtype[np.int32]]
    seg: np.ndarray[Any, np.dtype[np.int64]]
    n: np.ndarray[Any, np.dtype[np.int64]]
    depth: np.ndarray[Any, np.dtype[np.int64]]
    ts: np.ndarray[Any, np.dtype[np.int64]]
    point: np.ndarray[Any, np.dtype[np.float64]]
    tclass: np.ndarray[Any, np.dtype[np.int8]]

    @classmethod
    def empty(cls, lookback: int = SEGMENT_LOOKBACK) -> SegmenterState:
        i8 = np.empty(0, np.int64)
        return cls(
            np.empty(0, np.int32), i8, i8, i8, np.empty((0, lookback), np.int64),
            np.empty((0, lookback, 5), np.float64), np.empty((0, lookback), np.int8),
        )  # fmt: skip

    def __len__(self) -> int:
        return int(self.mmsi.shape[0])

    @property
    def last_ts(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Time of each open segment's last point (µs since the epoch)."""
        return self.ts[:, 0]

    def open_until(self, ts_us: int, params: SegmentParams = SegmentParams()) -> SegmenterState:
        """Drop segments that can no longer match a point at or after ``ts_us``.

        :func:`segment` applies it to the state it returns (with the chunk's last time), so
        the state holds only segments heard in the last ``max_gap_hours``: bounded by the
        traffic of that window, not by the length of the input. Results are unchanged
        because a segment silent for longer never matches again.
        """
        keep = self.last_ts >= ts_us - int(params.max_gap_hours * 3.6e9)
        if keep.all():  # the usual case of a live batch: no copy of every open segment
            return self
        arrays: list[Any] = [getattr(self, f)[keep] for f in _STATE_FIELDS]
        return SegmenterState(*arrays)


def transponder_class(msg_type: Any) -> np.ndarray[Any, np.dtype[np.int8]]:
    """Class A (types 1-3) = 1, Class B (18, 19) = 2, long range (27) = 3, else 0."""
    t = np.asarray(pc.fill_null(msg_type.cast(pa.int16()), pa.scalar(0, pa.int16())), np.int16)
    out = np.zeros(t.shape[0], np.int8)
    out[(t >= 1) & (t <= 3)] = mk.CLASS_A
    out[(t == 18) | (t == 19)] = mk.CLASS_B
    out[t == 27] = mk.CLASS_LONG_RANGE
    return out


def _float(table: pa.Table, name: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    """A column as float64, NaN for nulls (NaN when absent); read-only, no copy when it
    has no nulls."""
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    col: Any = table.column(name).cast(pa.float64())
    if col.null_count:
        col = pc.fill_null(col, pa.scalar(np.nan, pa.float64()))
    return np.asarray(col, dtype=np.float64)


def segment(
    positions: pa.Table,
    state: SegmenterState | None = None,
    params: SegmentParams = SegmentParams(),
    *,
    order: np.ndarray[Any, np.dtype[np.int64]] | None = None,
    in_place: bool = False,
) -> tuple[pa.Table, SegmenterState]:
    """Assign ``segment_id`` to every position; returns (positions in input order, new state).

    Rows with a null ``ts``, ``mmsi``, ``lat`` or ``lon`` are an :class:`InputError`: clean
    first. Chunks must be time-ordered: every ``ts`` of a chunk ≥ those of the previous one.
    ``order``: the rows in (mmsi, ts) order, ties in input order, when already known
    (:attr:`seawatch.tracks.clean.CleanResult.order`); computed when None. ``in_place``:
    ``state`` may be written and returned as the new state (for its owner only, which
    never uses it again: a live batch then costs its own vessels' rows, not a copy of every
    open segment's window).
    """
    for name in ("ts", "mmsi", "lat", "lon"):
        if name not in positions.column_names:
            raise InputError(f"positions table has no {name!r} column; segment needs it")
        if positions.column(name).null_count:
            raise InputError(f"column {name!r} has nulls; run seawatch.tracks.clean first")
    if state is None or (not len(state) and state.ts.shape[1] != params.lookback):
        state = SegmenterState.empty(params.lookback)
    if state.ts.shape[1] != params.lookback:
        msg = f"state has a lookback of {state.ts.shape[1]}, params {params.lookback}"
        raise InputError(msg + "; segment every chunk with the same SegmentParams")
    ts_col = positions.column("ts").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    mmsi = np.asarray(positions.column("mmsi").cast(pa.int32()), dtype=np.int32)
    ts = np.asarray(ts_col, dtype=np.int64)
    keys = None
    if order is None:
        order = stable_key_time_order(mmsi, ts)  # by (mmsi, ts); ties keep input order
    elif order.shape[0] != ts.shape[0]:
        raise InputError(f"order has {order.shape[0]} rows, positions {ts.shape[0]}")
    else:
        keys = sorted_keys(order, positions)  # clean's, read in this order already
    mmsi, ts = (mmsi[order], ts[order]) if keys is None else keys
    if len(state) and ts.shape[0] and int(ts.min()) < int(state.last_ts.max()):
        msg = "chunk starts before the previous chunk's last point; chunks must be time-ordered"
        raise InputError(msg)
    reported = _float(positions, "speed_kn")
    speed, course, reported = _motion(reported, _float(positions, "course_deg"), order)
    if "msg_type" in positions.column_names:
        tclass = transponder_class(positions.column("msg_type"))[order]
    else:
        tclass = np.zeros(positions.num_rows, np.int8)
    kernel: Any = mk.segment_kernel
    part, spans = _touched(state, mmsi)
    lat, lon = _float(positions, "lat")[order], _float(positions, "lon")[order]
    out = kernel(
        mmsi, ts, lat, lon, speed, course, tclass,
        *(getattr(part, f) for f in _STATE_FIELDS), params.vector(),
    )  # fmt: skip
    seg = np.empty_like(out[0])
    seg[order] = out[0]  # back to input order
    seg_arr = pa.array(seg, mask=seg == mk.NOISE, type=pa.int64())
    if "segment_id" in positions.column_names:
        positions = positions.drop_columns(["segment_id"])
    positions = positions.append_column(SEGMENT_ID_FIELD, seg_arr)
    known = speed_print(positions)  # None without speed_kn: no speeds kept
    lay = SortedRows(order, mmsi, ts, lat, lon, out[0], reported if known else None, known)
    remember(positions, lay)  # for the detectors
    new_state = SegmenterState(*out[1:])
    if spans is not None:
        new_state = _spliced(state, spans, new_state, in_place=in_place)
    if ts.shape[0]:  # later chunks start at or after this one's end: forget what cannot match
        new_state = new_state.open_until(int(ts.max()), params)
    return positions, new_state


@njit(cache=True, nogil=True)
def _motion(speed: Any, course: Any, order: Any) -> tuple[Any, Any, Any]:  # pragma: no cover
    """Speed and course in ``order``, as the matcher reads them: an unknown course (NaN or
    360 and above) is 0 with speed 0, an unknown speed 0. One pass instead of a gather and
    five array operations per column. Third: the speed as reported (NaN for a null) in
    ``order``, which the detectors read (:attr:`~.layout.SortedRows.speed_kn`)."""
    n = order.shape[0]
    sp_out = np.empty(n)
    co_out = np.empty(n)
    reported = np.empty(n)
    for r in range(n):
        i = order[r]
        sp, co = speed[i], course[i]
        reported[r] = sp
        unknown = np.isnan(co) or co >= 360.0
        sp_out[r] = 0.0 if (unknown or np.isnan(sp)) else sp
        co_out[r] = 0.0 if unknown else co
    return sp_out, co_out, reported


@njit(cache=True, nogil=True)
def _n_runs(mmsi: Any) -> int:  # pragma: no cover
    """Distinct values of a sorted array (runs of equal values)."""
    n = 1 if mmsi.shape[0] else 0
    for i in range(1, mmsi.shape[0]):
        if mmsi[i] != mmsi[i - 1]:
            n += 1
    return n


Spans = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]


def _touched(
    state: SegmenterState, mmsi: np.ndarray[Any, Any]
) -> tuple[SegmenterState, Spans | None]:
    """The state rows of the chunk's MMSIs (``mmsi`` sorted) and where they are in
    ``state`` (each MMSI's rows, from, to), when they are a small part of it (a live batch
    among the open segments of 100,000 vessels): the matcher then runs on those rows only
    and :func:`_spliced` puts its output back, instead of copying every open segment's
    window through the matcher. Else ``state`` itself and None. Segments of one MMSI
    never meet another's, so the result is the same."""
    if len(state) < SPLICE_MIN_ROWS or not mmsi.shape[0] or _n_runs(mmsi) * 8 > len(state):
        return state, None
    keys = mmsi[np.flatnonzero(np.diff(mmsi, prepend=mmsi[0] - 1))]
    lo = np.searchsorted(state.mmsi, keys, "left")
    hi = np.searchsorted(state.mmsi, keys, "right")
    counts = hi - lo
    idx = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
    part = SegmenterState(*(getattr(state, f)[idx] for f in _STATE_FIELDS))
    return part, (keys, lo, hi)


def _spliced(
    state: SegmenterState, spans: Spans, new: SegmenterState, *, in_place: bool = False
) -> SegmenterState:
    """``state`` with each touched MMSI's rows (``spans``) replaced by its rows of ``new``
    (the matcher's output for those MMSIs), still sorted by MMSI. ``in_place``: when each
    touched MMSI has as many rows as before (the usual live batch: no new vessel, no new
    segment), they are written into ``state``'s arrays, which is returned."""
    keys, lo, hi = spans
    nlo = np.searchsorted(new.mmsi, keys, "left")
    nhi = np.searchsorted(new.mmsi, keys, "right")
    counts, got = hi - lo, nhi - nlo
    fields = [getattr(state, f) for f in _STATE_FIELDS]
    if (
        in_place
        and np.array_equal(counts, got)
        and int(got.sum()) == len(new)
        and all(a.flags.writeable for a in fields)
    ):
        rows = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        for old, f in zip(fields, _STATE_FIELDS, strict=True):
            old[rows] = getattr(new, f)  # new: the touched MMSIs' rows, in the same order
        return state
    size = len(state) - int(counts.sum()) + int(got.sum())
    arrays: list[Any] = []
    for old, f in zip(fields, _STATE_FIELDS, strict=True):
        got_f = getattr(new, f)
        out = np.empty((size, *old.shape[1:]), old.dtype)
        width = int(np.prod(old.shape[1:], dtype=np.int64))  # values a row
        _merge_rows(_flat(old), _flat(got_f.astype(old.dtype, copy=False)), lo, hi, nlo, nhi,
                    width, _flat(out))  # fmt: skip
        arrays.append(out)
    return SegmenterState(*arrays)


def _flat(a: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``a``'s values, flat (a view: a copy only when ``a`` is not contiguous)."""
    return np.ascontiguousarray(a).reshape(-1)


@njit(cache=True, nogil=True)
def _merge_rows(old: Any, new: Any, lo: Any, hi: Any, nlo: Any, nhi: Any, width: int,
                out: Any) -> None:  # fmt: skip  # pragma: no cover
    """Rows of ``old`` with its rows ``lo[k]:hi[k]`` replaced by ``new``'s ``nlo[k]:nhi[k]``
    (``width`` values a row), into ``out``: one pass, the rows between spans copied whole."""
    o, prev = 0, 0
    for k in range(lo.shape[0]):
        n = (lo[k] - prev) * width
        out[o : o + n] = old[prev * width : lo[k] * width]
        o += n
        m = (nhi[k] - nlo[k]) * width
        out[o : o + m] = new[nlo[k] * width : nhi[k] * width]
        o += m
        prev = hi[k]
    out[o:] = old[prev * width :]
