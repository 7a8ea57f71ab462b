"""The detectors' pass of a live ingest in a child process of its own.

In: what a :class:`~seawatch.engine.pipeline.Pipeline` releases (positions as released,
statics, the cutoff, whether it is the end), one pass at a time, as Arrow IPC
(:func:`seawatch.engine.state_codec.dumps`: no pickle on the data's path). Out: each pass's
:class:`~seawatch.engine.chunks.ChunkResult` (positions with geography, the events closed),
and at the end the events still open, the segments and the identity history.

:class:`ProcessPipeline` is a pipeline whose release (reorder, clean, segment) runs where it
is called and whose detectors' pass (geography, identity, every detector, with their state)
runs in a child process (``spawn``: the serving process has threads; a fresh interpreter
imports only the detectors). A live server's positions path (release, store, tell) and its
event loop then no longer share a GIL with the detectors (~11-12 ms of CPU a 600-line batch,
bench/RESULTS.md 2026-12-08 session 7, h-fan): the child runs them on another core while
the next batches are stored and sent. The events are the same: the child runs the same
code on the same rows in the same order (:func:`~seawatch.engine.chunks.joined` passes).

The child holds the detectors' state; nothing is lost while it lives: at the end
(:meth:`ProcessPipeline.finish`, a SIGTERM's stop included) the last pass runs there and the
open events, segments and history come back. The child ignores SIGINT and SIGTERM (a
Ctrl-C or a stop sent to the process group would kill it before the parent finished) and
ends when its pipe closes: when the parent closes it (:meth:`ProcessPipeline.close`) or
dies. A child that ends early, or a pass that fails in it, is a
:class:`DetectorProcessError` naming the reason (exit code or signal, or the error), raised
again by every later call: the live ingest stops; its batch files keep what was received.
A run that carries state between runs (daily runs) keeps the detectors in process.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import traceback
from collections.abc import Generator
from multiprocessing.connection import Connection
from typing import Any, NoReturn

from seawatch.engine.chunks import ChunkResult, Released
from seawatch.engine.pipeline import Pipeline
from seawatch.engine.state_codec import dumps, loads
from seawatch.errors import SeawatchError
from seawatch.events.registry import detectors

__all__ = ["DetectorProcessError", "ProcessPipeline"]

log = logging.getLogger(__name__)

NAME = "seawatch-detect"
"""The child process's name (``multiprocessing``'s; its command line is Python's)."""
POLL_S = 0.001
"""A step of a pass under way in the child waits this long for its answer (the caller
may store a newer batch between steps; :func:`~seawatch.engine.chunks.ran` waits so
without spinning)."""
NICE = 10
"""The child's nice (added to the parent's): the serving process's positions path and event
loop come first for a core, the detectors take what is left (as the KDF threads,
``seawatch.serve.live_auth``). Under load, without it the child's pass took a core the
server's threads needed: fan-out p99 230-651 ms in five runs, with it 249 and 296 against
250 in process (bench/RESULTS.md 2026-12-08 session 7, h-fan). Should it fall behind,
:data:`seawatch.engine.live.MAX_WAITING` makes the feed wait for it."""
GC_THRESHOLDS = (10_000, 50, 100)
"""The child's ``gc.set_threshold`` (a serving process's: :mod:`seawatch.cli.serve_warm`)."""
CLOSE_S = 10.0
"""At :meth:`ProcessPipeline.close`, the child's time to end once its pipe is closed
before it is terminated."""


class DetectorProcessError(SeawatchError):
    """The detectors' child process ended before its work was done, or failed in it."""


class ProcessPipeline(Pipeline):
    """A :class:`Pipeline` (same arguments) whose detectors' pass runs in a child process
    (see the module docstring). One pass is in the child at a time; each step of
    :meth:`detect_steps` after the first only asks whether its answer has come."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        names = [d.name for d in detectors()]
        self._child = _Child(kwargs, names)
        self._got: tuple[Any, Any] | None = None  # the child's segments and history, at the end
        self.busy = False
        """A pass was sent and its answer has not come yet."""
        log.info("the detectors run in a child process (pid %s)", self.pid)

    def _detect_steps(self, released: Released) -> Generator[None, None, ChunkResult]:
        child = self._child
        self.busy = True
        while not child.started(POLL_S):
            yield  # the child is still importing: the caller stores what comes meanwhile
        segmented = None if released.segmented is released.positions else released.segmented
        child.send({"op": "detect", "positions": released.positions, "segmented": segmented,
                    "statics": released.statics, "cutoff_us": released.cutoff_us,
                    "final": released.final, "latest_us": self.latest_us})  # fmt: skip
        yield
        while not child.answered(POLL_S):
            yield
        reply = child.answer()
        self.busy = False
        if released.final:
            self._got = (reply["segments"], reply["history"])
        return ChunkResult(reply["positions"], reply["events"], released.late)

    def checkpoint(self, watermark_us: int | None = None) -> ChunkResult:
        raise RuntimeError("a run that keeps state between runs detects in process")

    def resume(self, state: dict[str, Any], name: str = "state") -> None:
        raise RuntimeError("a run that keeps state between runs detects in process")

    def state(self) -> dict[str, Any]:
        raise RuntimeError("a run that keeps state between runs detects in process")

    def segments(self) -> Any:
        if self._got is None:
            raise RuntimeError("ProcessPipeline.segments before finish()")
        return self._got[0]

    def history(self) -> Any:
        if self._got is None:
            raise RuntimeError("ProcessPipeline.history before finish()")
        return self._got[1]

    def close(self) -> None:
        """End the child (it ends when its pipe closes; terminated after :data:`CLOSE_S`)."""
        self._child.close()

    @property
    def pid(self) -> int | None:
        """The child's process id."""
        return self._child.process.pid


