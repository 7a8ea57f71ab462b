"""The tasks of a partitioned run: per (day, bucket), per time slot, and the encounter runs.

In: a partitioned write (:mod:`seawatch.engine.partitions`), the run's :class:`TaskConfig`
(its explicit global watermark included). Out: Parquet files under the run's work
directory, their paths and counts (:class:`VesselOut`, slot file paths); nothing is written
to the store here (the loader does, :mod:`seawatch.engine.dask_engine`).

- :func:`vessel_task`: one (day, bucket). The per-vessel stages (cleaning, segmentation,
  identity, geography, the detectors of :data:`PER_VESSEL`) of
  :class:`~seawatch.engine.pipeline.Pipeline`, resumed from the bucket's previous day's
  pipeline; on the last day it finishes with the *global* watermark, so an open gap means
  the same in every bucket. Returns the pipeline (the next day's state) and the files.
  It also resamples its positions on the encounter rule's 10-minute grid
  (:mod:`.encounter_grid`, with the lookback carried in :class:`BucketState`) and writes
  the grid points.
- :func:`slot_task`: encounters' close steps of one time slot, over every bucket: the grid
  points of the slot's steps, compared by cell (:mod:`seawatch.events.encounter`'s own
  functions); each close step belongs to exactly one slot, so each pair is reported once.
- :func:`encounter_runs`: the runs of close steps of every pair, with their statistics
  computed from the raw close steps (never a median of medians), as events.
- :func:`statics_task`: the detectors of static reports (:data:`ACROSS_STATICS`:
  identity_change, which links MMSIs by IMO number) over every bucket's statics, a day
  after another (a chain, each day resuming the day before's states).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from seawatch.engine import arrowfile
from seawatch.engine.across import Cursor, _window, window
from seawatch.engine.encounter_grid import GridTail, grid_points, slot_close_steps
from seawatch.engine.partition_state import Carry, keep_bucket, resume_bucket
from seawatch.engine.partitions import DAY_US, Manifest, read_part
from seawatch.engine.pipeline import Pipeline, time_order, ts_us
from seawatch.errors import SeawatchError
from seawatch.events import encounter
from seawatch.events.encounter_kernels import runs
from seawatch.events.registry import REGISTRY, detectors
from seawatch.events.schema import EVENTS_SCHEMA
from seawatch.events.tracks_in import US_PER_S

__all__ = [
    "ACROSS_STATICS",
    "PER_VESSEL",
    "BucketState",
    "TaskConfig",
    "VesselOut",
    "checked_runs",
    "encounter_runs",
    "slot_days",
    "slot_task",
    "slots",
    "statics_task",
    "unread_steps",
    "vessel_task",
]

_NEVER = -(2**62)
_MINUTE_US = 60 * US_PER_S
_WINDOW_ROWS = 1_000_000
"""Statics per window of :func:`statics_task` unless the run's ``chunk_rows`` says (memory:
~0.25 KB a row while it runs; bench/RESULTS.md, 2026-12-06 h-mem)."""
PER_VESSEL = tuple(d.name for d in detectors() if not d.pairs and d.reads == "positions")
"""Detectors that see one vessel (one MMSI) at a time: they run in the (day, bucket) tasks."""
ACROSS_STATICS = tuple(d.name for d in detectors() if not d.pairs and d.reads == "statics")
"""Detectors of static reports, which link vessels across MMSIs (identity_change follows
an IMO number from one MMSI to another): one task per day over every bucket's statics."""
_STEPS = pa.schema(
    [(f"{name}_{side}", t) for side in "ab" for name, t in
     (("key", pa.int64()), ("mmsi", pa.int64()), ("lat", pa.float64()),
      ("lon", pa.float64()), ("speed_kn", pa.float64()))]
    + [("step", pa.int64()), ("distance_m", pa.float64())]
)  # fmt: skip


@dataclass(frozen=True)
class TaskConfig:
    """What every task of one run is given (pickled to the workers)."""

    root: str
    """The partitioned write (inputs)."""
    work: str
    """Where tasks write their outputs."""
    watermark_us: int
    """The run's global watermark: the newest time of the whole run's data."""
    zones: Sequence[Any] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    reorder_window_s: float | None = None
    chunk_rows: int | None = None
    geography: bool = True
    compression: str = "none"
    """Of the files the tasks write (the settings' ``work_compression``)."""
    carry: Carry | None = None
    """A daily run (``--incremental``): the states resumed from and kept."""


