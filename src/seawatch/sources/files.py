"""Byte sources: files (plain, gzip, bzip2, zstd), file objects, bytes, line iterables.

Out: an iterator of byte chunks that each end on a line boundary, of about
``chunk_bytes`` each, so memory stays bounded whatever the input size. Compression is
recognised by its magic bytes, not the file name.
"""

from __future__ import annotations

import bz2
import gzip
import io
import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

import zstandard

from seawatch.errors import InputError

log = logging.getLogger(__name__)

Source = str | Path | bytes | bytearray | IO[bytes] | Iterable[str] | Iterable[bytes]

_GZIP = b"\x1f\x8b"
_BZIP2 = b"BZh"
_ZSTD = b"\x28\xb5\x2f\xfd"


def open_binary(path: str | Path) -> BinaryIO:
    """Open ``path`` (``-`` = stdin) for reading, decompressing transparently."""
    if str(path) == "-":
        return _decompressing(sys.stdin.buffer)
    p = Path(path)
    try:
        f = p.open("rb")
    except FileNotFoundError:
        raise InputError(f"{p}: no such file; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory; pass the files inside it") from None
    except PermissionError:
        raise InputError(f"{p}: permission denied; check the file's permissions") from None
    except OSError as e:
        raise InputError(f"{p}: cannot be read ({e.strerror})") from None
    return _decompressing(f)


class _Decompressed(io.BufferedReader):
    """A buffered, peekable decompressing reader that closes the file beneath it too."""

    def __init__(self, inner: IO[bytes], underlying: IO[bytes]) -> None:
        super().__init__(inner)  # type: ignore[arg-type]
        self._underlying = underlying

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._underlying.close()


def _decompressing(f: IO[bytes]) -> BinaryIO:
    raw = f if isinstance(f, io.BufferedReader) else io.BufferedReader(f)  # type: ignore[arg-type,type-var]
    head = raw.peek(4)[:4]
    inner: Any
    if head.startswith(_GZIP):
        inner = _Read1(gzip.GzipFile(fileobj=raw, mode="rb"))
    elif head.startswith(_BZIP2):
        inner = _Read1(bz2.BZ2File(raw, "rb"))
    elif head.startswith(_ZSTD):
        inner = _ZstdFrames(raw)
    else:
        return raw
    return _Decompressed(inner, raw)


class _Read1(io.RawIOBase):
    """A decompressing file read a decompressed block at a time (``read1``): its ``read(n)``
    would drop the part of ``n`` it had when it meets damage; this hands that part on first."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._inner.read1(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


class _ZstdFrames(io.RawIOBase):
    """zstd frames one after the other, decompressed; an input that ends inside a frame
    raises (``stream_reader`` would end quietly there, hiding a cut-short file)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._dec: Any = None
        self._out = b""
        self._at = 0  # how much of _out was handed out

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while self._at >= len(self._out):
            self._out, self._at = b"", 0
            block = self._raw.read(1 << 17)
            if not block:
                if self._dec is not None and not self._dec.eof:
                    raise zstandard.ZstdError("compressed data ended inside a zstd frame")
                return 0
            while block:
                if self._dec is None or self._dec.eof:
                    self._dec = zstandard.ZstdDecompressor().decompressobj()
                self._out += self._dec.decompress(block)
                block = self._dec.unused_data if self._dec.eof else b""
        n = min(len(b), len(self._out) - self._at)
        b[:n] = self._out[self._at : self._at + n]
        self._at += n
        return n


def peek_head(f: BinaryIO, n: int = 65536) -> bytes:
    """First ``n`` bytes without consuming them (``f`` must be a buffered reader)."""
    peek = getattr(f, "peek", None)
    if peek is not None:
        data: bytes = peek(n)
        return data[:n]
    return b""


class TruncatedError(InputError):
    """A compressed input that ends early (cut short or corrupt): what came before it was
    read. ``bytes_read``: decompressed bytes; ``lines``: whole lines before the damage."""

    def __init__(self, reason: str, bytes_read: int, lines: int) -> None:
        self.reason, self.bytes_read, self.lines = reason, bytes_read, lines
        super().__init__(
            f"compressed data ends early after {_size(bytes_read)} (line {lines + 1:,}): "
            f"kept the {lines:,} lines before it ({reason})"
        )


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"


