"""A live feed's batches are cut on a fixed schedule: one every ``batch_s`` on average, a
cut noticed late (at the next read) not pushing the next one back. Each batch's oldest line
waits ``batch_s`` for its cut, not ``batch_s`` plus the lateness of every cut before (the
frames of ``/live`` carry each batch's oldest line: bench/RESULTS.md 2026-12-07 session 6,
h-fan, cuts 104 ms apart at ``--batch-s 0.1``)."""

from __future__ import annotations

import socket
import threading
import time

from seawatch.sources.feed import Feed

BATCH_S = 0.05
SEND_EVERY_S = 0.007  # a read every ~7 ms: a cut is noticed up to ~7 ms late


def test_batches_are_cut_on_a_fixed_schedule() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    done = threading.Event()

    def send() -> None:
        conn, _ = server.accept()
        with conn, server:
            k = 0
            while not done.is_set():
                conn.sendall(b"!AIVDM,1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0*%02d\n" % (k % 100))
                k += 1
                time.sleep(SEND_EVERY_S)

    threading.Thread(target=send, daemon=True).start()
    feed = Feed("tcp", ("127.0.0.1", port))
    stop = threading.Event()
    cuts = []
    try:
        for _ in feed.batches(BATCH_S, stop, duration_s=10.0):
            cuts.append(time.monotonic())
            if len(cuts) == 61:
                break
    finally:
        done.set()
        stop.set()
    mean_s = (cuts[-1] - cuts[0]) / (len(cuts) - 1)
    assert mean_s < BATCH_S * 1.02, mean_s  # they drifted by each one's lateness: ~52 ms