@dataclass
class VesselOut:
    """What one (day, bucket) task wrote, and its counts."""

    day: int
    bucket: int
    files: dict[str, str] = field(default_factory=dict)
    """Table (positions, events, segments, identity) → path."""
    span: tuple[int, int] | None = None
    """Oldest and newest time (µs) in the positions file."""
    steps: tuple[int, int] | None = None
    """First and last encounter grid step in the grid file."""
    positions: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    geography: bool = False
    retract: list[str] = field(default_factory=list)
    """A daily run's last day: ids of events the resumed run left open that are no events."""
    held: list[str] | None = None
    """A daily run's last day: the inputs of the rows held in the bucket's state, kept."""


def _chunks(pos: pa.Table, st: pa.Table, rows: int | None) -> list[tuple[pa.Table, pa.Table]]:
    """Time-ordered tables cut into spans of at most ``rows`` positions."""
    if not rows or max(pos.num_rows, st.num_rows) <= rows:
        return [(pos, st)]
    starts = list(range(0, max(pos.num_rows, 1), rows))
    cuts = [0, *np.searchsorted(ts_us(st), ts_us(pos)[starts[1:]]).tolist(), st.num_rows]
    return [
        (pos.slice(a, rows), st.slice(cuts[i], cuts[i + 1] - cuts[i])) for i, a in enumerate(starts)
    ]


def _first(pos: pa.Table, st: pa.Table) -> int:
    """The oldest time of a time-ordered chunk (a row without a time counts as oldest)."""
    return int(min(ts_us(t)[0] for t in (pos, st) if t.num_rows))


def _write(table: pa.Table, path: Path, out: VesselOut, name: str, compression: str) -> None:
    if table.num_rows:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrowfile.write(table, path, compression)
        out.files[name] = str(path)


@dataclass
class BucketState:
    """What a bucket's (day, bucket) task leaves its next day's task: the pipeline, and
    the encounter grid's lookback."""

    pipeline: Pipeline
    grid: GridTail = field(default_factory=GridTail)


def vessel_task(
    state: BucketState | None, cfg: TaskConfig, day: int, bucket: int, last: bool
) -> tuple[BucketState | None, VesselOut]:
    """Run one (day, bucket) through the per-vessel stages; see the module docstring."""
    manifest_root = Path(cfg.root)
    manifest = Manifest.load(manifest_root)
    pos, st = (
        read_part(manifest_root, manifest.part(kind, day, bucket), kind)
        for kind in ("positions", "statics")
    )
    out = VesselOut(day, bucket)
    empty = pos.num_rows == 0 and st.num_rows == 0
    if state is None and cfg.carry is None and empty:
        return None, out
    pipe = state.pipeline if state else Pipeline(
        zones=cfg.zones,
        geography=cfg.geography,
        reorder_window_s=cfg.reorder_window_s,
        params=cfg.params,
        carry_source=True,
        only=PER_VESSEL,
    )  # fmt: skip
    carried = state is None and cfg.carry is not None  # a daily run: its bucket's last state
    if carried and not resume_bucket(cfg.carry, bucket, pipe) and empty:  # type: ignore[arg-type]
        return None, out
    released, events = [], [EVENTS_SCHEMA.empty_table()]
    chunks = _chunks(pos, st, cfg.chunk_rows)
    # "now" is what every bucket knows, never this bucket's newest row: the next chunk's
    # first time (nothing older is to come), at the end of the day the day's end
    ends = [_first(*nxt) for nxt in chunks[1:]] + [min((day + 1) * DAY_US, cfg.watermark_us)]
    for (p, s), now in zip(chunks, ends, strict=True):
        result = pipe.feed(p, s, now)
        released.append(result.positions)
        events.append(result.events)
    if last:
        if cfg.carry is None:
            result = pipe.finish(cfg.watermark_us)
        else:  # a daily run: the next resumes from here (engine.partition_state)
            result = pipe.checkpoint(cfg.carry.until_us)
            out.retract = list(result.retract)
        released.append(result.positions)
        events.append(result.events)
    base = Path(cfg.work) / "vessel"
    name = f"d{day}-b{bucket:04d}"
    positions = pa.concat_tables(released) if released else None
    if positions is not None and positions.num_rows:
        t = ts_us(positions)  # in time order: readers take an hour by the row groups' stats
        if (t[1:] < t[:-1]).any():  # (the releases usually are: then nothing to take)
            positions = positions.take(np.argsort(t, kind="stable"))
        _write(positions, base / f"positions-{name}.arrow", out, "positions", cfg.compression)
        out.span = (int(t.min()), int(t.max()))
    tail = state.grid if state else GridTail()
    if positions is not None and cfg.carry is None:  # a daily run's encounters: engine.across
        grid, tail = grid_points(tail, positions, _params(cfg), cfg.watermark_us)
        if grid.num_rows:
            _write(grid, base / f"grid-{name}.arrow", out, "grid", cfg.compression)
            steps = grid.column("step").to_numpy()
            out.steps = (int(steps.min()), int(steps.max()))
    _write(pa.concat_tables(events), base / f"events-{name}.arrow", out, "events", cfg.compression)
    if last:
        _write(pipe.segments(), base / f"segments-{name}.arrow", out, "segments", cfg.compression)
        _write(pipe.history(), base / f"identity-{name}.arrow", out, "identity", cfg.compression)
        out.positions, out.dropped = pipe.positions, dict(pipe.dropped)
        if cfg.carry is not None:
            out.held = keep_bucket(cfg.carry, bucket, pipe)
    out.geography = pipe.geography
    return (None if last else BucketState(pipe, tail)), out


