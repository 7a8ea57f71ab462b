"""Live AIS feeds: NMEA lines from a TCP server or UDP datagrams, cut into time batches.

In: ``HOST:PORT`` and a protocol: ``tcp`` connects to a server sending NMEA lines (as AIS
receivers, AIS-catcher, OpenCPN or ``seawatch simulate --tcp`` do) and reconnects when the
connection drops; ``udp`` binds ``HOST:PORT`` and receives datagrams of lines. Out: batches
of whole lines (bytes), one every ``batch_s`` seconds of wall clock, until ``duration_s``
has passed, the stop event is set, or a lost TCP feed cannot be reached again. A message of
several sentences is never cut between two batches (:mod:`seawatch.sources.fragments`).

A line without an IEC 61162-450 tag block gets one, ``\\s:<feed>,c:<unix seconds>*hh\\``,
so it keeps its receive time and its feed name (labelling rules match ``feed=``); lines
that have a tag block are passed unchanged.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from seawatch.errors import InputError
from seawatch.sources.fragments import unfinished_tail

__all__ = ["Feed", "FeedStats", "parse_address", "stamp_lines"]

log = logging.getLogger(__name__)

Protocol = Literal["tcp", "udp"]
_POLL_S = 0.25


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` → ``(host, port)``; :class:`InputError` says what to write."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise InputError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:10110)")
    return host, int(port)


def _checksum(text: bytes) -> str:
    value = 0
    for b in text:
        value ^= b
    return f"{value:02X}"


def stamp_lines(lines: list[bytes], feed: str, now_s: float) -> bytes:
    """``lines`` (without line ends) joined with ``\\n``, each without a tag block given
    ``\\s:<feed>,c:<now>*hh\\``; empty lines dropped."""
    body = f"s:{feed},c:{int(now_s)}".encode("ascii")
    tag = b"\\" + body + b"*" + _checksum(body).encode("ascii") + b"\\"
    out = [line if line.startswith(b"\\") else tag + line for line in lines if line.strip()]
    return b"\n".join(out) + b"\n" if out else b""


@dataclass
class FeedStats:
    """What a feed delivered."""

    lines: int = 0
    bytes: int = 0
    batches: int = 0
    connects: int = 0
    ended_by: str = ""
    errors: list[str] = field(default_factory=list)


class Feed:
    """One live feed; iterate :meth:`batches`. ``name`` is the ``s:`` of stamped lines."""

    def __init__(
        self,
        protocol: Protocol,
        address: tuple[str, int],
        *,
        name: str = "live",
        connect_timeout_s: float = 10.0,
        reconnect_s: float = 30.0,
    ) -> None:
        if protocol not in ("tcp", "udp"):
            raise InputError(f"unknown feed protocol {protocol!r} (tcp or udp)")
        self.protocol, self.address, self.name = protocol, address, name
        self.connect_timeout_s, self.reconnect_s = connect_timeout_s, reconnect_s
        self.stats = FeedStats()
        self._sock: socket.socket | None = None

    def __str__(self) -> str:
        return f"{self.protocol}://{self.address[0]}:{self.address[1]}"

    # --- sockets ----------------------------------------------------------------------
    def open(self) -> None:
        """Connect (TCP) or bind (UDP); :class:`InputError` when that fails."""
        host, port = self.address
        try:
            if self.protocol == "tcp":
                self._sock = socket.create_connection((host, port), self.connect_timeout_s)
                self.stats.connects += 1
                log.info("feed %s: connected", self)
            else:
                self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self._sock.bind((host, port))
                log.info("feed %s: receiving datagrams", self)
        except OSError as exc:
            self.close()
            verb = "connect to" if self.protocol == "tcp" else "listen on"
            raise InputError(f"cannot {verb} {host}:{port}: {exc.strerror or exc}") from None
        self._sock.settimeout(_POLL_S)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _reconnect(self, stop: threading.Event, deadline: float) -> bool:
        """Try again every second for ``reconnect_s``; False when it gave up or was told to."""
        self.close()
        give_up = min(deadline, time.monotonic() + self.reconnect_s)
        while not stop.is_set() and time.monotonic() < give_up:
            try:
                self.open()
                return True
            except InputError as exc:
                self.stats.errors.append(str(exc))
                stop.wait(1.0)
        return False

    def _receive(self) -> bytes | None:
        """Bytes received; ``b""`` when a TCP feed closed; None when nothing came in time."""
        assert self._sock is not None
        try:
            if self.protocol == "tcp":
                return self._sock.recv(1 << 16)
            data, _ = self._sock.recvfrom(1 << 16)
            return data if data.endswith(b"\n") else data + b"\n"
        except TimeoutError:
            return None
        except OSError as exc:
            log.warning("feed %s: %s", self, exc)
            return b""

    # --- batches ----------------------------------------------------------------------
    def batches(
        self, batch_s: float, stop: threading.Event, duration_s: float | None = None
    ) -> Iterator[bytes]:
        """Whole, stamped lines received in each ``batch_s`` seconds (see the module
        docstring); the last batch holds what came before the end, a partial last line
        included. Opens the feed first if it is not open."""
        if batch_s <= 0:
            raise InputError(f"--batch-s must be positive, not {batch_s}")
        if self._sock is None:
            self.open()
        started = time.monotonic()
        deadline = math.inf if duration_s is None else started + duration_s
        cut = started + batch_s
        partial = b""
        batch: list[bytes] = []
        held = 0  # leading bytes of the batch held back from the last one (fragments)
        try:
            while True:
                now = time.monotonic()
                if stop.is_set():
                    self.stats.ended_by = "stopped"
                    break
                if now >= deadline:
                    self.stats.ended_by = "duration"
                    break
                data = self._receive()
                if data == b"":
                    log.warning("feed %s: connection closed; reconnecting", self)
                    if partial:
                        batch.append(self._stamp([partial]))
                        partial = b""
                    if not self._reconnect(stop, deadline):
                        self.stats.ended_by = "stopped" if stop.is_set() else "feed closed"
                        break
                elif data:
                    self.stats.bytes += len(data)
                    parts = (partial + data).split(b"\n")
                    partial = parts.pop()
                    batch.append(self._stamp([p.rstrip(b"\r") for p in parts]))
                if time.monotonic() >= cut:
                    cut = time.monotonic() + batch_s
                    out = b"".join(batch)
                    keep = unfinished_tail(out, held)  # a message's fragments stay together
                    batch, held = ([out[keep:]], len(out) - keep) if keep < len(out) else ([], 0)
                    if keep:
                        self.stats.batches += 1
                        yield out[:keep]
            if partial:
                batch.append(self._stamp([partial.rstrip(b"\r")]))
            out = b"".join(batch)
            if out:
                self.stats.batches += 1
                yield out
        finally:
            self.close()

    def _stamp(self, lines: list[bytes]) -> bytes:
        out = stamp_lines(lines, self.name, time.time())
        self.stats.lines += out.count(b"\n")
        return out
