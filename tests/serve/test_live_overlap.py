"""A live feed's batch is written beside the next one (``StoreSink.overlap``): its positions
are told, then its transaction (insert, commit, what is told after the commit) goes on on
the store's own thread while the feed's thread decodes and releases the next batch. What
is stored is what storing the kept batch files one after another stores; each batch is
reported (``on_batch``, the server's ``/metrics``) once its positions are committed, every
position stored counted once; and an error of a batch's transaction stops the feed (raised
by ``ingest_live``), not lost on the store's thread. A real TCP feed on loopback, DuckDB."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from seawatch.engine.ingest import Ingest
from seawatch.engine.live import Batch, ingest_live
from seawatch.engine.sinks import Subscribers
from seawatch.settings import load_settings
from seawatch.sim.synth import write_sample
from seawatch.sources.feed import Feed
from seawatch.store import Store, open_store
from storerows import stored_rows

SETTINGS = {"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_REORDER_WINDOW_S": "0"}


def _serve(lines: list[bytes]) -> tuple[Feed, threading.Event, threading.Event]:
    """A TCP feed sending ``lines`` in small parts over ~4 s once told to go (the first
    event); the second is set once all are sent."""
    server = socket.create_server(("127.0.0.1", 0))
    go, sent = threading.Event(), threading.Event()

    def send() -> None:
        conn, _ = server.accept()
        with conn:
            go.wait(60)
            for k in range(0, len(lines), 40):
                conn.sendall(b"".join(lines[k : k + 40]))
                time.sleep(0.05)
            sent.set()
            time.sleep(1.0)  # the last batch cut and stored before the stop
        server.close()

    threading.Thread(target=send, daemon=True).start()
    feed = Feed("tcp", server.getsockname()[:2])
    feed.open()
    return feed, go, sent


def _contents(store: Store) -> dict[str, set[Any]]:
    return stored_rows(store, {"positions": ("mmsi", "ts", "segment_id", "label_id"),
                               "statics": ("mmsi", "ts"),
                               "events": ("event_id", "end_ts", "details"),
                               "segments": ("segment_id", "n_positions", "end_ts")})  # fmt: skip


def _committed(reader: Store) -> int:
    schema = pa.schema([pa.field("n", pa.int64())])
    return int(
        reader.backend.fetch("SELECT count(*) AS n FROM positions", (), schema)[0][0].as_py()
    )


def test_batches_written_beside_the_next_store_the_same_reported_once_committed(
    tmp_path: Path,
) -> None:
    settings = load_settings(env=SETTINGS)
    sample = tmp_path / "feed.nmea"
    write_sample(sample, vessels=30, minutes=40)
    feed, go, sent = _serve(sample.read_bytes().splitlines(keepends=True))
    stop = threading.Event()
    reports: list[tuple[Batch, int, str]] = []
    early: list[int] = []
    with open_store(tmp_path / "live.duckdb", settings) as store, store.read_session() as reader:
        told = Subscribers()
        told.labelled.append(lambda t: early.append(t.num_rows))

        def on_batch(batch: Batch) -> None:  # what another connection reads by then
            reports.append((batch, _committed(reader), threading.current_thread().name))

        session = Ingest(store, settings, detect=True, sinks=[told])
        threading.Thread(target=lambda: (sent.wait(60), time.sleep(1.5), stop.set())).start()
        go.set()
        ingest_live(session, feed, tmp_path / "batches", batch_s=0.1, stop=stop,
                    on_batch=on_batch)  # fmt: skip
        live = _contents(store)
    batches = sorted((tmp_path / "batches").glob("batch-*.nmea"))
    assert len(batches) >= 3
    assert len(reports) == len(batches)
    with open_store(tmp_path / "replay.duckdb", settings) as store:
        replay = Ingest(store, settings, detect=True)  # no overlap: one batch after another
        assert not replay.sink.overlap
        for path in batches:
            replay.add([path], detect_later=True)
        replay.finish()
        assert _contents(store) == live
        total = _contents(store)["positions"]
    counted = 0
    for batch, committed, _ in reports:  # in order, each once its rows were committed
        counted += batch.positions
        assert committed >= counted
    assert 0 < counted <= len(total)  # the rest: held by the pipeline until the finish
    assert sum(early) >= counted  # told before their commit
    assert any(name.startswith("store-write") for _, _, name in reports)  # written beside


def test_an_error_in_a_batch_written_beside_the_next_stops_the_feed(tmp_path: Path) -> None:
    settings = load_settings(env=SETTINGS)
    sample = tmp_path / "feed.nmea"
    write_sample(sample, vessels=20, minutes=30)
    feed, go, _ = _serve(sample.read_bytes().splitlines(keepends=True))
    stop = threading.Event()
    after_commit: list[int] = []

    class RefusedError(Exception):
        pass

    def refuse(rows: pa.Table) -> None:  # told after the commit, on the store's thread
        after_commit.append(rows.num_rows)
        if len(after_commit) == 2:
            raise RefusedError("the second batch's subscriber failed")

    with open_store(tmp_path / "live.duckdb", settings) as store:
        told = Subscribers()
        told.positions.append(refuse)
        session = Ingest(store, settings, detect=True, sinks=[told])
        timer = threading.Timer(60, stop.set)
        timer.start()
        go.set()
        try:
            with pytest.raises((RefusedError, RuntimeError)) as raised:
                ingest_live(session, feed, tmp_path / "batches", batch_s=0.1, stop=stop)
        finally:
            timer.cancel()
        read = len(list((tmp_path / "batches").glob("batch-*.nmea")))
    chain: list[BaseException] = []  # the finish that follows may fail too (a release
    error: BaseException | None = raised.value  # the store took nothing of): raised after
    while error is not None:
        chain.append(error)
        error = error.__context__
    assert any(isinstance(e, RefusedError) for e in chain)
    assert read <= 3  # stopped at the batch after the failed one (the feed sent ~40)
    assert len(after_commit) >= 2  # and the session finished: what was received, stored
