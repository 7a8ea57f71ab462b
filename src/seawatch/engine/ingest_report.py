"""What an ingest did, in counts: :class:`IngestReport` (kept by the store sink,
:class:`seawatch.engine.store_sink.StoreSink`, and returned by every ingest)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from seawatch.engine.run import EngineReport

__all__ = ["IngestReport"]


@dataclass
class IngestReport:
    """What an ingest did, in counts; ``engine``: the engine's own (late rows, events...)."""

    inputs: int = 0
    skipped_inputs: int = 0
    chunks: int = 0
    skipped_chunks: int = 0
    read: dict[str, int] = field(default_factory=lambda: {"positions": 0, "statics": 0})
    stored: dict[str, int] = field(
        default_factory=lambda: {
            "positions": 0,
            "statics": 0,
            "events": 0,
            "segments": 0,
            "zones": 0,
            "alerts": 0,
        }
    )
    unlabelled: int = 0
    retracted: int = 0
    """Events a previous run left open and this one found were none (removed)."""
    late: int = 0
    """Positions too late for the pipeline (stored as read, without a track)."""
    rerun: Any = None
    """With daily runs and rows of past days: :class:`seawatch.engine.late.Rerun`."""
    engine: EngineReport = field(default_factory=EngineReport)

    def summary(self, new: Mapping[str, int] | None = None) -> str:
        """One line: what was read and what the store gained.

        Positions and statics are inserted once (a row already stored is not counted);
        segments and events replace the stored ones by key, so what was written is not what
        is new: ``new`` is the rows each of those tables gained (counted by the caller
        before and after). With it, a run that stored nothing new says "segments and events
        unchanged"."""
        st = self.stored
        derived = ""
        if new is not None and not (st["positions"] or st["statics"]) and not any(new.values()):
            derived = "; segments and events unchanged" if st["segments"] or st["events"] else ""
        elif new is not None:
            derived = f"; {new.get('segments', 0)} new segments, {new.get('events', 0)} new events"
            rewritten = st["segments"] - new.get("segments", 0), st["events"] - new.get("events", 0)
            if any(n > 0 for n in rewritten):
                derived += f" ({rewritten[0]} segments, {rewritten[1]} events rewritten)"
        elif st["segments"] or st["events"]:
            derived = f"; {st['segments']} segments, {st['events']} events written"
        return (
            f"{self.inputs} input(s) ({self.skipped_inputs} already stored), "
            f"{self.chunks} chunk(s) ({self.skipped_chunks} already stored); "
            f"read {self.read['positions']} positions, {self.read['statics']} statics; "
            f"stored {st['positions']} new positions (of {self.read['positions']} read), "
            f"{st['statics']} new statics"
            + derived
            + (f", {st['zones']} zones" if st["zones"] else "")
            + (f"; {st['alerts']} alerts fired" if st["alerts"] else "")
            + self._rerun_text()
            + (f"; {self.unlabelled} derived rows not labellable" if self.unlabelled else "")
            + (
                f"; {self.late} positions came too late to put in time order: stored without "
                "a track (raise reorder_window_s or sort the inputs)"
                if self.late
                else ""
            )
        )

    def _rerun_text(self) -> str:
        r = self.rerun
        if r is None or not r.days:
            return ""
        start = "the first" if r.first_us is None else datetime.fromtimestamp(
            r.first_us / 1e6, UTC).strftime("%Y-%m-%dT%H:%MZ")  # fmt: skip
        chains = f", {r.buckets} (run, bucket) chains" if r.buckets else ""
        return (f"; rows of past days: {r.days} day(s) run again from {start}{chains} "
                f"({r.changed['positions']} positions, {r.changed['events']} events, "
                f"{r.changed['segments']} segments written, {r.changed['removed']} events "
                "removed)")  # fmt: skip
