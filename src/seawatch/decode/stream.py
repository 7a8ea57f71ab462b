"""The decoder's public face: any source in, batches of Arrow tables and counts out.

:func:`decode_stream` reads a source chunk by chunk (memory stays bounded), runs the
compiled scanner (:mod:`seawatch.decode.nmea`) and the table builder
(:mod:`seawatch.decode.tables`) on each chunk, and yields a :class:`Batch` per chunk.
Already-decoded inputs (CSV, gpsd JSON, seawatch Parquet) are recognised and read by
:mod:`seawatch.decode.tabular` into the same tables. Bad input never raises: it is
counted by reason in :class:`DecodeStats` and, when asked, written to a quarantine file.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, BinaryIO

import numpy as np
import pyarrow as pa

from seawatch.decode import nmea
from seawatch.decode import reassembly as ra
from seawatch.decode.lacking import Untimed, count_lines, mark_assumed
from seawatch.decode.sentence import census
from seawatch.decode.stats import DecodeStats
from seawatch.decode.tables import Messages, build, min_bits_by_type
from seawatch.decode.timeparse import NO_TIME
from seawatch.decode.workspace import Workspace
from seawatch.errors import DecodeError, InputError
from seawatch.settings import Settings, load_settings
from seawatch.sources.files import (
    SkippedBytes,
    Source,
    TruncatedError,
    chunks,
    open_binary,
    peek_head,
    source_chunks,
)
from seawatch.sources.ranges import open_range

log = logging.getLogger(__name__)

_BINARY_PROBE = 8192  # bytes of an input's head looked at for NUL bytes (binary data)


@dataclass(frozen=True)
class Batch:
    """The tables decoded from one chunk of input, and its counts."""

    tables: dict[str, pa.Table]
    stats: DecodeStats


class NmeaDecoder:
    """Stateful NMEA decoder: feed chunks of whole lines, then :meth:`finish`.

    State that spans chunks (fragments waiting for their message, the last GPS time,
    the line count) lives here, so chunk boundaries do not change the result.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        keep_raw: bool | None = None,
        quarantine: IO[bytes] | None = None,
        untimed: Untimed | None = None,
        lines: int | None = None,
    ) -> None:
        s = settings or load_settings()
        self.untimed = untimed
        self.step_us = untimed.step_us(lines) if untimed is not None else 0.0
        self.keep_raw = s.decode_keep_raw if keep_raw is None else keep_raw
        # raw sentences are also needed to quarantine messages no layout decodes
        self.capture_raw = self.keep_raw or quarantine is not None
        self.max_line = s.decode_max_line_bytes
        self.timeout_us = int(s.decode_orphan_timeout_s * 1e6)
        self.timeout_lines = max(1000, s.decode_max_pending_fragments * 10)
        self.quarantine = quarantine
        self.pending = ra.Pending.empty(s.decode_max_pending_fragments)
        self.state = nmea.new_state()
        self.min_bits = min_bits_by_type()
        self.line_no = 0
        self.workspace = Workspace()

    def feed(self, chunk: bytes) -> Batch:
        buf = np.frombuffer(chunk, np.uint8)
        n = len(buf)
        n_lines, n_bang, n_records = census(buf)
        p = self.pending
        held = p.held_bytes
        ws = self.workspace
        msg = ws.get("msg", (nmea.N_M, n_bang + 1), np.int64)
        pay = ws.get("pay", (n // 10 + n_bang + held // 10 + 2,), np.uint64)
        station = ws.get("station", ((n_bang + 1) * ra.STATION_BYTES,), np.uint8)
        raw = ws.get("raw", (n + held + n_bang + 1 if self.capture_raw else 1,), np.uint8)
        n_rej = n_lines + n_records + p.meta.shape[0] * ra.MAX_FRAGMENTS + 1
        rej = ws.get("rej", (n_rej, 4), np.int64)
        rejbuf = ws.get("rejbuf", (n + held + 1,), np.uint8)
        counts = np.zeros(nmea.N_C, np.int64)
        nm, npay, nst, nraw, nr, nrb = nmea.scan(
            buf,
            self.line_no,
            self.max_line,
            self.min_bits,
            self.timeout_us,
            self.timeout_lines,
            self.capture_raw,
            self.state,
            p.meta,
            p.payload,
            p.payload_len,
            p.raw,
            p.raw_len,
            p.station,
            p.used,
            msg,
            pay,
            station,
            raw,
            rej,
            rejbuf,
            counts,
        )
        self.line_no += int(counts[nmea.C_LINES])
        ts = msg[nmea.M_TS, :nm]
        missing = ts == NO_TIME
        assumed = None
        if self.untimed is not None and missing.any():
            assumed = msg[nmea.M_LINE, :nm][
                self.untimed.stamp(ts, msg[nmea.M_LINE, :nm], self.step_us)
            ]
        messages = Messages(msg[:, :nm], pay[:npay], station[:nst], raw[:nraw], self.keep_raw)
        batch = self._batch(n, messages, rej[:nr], rejbuf[:nrb], counts)
        n_missing = int(missing.sum())
        if not n_missing:
            return batch
        tables = batch.tables if assumed is None else mark_assumed(batch.tables, assumed)
        stats = replace(batch.stats, untimed=n_missing, assumed=0 if assumed is None else n_missing)
        return Batch(tables, stats)

    def finish(self) -> Batch:
        p = self.pending
        rej = np.empty((p.count * ra.MAX_FRAGMENTS + 1, 4), np.int64)
        rejbuf = np.empty(p.held_bytes + 1, np.uint8)
        nr, nrb = nmea.flush(p.meta, p.payload_len, p.raw, p.raw_len, p.used, rej, rejbuf)
        empty = Messages(
            np.empty((nmea.N_M, 0), np.int64),
            np.empty(0, np.uint64),
            np.empty(0, np.uint8),
            np.empty(0, np.uint8),
            self.keep_raw,
        )
        return self._batch(0, empty, rej[:nr], rejbuf[:nrb], np.zeros(nmea.N_C, np.int64))

    def _batch(
        self,
        nbytes: int,
        messages: Messages,
        rej: np.ndarray,
        rejbuf: np.ndarray,
        counts: np.ndarray,
    ) -> Batch:
        tables, unmatched_rows = (
            build(messages, self.workspace) if messages.count else ({}, np.zeros(0, np.int64))
        )
        unmatched = len(unmatched_rows)
        reasons = np.bincount(rej[:, 1], minlength=len(nmea.REASONS)) if len(rej) else None
        rejects = (
            {} if reasons is None else {nmea.REASONS[i]: int(c) for i, c in enumerate(reasons) if c}
        )
        if unmatched:
            rejects["unknown_subtype"] = rejects.get("unknown_subtype", 0) + unmatched
        by_type: dict[int, int] = {}
        if messages.count:
            types = (messages.pay[messages.msg[nmea.M_START]] >> np.uint64(58)).astype(np.int64)
            by_type = {int(t): int(c) for t, c in enumerate(np.bincount(types)) if c}
        if self.quarantine is not None and len(rej):
            self._quarantine(rej, rejbuf)
        if self.quarantine is not None and unmatched:
            self._quarantine_messages(messages, unmatched_rows, nmea.UNKNOWN_SUBTYPE)
        stats = DecodeStats(
            bytes=nbytes,
            lines=int(counts[nmea.C_LINES]),
            sentences=int(counts[nmea.C_SENTENCES]),
            messages=messages.count - unmatched,
            other_sentences=int(counts[nmea.C_OTHER]),
            skipped_lines=int(counts[nmea.C_SKIPPED]),
            empty_fragments=int(counts[nmea.C_EMPTY_FRAGMENTS]),
            reordered=int(counts[nmea.C_REORDERED]),
            by_type=by_type,
            rejects=rejects,
        )
        return Batch(tables, stats)

    def _quarantine_messages(self, m: Messages, rows: np.ndarray, reason: int) -> None:
        """Quarantine assembled messages (by index), with their raw sentences."""
        msg = m.msg[:, rows]
        rej = np.stack(
            [
                msg[nmea.M_LINE],
                np.full(len(rows), reason, np.int64),
                msg[nmea.M_RAW_START],
                msg[nmea.M_RAW_LEN],
            ],
            axis=1,
        )
        self._quarantine(rej, m.raw)

    def _quarantine(self, rej: np.ndarray, rejbuf: np.ndarray) -> None:
        assert self.quarantine is not None
        data = rejbuf.tobytes()
        out = []
        for line, reason, start, length in rej.tolist():
            out.append(b"%d\t%s\t" % (line, nmea.REASONS[reason].encode()))
            out.append(data[start : start + length].replace(b"\n", b"\\n"))
            out.append(b"\n")
        self.quarantine.write(b"".join(out))


def decode_stream(
    source: Source,
    *,
    keep_raw: bool | None = None,
    quarantine: IO[bytes] | None = None,
    settings: Settings | None = None,
    progress: Callable[[int], object] | None = None,
    untimed: Untimed | None = None,
    span: tuple[int, int] | None = None,
) -> Iterator[Batch]:
    """Decode ``source`` chunk by chunk; see the module docstring.

    ``source`` is a path (``-`` for stdin; plain, .gz, .bz2 or .zst; NMEA or a decoded
    table format, recognised by content), a binary file object, bytes, or an iterable of
    lines. ``progress(n)`` is called with the input bytes consumed after each chunk.
    ``untimed``: times assumed for messages without one (:mod:`seawatch.decode.lacking`).
    Raises :class:`seawatch.errors.InputError` only when the source cannot be read (a
    binary file is one): a compressed input that ends early raises it after the batches
    decoded before the damage, naming the input, how much was read and where it broke.
    ``span``: only bytes ``start`` to ``end`` of a plain NMEA file (a range cut between
    messages, :mod:`seawatch.sources.ranges`), decoded as if they were the whole file
    (``line_no`` counts from the range's first line).
    """
    s = settings or load_settings()
    if span is not None:
        if not isinstance(source, str | Path) or untimed is not None:
            raise ValueError("a span is of a file path, and without assumed times")
        with open_range(source, *span) as f:
            parts = chunks(f, s.decode_chunk_bytes, s.decode_max_line_bytes + 1)
            yield from _nmea(parts, s, keep_raw, quarantine, progress)
        return
    if isinstance(source, str | Path):
        lines = count_lines(source) if untimed is not None and untimed.end_us else None
        f = open_binary(source)
        with f:
            fmt = _sniff(f, str(source))
            if fmt != "nmea":
                yield from _tabular(f, fmt, str(source), progress, s.csv_columns)
                return
            parts = chunks(f, s.decode_chunk_bytes, s.decode_max_line_bytes + 1)
            try:
                yield from _nmea(parts, s, keep_raw, quarantine, progress, untimed, lines)
            except TruncatedError as e:
                raise InputError(f"{source}: {e}") from e
        return
    parts = source_chunks(source, s.decode_chunk_bytes, s.decode_max_line_bytes + 1)
    yield from _nmea(parts, s, keep_raw, quarantine, progress, untimed)


def _nmea(
    parts: Iterator[bytes | SkippedBytes],
    s: Settings,
    keep_raw: bool | None,
    quarantine: IO[bytes] | None,
    progress: Callable[[int], object] | None,
    untimed: Untimed | None = None,
    lines: int | None = None,
) -> Iterator[Batch]:
    dec = NmeaDecoder(s, keep_raw=keep_raw, quarantine=quarantine, untimed=untimed, lines=lines)
    skipped = 0  # tail bytes of over-long lines, counted with the next batch
    held: Batch | None = None  # the last batch, yielded once the input's end is known
    while True:
        try:
            chunk = next(parts)
        except StopIteration:
            break
        except Exception:  # the input broke (cut short): what came before it goes first
            if held is not None:
                yield held
            raise
        if isinstance(chunk, SkippedBytes):
            skipped += chunk
            if progress is not None:
                progress(max(int(chunk), 0))
            continue
        if held is not None:
            yield held
        held = _with_skipped(dec.feed(chunk), skipped)
        if progress is not None:
            progress(len(chunk))
        skipped = 0
    end = _with_skipped(dec.finish(), skipped)
    if held is not None and not any(t.num_rows for t in end.tables.values()):
        # what the end adds (counts only) goes with the last batch: one batch, one commit
        yield Batch(held.tables, held.stats.merge(end.stats))
        return
    if held is not None:
        yield held
    yield end


def _with_skipped(batch: Batch, skipped: int) -> Batch:
    if not skipped:
        return batch
    return Batch(batch.tables, replace(batch.stats, bytes=batch.stats.bytes + skipped))


def input_format(path: str | Path) -> str:
    """``nmea`` or the table format (``csv``, ``parquet``, ...) of the input at ``path``."""
    with open_binary(path) as f:
        return _sniff(f, str(path))


def _sniff(f: BinaryIO, name: str) -> str:
    try:
        from seawatch.decode.tabular import sniff_format
    except ImportError:  # pragma: no cover - tabular readers not installed
        return "nmea"
    head = peek_head(f)
    try:
        fmt = sniff_format(head, name)
    except (ValueError, UnicodeError, csv.Error):  # not a table: NMEA text, or binary
        fmt = "unknown"
    if fmt == "unknown" and b"\x00" in head[:_BINARY_PROBE]:
        raise DecodeError(
            f"{name}: not AIS (binary data: NUL bytes in the first "
            f"{min(len(head), _BINARY_PROBE):,} bytes, starts {head[:4].hex(' ')}); "
            "give NMEA text, CSV/JSON tables or seawatch Parquet"
        )
    return "nmea" if fmt == "unknown" else fmt


def _tabular(
    f: BinaryIO,
    fmt: str,
    name: str,
    progress: Callable[[int], object] | None,
    columns: str = "",
) -> Iterator[Batch]:
    from seawatch.decode.tabular import read_tabular

    done = 0
    for tb in read_tabular(f, fmt, name=name, columns=columns):
        # a row is one message; a table of statics only (no positions) counts its rows
        rows = sum(t.num_rows for k, t in tb.tables.items() if k == "positions") or sum(
            t.num_rows for k, t in tb.tables.items() if k == "statics"
        )
        by_type: Counter[int] = Counter()
        for t in tb.tables.values():
            if "msg_type" in t.column_names:
                vals = t.column("msg_type").drop_null().to_numpy()
                kinds, counts = np.unique(vals, return_counts=True)
                by_type.update({int(k): int(c) for k, c in zip(kinds, counts, strict=True)})
        stats = DecodeStats(
            lines=tb.rows,
            sentences=tb.rows,
            messages=rows,
            by_type=dict(by_type),
            rejects=dict(tb.rejects),
        )
        if progress is not None:
            try:
                pos = f.tell()
            except (OSError, ValueError):
                pos = done
            progress(pos - done)
            done = pos
        yield Batch(tb.tables, stats)


def decode(source: Source, **kwargs: object) -> tuple[dict[str, pa.Table], DecodeStats]:
    """Decode everything into memory: concatenated tables and total counts (for small inputs)."""
    tables: dict[str, list[pa.Table]] = {}
    total = DecodeStats()
    for batch in decode_stream(source, **kwargs):  # type: ignore[arg-type]
        total = total.merge(batch.stats)
        for name, t in batch.tables.items():
            tables.setdefault(name, []).append(t)
    return {k: pa.concat_tables(v) for k, v in tables.items()}, total
