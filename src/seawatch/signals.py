"""Stopping long work cleanly: Ctrl-C and SIGTERM as a request to stop, not a crash.

In: a :class:`threading.Event` the work checks. Out: while inside :func:`stop_on_signals`,
SIGINT and SIGTERM set the event instead of ending the process, so a live feed, a server or
the simulator finishes what it holds (flushes, writes what it has) and returns normally.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["stop_on_signals"]


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM set ``stop`` (instead of ending the process) while inside."""
    previous: dict[signal.Signals, Any] = {}
    with contextlib.suppress(ValueError):  # not the main thread: signals stay as they are
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
