"""Standing subscriptions, served: while ``seawatch serve`` runs, push to each subscribed
peer what this node releases to it, soon after it is written.

In: the server's state (its store and settings), the subscribers
(:class:`~seawatch.share.subscribe.Subscriptions`, kept by ``/federation/v1/subscribe``).
Out: a push (:func:`seawatch.share.sync.push`, the same exchange as ``seawatch share push``)
to a subscriber whenever this node's settled write number (a write committed to positions,
statics or events, by the live ingest or any other writer of the store) or its log (a
release, a retraction) moved since the last push that reached it. A thread wakes each
``PUBLISH_S`` seconds, and at once when the live ingest stores a batch or a peer
subscribes. A subscriber that cannot be reached is tried again later (backing off to a
minute); a push answered is never repeated until something moves. At a stop, one last
round after the live ingest finished, so what it stored last goes out too.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Final

from seawatch.errors import SeawatchError
from seawatch.serve.deps import ServeState
from seawatch.share.node import Node
from seawatch.share.peers import Peer
from seawatch.share.rules import Rules, rules_file
from seawatch.share.subscribe import Subscriptions
from seawatch.share.sync import answer_pull, push

__all__ = ["PUBLISH_S", "Publisher"]

log = logging.getLogger(__name__)

PUBLISH_S: Final = 1.0
"""How often the publisher looks for writes when nothing wakes it."""
MAX_BACKOFF_S: Final = 60.0


class Publisher:
    """See the module. ``start`` it with the server, ``end`` it at the stop."""

    def __init__(self, st: ServeState, interval_s: float = PUBLISH_S) -> None:
        self.st = st
        self._node: Node | None = None  # made at the first subscriber (a node may have no keys)
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._done: dict[str, tuple[int, int]] = {}  # peer: (write number, log size) pushed
        self._failures: dict[str, tuple[int, float]] = {}  # peer: (failures, retry at)
        self._round = threading.Lock()
        self.thread: threading.Thread | None = None
        self.pushes = 0

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="serve-publish", daemon=True)
        self.thread.start()

    def wake(self) -> None:
        """Look now (a batch was stored, a peer subscribed)."""
        self._wake.set()

    def end(self) -> None:
        """Stop the thread, then push once more what was written until now."""
        self._stop.set()
        self._wake.set()
        if self.thread is not None:
            self.thread.join()
        self._failures.clear()  # the last round tries every subscriber
        self.round()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.round()
            except Exception:  # the server goes on; the next round retries
                log.exception("publishing to subscribers failed")

    def round(self) -> None:
        """Push to each subscriber whose state moved since the last push it answered."""
        with self._round:
            subscribers = Subscriptions(self.st.settings.data_dir).subscribers()
            if not subscribers:
                return
            if self._node is None:
                self._node = Node.from_settings(self.st.settings)
            with self.st.lock:
                seq = self.st.store.settled_seq(0.5)
            if seq is None:  # a write in flight: look again at the next round
                return
            for name in sorted(subscribers):
                self._push(name, seq)

    @property
    def node(self) -> Node:
        assert self._node is not None  # made by round() before any push
        return self._node

    def _push(self, name: str, seq: int) -> None:
        if self._done.get(name) == (seq, self.node.log().size):
            return
        failures, retry_at = self._failures.get(name, (0, 0.0))
        if time.monotonic() < retry_at:
            return
        try:
            peer = self.node.peers().get(name)
            summary = push(self.node, peer, lambda after, raw: self._answer(peer, after, raw))
        except SeawatchError as exc:
            wait_s = min(MAX_BACKOFF_S, 2.0**failures)
            self._failures[name] = (failures + 1, time.monotonic() + wait_s)
            log.warning("push to subscriber %s failed (again in %.0f s): %s", name, wait_s, exc)
            return
        self._failures.pop(name, None)
        self._done[name] = (seq, self.node.log().size)
        self.pushes += 1
        stored = sum(int(i.get("stored", 0)) for i in summary.get("imported", []))
        if stored:
            log.info("pushed to subscriber %s: %d records stored", name, stored)

    def _answer(self, peer: Peer, after: int, raw: bool) -> dict[str, Any]:
        rules = Rules.load(rules_file(self.node.data_dir))
        with self.st.lock:
            return answer_pull(self.st.store, self.node, peer, rules, after, raw=raw)
