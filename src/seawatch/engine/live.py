"""A live feed through the engine: batches stored as they arrive, one pipeline across them.

In: an open :class:`seawatch.sources.feed.Feed` (TCP or UDP NMEA; lines without a receive
time are stamped with their arrival time by the feed), an :class:`~seawatch.engine.ingest.Ingest`
session, a folder for the batches as received, and a stop event (set by Ctrl-C/SIGTERM
through :func:`seawatch.signals.stop_on_signals`, or by the server). Out: each batch kept
whole in ``<folder>/batch-NNNNN.nmea`` and stored at once (positions with their segment,
events as they close), a :class:`Batch` report per batch to ``on_batch``, and the session
finished (open events, segments) when the feed ends: nothing received is lost.
:func:`ingest_feeds` does the same for several feeds at once (a thread each, one session,
its writes under a lock the feeds share; the server gives the session a write connection of
its own, so nothing else it does waits for ingest or holds it up).

Reading never waits for storing: each feed is received on a thread of its own into a queue,
and what arrived while a batch was being stored is stored next as one batch (the batches
grow when the store is behind, up to :data:`MAX_BATCH_BYTES`, instead of the feed's socket
filling up; how far behind is logged).

A batch's positions wait neither for its detectors nor for the previous batch's: each batch
is released by the pipeline and its positions told and stored at once (the store's insert
and commit of a batch go on on a thread of their own while the next batch is decoded and
released: :attr:`~seawatch.engine.store_sink.StoreSink.overlap`), and the detectors
run on it while the feed has nothing new, one step at a time (identity, or one detector:
:meth:`Ingest.detect_step`, oldest batch first; the events a batch's detectors close are
stored after its last step), so a batch that comes during a detector pass waits for one
step, not for the whole pass. A pass begins on every batch waiting at that moment, joined
(the detectors' cost is mostly per pass), at most every :data:`DETECT_EVERY_S`; with more
than :data:`STEP_WAITING` waiting, a step runs after each batch is stored even when the
next has come (a steady feed leaves no pause between batches). A step is not begun while
the feed has nothing new when it is expected to end after the next batch's cut (the feed
cuts one every ``batch_s``): the batch is awaited and stored first, so it does not wait for
the step (:func:`_defer_s`).
At most :data:`MAX_WAITING` batches wait for their detectors;
beyond, a batch runs them before the next is read (events lag a few batches at most).
Each :class:`Batch` tells how long it waited and took, and each detector step's
length (``seawatch_live_delay_seconds``).

The detectors are not on a thread of their own: tried (2026-12-06), the positions path and
the detectors then shared the GIL, and both took longer (a batch's store 61 -> 140 ms mean,
at load 3-5). With the setting ``live_detect_process`` they run in a child process instead
(:mod:`seawatch.engine.detect_process`): a step then sends a pass, or asks if it is done.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from seawatch.engine.workspace import write_atomic

if TYPE_CHECKING:
    from seawatch.engine.ingest import Ingest, IngestReport
    from seawatch.sources.feed import Feed

__all__ = ["Batch", "ingest_feeds", "ingest_live"]

log = logging.getLogger(__name__)

MAX_WAITING = 30
"""Batches stored whose detectors have not run yet, at most (see the module docstring):
three seconds of 0.1 s batches, so a burst does not make a feed run whole passes before
reading."""
STEP_WAITING = 2
"""With more batches than this waiting for their detectors, a feed runs one detector step
after storing each batch, even when the next has come meanwhile (the feed never pauses
under a steady load, so steps between batches alone would not keep up); the batches that
wait are detected in one pass when it begins (:meth:`seawatch.engine.run.Engine.detect_step`)."""
STEPS_KEPT = 32
"""The latest detector steps' lengths a feed keeps to expect the next one's (:func:`_defer_s`)."""
STEP_QUANTILE = 0.75
"""A step is expected to take this quantile of the latest steps' lengths."""
DETECT_EVERY_S = 0.5
"""A detector pass begins at most this often: once the oldest batch waiting for it was
stored this long ago (or more than :data:`MAX_WAITING` wait), so a pass joins the batches
of this long (at 0.1 s batches, five). The detectors' cost is mostly per pass: replaying a
6,000 msg/s feed's 0.1 s batches (100,000 vessels), a pass per batch cost ~35-43 ms of
CPU a batch, one per five ~14 ms (bench/RESULTS.md, 2026-12-07 session 5, h-fan); CPU
the positions of the next batches no longer wait for. The events are the same (a pass's
"now" is its watermark, whatever the joining); they are stored up to this much later."""
ELSEWHERE_POLL_S = 0.005
"""While a detectors' pass runs in a child process (the setting ``live_detect_process``), a
feed with nothing new asks whether it is done this often (waiting for the next batch
meanwhile)."""
CUT_GRACE_S = 0.02
"""A batch this late past its expected cut is not waited for: the feed may have gone quiet."""
MAX_BATCH_BYTES = 16 << 20
"""A batch stored at once holds at most this much of what arrived (when the store is
behind, the rest waits for the next), so memory per batch stays bounded."""


