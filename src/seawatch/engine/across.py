"""The detectors across vessels in a partitioned daily run: a day after another, carried.

In: a partitioned daily run's :class:`~seawatch.engine.partition_tasks.TaskConfig` (with its
:class:`~seawatch.engine.partition_state.Carry`), a day, what that day's (day, bucket) tasks
wrote (:class:`~seawatch.engine.partition_tasks.VesselOut`: the positions each bucket
released, segmented) and the day's statics partitions. Out: the events of the detectors that
see more than one vessel (encounters between pairs, identity changes across MMSIs: every
detector not in :data:`~seawatch.engine.partition_tasks.PER_VESSEL`), and at the run's end
those open at its watermark, the ids to retract, and the stage's state kept in
``pNNNN-across/`` (:mod:`seawatch.engine.partition_state`).

One task per day, each resuming the previous day's stage (a chain beside the buckets'), fed
the day's released positions of every bucket and the statics older than the buckets'
release cutoff that day (held in a reorder buffer of its own until then, as each bucket's
pipeline holds them), an hour of every bucket at a time (memory: the detectors' states and
an hour of rows, never a day's): the detectors are the streaming ones of
:class:`~seawatch.engine.pipeline.Pipeline`, with their states, so a run over day 1 then one
over day 2 gives what one run over both gives. A run without ``--incremental`` finds
encounters by time slot instead (:func:`~seawatch.engine.partition_tasks.slot_task`, in
parallel); a daily run's encounters take one task per day, one after another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa

from seawatch.decode.schemas import SCHEMAS
from seawatch.engine import arrowfile
from seawatch.engine.partition_state import across_name
from seawatch.engine.partitions import DAY_US, Manifest, read_part
from seawatch.engine.pipeline import SOURCE_ID, ts_us
from seawatch.engine.reorder import NEVER_US, ReorderBuffer
from seawatch.errors import ConfigError
from seawatch.events.registry import detectors
from seawatch.events.schema import EVENTS_SCHEMA
from seawatch.events.tracks_in import advancing_in_place

if TYPE_CHECKING:
    from seawatch.engine.partition_tasks import TaskConfig, VesselOut

__all__ = ["Across", "Cursor", "across_task", "window"]

_HOUR_US = 3600 * 1_000_000
_ORDER: list[tuple[str, Literal["ascending", "descending"]]] = [
    (c, "ascending") for c in ("mmsi", "ts", "segment_id", "lat", "lon")
]


class Across:
    """The detectors across vessels, their states, the statics they wait for and the ids of
    the events the run resumed from left open."""

    def __init__(self, cfg: TaskConfig) -> None:
        from seawatch.engine.partition_tasks import PER_VESSEL

        self.detectors = {d.name: d for d in detectors() if d.name not in PER_VESSEL}
        self.params = {n: cfg.params.get(n) or d.params() for n, d in self.detectors.items()}
        self.states: dict[str, Any] = dict.fromkeys(self.detectors)
        self.schemas: dict[str, pa.Schema] = {}
        self.statics = ReorderBuffer(SCHEMAS["statics"], "statics")
        self.cutoff_us = NEVER_US
        self.open_ids: set[str] = set()
        self.reissued: set[str] = set()

    def made_with(self) -> str:
        return hashlib.sha256(repr(sorted(self.params.items())).encode()).hexdigest()

    def feed(self, positions: pa.Table, statics: pa.Table, cutoff_us: int) -> pa.Table:
        """The events closed by ``positions`` (every bucket's released before ``cutoff_us``)
        and the statics older than ``cutoff_us``."""
        self.cutoff_us = max(self.cutoff_us, cutoff_us)
        if SOURCE_ID in statics.column_names:
            statics = statics.drop_columns([SOURCE_ID])
        self.statics.push(statics.cast(self.statics.schema))
        inputs = {"positions": positions.sort_by(_ORDER) if positions.num_rows else positions,
                  "statics": self.statics.release(self.cutoff_us)}  # fmt: skip
        found = [EVENTS_SCHEMA.empty_table()]
        with advancing_in_place():  # each state is replaced by the one its detector returns
            for name, d in self.detectors.items():
                table = inputs[d.reads]
                if table.num_rows:
                    events, self.states[name] = d.detect(
                        table, self.params[name], state=self.states[name], open_events=False,
                        watermark_us=self.cutoff_us,
                    )  # fmt: skip
                    found.append(events)
                    self.schemas[name] = table.schema
        events = pa.concat_tables(found)
        if self.open_ids and events.num_rows:
            self.reissued |= self.open_ids & set(events.column("event_id").to_pylist())
        return events

    def checkpoint(self) -> tuple[pa.Table, list[str]]:
        """The events open at the cutoff (issued again, under their ids, by the next run) and
        the ids of those the resumed run left open that this one neither closed nor left
        open (to retract)."""
        found = [EVENTS_SCHEMA.empty_table()]
        for name, schema in self.schemas.items():
            events, _ = self.detectors[name].detect(
                schema.empty_table(), self.params[name], state=self.states[name],
                watermark_us=self.cutoff_us,
            )  # fmt: skip
            found.append(events)
        opened = pa.concat_tables(found)
        ids = {str(i) for i in opened.column("event_id").to_pylist()}
        retract = sorted(self.open_ids - self.reissued - ids)
        self.open_ids, self.reissued = ids, set()
        return opened, retract

    def state(self) -> dict[str, Any]:
        return {"made_with": self.made_with(), "states": self.states, "schemas": self.schemas,
                "cutoff_us": self.cutoff_us, "open_ids": self.open_ids,
                "held": (self.statics.horizon_us, self.statics.held())}  # fmt: skip

    def resume(self, state: dict[str, Any], name: str) -> None:
        if state["made_with"] != self.made_with():
            raise ConfigError(f"{name} was made with other detectors or parameters: run with "
                              "those, or run the period again from its start")  # fmt: skip
        self.states, self.schemas = state["states"], state["schemas"]
        self.cutoff_us, self.open_ids = state["cutoff_us"], state["open_ids"]
        horizon, held = state["held"]
        self.statics.horizon_us = horizon
        self.statics.push(held.cast(self.statics.schema))


def _resumed(cfg: TaskConfig) -> Across:
    stage = Across(cfg)
    carry = cfg.carry
    assert carry is not None
    if carry.resume_us is not None:
        name = across_name(carry.buckets)
        states = carry.reading(name, carry.resume_us)
        if states.path(name, carry.resume_us).exists():
            found = states.load(name, carry.resume_us)
            assert found is not None
            stage.resume(found[1], str(states.path(name, carry.resume_us)))
    return stage


def across_task(
    prev: Any, cfg: TaskConfig, day: int, outs: Sequence[VesselOut], last: bool
) -> tuple[Across | None, pa.Table, list[str]]:
    """One day of the stage (see the module docstring), an hour of every bucket at a time
    (memory: the detectors' state and an hour): the stage for the next day (None after the
    last), the day's events and (the last day) the ids to retract."""
    stage = _resumed(cfg) if prev is None else prev[0]
    carry = cfg.carry
    assert carry is not None
    root = Path(cfg.root)
    manifest = Manifest.load(root)
    no_statics = read_part(root, None, "statics")
    statics = [Cursor(root / rel) for rel, f in sorted(manifest.files.items())
               if f["kind"] == "statics" and f["day"] == day]  # fmt: skip
    files = [o.files["positions"] for o in outs if "positions" in o.files]
    no_positions = arrowfile.schema(files[0]).empty_table() if files else pa.table({})
    positions = [Cursor(f) for f in files]
    cutoff = carry.until_us if last else min((day + 1) * DAY_US, cfg.watermark_us) - _window(cfg)
    found = [EVENTS_SCHEMA.empty_table()]
    end = day * DAY_US
    while end < cutoff:
        end = min(end + _HOUR_US, cutoff)
        hi = end if end < cutoff else np.iinfo(np.int64).max  # the day's last rows with it
        found.append(stage.feed(window(positions, hi, no_positions),
                                window(statics, hi, no_statics), end))  # fmt: skip
    if not last:
        return stage, pa.concat_tables(found), []
    opened, retract = stage.checkpoint()
    carry.states().save(across_name(carry.buckets), carry.until_us, stage.state())
    return None, pa.concat_tables([*found, opened]), retract


class Cursor:
    """A time-ordered file (:mod:`seawatch.engine.arrowfile`) read once, a time window
    after another."""

    def __init__(self, path: str | Path) -> None:
        self.batches = arrowfile.batches(path)
        self.rest: pa.Table | None = None

    def until(self, hi: int) -> list[pa.Table]:
        """The rows before ``hi`` µs not yet taken (rows without a time first)."""
        out: list[pa.Table] = []
        while True:
            t = self.rest
            if t is None:
                batch = next(self.batches, None)
                if batch is None:
                    return out
                t = pa.Table.from_batches([batch])
            k = int(np.searchsorted(ts_us(t), hi))
            self.rest = t.slice(k) if k < t.num_rows else None
            out.append(t.slice(0, k))
            if self.rest is not None:
                return out


def window(cursors: Sequence[Cursor], hi: int, empty: pa.Table) -> pa.Table:
    """The rows of every cursor before ``hi`` µs not yet taken, as one table."""
    parts = [t for c in cursors for t in c.until(hi)]
    return pa.concat_tables([empty, *parts], promote_options="permissive")


def _window(cfg: TaskConfig) -> int:
    """The reorder window (µs) of the buckets' pipelines."""
    if cfg.reorder_window_s is None:
        from seawatch.settings import SETTINGS

        return int(float(SETTINGS["reorder_window_s"].default) * 1e6)
    return int(cfg.reorder_window_s * 1e6)
