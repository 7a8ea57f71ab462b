"""One live subscriber: its reader, filters, bounded queues, and what it was sent (audit).

In: the rows of each batch the hub (:mod:`seawatch.serve.live`) selected for this client,
already rendered (each row's JSON text, its ``label_id`` and, for positions, its MMSI).
Out: per record kind (:data:`~seawatch.serve.subscription.TYPES`) a queue bounded by
:data:`LIMITS`: positions beyond it are coalesced to the latest per vessel, then the oldest
dropped; other kinds drop their oldest. What was dropped is counted in :attr:`Client.missed`
(the client is told). What was sent is counted for the audit trail (:meth:`Client.sent`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from seawatch.labels import Reader
from seawatch.serve.subscription import Subscription

__all__ = ["COALESCE", "LIMITS", "Client", "Queue"]

LIMITS = {"positions": 5_000}
"""Items a client's queue holds per kind (positions: about 1 MB of JSON); others 1,000."""
DEFAULT_LIMIT = 1_000
COALESCE = frozenset({"positions"})
"""Kinds whose queue keeps the latest item per vessel when full (the others drop the oldest)."""


@dataclass
class Queue:
    """Items waiting to be sent: JSON texts with their label ids and vessel keys."""

    texts: list[str] = field(default_factory=list)
    label_ids: list[int] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def take(self) -> Queue:
        """Everything queued (the queue is left empty)."""
        out = Queue(self.texts, self.label_ids, self.keys)
        self.texts, self.label_ids, self.keys = [], [], []
        return out


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

    def put(self, kind: str, texts: list[str], label_ids: list[int], keys: list[int]) -> int:
        """Queue rendered items of ``kind`` (``keys``: the vessel of each, for coalescing);
        how many queued items were coalesced or dropped to stay in bounds."""
        q = self.queues.setdefault(kind, Queue())
        if not q.texts:  # the lists may be shared with other clients: copied on change
            q.texts, q.label_ids, q.keys = list(texts), list(label_ids), list(keys)
        else:
            q.texts += texts
            q.label_ids += label_ids
            q.keys += keys
        limit = LIMITS.get(kind, DEFAULT_LIMIT)
        if len(q) > limit:
            before = len(q)
            if kind in COALESCE:  # the latest per vessel, then the newest
                latest = list({k: i for i, k in enumerate(q.keys)}.values())
                keep = sorted(latest)[-limit:]
            else:
                keep = list(range(before - limit, before))
            q.texts = [q.texts[i] for i in keep]
            q.label_ids = [q.label_ids[i] for i in keep]
            q.keys = [q.keys[i] for i in keep]
            self.missed[kind] = self.missed.get(kind, 0) + before - len(keep)
            self.ready.set()
            return before - len(keep)
        self.ready.set()
        return 0

    def take_missed(self) -> dict[str, int] | None:
        """The counts of what was dropped since last asked (None: nothing)."""
        if not any(self.missed.values()):
            return None
        out, self.missed = self.missed, {}
        return out

    def sent(self, label_ids: list[int]) -> None:
        """Count items sent (for the audit row of this subscription)."""
        self.rows_sent += len(label_ids)
        self.labels_sent.update(label_ids)

    def audit_due(self) -> tuple[int, set[int]]:
        """What was sent since the last audit row (and start counting afresh)."""
        out = (self.rows_sent, self.labels_sent)
        self.rows_sent, self.labels_sent = 0, set()
        self.audited_at = time.monotonic()
        return out
