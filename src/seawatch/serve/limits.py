"""Per-token rate limits: a token bucket for each API user.

In: each authenticated request's user name, the node's ``api_rate_per_s`` and ``api_burst``
settings. Out: the request goes on, or :class:`~seawatch.errors.RateLimited` (429 with
``Retry-After``, the seconds until one request's worth has refilled). One bucket per user,
in this process, under a lock (uvicorn's worker threads share it).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from seawatch.errors import RateLimited

__all__ = ["RateLimiter"]


class RateLimiter:
    """``burst`` requests at once, then ``rate_per_s`` on average, per user."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # user -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, user: str) -> None:
        """Spend one request of ``user``'s bucket, or raise :class:`RateLimited`."""
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.get(user, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate_per_s)
            if tokens < 1.0:
                self._buckets[user] = (tokens, now)
                wait_s = (1.0 - tokens) / self.rate_per_s
                raise RateLimited(
                    f"rate limit: {self.burst} requests at once, then {self.rate_per_s:g} per "
                    f"second per token (api_burst, api_rate_per_s); retry in {wait_s:.2f} s",
                    retry_after_s=wait_s,
                )
            self._buckets[user] = (tokens - 1.0, now)

    @staticmethod
    def header(retry_after_s: float) -> dict[str, str]:
        """``Retry-After`` in whole seconds (at least 1), as HTTP wants it."""
        return {"Retry-After": str(max(1, math.ceil(retry_after_s)))}
