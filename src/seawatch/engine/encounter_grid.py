"""Encounters' grid points, computed where the rows are: per (day, bucket), read per slot.

In: the positions a (day, bucket) task released (segmented, with the geography columns the
encounter rule reads), and the lookback its bucket's previous task left (:class:`GridTail`).
Out: the grid points of the pairs of consecutive positions whose later position this task
released (:data:`GRID_SCHEMA`), and the lookback for the next task; then, in a slot task,
the close steps of the slot's grid steps over every bucket (:func:`slot_close_steps`).

The encounter rule (:mod:`seawatch.events.encounter`) resamples each track on a fixed grid,
and resampling looks at one track only: a grid point between two consecutive positions is
theirs (and whether the pair before them was within ``max_interp_gap_s``). So each (day,
bucket) task resamples its own rows, with the rows of the last ``2 × max_interp_gap_s +
step_s`` before them carried from the bucket's previous task (every row a pair of its rows
can depend on), and keeps the points of the pairs whose later row is its own: each grid
point is computed once, by one task, exactly as one resampling of the whole track gives it.
A slot task then reads only the grid points of its steps from every bucket (about one a
vessel every 10 minutes), not every position of the slot and its margins: at global
density a 6-hour slot's positions do not fit a worker, its grid points do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from seawatch.engine.pipeline import ts_us
from seawatch.errors import SeawatchError
from seawatch.events import encounter
from seawatch.events.encounter_kernels import resample
from seawatch.events.tracks_in import US_PER_S, prepare

__all__ = ["GRID_SCHEMA", "GridTail", "grid_points", "slot_close_steps"]

GRID_SCHEMA = pa.schema(
    [pa.field(n, pa.int64()) for n in ("key", "mmsi", "step")]
    + [pa.field(n, pa.float64()) for n in ("lat", "lon", "speed_kn", "bad")]
)
"""A grid point: its track (segment id), MMSI, grid step (multiples of ``step_s`` since the
epoch), position, the speed of its pair and the pair's land/port flag."""
_SORT: list[tuple[str, Literal["ascending"]]] = [
    (n, "ascending") for n in ("mmsi", "ts", "segment_id", "lat", "lon")
]
_OWN = "__own"


@dataclass
class GridTail:
    """A bucket's newest rows (the encounter rule's columns) that a later pair may need:
    those less than ``2 × max_interp_gap_s + step_s`` older than the newest row released."""

    rows: pa.Table | None = None
    newest_us: int | None = None


def _lookback_us(params: encounter.EncounterParams) -> int:
    return int(2 * params.max_interp_gap_s * US_PER_S) + int(params.step_s) * US_PER_S


def grid_points(
    tail: GridTail, released: pa.Table, params: encounter.EncounterParams, watermark_us: int
) -> tuple[pa.Table, GridTail]:
    """The grid points of the pairs whose later row is in ``released``; the next lookback."""
    names = [c for c in encounter._USED if c in released.column_names]
    own = released.select(names)
    old = tail.rows if tail.rows is not None else own.schema.empty_table()
    rows = pa.concat_tables([old, own], promote_options="permissive")
    flags = np.r_[np.zeros(old.num_rows, bool), np.ones(own.num_rows, bool)]
    newest = tail.newest_us
    if own.num_rows:
        top = int(ts_us(own).max())
        newest = top if newest is None else max(newest, top)
    keep = ts_us(rows) >= (newest or 0) - _lookback_us(params)
    nxt = GridTail(rows.filter(pa.array(keep)) if not keep.all() else rows, newest)
    if own.num_rows == 0:
        return GRID_SCHEMA.empty_table(), nxt
    rows = rows.append_column(_OWN, pa.array(flags))
    rows = rows.sort_by([k for k in _SORT if k[0] in names])
    kd = prepare(rows, None, {}, watermark_us=watermark_us)
    mine = np.asarray(kd.rows.column(_OWN).to_numpy(zero_copy_only=False), bool)[kd.order]
    same = kd.track[1:] == kd.track[:-1]
    if (same & mine[:-1] & ~mine[1:]).any():
        raise SeawatchError(  # the pipeline releases a bucket's rows in time order
            "a (day, bucket) task released a position older than one its previous task "
            "released; the encounter grid cannot be resumed (a bug: please report it)"
        )
    step_us, gap_us = int(params.step_s) * US_PER_S, int(params.max_interp_gap_s * US_PER_S)
    aux = encounter._aux(kd, params)
    gk, gs, glat, glon, gv, ga = resample(kd.track, kd.ts_us, kd.lat, kd.lon, aux, step_us, gap_us)
    old_rows = ~mine
    if old_rows.any() and len(gk):  # each track's tail pairs come first: drop their points
        tk = resample(kd.track[old_rows], kd.ts_us[old_rows], kd.lat[old_rows],
                      kd.lon[old_rows], aux[old_rows], step_us, gap_us)[0]  # fmt: skip
        first = np.r_[0, np.flatnonzero(gk[1:] != gk[:-1]) + 1]  # each track's first point
        start = np.zeros(len(kd.keys), np.int64)
        start[gk[first]] = first
        drop = np.bincount(tk, minlength=len(kd.keys))
        at = np.arange(len(gk)) - start[gk]
        sel = at >= drop[gk]
        gk, gs = gk[sel], gs[sel]
        glat, glon, gv, ga = glat[sel], glon[sel], gv[sel], ga[sel]
    track_mmsi = np.zeros(len(kd.keys), np.int64)
    track_mmsi[kd.track] = kd.mmsi
    keys = np.asarray(kd.keys.cast(pa.int64()).to_numpy(zero_copy_only=False), np.int64)
    cols = [keys[gk], track_mmsi[gk], gs, glat, glon, gv, ga]
    return pa.table(cols, schema=GRID_SCHEMA), nxt


def slot_close_steps(
    points: list[pa.Table], params: encounter.EncounterParams, s0: int, s1: int
) -> dict[str, Any] | None:
    """Close steps of the grid steps ``s0`` ≤ step < ``s1`` of every bucket's ``points``:
    the columns of each pair's two points (``_a``: lower MMSI), its step and distance."""
    parts = []
    for t in points:
        step = np.asarray(t.column("step").to_numpy())
        parts.append(t.filter(pa.array((step >= s0) & (step < s1))))
    grid = pa.concat_tables([GRID_SCHEMA.empty_table(), *parts]).combine_chunks()
    if grid.num_rows == 0:
        return None
    col = {n: np.asarray(grid.column(n).to_numpy()) for n in GRID_SCHEMA.names}
    keys, gk = np.unique(col["key"], return_inverse=True)
    order = np.lexsort((col["step"], gk))
    gk = gk[order].astype(np.int64)
    gs, glat, glon, gv, ga, gmmsi = (
        col[n][order] for n in ("step", "lat", "lon", "speed_kn", "bad", "mmsi")
    )
    p, q, d = encounter.grid_pairs(gk, gs, glat, glon, ga, gmmsi, len(keys), params)
    if len(p) == 0:
        return None
    out: dict[str, Any] = {}
    for side, idx in (("a", p), ("b", q)):
        out |= {f"key_{side}": keys[gk[idx]], f"mmsi_{side}": gmmsi[idx],
                f"lat_{side}": glat[idx], f"lon_{side}": glon[idx],
                f"speed_kn_{side}": gv[idx]}  # fmt: skip
    return out | {"step": gs[p], "distance_m": d}
