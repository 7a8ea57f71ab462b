"""Serving the simulation live: lines paced at real time (or faster) over TCP or UDP.

In: the time loop's output (receive second, bytes of lines) and an address. Out: over TCP,
a server on ``HOST:PORT`` that waits for its first client, then sends every line to each
connected client (clients may come and go; a client that fails is dropped); over UDP, one
datagram per line to ``HOST:PORT``. Each second of simulated time is sent when the wall
clock reaches ``(c - start) / speed`` after the first line.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from seawatch.errors import InputError

__all__ = ["LiveWriter", "parse_address"]

log = logging.getLogger(__name__)


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` → ``(host, port)``; raises :class:`InputError` with what to write."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InputError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:10110)")
    return host, int(port)


class LiveWriter:
    """A sink for the time loop (same ``write``/``close`` as the file writer)."""

    def __init__(
        self,
        start_epoch: int,
        speed: float,
        *,
        tcp: tuple[str, int] | None = None,
        udp: tuple[str, int] | None = None,
        accept_timeout_s: float = 60.0,
        stop: threading.Event | None = None,
    ) -> None:
        if (tcp is None) == (udp is None):
            raise InputError("give one of --tcp or --udp")
        if speed <= 0:
            raise InputError(f"--speed must be positive, not {speed}")
        self.start_epoch, self.speed = start_epoch, speed
        self._stop = stop or threading.Event()  # once set: no more waiting (the run is ending)
        self.files: list[str] = []
        self.lines = 0
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self._wall0: float | None = None
        self._udp: socket.socket | None = None
        self._server: socket.socket | None = None
        if udp is not None:
            self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._udp_addr = udp
        else:
            assert tcp is not None
            try:
                self._server = socket.create_server(tcp, reuse_port=False)
            except OSError as exc:
                raise InputError(f"cannot listen on {tcp[0]}:{tcp[1]}: {exc}") from exc
            self.address = self._server.getsockname()[:2]
            log.info("simulate: listening on %s:%d (TCP), waiting for a client", *self.address)
            self._accept_timeout_s = accept_timeout_s
            self._ready = threading.Event()
            threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                conn, peer = self._server.accept()
            except OSError:
                return
            log.info("simulate: client %s connected", peer)
            with self._lock:
                self._clients.append(conn)
            self._ready.set()

    def _pace(self, c_s: int) -> None:
        if self._wall0 is None:
            if self._server is not None and not self._wait_for_client():
                raise InputError(f"no TCP client connected within {self._accept_timeout_s:.0f} s")
            self._wall0 = time.monotonic()
        due = self._wall0 + (c_s - self.start_epoch) / self.speed
        wait = due - time.monotonic()
        if wait > 0:
            self._stop.wait(wait)

    def _wait_for_client(self) -> bool:
        """True once a client is connected, or when stopped (then the lines go nowhere)."""
        deadline = time.monotonic() + self._accept_timeout_s
        while not self._ready.wait(min(0.2, max(deadline - time.monotonic(), 0.0))):
            if self._stop.is_set():
                return True
            if time.monotonic() >= deadline:
                return False
        return True

    def write(self, c_s: int, data: bytes, n_lines: int) -> None:
        self._pace(c_s)
        self.lines += n_lines
        if self._udp is not None:
            for line in data.splitlines(keepends=True):
                self._udp.sendto(line, self._udp_addr)
            return
        with self._lock:
            alive = []
            for conn in self._clients:
                try:
                    conn.sendall(data)
                    alive.append(conn)
                except OSError:
                    conn.close()
            self._clients = alive

    def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._server is not None:
            self._server.close()
            with self._lock:
                for conn in self._clients:
                    conn.close()
                self._clients = []