class _Child:
    """The child process and the parent's end of its pipe."""

    def __init__(self, config: dict[str, Any], names: list[str]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, theirs = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=_main, args=(theirs, config, names, NICE), name=NAME, daemon=True
        )
        self.process.start()
        theirs.close()
        self.error: DetectorProcessError | None = None
        self._started = False

    def started(self, timeout: float) -> bool:
        """Whether the child is ready (its first answer read; an error if it failed)."""
        if not self._started and self.answered(timeout):
            self.answer()
            self._started = True
        return self._started

    def send(self, message: dict[str, Any]) -> None:
        self._check()
        try:
            self.conn.send_bytes(dumps(message))
        except OSError:
            self._ended(None)

    def answered(self, timeout: float) -> bool:
        self._check()
        try:
            return self.conn.poll(timeout)
        except OSError:
            return True  # answer() tells why

    def answer(self) -> dict[str, Any]:
        self._check()
        try:
            data = self.conn.recv_bytes()
        except (EOFError, OSError):
            self._ended(None)
        reply: dict[str, Any] = loads(data, "an answer of the detectors' process")
        if "error" in reply:
            self._ended(reply["error"])
        return reply

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    def _ended(self, failed: str | None) -> NoReturn:
        """Raise (and keep) the error telling why the child is gone or failed."""
        p = self.process
        if failed is None:
            p.join(CLOSE_S)
            code = p.exitcode
            if code is not None and code < 0:
                why = f"killed by {signal.Signals(-code).name}"
            else:
                why = "still running, its pipe broken" if code is None else f"exit code {code}"
            what = f"the detectors' process (pid {p.pid}) ended: {why}"
        else:
            what = f"the detectors' process (pid {p.pid}) failed: {failed}"
        self.error = DetectorProcessError(
            f"{what}; the live ingest stops: the positions stored are kept, the events of the "
            "batches not yet through the detectors and the rows still held for time order "
            "are not stored (each batch received is kept in its file: `seawatch ingest "
            "--detect` on them stores everything)"
        )
        self.close()
        raise self.error

    def close(self) -> None:
        self.conn.close()
        p = self.process
        if p.pid is None:
            return
        p.join(CLOSE_S)
        if p.exitcode is None:
            log.warning("the detectors' process (pid %d) did not end: terminated", p.pid)
            p.terminate()
            p.join(CLOSE_S)
        if p.exitcode is None:
            p.kill()
            p.join()


class _Detecting(Pipeline):
    """The child's pipeline: only its detectors' half is used, on the releases sent."""

    def sent(self, message: dict[str, Any]) -> dict[str, Any]:
        positions = message["positions"]
        segmented = positions if message["segmented"] is None else message["segmented"]
        released = Released(positions, message["statics"], {}, message["cutoff_us"],
                            message["final"], segmented)  # fmt: skip
        self.latest_us = message["latest_us"]
        self._waiting.append(released)
        result = self.detect(released)
        reply: dict[str, Any] = {"positions": result.positions, "events": result.events}
        if released.final:
            reply |= {"segments": self.segments(), "history": self.history()}
        return reply


def _main(conn: Connection, config: dict[str, Any], names: list[str], nice: int) -> None:
    """The child: make the pipeline, say so, then answer each pass until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when this ends
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    try:
        pipeline = _Detecting(**config)
        missing = sorted(set(names) - {d.name for d in detectors()})
        if missing:
            raise DetectorProcessError(
                f"detectors registered at run time ({', '.join(missing)}) are not in a child "
                "process: set SEAWATCH_LIVE_DETECT_PROCESS=false to run them in process"
            )
        reply: dict[str, Any] = {"ready": True}
        gc.collect()  # as the serving process (seawatch.cli.serve_warm.tuned_gc): a full
        gc.freeze()  # collection would scan the whole detectors' state, every ~70 k
        gc.set_threshold(*GC_THRESHOLDS)  # allocations at CPython's default thresholds
    except Exception as exc:
        reply = {"error": _told(exc)}
    while True:
        try:
            conn.send_bytes(dumps(reply))
            if "error" in reply:
                return
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            reply = pipeline.sent(loads(data, "a message to the detectors' process"))
        except Exception as exc:
            reply = {"error": _told(exc)}


def _told(exc: BaseException) -> str:
    """``exc`` in one line, where it was raised included."""
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" (at {where[0].filename}:{where[0].lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{at}"
