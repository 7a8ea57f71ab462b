"""A live frame written once, sent to many: WebSocket frames built once and written to each
connection as bytes.

In: a frame's text (JSON, built once per chunk for every client sent the same rows:
:mod:`seawatch.serve.live_frames`). Out: :func:`framed`, the whole WebSocket message (an
unmasked text frame: header and UTF-8 payload, as a server sends it), and
:class:`FramedWebSockets`, uvicorn's websockets-sansio connection with one more ASGI
extension, ``seawatch.frames``, whose ``write`` puts such bytes on the connection as they
are, or, for the hub's own writes (:mod:`seawatch.serve.live_push`), its socket while
nothing waits in its transport (``fd``) and a way to hand the transport what the socket did
not take (``rest``). ``seawatch serve`` runs uvicorn with it; the ``/live`` sender
(:mod:`seawatch.serve.live_ws`) uses it when the connection offers it and sends the text
through ASGI otherwise (another server); a connection that negotiated permessage-deflate
gets each frame compressed by its own framing, as uvicorn's send would.

Why: through ASGI each frame is encoded and framed again for each connection and passed
down starlette's and uvicorn's send chain; apart from the socket write itself that was ~9 %
of the event loop's time in a 200-client fan-out (py-spy, bench/RESULTS.md 2026-12-07
session 2, h-fan), all of it under the GIL the live ingest needs. Here the bytes are made
once per frame, whatever the number of clients. Which rows a client gets is decided
before, by the hub's label check (:mod:`seawatch.serve.live`): this only carries the bytes.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

__all__ = ["EXTENSION", "FramedWebSockets", "framed"]

EXTENSION = "seawatch.frames"
"""The ASGI scope extension of :class:`FramedWebSockets` connections: ``{"write": ...}``."""


def framed(text: str) -> bytes:
    """``text`` as a whole WebSocket text message from a server (one frame, unmasked)."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class FramedWebSockets(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, whose scope also offers :data:`EXTENSION`:
    ``await scope["extensions"]["seawatch.frames"]["write"](frame_bytes, text)`` sends a
    message made by :func:`framed` (``text``: the same message, sent through the
    connection's own framing when it compresses its messages). Waits while the transport's
    buffer is full, as uvicorn's own send does; raises ``ClientDisconnected`` (an
    ``OSError``) once the connection is closing or gone."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # the handshake is being answered by the app
            scope["extensions"][EXTENSION] = {
                "write": self.write_frame,
                "fd": self.direct_fd,
                "rest": self.write_rest,
                "wait": self.writable.wait,
                "now": self.write_now,
            }

    def _check_open(self) -> None:
        """Raise :class:`ClientDisconnected` unless a message may be written now."""
        if (
            self.disconnected
            or self.close_sent
            or self.conn.state is not State.OPEN
            or self.transport.is_closing()
        ):
            raise ClientDisconnected

    async def write_frame(self, frame: bytes, text: str) -> None:
        await self.writable.wait()
        self._check_open()
        if self.conn.extensions:  # permessage-deflate: this connection's own compression
            self.conn.send_text(text.encode())
            frame = b"".join(self.conn.data_to_send())
        self.transport.write(frame)

    def write_now(self, text: str) -> None:
        """``text`` as a message put on the connection now, behind only what its transport
        holds (a control message: a subscription's answer, overtaking the frames queued
        but not written; it does not wait for the buffer to drain, being small)."""
        self._check_open()
        self.conn.send_text(text.encode())
        self.transport.write(b"".join(self.conn.data_to_send()))

    def direct_fd(self) -> int:
        """The socket a frame may be written to directly now, past the transport (its
        bytes would come next anyway), by :mod:`seawatch.serve.live_send`; -1: not now
        (not open, compressing its messages, or bytes waiting in the transport)."""
        if (
            self.disconnected
            or self.close_sent
            or self.conn.state is not State.OPEN
            or self.conn.extensions
            or not self.writable.is_set()
            or self.transport.is_closing()
            or self.transport.get_write_buffer_size()
        ):
            return -1
        sock = self.transport.get_extra_info("socket")
        if sock is None or self.transport.get_extra_info("ssl_object") is not None:
            return -1  # TLS (uvicorn --ssl-*): the socket's bytes are the transport's records
        return int(sock.fileno())

    def write_rest(self, frame: bytes, sent: int) -> None:
        """What the socket did not take of ``frame`` written to it directly (``sent``
        bytes of it; -1: none), through the transport (which keeps it until it can)."""
        if sent < len(frame):
            self.transport.write(frame[max(sent, 0) :])
