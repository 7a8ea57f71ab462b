"""A loopback TCP proxy that cuts, restores and slows links, for tests of what a network does
to the nodes (tests/share/test_soak.py).

In: the port of a server on 127.0.0.1. Out: a :class:`Link`, a port on 127.0.0.1 that
forwards to it byte for byte, until :meth:`Link.cut`: every connection through it is reset
at once (mid-request or mid-answer, wherever it is) and new ones are reset on arrival,
until :meth:`Link.heal`. ``delay_s`` holds each chunk that long before it is passed on.
:class:`Chaos` flips links at random from a seeded generator (printed on failure, so a
failing schedule can be run again). One asyncio loop in a background thread serves every
link of a :class:`Network`; the test's threads call the methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK = 65536


@dataclass
class LinkStats:
    """What went through a link: connections made, reset by a cut, refused while cut."""

    connections: int = 0
    reset: int = 0
    refused: int = 0
    bytes: int = 0


@dataclass(eq=False)
class Link:
    """One proxied route to ``target_port`` (see the module)."""

    name: str
    target_port: int
    loop: asyncio.AbstractEventLoop
    port: int = 0
    up: bool = True
    delay_s: float = 0.0
    stats: LinkStats = field(default_factory=LinkStats)
    _open: set[asyncio.StreamWriter] = field(default_factory=set)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            self.stats.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            self.stats.refused += 1
            writer.transport.abort()
            return
        self.stats.connections += 1
        self._open.update((writer, up_writer))
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._open.discard(w)
                w.transport.abort()

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(CHUNK):
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                if not self.up or dst.is_closing():
                    return
                dst.write(data)
                self.stats.bytes += len(data)
                await dst.drain()
            if dst.can_write_eof() and not dst.is_closing():
                dst.write_eof()
        except (ConnectionError, OSError):
            return

    def _cut(self) -> None:
        self.up = False
        for w in list(self._open):
            self.stats.reset += 1
            w.transport.abort()
        self._open.clear()

    def cut(self) -> None:
        """Reset every connection through the link and refuse new ones until healed."""
        self.loop.call_soon_threadsafe(self._cut)

    def heal(self) -> None:
        self.loop.call_soon_threadsafe(setattr, self, "up", True)

    async def _close(self) -> None:
        self._cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class Network:
    """The links of one test, served by one asyncio loop in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.links: list[Link] = []
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def link(self, name: str, target_port: int) -> Link:
        """A new link on a free loopback port, forwarding to ``target_port``."""
        link = Link(name, target_port, self.loop)
        self._run(link._start())
        self.links.append(link)
        return link

    def heal_all(self) -> None:
        for link in self.links:
            link.heal()
            link.delay_s = 0.0

    def close(self) -> None:
        for link in self.links:
            self._run(link._close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@contextlib.contextmanager
def network() -> Iterator[Network]:
    net = Network()
    try:
        yield net
    finally:
        net.close()


class Chaos:
    """Cuts and heals groups of links at random (a group: the links of one pair of nodes,
    both ways, or one way alone), and sets random delays, from ``seed``, until stopped."""

    def __init__(
        self,
        groups: Sequence[Sequence[Link]],
        seed: int,
        *,
        every_s: tuple[float, float] = (0.05, 0.6),
        max_delay_s: float = 0.05,
    ) -> None:
        self.groups = [list(g) for g in groups]
        self.rng = random.Random(seed)
        self.every_s, self.max_delay_s = every_s, max_delay_s
        self.flips = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rng = self.rng
        while not self._stop.wait(rng.uniform(*self.every_s)):
            group = rng.choice(self.groups)
            links = group if rng.random() < 0.7 else [rng.choice(group)]
            cut = rng.random() < 0.5
            for link in links:
                if cut:
                    link.cut()
                else:
                    link.heal()
                link.delay_s = rng.uniform(0, self.max_delay_s) if rng.random() < 0.3 else 0.0
            self.flips += 1

    def __enter__(self) -> Chaos:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    """Poll ``predicate()`` until true; AssertionError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
