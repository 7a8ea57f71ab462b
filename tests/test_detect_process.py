"""The detectors' pass in a child process (:mod:`seawatch.engine.detect_process`, the
setting ``live_detect_process``) gives what the pass in process gives, byte for byte: each
piece's positions (with geography), the events, the run's end (open events, segments,
identity history). A child that dies or fails is one error naming why, raised again by
every later call, and the live ingest stops on it (one error line); no child is left
behind, whether the run ends well or not. Real simulated AIS, a real spawned child, a real
TCP feed on loopback and DuckDB."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from seawatch.engine import live
from seawatch.engine.detect_process import NICE, DetectorProcessError, ProcessPipeline
from seawatch.engine.ingest import Ingest
from seawatch.engine.pipeline import Pipeline
from seawatch.engine.run import Engine, Final
from seawatch.engine.state import StateStore
from seawatch.engine.state_codec import dumps
from seawatch.settings import load_settings
from seawatch.sim import SimConfig, simulate
from seawatch.store import open_store
from test_live_detect_every import _serve

SETTINGS = {"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_REORDER_WINDOW_S": "60"}


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A 20-vessel, 2-hour simulation (with events) cut into 24 batch files, in order."""
    root = tmp_path_factory.mktemp("detect_process")
    simulate(SimConfig(seed=2, vessels=20, hours=2), root / "sim")
    lines = [x for f in sorted((root / "sim").glob("*.nmea"))
             for x in f.read_bytes().splitlines(keepends=True)]  # fmt: skip
    size = -(-len(lines) // 24)
    out = []
    for n, k in enumerate(range(0, len(lines), size)):
        out.append(root / f"batch-{n:05d}.nmea")
        out[-1].write_bytes(b"".join(lines[k : k + size]))
    return out


class _Kept:
    """A sink keeping what the engine hands it."""

    def __init__(self) -> None:
        self.chunks: list[tuple[pa.Table, pa.Table]] = []
        self.final: Final | None = None

    def chunk(self, piece: Any, result: Any) -> None:
        self.chunks.append((result.positions, result.events))

    def finish(self, final: Final | None) -> None:
        self.final = final


def _run(batches: list[Path], elsewhere: bool) -> _Kept:
    """The batches through one engine as a live feed stores them: each released, its
    detectors left for later; a pass (joining those waiting) after every third."""
    kept = _Kept()
    engine = Engine(load_settings(env=SETTINGS), sinks=[kept], detect_process=elsewhere)
    assert isinstance(engine.pipeline, ProcessPipeline) == elsewhere
    for n, path in enumerate(batches, start=1):
        engine.add([path], detect_later=True)
        if n % 3 == 0:
            while engine.waiting:
                engine.detect_next()
    engine.finish()
    if elsewhere:
        assert isinstance(engine.pipeline, ProcessPipeline)
        assert engine.pipeline._child.process.exitcode == 0  # ended when finished
    return kept


def _bytes(table: pa.Table) -> bytes:
    """The table's bytes as Arrow IPC, its chunks joined (the child's come back laid out by
    record batch, a table made here may have columns chunked each its own way). Positions
    are compared by value: the bytes under their null slots are Arrow's to leave as they
    were (a slice of the decoder's buffers here, zeros after IPC)."""
    return dumps({"t": table.combine_chunks()})


def test_a_child_process_detects_byte_for_byte_what_the_process_does(
    batches: list[Path],
) -> None:
    here, there = _run(batches, False), _run(batches, True)
    assert len(here.chunks) == len(there.chunks) == len(batches)
    events = 0
    for (p1, e1), (p2, e2) in zip(here.chunks, there.chunks, strict=True):
        assert "on_land" in p2.column_names  # the child's geography came back
        assert p1.equals(p2, check_metadata=True)
        assert _bytes(e1) == _bytes(e2)
        events += e1.num_rows
    assert events > 0  # events closed along the way, not only at the end
    a, b = here.final, there.final
    assert a is not None
    assert b is not None
    assert a.result.events.num_rows > 0  # open at the end
    assert a.result.positions.equals(b.result.positions, check_metadata=True)
    for x, y in ((a.result.events, b.result.events), (a.segments, b.segments),
                 (a.history, b.history)):  # fmt: skip
        assert _bytes(x) == _bytes(y)
    assert a.result.retract == b.result.retract
    assert not multiprocessing.active_children()


def test_a_pass_that_fails_in_the_child_is_an_error_naming_why(batches: list[Path]) -> None:
    """(The child runs at :data:`NICE` too.)"""
    pipeline = ProcessPipeline(reorder_window_s=60.0, carry_source=True)
    try:
        child = pipeline._child
        assert child.started(60)
        stat = Path(f"/proc/{pipeline.pid}/stat").read_text().rsplit(")", 1)[1].split()
        assert int(stat[16]) == min(19, os.nice(0) + NICE)  # behind the serving process
        child.send({"op": "detect"})  # no rows: the child's pass fails on it
        assert child.answered(60)
        with pytest.raises(DetectorProcessError, match=r"failed: KeyError: 'positions'"):
            child.answer()
        with pytest.raises(DetectorProcessError, match="failed: KeyError"):  # every call
            child.answered(0)
        assert child.process.exitcode == 0  # it told why, then ended
    finally:
        pipeline.close()
    assert not multiprocessing.active_children()


def test_a_child_that_dies_stops_the_live_ingest_with_one_error_line(
    batches: list[Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(env=SETTINGS)
    lines = [x for p in batches for x in p.read_bytes().splitlines(keepends=True)]
    feed, sent = _serve(lines, seconds=3.0)
    stop = threading.Event()
    with open_store(tmp_path / "live.duckdb", settings) as store:
        session = Ingest(store, settings, detect=True, detect_process=True)
        pipeline = session.engine.pipeline
        assert isinstance(pipeline, ProcessPipeline)
        assert pipeline.pid is not None
        pid = pipeline.pid

        killed = threading.Event()

        def kill() -> None:  # once a pass has come back: the child holds state by then
            deadline = time.monotonic() + 60
            while not session.report.stored["events"] and time.monotonic() < deadline:
                time.sleep(0.05)
            os.kill(pid, signal.SIGKILL)
            killed.set()

        def end() -> None:  # the feed is read on until the child is gone, however late
            sent.wait(60)
            killed.wait(60)
            time.sleep(2.0)
            stop.set()

        threading.Thread(target=kill, daemon=True).start()
        threading.Thread(target=end, daemon=True).start()
        with caplog.at_level(logging.ERROR), pytest.raises(DetectorProcessError) as raised:
            live.ingest_feeds(session, [feed], tmp_path / "batches", batch_s=0.1, stop=stop,
                              lock=threading.Lock())  # fmt: skip
        stored = session.report.stored
    assert f"(pid {pid}) ended: killed by SIGKILL" in str(raised.value)
    assert "the live ingest stops" in str(raised.value)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "killed by SIGKILL" in errors[0].getMessage()
    assert stored["positions"] > 0
    assert stored["events"] > 0
    assert sorted((tmp_path / "batches" / "1").glob("batch-*.nmea"))  # and every batch file
    assert not multiprocessing.active_children()


def test_a_run_that_keeps_state_between_runs_detects_in_process(tmp_path: Path) -> None:
    settings = load_settings(env=SETTINGS)
    with open_store(tmp_path / "s.duckdb", settings) as store:
        states = StateStore(tmp_path / "state")
        session = Ingest(store, settings, detect=True, states=states, detect_process=True)
        assert type(session.engine.pipeline) is Pipeline  # its state is kept by this process
    pipeline = ProcessPipeline(reorder_window_s=60.0)
    try:
        with pytest.raises(RuntimeError, match="detects in process"):
            pipeline.checkpoint()
    finally:
        pipeline.close()
    assert not multiprocessing.active_children()
