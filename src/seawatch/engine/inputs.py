"""Inputs merged in time order: many AIS sources in, one stream of decoded pieces out.

In: sources (file paths: NMEA, CSV, seawatch Parquet, anything
:func:`seawatch.decode.decode_stream` reads; a live feed's batches are files too). Out:
:class:`Piece` objects, each the positions and statics of one decoded batch of one input
(or a time span of it, when ``chunk_rows`` cuts a batch), with the input it came from and
its chunk number, and with each piece the time every input has reached (the engine's
watermark, before its reorder window).

Inputs are opened in the order of their first time, each only when its turn comes, and
read side by side, the piece starting first next: two receivers' files of the same hours
(a coast station's and a satellite's) interleave instead of one following the other, so
the pipeline's reorder window is enough to put them in time order. Inputs of successive
days are read one after the other, so memory is a piece per open input.

An input that cannot be read (missing, binary, a compressed file cut short) does not stop
the others: what it gave before the damage is kept, and :class:`Findings` names it with the
reason, as it does an input that held no AIS message at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawatch.decode import DecodeStats, decode_stream
from seawatch.decode.lacking import Untimed, no_ais_text
from seawatch.decode.schemas import SCHEMAS
from seawatch.engine.outputs import conform_to
from seawatch.engine.pipeline import SOURCE_ID, ts_us
from seawatch.errors import InputError

if TYPE_CHECKING:
    from seawatch.settings import Settings

__all__ = ["SOURCE_ID", "Findings", "Piece", "merged", "pieces"]

_HEAD_BYTES = 64 * 1024  # decoded to find where an input starts
_NEVER = np.iinfo(np.int64).min


@dataclass
class Piece:
    """Decoded rows of one input: a whole decoded batch (``chunk``), or a time span of one."""

    positions: pa.Table
    statics: pa.Table
    stats: DecodeStats
    """What decoding saw (on the first piece of a batch; empty on the others)."""
    source: Path | str
    chunk: int
    """The decoded batch's number within its input (0, 1, ...)."""
    last_of_chunk: bool = True
    """Whether the batch ends with this piece (a store commits a chunk then)."""

    def span(self) -> tuple[int | None, int | None]:
        """Oldest and newest time in the piece (µs), None when it has none."""
        lo: int | None = None
        hi: int | None = None
        for table in (self.positions, self.statics):
            mm: Any = pc.min_max(table.column("ts").cast(pa.int64()))
            if mm["min"].is_valid:
                lo = mm["min"].as_py() if lo is None else min(lo, mm["min"].as_py())
                hi = mm["max"].as_py() if hi is None else max(hi, mm["max"].as_py())
        return lo, hi


@dataclass
class Findings:
    """What was wrong with the inputs, one line each: ``errors`` (an input that could not
    be read, or only in part: its name in ``failed``) and ``notes`` (an input with no AIS)."""

    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)


def pieces(
    source: Path | str,
    settings: Settings,
    chunk_rows: int | None = None,
    progress: Callable[[int], None] | None = None,
    untimed: Untimed | None = None,
    findings: Findings | None = None,
    span: tuple[int, int] | None = None,
) -> Iterator[Piece]:
    """The pieces of one input, at most ``chunk_rows`` rows each (None: whole batches).

    With ``findings``, an input that cannot be read ends its pieces (after those decoded
    before the damage) and is told there, as is an input without AIS (not a ``span``: a
    range of a file, :func:`seawatch.decode.decode_stream`); without, it raises.
    """
    seen = DecodeStats()
    try:
        for piece in _pieces(source, settings, chunk_rows, progress, untimed, span):
            seen = seen.merge(piece.stats)
            yield piece
    except InputError as e:
        if findings is None:
            raise
        findings.errors.append(str(e))
        findings.failed.add(str(source))
        return
    if findings is not None and seen.messages == 0 and span is None:
        findings.notes.append(
            no_ais_text(str(source), seen.lines, seen.sentences, dict(seen.rejects))
        )


