"""One live frame written to many sockets in one compiled call that holds no GIL.

In: the file descriptors of connections whose write buffers are empty and one frame's
bytes (a whole WebSocket message, :func:`seawatch.serve.live_wire.framed`). Out: how many
bytes of it each socket took (``send(2)`` without blocking; -1: none, e.g. its buffer is
full or it is gone). The caller (:mod:`seawatch.serve.live_push`) hands what a socket did
not take to that connection's own transport, so the bytes stay in order either way.

Why: a socket write from Python lets go of the GIL and takes it back, once per connection
and frame. With the live ingest thread busy in Python beside the event loop, each time back
waits for it (up to the switch interval): 200 clients' writes of one batch stretched over
tens of milliseconds (bench/RESULTS.md, 2026-12-07 session 3, h-fan). Here the loop lets go
of the GIL once per frame for every connection.

Compiled on first use (numba's on-disk cache); where ``send`` cannot be called so (not a
POSIX system), :func:`send_each` is None and frames go through each transport.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import numpy as np
from numba import njit, types

__all__ = ["FLAGS", "send_each", "warm_up"]

FLAGS = socket.MSG_DONTWAIT | getattr(socket, "MSG_NOSIGNAL", 0) if sys.platform != "win32" else 0
"""``send(2)`` flags: never block (a full buffer takes nothing), no SIGPIPE."""

_SIGNATURE: Any = types.intp(types.int32, types.voidptr, types.uintp, types.int32)
_send: Any = types.ExternalFunction("send", _SIGNATURE)


@njit(cache=True, nogil=True)
def _send_each(
    fds: np.ndarray[Any, np.dtype[np.int32]],
    frame: np.ndarray[Any, np.dtype[np.uint8]],
    flags: int,
    out: np.ndarray[Any, np.dtype[np.int64]],
) -> None:  # pragma: no cover - compiled
    for i in range(len(fds)):
        out[i] = _send(fds[i], frame.ctypes, len(frame), flags)


def _send_each_py(fds: np.ndarray[Any, np.dtype[np.int32]], frame: bytes) -> np.ndarray[Any, Any]:
    """Bytes of ``frame`` each of ``fds`` took (-1: none)."""
    out = np.empty(len(fds), np.int64)
    if len(fds):
        _send_each(fds, np.frombuffer(frame, np.uint8), FLAGS, out)
    return out


send_each = None if sys.platform == "win32" else _send_each_py


def warm_up() -> None:
    """Compile (or load from the cache) the kernel now, not at the first frame pushed."""
    if send_each is not None:
        empty = np.empty(0, np.int64)
        _send_each(np.empty(0, np.int32), np.empty(0, np.uint8), FLAGS, empty)
