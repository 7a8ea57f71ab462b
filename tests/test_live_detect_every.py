"""A live feed's detector passes begin at most every ``DETECT_EVERY_S`` (each joins the
batches stored meanwhile: the detectors' cost is mostly per pass), and what is stored is
what storing the kept batch files one after another, a pass each, stores, whether the
detectors run in process or in a child process (``live_detect_process``). A real TCP feed
on loopback, DuckDB; the session's own detector calls, timed as they run."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from seawatch.engine import live
from seawatch.engine.ingest import Ingest
from seawatch.settings import load_settings
from seawatch.sim import SimConfig, simulate
from seawatch.sources.feed import Feed
from seawatch.store import Store, open_store
from seawatch.store.tables import TABLES

SETTINGS = {"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_REORDER_WINDOW_S": "0"}


def _serve(lines: list[bytes], seconds: float) -> tuple[Feed, threading.Event]:
    """A TCP feed sending ``lines`` evenly over ``seconds``; the event is set once sent (the
    sending ends quietly if the reader goes away first)."""
    server = socket.create_server(("127.0.0.1", 0))
    sent = threading.Event()
    parts = max(1, round(seconds / 0.02))
    size = -(-len(lines) // parts)

    def send() -> None:
        conn, _ = server.accept()
        with conn:
            try:
                for k in range(0, len(lines), size):
                    conn.sendall(b"".join(lines[k : k + size]))
                    time.sleep(0.02)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the ingest stopped reading (test_detect_process kills its child)
            else:
                sent.set()
                time.sleep(1.0)
        server.close()

    threading.Thread(target=send, daemon=True).start()
    feed = Feed("tcp", server.getsockname()[:2])
    feed.open()
    return feed, sent


def _contents(store: Store) -> dict[str, set[Any]]:
    out = {}
    for table, cols in (("positions", ("mmsi", "ts", "segment_id", "label_id")),
                        ("events", ("event_id", "event_type", "start_ts", "end_ts", "details")),
                        ("segments", ("segment_id", "n_positions", "end_ts"))):  # fmt: skip
        schema = TABLES[table].arrow_schema()
        rows = store.backend.fetch(f"SELECT {', '.join(cols)} FROM {table}", (),
                                   pa.schema([schema.field(c) for c in cols]))  # fmt: skip
        out[table] = set(zip(*(rows.column(c).to_pylist() for c in cols), strict=True))
    return out


@pytest.mark.parametrize("elsewhere", [False, True], ids=["in-process", "child-process"])
def test_detector_passes_begin_at_most_every_detect_every_s_and_store_the_same(
    tmp_path: Path, elsewhere: bool
) -> None:
    settings = load_settings(env=SETTINGS)
    simulate(SimConfig(seed=2, vessels=20, hours=2), tmp_path / "sim")  # with events
    lines = [
        x
        for f in sorted((tmp_path / "sim").glob("*.nmea"))
        for x in f.read_bytes().splitlines(keepends=True)
    ]
    feed, sent = _serve(lines, seconds=3.0)
    stop = threading.Event()
    began: list[tuple[float, int]] = []  # each pass: when it began, the pieces waiting

    with open_store(tmp_path / "live.duckdb", settings) as store:
        session = Ingest(store, settings, detect=True, detect_process=elsewhere)
        assert session.engine.elsewhere is False
        going = False

        def timed(step: Callable[[], bool]) -> Callable[[], bool]:
            def run() -> bool:
                nonlocal going
                before, at = session.waiting, time.monotonic()
                done = step()
                if done and not going:
                    began.append((at, before))
                going = done and session.waiting == before
                return done

            return run

        session.detect_step = timed(session.detect_step)  # type: ignore[method-assign]
        session.detect_next = timed(session.detect_next)  # type: ignore[method-assign]
        threading.Thread(target=lambda: (sent.wait(60), time.sleep(1.0), stop.set())).start()
        t0 = time.monotonic()
        live.ingest_live(session, feed, tmp_path / "batches", batch_s=0.1, stop=stop)
        took = time.monotonic() - t0
        got = _contents(store)
    batches = sorted((tmp_path / "batches").glob("batch-*.nmea"))
    assert len(batches) >= 10
    assert began  # passes ran while the feed went on, not only at its finish
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(began)]
    assert min(gaps, default=live.DETECT_EVERY_S) >= live.DETECT_EVERY_S - 0.01
    assert len(began) <= took / live.DETECT_EVERY_S + 1
    assert max(n for _, n in began) >= 3  # a pass joined the batches stored meanwhile
    with open_store(tmp_path / "replay.duckdb", settings) as store:
        replay = Ingest(store, settings, detect=True)  # a pass per batch, one after another
        for path in batches:
            replay.add([path])
        replay.finish()
        want = _contents(store)
    assert got["events"]
    assert got == want