def _read(f: BinaryIO, n: int, read: int, lines: int) -> tuple[bytes, TruncatedError | None]:
    """Up to ``n`` bytes of ``f``, a decompressed block at a time (``read1``) so that damage
    further on loses none of what came before it; and the damage, if the input ended there."""
    read1 = getattr(f, "read1", f.read)
    parts: list[bytes] = []
    got = 0
    while got < n:
        try:
            part = read1(min(n - got, 1 << 20))
        except (OSError, EOFError, zstandard.ZstdError) as e:
            data = b"".join(parts)
            before = lines + data.count(b"\n")
            return data, TruncatedError(str(e) or type(e).__name__, read + len(data), before)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts), None


class SkippedBytes(int):
    """Input bytes :func:`chunks` skipped (the tail of an over-long line), for the counts."""


def chunks(
    f: BinaryIO, chunk_bytes: int, long_line: int | None = None
) -> Iterator[bytes | SkippedBytes]:
    """Chunks of whole lines (the last one may lack its final newline).

    Memory stays bounded even without newlines: a line longer than
    ``limit = max(chunk_bytes, long_line)`` is cut to its first ``limit`` bytes and a
    newline (give ``long_line`` above the decoder's longest accepted line, so the cut line
    is still rejected as too long); the rest of it is skipped and reported as
    :class:`SkippedBytes`, so byte counts still add up to the input size.
    """
    limit = max(chunk_bytes, long_line or 0)
    rest = b""
    skipping = False  # inside the remainder of an over-long line
    read = lines = 0  # decompressed bytes and whole lines read, for a truncation's message
    damage: TruncatedError | None = None
    while damage is None:
        block, damage = _read(f, chunk_bytes, read, lines)
        if not block:
            break
        read += len(block)
        lines += block.count(b"\n")
        if skipping:
            nl = block.find(b"\n")
            if nl < 0:
                yield SkippedBytes(len(block))
                continue
            skipping = False
            yield SkippedBytes(nl)  # its newline stands in for the one added below
            block = block[nl + 1 :]
        data = rest + block if rest else block
        cut = data.rfind(b"\n")
        if cut < 0:
            if len(data) > limit:
                yield data[:limit] + b"\n"
                yield SkippedBytes(len(data) - limit)
                rest, skipping = b"", True
            else:
                rest = data
            continue
        rest = data[cut + 1 :]
        yield data[: cut + 1]
        if len(rest) > limit:
            yield rest[:limit] + b"\n"
            yield SkippedBytes(len(rest) - limit)
            rest, skipping = b"", True
    if damage is not None:
        # a truncated or corrupt compressed file: what came before is kept (yielded above);
        # the partial line cut by the damage is left out (it would only be rejected)
        raise damage
    if rest:
        yield rest
    elif skipping:
        yield SkippedBytes(-1)  # the input ended inside the long line: no newline to stand for


def source_chunks(
    source: Source, chunk_bytes: int, long_line: int | None = None
) -> Iterator[bytes | SkippedBytes]:
    """Chunks from any supported source."""
    if isinstance(source, bytes | bytearray):
        reader = io.BufferedReader(io.BytesIO(bytes(source)))  # type: ignore[arg-type]
        yield from chunks(reader, chunk_bytes, long_line)
        return
    if isinstance(source, str | Path):
        with open_binary(source) as f:
            yield from chunks(f, chunk_bytes, long_line)
        return
    if hasattr(source, "read"):
        yield from chunks(_decompressing(source), chunk_bytes, long_line)  # type: ignore[arg-type]
        return
    buf: list[bytes] = []
    size = 0
    for line in source:
        b = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
        if not b.endswith(b"\n"):
            b += b"\n"
        buf.append(b)
        size += len(b)
        if size >= chunk_bytes:
            yield b"".join(buf)
            buf, size = [], 0
    if buf:
        yield b"".join(buf)