@dataclass(frozen=True)
class Batch:
    """One batch as stored: its number (from 1), file, lines, and what it added."""

    number: int
    path: Path
    lines: int
    positions: int
    """Positions it stored (reported once they are committed: a batch's insert and commit
    go on beside the next batch, and ``on_batch`` is called on the store's thread then)."""
    events: int
    """Events stored since the previous batch of the feed was reported (a batch's detectors
    run after its positions are stored, often while the next batch arrives)."""
    waited_s: float = 0.0
    """From the batch's cut (its last line received) to its storing beginning."""
    store_s: float = 0.0
    """From its storing beginning to its positions told (their insert and commit go on
    beside the next batch: :attr:`~seawatch.engine.store_sink.StoreSink.overlap`)."""
    detect_s: tuple[float, ...] = ()
    """The length of each detector step run since the previous batch was reported (what a
    batch that comes meanwhile waits for at most), or of each whole pass run before it was
    read (:data:`MAX_WAITING`)."""


def ingest_live(
    session: Ingest,
    feed: Feed,
    folder: Path,
    *,
    batch_s: float,
    stop: threading.Event,
    duration_s: float | None = None,
    on_batch: Callable[[Batch], None] | None = None,
) -> IngestReport:
    """Read ``feed`` in batches of ``batch_s`` until it closes, ``duration_s`` passes or
    ``stop`` is set; store each batch through ``session``; finish the session."""
    try:
        _read(session, feed, folder, batch_s, stop, duration_s, on_batch, None, _Stored(session))
    finally:
        report = session.finish()
    return report


