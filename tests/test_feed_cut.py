"""A live feed's batch is cut on time even when the feed pauses over the cut.

The receive thread used to notice a cut only when ``recv`` returned: with the sender quiet
over the cut (a sender or a network late by tens of milliseconds), the batch waited for the
next bytes, or for the socket's 0.25 s poll, and its lines grew older by that much (the
200-client fan-out bench: one batch in ten 20-40 ms late, bench/RESULTS.md 2026-12-08
session 8, h-fan). Through a real loopback TCP feed that sends one line and then pauses.
"""

from __future__ import annotations

import socket
import threading
import time

from seawatch.sources import feed as feed_module
from seawatch.sources.feed import Feed

LINE = b"\\s:x,c:1748736000*55\\!AIVDM,1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0*5C"


def _pausing_server(pause_s: float) -> tuple[int, list[float]]:
    """A loopback TCP server sending a line, pausing ``pause_s``, sending another, closing;
    the time (monotonic) it sent the first line is put in the list returned."""
    server = socket.create_server(("127.0.0.1", 0))
    sent: list[float] = []

    def run() -> None:
        conn, _ = server.accept()
        with conn, server:
            time.sleep(0.02)
            sent.append(time.monotonic())
            conn.sendall(LINE + b"\n")
            time.sleep(pause_s)
            conn.sendall(LINE + b"\n")

    threading.Thread(target=run, daemon=True).start()
    return server.getsockname()[1], sent


def test_a_batch_is_cut_on_time_while_the_feed_pauses() -> None:
    batch_s, pause_s = 0.05, 1.0
    assert feed_module._POLL_S >= 0.25  # the wait the cut used to stay behind
    port, sent = _pausing_server(pause_s)
    feed = Feed("tcp", ("127.0.0.1", port), reconnect_s=0.1)
    got: list[tuple[float, bytes]] = []
    for batch in feed.batches(batch_s, threading.Event(), duration_s=pause_s + 0.5):
        got.append((time.monotonic(), batch))
        if len(got) == 2:
            break
    (first_at, first), (second_at, second) = got
    assert first == second == LINE + b"\n"  # each line its own batch: the pause cut them
    # the first line's batch comes at its cut (within ~batch_s), not at the next bytes
    # (pause_s later) nor after the socket's poll (0.25 s): checked to fail before the fix
    assert first_at - sent[0] < 0.22, first_at - sent[0]
    assert second_at - sent[0] >= pause_s
