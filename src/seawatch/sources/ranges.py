"""Byte ranges of a big input file, cut between messages: each decoded on its own.

In: a path and a range size (the settings' ``decode_range_bytes``). Out:
:func:`line_ranges`, the (start, end) byte offsets of ranges of about that size that
together are the file, each cut at the start of a line that no message spans: the
fragments of a multi-sentence message (a static and voyage report, type 5, is two NMEA
lines) and the lines of a tag-block group (``g:1-2-42003``) are all in one range, so a
range decoded alone gives the messages and the counts (bad lines, orphan fragments) the
whole file gives for its lines; :func:`open_range` reads one; :func:`carries_time`, whether
a range holds ``$`` sentences, whose times (``$GPRMC``, ``$GPZDA``, ``$PGHP``) the decoder
carries to the AIS sentences after them, so that the ranges after it cannot be decoded
alone.

A cut is looked for from its nominal offset on: the first line start where no message
begun in the :data:`~seawatch.sources.fragments.TAIL_LINES` lines before it (or since) is
still waiting for a fragment, a fragment waiting longer counting as an orphan (the
fragments of one message come within a few lines of each other in practice). Only plain
files are cut: a compressed one is a single range.
"""

from __future__ import annotations

import io
import itertools
import os
from pathlib import Path
from typing import Any, BinaryIO

from seawatch.sources.fragments import TAIL_LINES, fragment_of

__all__ = ["carries_time", "line_ranges", "open_range"]

_LOOK_BYTES = 256 * 1024  # bytes read on either side of a nominal cut
_MAGIC = (b"\x1f\x8b", b"BZh", b"\x28\xb5\x2f\xfd")  # gzip, bzip2, zstd


def line_ranges(path: str | Path, range_bytes: int) -> list[tuple[int, int]]:
    """The ranges of ``path``, about ``range_bytes`` each; see the module docstring."""
    size = os.stat(path).st_size
    if size <= range_bytes:
        return [(0, size)]
    cuts = [0]
    with open(path, "rb") as f:
        if f.read(4).startswith(_MAGIC):
            return [(0, size)]
        for nominal in range(range_bytes, size, range_bytes):
            cut = _cut(f, nominal)
            if cut is not None and cuts[-1] < cut < size:
                cuts.append(cut)
    cuts.append(size)
    return list(itertools.pairwise(cuts))


def _cut(f: BinaryIO, nominal: int) -> int | None:
    """The first line start at or after ``nominal`` that no message spans (None: none
    within :data:`_LOOK_BYTES`)."""
    lo = max(0, nominal - _LOOK_BYTES)
    f.seek(lo)
    data = f.read(nominal - lo + _LOOK_BYTES)
    at = 0 if lo == 0 else data.find(b"\n") + 1  # the first whole line
    if at <= 0 and lo > 0:  # no line starts in the bytes read
        return None
    back = data.rfind(b"\n", 0, max(nominal - lo, 0))  # TAIL_LINES lines before nominal
    for _ in range(TAIL_LINES):
        if back <= at:
            break
        back = data.rfind(b"\n", at, back)
    at = max(at, back + 1)
    waiting: dict[bytes, tuple[set[int], int]] = {}  # key → (fragments seen, first line)
    line = 0
    while True:
        end = data.find(b"\n", at)
        if end < 0:
            return None
        if lo + at >= nominal:
            waiting = {k: w for k, w in waiting.items() if line - w[1] <= TAIL_LINES}
            if not waiting:
                return lo + at
        frag = fragment_of(data[at:end].rstrip(b"\r"))
        if frag is not None:  # fragments may come in any order (the decoder's too)
            count, number, key = frag
            seen = waiting.get(key)
            if seen is None or number in seen[0]:
                seen = waiting[key] = (set(), line)
            seen[0].add(number)
            if len(seen[0]) >= count:
                del waiting[key]
        at, line = end + 1, line + 1


class _Span(io.RawIOBase):
    """Bytes ``start`` to ``end`` of a file."""

    def __init__(self, path: str | Path, start: int, end: int) -> None:
        self._f = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._f.seek(start)
        self._left = end - start

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = min(len(b), self._left)
        if n <= 0:
            return 0
        got = self._f.readinto(memoryview(b)[:n])
        self._left -= got
        return got

    def close(self) -> None:
        self._f.close()
        super().close()


def open_range(path: str | Path, start: int, end: int) -> BinaryIO:
    """Bytes ``start`` to ``end`` of ``path``, as a buffered reader."""
    return io.BufferedReader(_Span(path, start, end), 1 << 20)


def carries_time(path: str | Path, start: int, end: int) -> bool:
    """Whether bytes ``start`` to ``end`` of ``path`` hold a ``$`` (a sentence whose time
    the decoder may carry to the AIS sentences after it)."""
    with open_range(path, start, end) as f:
        while block := f.read(1 << 22):
            if b"$" in block:
                return True
    return False
