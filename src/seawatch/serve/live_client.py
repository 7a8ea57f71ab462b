"""One live subscriber: its reader, filters, bounded queues, and what it was sent (audit).

In: the rows of each batch the hub (:mod:`seawatch.serve.live`) selected for this client,
as :class:`~seawatch.serve.live_frames.Chunk` s (shared with the clients sent the same rows).
Out: per record kind (:data:`~seawatch.serve.subscription.TYPES`) a queue bounded by
:data:`LIMITS`: positions beyond it are coalesced to the latest per vessel, then the oldest
dropped; other kinds drop their oldest. What was dropped is counted in :attr:`Client.missed`
(the client is told). What was sent is counted for the audit trail (:meth:`Client.sent`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seawatch.labels import Reader
from seawatch.serve.live_frames import Chunk
from seawatch.serve.subscription import Subscription

__all__ = ["COALESCE", "LIMITS", "Client", "Queue"]

LIMITS = {"positions": 5_000}
"""Items a client's queue holds per kind (positions: about 1 MB of JSON); others 1,000."""
DEFAULT_LIMIT = 1_000
COALESCE = frozenset({"positions"})
"""Kinds whose queue keeps the latest item per vessel when full (the others drop the oldest)."""


@dataclass
class Queue:
    """Chunks waiting to be sent, oldest first, and how many items they hold."""

    chunks: list[Chunk] = field(default_factory=list)
    items: int = 0
    since: float | None = None
    """When the oldest chunk was queued (monotonic; None: empty)."""

    def __len__(self) -> int:
        return self.items

    def take(self) -> list[Chunk]:
        """Everything queued (the queue is left empty)."""
        out, self.chunks, self.items, self.since = self.chunks, [], 0, None
        return out

    def keep(self, limit: int, latest: bool) -> int:
        """Keep at most ``limit`` items: the latest per vessel first when ``latest``, then
        the newest; how many were left out."""
        before = self.items
        if latest:  # the last item of each vessel, in queue order
            keys = np.concatenate([c.keys for c in self.chunks])
            _, last = np.unique(keys[::-1], return_index=True)
            kept = np.sort(before - 1 - last)[-limit:]
        else:
            kept = np.arange(before - limit, before)
        chunks, start = [], 0
        for c in self.chunks:
            mine = kept[(kept >= start) & (kept < start + len(c))] - start
            if len(mine):
                chunks.append(c if len(mine) == len(c) else c.part(mine))
            start += len(c)
        self.chunks, self.items = chunks, len(kept)
        return before - self.items


@dataclass(eq=False)
class Client:
    """One connection (``route`` ``/live`` or ``/live/sse``) of ``user`` reading as
    ``reader`` with the filters ``sub``."""

    reader: Reader
    sub: Subscription
    user: str = ""
    route: str = "/live"
    queues: dict[str, Queue] = field(default_factory=dict)
    missed: dict[str, int] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    sending: asyncio.Lock = field(default_factory=asyncio.Lock)  # one message at a time
    rows_sent: int = 0
    labels_sent: set[int] = field(default_factory=set)
    audited_at: float = field(default_factory=time.monotonic)
    wire: dict[str, Any] | None = None
    """The connection's ``seawatch.frames`` extension (:mod:`seawatch.serve.live_wire`;
    None: another server, or SSE): the hub then writes its frames itself when it can
    (:mod:`seawatch.serve.live_push`), else wakes its sender."""

    def put(
        self,
        kind: str,
        chunks: list[Chunk],
        shared: dict[Any, Any] | None = None,
        wake: bool = True,
    ) -> int:
        """Queue chunks of ``kind``; how many queued items were coalesced or dropped to
        stay in bounds. ``shared``: what clients put to in the same fan-out kept (clients
        whose queues hold the same chunks keep the same, so it is worked out once and its
        chunks, hence their frames, are shared too). ``wake``: wake its sender (False: the
        hub pushes the frames, or wakes it then)."""
        q = self.queues.setdefault(kind, Queue())
        if q.since is None:
            q.since = time.monotonic()
        q.chunks += chunks
        q.items += sum(len(c) for c in chunks)
        if wake:
            self.ready.set()
        limit = LIMITS.get(kind, DEFAULT_LIMIT)
        if q.items <= limit:
            return 0
        before = tuple(q.chunks)
        key = ("kept", kind, limit, *map(id, before))  # ids unique: ``before`` kept alive
        found = None if shared is None else shared.get(key)
        if found is None:
            lost = q.keep(limit, kind in COALESCE)
            if shared is not None:
                shared[key] = (before, tuple(q.chunks), q.items, lost)
        else:
            _, kept, q.items, lost = found
            q.chunks = list(kept)
        self.missed[kind] = self.missed.get(kind, 0) + lost
        return lost

    def take_missed(self) -> dict[str, int] | None:
        """The counts of what was dropped since last asked (None: nothing)."""
        if not any(self.missed.values()):
            return None
        out, self.missed = self.missed, {}
        return out

    def sent(self, n: int, label_ids: frozenset[int]) -> None:
        """Count ``n`` items sent, of the labels ``label_ids`` (for the audit row of this
        subscription)."""
        self.rows_sent += n
        self.labels_sent |= label_ids

    def audit_due(self) -> tuple[int, set[int]]:
        """What was sent since the last audit row (and start counting afresh)."""
        out = (self.rows_sent, self.labels_sent)
        self.rows_sent, self.labels_sent = 0, set()
        self.audited_at = time.monotonic()
        return out