def statics_task(
    prev: tuple[dict[str, Any], pa.Table] | None, cfg: TaskConfig, day: int, last: bool
) -> tuple[dict[str, Any], pa.Table]:
    """One day of :data:`ACROSS_STATICS` over every bucket's statics, resumed from the day
    before's states (``prev``, as returned; None on the first day), a window of time of
    every bucket at a time (about :data:`_WINDOW_ROWS` rows, or the run's ``chunk_rows``; a
    day when it holds fewer) in the
    pipeline's release order (memory: the detectors' states and a window of statics, never
    the run's); on the ``last`` day closed by the global
    watermark (those still open included). Returns the states and the day's events."""
    root = Path(cfg.root)
    manifest = Manifest.load(root)
    states: dict[str, Any] = dict(prev[0]) if prev else {}
    no_statics = read_part(root, None, "statics")  # rows without a time: the first day's
    mine = [(rel, f) for rel, f in sorted(manifest.files.items())
            if f["kind"] == "statics" and f["day"] == day]  # fmt: skip
    cursors = [Cursor(root / rel) for rel, _ in mine]
    rows = sum(f["rows"] for _, f in mine)
    # windows of about that many rows (the whole day when it holds fewer: each window has a
    # fixed cost, ~70 ms under load), at least a minute; the last takes every row left
    step = max(_MINUTE_US, DAY_US * (cfg.chunk_rows or _WINDOW_ROWS) // max(rows, 1))
    ends = [*range(day * DAY_US + step, (day + 1) * DAY_US, step), np.iinfo(np.int64).max]
    found = [EVENTS_SCHEMA.empty_table()]
    for hi in ends:
        statics = time_order(window(cursors, hi, no_statics), "statics")
        if statics.num_rows == 0:
            continue
        for name in ACROSS_STATICS:
            params = cfg.params.get(name) or REGISTRY[name].params()
            events, states[name] = REGISTRY[name].detect(
                statics, params, state=states.get(name), open_events=False,
                watermark_us=cfg.watermark_us,
            )  # fmt: skip
            found.append(events)
    if last:
        for name, state in states.items():
            params = cfg.params.get(name) or REGISTRY[name].params()
            events, _ = REGISTRY[name].detect(no_statics, params, state=state,
                                              watermark_us=cfg.watermark_us)  # fmt: skip
            found.append(events)
    return states, pa.concat_tables(found)


def slots(manifest: Manifest, slot_s: int) -> list[tuple[int, int]]:
    """The time slots (µs, half-open) of the days with data, ``slot_s`` long each (at most
    a day: a slot never spans midnight). A grid step needs positions less than
    ``max_interp_gap_s`` (hours) on either side, so none falls on a day without data."""
    step = min(slot_s, 86_400) * US_PER_S
    out = []
    for day in manifest.days:
        lo, hi = day * DAY_US, (day + 1) * DAY_US
        out += [(t, min(t + step, hi)) for t in range(lo, hi, step)]
    return out


def slot_days(cfg: TaskConfig, t0: int, t1: int, last_day: int) -> range:
    """The days whose (day, bucket) tasks can hold grid points of the steps in [``t0``,
    ``t1``): a point is written by the task that released its pair's later row, at most
    ``max_interp_gap_s`` after the step, and a day's tasks release every row older than the
    day's end less the reorder window (the cutoff :mod:`.across` relies on too), the last
    day's every row. So a slot task starts once those days are done, not the run."""
    gap_us = int(_params(cfg).max_interp_gap_s * US_PER_S)
    hold_us = _window(cfg)
    return range(t0 // DAY_US, min(last_day, (t1 - 1 + gap_us + hold_us) // DAY_US) + 1)


def unread_steps(outs: Sequence[VesselOut], slot_outs: Sequence[Sequence[int]],
                 spans: Sequence[tuple[int, int]], cfg: TaskConfig) -> None:  # fmt: skip
    """Raise if a task wrote grid points of a slot whose task did not read its file
    (``slot_outs``: the outputs each slot read, by index; a check of :func:`slot_days`)."""
    step_us = int(_params(cfg).step_s) * US_PER_S
    for (t0, t1), read in zip(spans, slot_outs, strict=True):
        s0, s1 = -(-t0 // step_us), -(-t1 // step_us)
        unread = set(range(len(outs))) - set(read)
        if any((o := outs[k]).steps and o.steps[1] >= s0 and o.steps[0] < s1 for k in unread):
            raise SeawatchError(f"encounter grid points of the slot at {t0} µs written by a "
                                "task of a later day than its slot task read (a bug)")  # fmt: skip


def _params(cfg: TaskConfig) -> encounter.EncounterParams:
    given = cfg.params.get("encounter")
    return given if isinstance(given, encounter.EncounterParams) else encounter.EncounterParams()


def slot_task(outs: Sequence[VesselOut], cfg: TaskConfig, t0: int, t1: int) -> str | None:
    """Close steps of the grid steps in [``t0``, ``t1``) over every bucket, to a file."""
    params = _params(cfg)
    step_us = int(params.step_s) * US_PER_S
    s0, s1 = -(-t0 // step_us), -(-t1 // step_us)  # the steps at or after t0, before t1
    points = [
        arrowfile.read(o.files["grid"])
        for o in outs
        if "grid" in o.files and o.steps and o.steps[1] >= s0 and o.steps[0] < s1
    ]
    cols = slot_close_steps(points, params, s0, s1)
    if cols is None:
        return None
    path = Path(cfg.work) / "slots" / f"close-{t0}.arrow"
    path.parent.mkdir(parents=True, exist_ok=True)
    arrowfile.write(pa.table(cols, schema=_STEPS), path, cfg.compression)
    return str(path)


def checked_runs(
    paths: Sequence[str | None], cfg: TaskConfig, outs: Sequence[VesselOut],
    reads: Sequence[Sequence[int]], spans: Sequence[tuple[int, int]],
) -> pa.Table:  # fmt: skip
    """:func:`encounter_runs`, once :func:`unread_steps` found every slot read its points."""
    unread_steps(outs, reads, spans, cfg)
    return encounter_runs(paths, cfg)


def encounter_runs(paths: Sequence[str | None], cfg: TaskConfig) -> pa.Table:
    """Encounter events (closed and still open at the watermark) from every slot's steps."""
    params = _params(cfg)
    found = [arrowfile.read(p) for p in paths if p]
    if not found:
        return EVENTS_SCHEMA.empty_table()
    steps = pa.concat_tables(found)
    n = steps.num_rows
    col = {name: np.asarray(steps.column(name).to_numpy()) for name in steps.column_names}
    keys, inverse = np.unique(np.r_[col["key_a"], col["key_b"]], return_inverse=True)
    ka, kb = inverse[:n], inverse[n:]
    gk = np.empty(2 * n, np.int64)
    gk[0::2], gk[1::2] = ka, kb
    gs = np.repeat(col["step"], 2)
    glat, glon, gv = (np.empty(2 * n) for _ in range(3))
    for arr, name in ((glat, "lat"), (glon, "lon"), (gv, "speed_kn")):
        arr[0::2], arr[1::2] = col[f"{name}_a"], col[f"{name}_b"]
    order = np.lexsort((col["step"], kb, ka))
    p = (2 * order).astype(np.int64)
    q = p + 1
    d = col["distance_m"][order]
    step_us = int(params.step_s) * US_PER_S
    reach_s = max(params.merge_gap_s, params.max_shared_silence_s)
    lag = int((reach_s + params.max_interp_gap_s) * US_PER_S) + step_us
    oi, of = np.empty((n, 7), np.int64), np.empty((n, 5))
    keep = np.zeros(len(keys), np.int64)
    min_steps = params.min_duration_s / params.step_s - 1e-9
    merge, now = params.merge_gap_s / params.step_s, cfg.watermark_us
    m = runs(p, q, d, gk, gs, gv, glat, glon, np.empty(n), step_us, lag, now, _NEVER,
             min_steps, merge, params.max_median_speed_kn,
             int(params.max_shared_silence_s // params.step_s), oi, of, keep)  # fmt: skip
    oi, of = oi[:m], of[:m]
    tm = np.zeros(len(keys), np.int64)
    tm[ka], tm[kb] = col["mmsi_a"], col["mmsi_b"]
    names = pa.array(keys, pa.int64()).cast(pa.string())
    parts = [EVENTS_SCHEMA.empty_table()]
    for closed in (True, False):
        sel = (oi[:, 2] == 1) == closed
        parts.append(encounter._build(oi[sel], of[sel], params, tm, names, closed=closed))
    return pa.concat_tables(parts)
