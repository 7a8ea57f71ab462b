"""The decode tasks of a partitioned write: one per input, or one per range of a big one.

In: the inputs, the settings (``decode_range_bytes``) and the times assumed for untimed
messages. Out: :func:`plan`, the tasks (each an input's position and its byte span, None
for the whole input); :func:`redo`, the inputs to decode whole after all; and
:func:`per_input`, the tasks' counts and findings put together per input, as one task
would have told them.

A plain NMEA file bigger than ``decode_range_bytes`` is cut into ranges between messages
(:func:`seawatch.sources.ranges.line_ranges`), decoded side by side: a global hour in one
file would otherwise be one task on one core while the others wait. Each line is in one
range, so the counts add up to the whole file's. Not cut: compressed files, table formats
(CSV, Parquet, ...), and inputs given assumed times (``--untimed`` times a message by its
line number in the file). A file whose ranges (but the last) hold ``$`` sentences
(``$GPRMC``, ``$GPZDA``, ``$PGHP``, whose times the decoder carries to the AIS sentences
after them) is decoded whole again (:func:`redo`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from seawatch.decode import DecodeStats
from seawatch.decode.lacking import Untimed, no_ais_text
from seawatch.decode.stream import input_format
from seawatch.engine.inputs import Findings
from seawatch.errors import SeawatchError
from seawatch.sources.ranges import line_ranges

if TYPE_CHECKING:
    from seawatch.settings import Settings

__all__ = ["Task", "per_input", "plan", "redo"]

Task = tuple[int, tuple[int, int] | None]
"""An input's position among the inputs, and its byte span (None: all of it)."""


class _Told(Protocol):
    stats: DecodeStats
    findings: Findings
    carries: bool


def plan(sources: Sequence[str | Path], settings: Settings, untimed: Untimed | None) -> list[Task]:
    """The decode tasks of ``sources``, in input order (a file's ranges in file order)."""
    tasks: list[Task] = []
    for k, src in enumerate(sources):
        spans = _spans(src, settings.decode_range_bytes) if untimed is None else []
        tasks += [(k, span) for span in spans] if len(spans) > 1 else [(k, None)]
    return tasks


def _spans(src: str | Path, range_bytes: int) -> list[tuple[int, int]]:
    try:
        if str(src) == "-" or os.path.getsize(src) <= range_bytes:
            return []
        if input_format(src) != "nmea":
            return []
        return line_ranges(src, range_bytes)
    except (OSError, SeawatchError):  # unreadable: its task will tell why
        return []


def redo(tasks: Sequence[Task], told: Sequence[_Told]) -> list[int]:
    """The inputs cut into ranges one of which, but the last, holds ``$`` sentences."""
    last = {k: span for k, span in tasks}  # each input's last range
    return sorted({k for (k, span), t in zip(tasks, told, strict=True)
                   if t.carries and span != last[k]})  # fmt: skip


def per_input(
    sources: Sequence[str | Path], tasks: Sequence[Task], told: Sequence[_Told]
) -> list[tuple[DecodeStats, Findings]]:
    """Each input's counts and findings, from its tasks' (a file's ranges told once)."""
    out = [(DecodeStats(), Findings()) for _ in sources]
    split = {k for k, span in tasks if span is not None}
    for (k, _), t in zip(tasks, told, strict=True):
        stats, found = out[k]
        found.errors += [e for e in t.findings.errors if e not in found.errors]
        found.notes += t.findings.notes
        found.failed |= t.findings.failed
        out[k] = (stats.merge(t.stats), found)
    for k in sorted(split):
        stats, found = out[k]
        if stats.messages == 0 and not found.failed:
            name = str(sources[k])
            found.notes.append(no_ais_text(name, stats.lines, stats.sentences, dict(stats.rejects)))
    return out
