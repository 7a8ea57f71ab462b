"""A fan-out's frames written by the hub at once, to every client that can take them now.

In: the clients of ``/live`` a batch was just queued for (:meth:`LiveHub._fan_out
<seawatch.serve.live.LiveHub>`, after its label check chose each client's rows), each with
its connection's ``seawatch.frames`` extension (:mod:`seawatch.serve.live_wire`). Out: for
each client that is not sending (nor changing its subscription), has nothing missed to be
told first and whose connection has nothing waiting in its transport, its queued frames
(:meth:`LiveHub.frames <seawatch.serve.live.LiveHub.frames>`: counted for the audit row)
written to its socket now: one compiled call per distinct frame for all the clients given
it (:mod:`seawatch.serve.live_send`), what a socket did not take handed to its transport.
Every other client is woken, and its own sender (:mod:`seawatch.serve.live_ws`) sends its
queue as before.

Why: one task woken per client and frame, and one socket write each letting go of the GIL,
cost the event loop tens of milliseconds a batch with 200 clients, while the live ingest
thread waited for the GIL or the loop for it (bench/RESULTS.md, 2026-12-07 session 3,
h-fan). This carries bytes only: which rows a client gets was decided by the hub's label
check before.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from seawatch.serve.live_client import Client
from seawatch.serve.subscription import TYPES

if TYPE_CHECKING:
    from seawatch.serve.live import LiveHub

__all__ = ["push"]

log = logging.getLogger(__name__)


def _sender() -> Any:
    """:func:`seawatch.serve.live_send.send_each` (None: frames go through the transports;
    numba is imported only once a frame is pushed)."""
    from seawatch.serve.live_send import send_each

    return send_each


def _take(hub: LiveHub, client: Client) -> tuple[list[tuple[bytes, str]], float | None]:
    """``client``'s queued frames (bytes, text) and when the oldest was queued."""
    frames: list[tuple[bytes, str]] = []
    since = None
    for kind in TYPES:
        q = client.queues.get(kind)
        if q:
            since = q.since if since is None or q.since is None else min(since, q.since)
            frames += hub.frames(client, kind, q.take(), wire=True)
    return frames, since


def push(hub: LiveHub, clients: Sequence[Client]) -> None:
    """Write now the frames queued for ``clients`` that can take them (see the module
    docstring); wake the others' senders (all left with frames, whatever happens here)."""
    try:
        _push(hub, clients)
    finally:
        for client in clients:
            if any(client.queues.values()):
                client.ready.set()


def _push(hub: LiveHub, clients: Sequence[Client]) -> None:
    send_each = _sender()
    rounds: list[dict[int, tuple[bytes, list[tuple[Client, int]]]]] = []
    taken: list[tuple[Client, float | None]] = []
    for client in clients:
        if not any(client.queues.values()):
            continue
        wire = client.wire
        fd = -1 if wire is None or send_each is None else wire["fd"]()
        if fd < 0 or client.sending.locked() or any(client.missed.values()):
            client.ready.set()  # its own sender (which tells what was missed first)
            continue
        frames, since = _take(hub, client)
        taken.append((client, since))
        for k, (frame, _) in enumerate(frames):
            if len(rounds) <= k:
                rounds.append({})
            rounds[k].setdefault(id(frame), (frame, []))[1].append((client, fd))
    buffered: set[Client] = set()  # a frame went to its transport: the rest follow it
    for by_frame in rounds:
        for frame, to in by_frame.values():
            direct = []
            for client, fd in to:
                if client in buffered:
                    client.wire["rest"](frame, -1)  # type: ignore[index]
                else:
                    direct.append((client, fd))
            sent = send_each(np.array([fd for _, fd in direct], np.int32), frame)
            for (client, _), n in zip(direct, sent.tolist(), strict=True):
                if n < len(frame):
                    client.wire["rest"](frame, n)  # type: ignore[index]
                    buffered.add(client)
    for client, since in taken:
        hub.written(since)
        if hub.audit_due(client):
            client.ready.set()  # its sender writes the audit row
