"""What an input may lack, and what to do about it: receive times, or AIS at all.

In: decoded messages without a receive time (no tag block ``c:``, no timestamp column,
no ``$PGHP``/RMC/ZDA before them), or an input's :class:`~seawatch.decode.DecodeStats`.
Out: :class:`Untimed`, the assumed-time window given with ``--untimed START[,END]`` and the
times it stamps; the one-line messages every command prints about such inputs.

Assumed times: line ``k`` of an input (1-based, counting every line) is stamped
``START + (k - 1) * step``, where ``step`` spreads the input's lines evenly from START to
END when END is given (the capture's known window; the lines are counted first) and is
one second without END. Only messages without a time of their own are stamped; their
rows get ``station`` :data:`ASSUMED_STATION` when the input named no station (a station
the input named, which label rules may match as ``feed``, is kept), and the store's
``ingest_log`` names the window in ``input``. Live feeds never need this: each line is
stamped with its arrival time as it is received (:func:`seawatch.sources.feed.stamp_lines`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.decode.timeparse import NO_TIME, US
from seawatch.errors import ConfigError, InputError
from seawatch.sources.files import TruncatedError, open_binary

__all__ = [
    "ASSUMED_STATION",
    "Untimed",
    "count_lines",
    "mark_assumed",
    "no_ais_text",
    "untimed_text",
]

ASSUMED_STATION = "ts-assumed"
"""``station`` of rows whose receive time was assumed (``--untimed``) and named none."""


def _instant(text: str) -> int:
    try:
        t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--untimed: {text!r} is not ISO 8601 (e.g. 2024-03-01T10:00:00Z)"
        ) from None
    if t.tzinfo is None:
        raise ConfigError(f"--untimed: {text!r} has no time zone; add Z for UTC")
    return int(t.timestamp()) * US + t.microsecond


@dataclass(frozen=True)
class Untimed:
    """The window assumed for messages without a receive time (µs since the epoch, UTC)."""

    start_us: int
    end_us: int | None = None

    @classmethod
    def parse(cls, text: str) -> Untimed:
        """``START`` or ``START,END`` (ISO 8601 with a time zone, e.g. ``...Z``)."""
        parts = text.split(",")
        if len(parts) > 2:
            raise ConfigError(f"--untimed: give START or START,END, not {text!r}")
        start = _instant(parts[0])
        end = _instant(parts[1]) if len(parts) == 2 else None
        if end is not None and end <= start:
            raise ConfigError(f"--untimed: END must come after START in {text!r}")
        return cls(start, end)

    def describe(self) -> str:
        def iso(us: int) -> str:
            return dt.datetime.fromtimestamp(us / US, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        end = f" to {iso(self.end_us)}" if self.end_us is not None else ", 1 line/s"
        return f"receive times assumed from {iso(self.start_us)}{end}"

    def step_us(self, lines: int | None) -> float:
        """Time between successive lines of an input of ``lines`` lines."""
        if self.end_us is None:
            return float(US)
        return (self.end_us - self.start_us) / max((lines or 1) - 1, 1)

    def stamp(self, ts: np.ndarray, line: np.ndarray, step_us: float) -> np.ndarray:
        """Stamp ``ts`` in place where it is :data:`NO_TIME`; the mask of those stamped."""
        missing: np.ndarray = ts == NO_TIME
        if missing.any():
            offset = (line[missing] - 1).astype(np.float64) * step_us
            ts[missing] = self.start_us + np.rint(offset).astype(np.int64)
        return missing


def mark_assumed(tables: dict[str, pa.Table], lines: np.ndarray) -> dict[str, pa.Table]:
    """Rows of the messages on ``lines`` (stamped with assumed times) marked in ``station``
    where the input named none."""
    out = {}
    at = pa.array(lines)
    for name, t in tables.items():
        if "station" in t.column_names and "line_no" in t.column_names:
            hit = pc.and_(
                pc.is_in(t.column("line_no"), value_set=at), pc.is_null(t.column("station"))
            )
            if pc.any(hit).as_py():
                k = t.column_names.index("station")
                col = pc.if_else(hit, pa.scalar(ASSUMED_STATION), t.column("station"))
                t = t.set_column(k, t.field(k), col)
        out[name] = t
    return out


def count_lines(source: str | Path) -> int:
    """Lines of the input at ``source`` (decompressed; up to any damage)."""
    if str(source) == "-":
        raise InputError(
            "--untimed START,END counts the input's lines first, which stdin cannot be read "
            "twice for: give START only, or save the input to a file"
        )
    n = 0
    with open_binary(source) as f:
        try:
            while block := f.read(1 << 20):
                n += block.count(b"\n")
        except TruncatedError:
            pass
        except (OSError, EOFError):
            pass
    return n


def untimed_text(n: int, what: str = "not stored") -> str:
    """The line a command prints when ``n`` messages had no receive time."""
    return (
        f"{n:,} messages have no receive time (no tag block c:, no timestamp column): "
        f"{what}; give --untimed START[,END] to assume times for them"
    )


def no_ais_text(name: str, lines: int, sentences: int, rejects: dict[str, int]) -> str:
    """The line saying an input held no AIS message, and what it held instead."""
    if lines == 0:
        return f"{name}: no AIS messages (0 lines)"
    if sentences == 0:
        return f"{name}: no AIS messages in {lines:,} lines (not NMEA !AIVDM, not a known table)"
    top = ", ".join(f"{k} {v:,}" for k, v in sorted(rejects.items(), key=lambda kv: -kv[1])[:3])
    return (
        f"{name}: no AIS messages in {lines:,} lines ({sentences:,} AIS sentences, "
        f"all rejected: {top})"
    )