def ingest_feeds(
    session: Ingest,
    feeds: Sequence[Feed],
    folder: Path,
    *,
    batch_s: float,
    stop: threading.Event,
    lock: threading.Lock,
    on_batch: Callable[[Batch], None] | None = None,
) -> IngestReport:
    """Read every feed at once, a thread each, batches in ``<folder>/<n>/`` (n from 1 in
    the order given), each stored through the one ``session`` while holding ``lock``;
    when all have ended (``stop`` set, or closed for good) the session is finished, under
    ``lock`` too. A feed whose batch cannot be stored sets ``stop`` (the others end as
    well) and its error is raised once the session is finished."""
    errors: list[BaseException] = []
    stored = _Stored(session)

    def read(n: int, feed: Feed) -> None:
        try:
            _read(session, feed, folder / str(n), batch_s, stop, None, on_batch, lock, stored)
        except BaseException as exc:
            log.error("feed %s: %s; stopping the feeds", feed, exc)
            errors.append(exc)
            stop.set()

    threads = [
        threading.Thread(target=read, args=(n, feed), name=f"feed-{n}", daemon=True)
        for n, feed in enumerate(feeds, start=1)
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        with lock:
            report = session.finish()
    if errors:
        raise errors[0]
    return report


def _read(
    session: Ingest,
    feed: Feed,
    folder: Path,
    batch_s: float,
    stop: threading.Event,
    duration_s: float | None,
    on_batch: Callable[[Batch], None] | None,
    lock: threading.Lock | None,
    counted: _Stored,
) -> None:
    """Each batch of ``feed`` kept in ``folder`` and stored through ``session``; the
    detectors run while nothing new has come (see the module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    session.sink.overlap = True  # a batch's insert and commit go on beside the next batch
    locked = lock if lock is not None else contextlib.nullcontext()
    events = 0  # stored by this feed's detect_next since its last batch was reported
    passes: list[float] = []  # the length of each detector step (or pass) since then

    passes_seen: deque[float] = deque(maxlen=STEPS_KEPT)  # the latest steps' lengths
    due = _Due(session)

    def timed(step: Callable[[], bool]) -> bool:
        began = time.monotonic()
        done = due.step(step)
        if done and not session.engine.elsewhere:  # not a pass sent, nor a question
            passes.append(time.monotonic() - began)
            passes_seen.append(passes[-1])
        return done

    def detect_step(last_at: float) -> bool | float:
        nonlocal events
        if session.waiting:
            now = time.monotonic()
            defer = due.in_s(now) or _defer_s(last_at, batch_s, now, passes_seen)
            if defer > 0:
                return defer
        with locked:
            before = session.report.stored["events"]
            done = timed(session.detect_step)
            events += session.report.stored["events"] - before
        if done and session.engine.elsewhere:  # a child process's pass: ask again later
            return ELSEWHERE_POLL_S
        return done

    for n, (data, cut) in enumerate(_received(feed, batch_s, stop, duration_s, detect_step)):
        path = folder / f"batch-{n:05d}.nmea"
        write_atomic(path, data)
        with locked:
            began = time.monotonic()
            before = dict(session.report.stored)
            due.add(session.add, [path])
            stored = time.monotonic()
            if session.waiting > MAX_WAITING:
                while session.waiting > MAX_WAITING:
                    timed(session.detect_next)
            elif session.waiting > STEP_WAITING and not due.in_s(stored):
                timed(session.detect_step)  # no gap between batches: a step now
            now = dict(session.report.stored)
            events, told = 0, events + now["events"] - before["events"]
            took, passes = tuple(passes), []
            if on_batch is not None:  # once its positions are committed (under the lock:
                batch = functools.partial(  # another feed's batch may be written next)
                    Batch, n + 1, path, data.count(b"\n"), events=told, waited_s=began - cut,
                    store_s=stored - began, detect_s=took,
                )  # fmt: skip

                def report(batch: Callable[..., Batch] = batch) -> None:
                    on_batch(batch(positions=counted.since()))

                session.sink.when_written(report)


class _Due:
    """When a detector pass may begin (:data:`DETECT_EVERY_S`): when each batch waiting for
    one was stored, and whether a pass is under way (its steps go on when asked)."""

    def __init__(self, session: Ingest) -> None:
        self.session = session
        self.stored: deque[float] = deque()  # a time per piece waiting, oldest first
        self.going = False

    def add(self, add: Callable[..., object], paths: list[Path]) -> None:
        """``add(paths, detect_later=True)``, its pieces noted waiting from now."""
        before = self.session.waiting
        add(paths, detect_later=True)
        now = time.monotonic()
        self.stored.extend(now for _ in range(self.session.waiting - before))

    def in_s(self, now: float) -> float:
        """Seconds until a pass may begin (0: now, or one is under way)."""
        if self.going or not self.stored:
            return 0.0
        return max(0.0, self.stored[0] + DETECT_EVERY_S - now)

    def step(self, step: Callable[[], bool]) -> bool:
        """``step()`` (a step or a whole pass), the pieces it ended no longer waiting."""
        before = self.session.waiting
        done = step()
        ended = before - self.session.waiting
        for _ in range(min(ended, len(self.stored))):
            self.stored.popleft()
        self.going = done and not ended
        return done


class _Stored:
    """The positions a session stored since this was last asked (from any thread: each
    batch's are counted once its transaction has ended, on the store's thread)."""

    def __init__(self, session: Ingest) -> None:
        self.session = session
        self.lock = threading.Lock()
        self.last = session.report.stored["positions"]

    def since(self) -> int:
        with self.lock:
            now = self.session.sink.report.stored["positions"]
            n, self.last = now - self.last, now
            return n


def _defer_s(last_at: float, batch_s: float, now: float, steps: Sequence[float]) -> float:
    """How long to wait for the next batch before a detector step (0: step now). The feed
    cuts a batch every ``batch_s`` (its last came at ``last_at``); a step expected
    (:data:`STEP_QUANTILE` of the latest ``steps``) to end after the next cut would make
    that batch wait for it, so the batch is awaited and stored first. A cut that does not
    come (the feed went quiet) defers nothing: once it is :data:`CUT_GRACE_S` late, steps
    run."""
    next_cut = last_at + batch_s
    if not steps or now >= next_cut + CUT_GRACE_S:
        return 0.0
    expected = float(sorted(steps)[int(STEP_QUANTILE * (len(steps) - 1))])
    if now + expected <= next_cut:
        return 0.0
    return next_cut + CUT_GRACE_S - now


def _received(
    feed: Feed,
    batch_s: float,
    stop: threading.Event,
    duration_s: float | None,
    idle: Callable[[float], bool | float] | None = None,
) -> Iterator[tuple[bytes, float]]:
    """The batches of ``feed``, received on a thread of their own, each with the
    ``time.monotonic()`` of its cut (of the first, when joined); each batch is what
    arrived since the previous one was taken (one batch or more, joined, up to
    :data:`MAX_BATCH_BYTES`; the rest is the next). An error of the feed is raised here
    once what came before it is taken. While nothing has come, ``idle`` is called with
    when the latest batch came (one step of other work each time; False when it has none,
    or the seconds to wait for the next batch before asking again) before waiting."""
    got: queue.SimpleQueue[tuple[bytes, float] | BaseException | None] = queue.SimpleQueue()

    def receive() -> None:
        try:
            for data in feed.batches(batch_s, stop, duration_s):
                got.put((data, time.monotonic()))
            got.put(None)
        except BaseException as exc:
            got.put(exc)

    name = f"{threading.current_thread().name}-receive"
    threading.Thread(target=receive, name=name, daemon=True).start()
    waiting: deque[tuple[bytes, float] | BaseException | None] = deque()
    warned = 0

    last_at = 0.0  # when the latest batch came

    def take(block: bool, timeout: float | None = None) -> bool:
        nonlocal last_at
        try:
            item = got.get(block=block, timeout=timeout)
        except queue.Empty:
            return False
        waiting.append(item)
        if isinstance(item, tuple):
            last_at = item[1]
        return True

    while True:
        while take(block=False):  # everything received so far
            pass
        while not waiting:  # nothing: other work first, then wait
            done = False if idle is None else idle(last_at)
            if done is False:
                take(block=True)
            elif done is not True:  # a step put off until the next batch is stored
                take(block=True, timeout=done)
            while take(block=False):
                pass
        behind = sum(len(w[0]) for w in waiting if isinstance(w, tuple))
        if behind > 4 * MAX_BATCH_BYTES and behind > 2 * warned:
            log.warning("feed %s: storing is %d MB behind what arrived", feed, behind >> 20)
            warned = behind
        parts: list[bytes] = []
        size, cut = 0, 0.0
        while waiting and isinstance(waiting[0], tuple):
            if parts and size + len(waiting[0][0]) > MAX_BATCH_BYTES:
                break
            data, at = waiting.popleft()  # type: ignore[misc]
            cut = cut if parts else at
            parts.append(data)
            size += len(data)
        if parts:
            yield b"".join(parts), cut
            continue
        end = waiting.popleft()
        if isinstance(end, BaseException):
            raise end
        return