def _pieces(
    source: Path | str,
    settings: Settings,
    chunk_rows: int | None,
    progress: Callable[[int], None] | None,
    untimed: Untimed | None,
    span: tuple[int, int] | None = None,
) -> Iterator[Piece]:
    batches = decode_stream(
        source, settings=settings, progress=progress, untimed=untimed, span=span
    )
    for chunk, batch in enumerate(batches):
        pos, st = (
            conform_to(batch.tables[name], SCHEMAS[name], name)
            if name in batch.tables
            else SCHEMAS[name].empty_table()
            for name in ("positions", "statics")
        )
        if not chunk_rows or max(pos.num_rows, st.num_rows) <= chunk_rows:
            yield Piece(pos, st, batch.stats, source, chunk)
            continue
        # a batch is grouped by message type: cut it into spans of time instead
        pos, st = (t.take(np.argsort(ts_us(t), kind="stable")) for t in (pos, st))
        swap = st.num_rows > pos.num_rows  # cut the longer table by rows, the other by time
        lead, other = (st, pos) if swap else (pos, st)
        starts = list(range(0, lead.num_rows, chunk_rows))
        at = np.searchsorted(ts_us(other), ts_us(lead)[starts[1:]]).tolist()
        cuts = [0, *at, other.num_rows]
        for i, start in enumerate(starts):
            a = lead.slice(start, chunk_rows)
            b = other.slice(cuts[i], cuts[i + 1] - cuts[i])
            stats = batch.stats if i == 0 else DecodeStats()
            p, s = (b, a) if swap else (a, b)
            yield Piece(p, s, stats, source, chunk, last_of_chunk=i == len(starts) - 1)


def _start(source: Path | str, settings: Settings, untimed: Untimed | None) -> int | None:
    """Oldest time (µs) in the first batch of ``source`` with one, decoding only its head
    (None for an input that cannot be read: reading it proper will say why)."""
    head = dataclasses.replace(settings, decode_chunk_bytes=_HEAD_BYTES)
    try:
        for k, piece in enumerate(pieces(source, head, untimed=untimed)):
            start = piece.span()[0]
            if start is not None or k >= 3:
                return start
    except InputError:
        return None
    return None


class _Input:
    """One input read a piece ahead, and the newest time fed from it."""

    def __init__(self, it: Iterator[Piece]) -> None:
        self.it = it
        self.head: Piece | None = None
        self.start: int | None = None
        self.clock: int | None = None
        self.advance()

    def advance(self) -> None:
        self.head = next(self.it, None)
        self.start = None if self.head is None else self.head.span()[0]

    def take(self) -> Piece:
        assert self.head is not None
        piece, newest = self.head, self.head.span()[1]
        if newest is not None:
            self.clock = newest if self.clock is None else max(self.clock, newest)
        self.advance()
        return piece


def merged(
    sources: Sequence[Path | str],
    settings: Settings,
    chunk_rows: int | None = None,
    progress: Callable[[int], None] | None = None,
    untimed: Untimed | None = None,
    findings: Findings | None = None,
) -> Iterator[tuple[Piece, int | None]]:
    """Pieces of all inputs, the one starting first next, and the time all inputs reached.

    The time reached is the slowest open input's newest time fed (or its start), and the
    start of any input not opened yet: nothing older can come any more, so the pipeline
    may release up to it, less its reorder window. None once every input is read.
    ``untimed`` and ``findings``: as for :func:`pieces`.
    """
    waiting = (
        sorted(
            ((_start(src, settings, untimed), k, src) for k, src in enumerate(sources)),
            key=lambda w: (_NEVER if w[0] is None else w[0], w[1]),
        )
        if len(sources) > 1
        else [(None, 0, src) for src in sources]  # one input: no head to decode first
    )
    opened: list[_Input] = []
    while True:
        live = [i for i in opened if i.head is not None]
        first = min((_NEVER if i.start is None else i.start for i in live), default=None)
        if waiting and (first is None or (waiting[0][0] or _NEVER) <= first):
            src = waiting.pop(0)[2]
            opened.append(_Input(pieces(src, settings, chunk_rows, progress, untimed, findings)))
            continue
        if not live:
            return
        piece = min(live, key=lambda i: _NEVER if i.start is None else i.start).take()
        clocks = [i.clock if i.clock is not None else i.start for i in opened if i.head]
        clocks += [w[0] for w in waiting]
        yield piece, (None if not clocks else min(_NEVER if c is None else c for c in clocks))
