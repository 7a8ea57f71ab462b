"""Live ingest reads each feed on a thread of its own: what arrived while a batch was being
stored comes next as one batch (at most ``MAX_BATCH_BYTES``), in order, nothing lost, and
a feed's error is raised after what came before it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from seawatch.engine import live


class _Lines:
    """A feed's ``batches``: ``n`` batches of one numbered line each, then maybe an error."""

    def __init__(self, n: int, error: Exception | None = None) -> None:
        self.n, self.error, self.done = n, error, threading.Event()

    def batches(
        self, batch_s: float, stop: threading.Event, duration_s: float | None
    ) -> Iterator[bytes]:
        for k in range(self.n):
            yield b"%06d\n" % k
        self.done.set()
        if self.error is not None:
            raise self.error


def test_what_arrives_while_storing_comes_next_in_one_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(live, "MAX_BATCH_BYTES", 7 * 300)
    feed = _Lines(1000)
    got = []
    for data, _ in live._received(feed, 0.1, threading.Event(), None):  # type: ignore[arg-type]
        got.append(data)
        feed.done.wait(5)  # a slow store: everything has arrived meanwhile
        time.sleep(0.01)
    assert b"".join(got) == b"".join(b"%06d\n" % k for k in range(1000))
    assert len(got) <= 6  # the first, then what waited, 300 lines at most each
    assert max(len(g) for g in got) <= 7 * 300


def test_a_feed_error_comes_after_what_came_before_it() -> None:
    feed = _Lines(3, OSError("lost"))
    got: list[bytes] = []
    batches = live._received(feed, 0.1, threading.Event(), None)  # type: ignore[arg-type]
    with pytest.raises(OSError, match="lost"):
        got.extend(data for data, _ in batches)
    assert b"".join(got) == b"000000\n000001\n000002\n"


class _Paced:
    """A feed's ``batches``: one numbered line each time ``go`` is set."""

    def __init__(self, n: int) -> None:
        self.n, self.go = n, threading.Event()

    def batches(
        self, batch_s: float, stop: threading.Event, duration_s: float | None
    ) -> Iterator[bytes]:
        for k in range(self.n):
            self.go.wait(5)
            self.go.clear()
            yield b"%06d\n" % k


def test_other_work_runs_while_nothing_has_come_and_never_holds_a_batch_back() -> None:
    """The live loop runs the detectors of stored batches (``idle``) while the feed is
    quiet, one step at a time, and a batch that comes is taken before the next step."""
    feed = _Paced(3)
    steps: list[str] = []
    work = [3]  # steps of other work waiting

    def idle(last_at: float) -> bool:
        if not work[0]:
            feed.go.set()  # nothing left to do: the feed sends its next line
            return False
        work[0] -= 1
        steps.append("work")
        return True

    feed.go.set()
    batches = live._received(feed, 0.1, threading.Event(), None, idle)  # type: ignore[arg-type]
    for data, _ in batches:
        steps.append(data.decode().strip())
        work[0] = 2
    end = steps.index("000002")
    assert steps[: end + 1] == ["000000", "work", "work", "000001", "work", "work", "000002"]
    assert set(steps[end + 1 :]) <= {"work"}  # the feed's end may come before or after


def test_a_step_put_off_waits_for_the_next_batch_or_runs_when_it_does_not_come() -> None:
    """``idle`` may put its step off (seconds to wait): a batch that comes meanwhile is
    taken first; when none comes within the wait, ``idle`` is asked again."""
    feed = _Paced(3)
    steps: list[str] = []
    asked: list[float] = []

    def idle(last_at: float) -> bool | float:
        asked.append(last_at)
        if len(asked) == 1:  # after the first batch: put off, the batch comes meanwhile
            feed.go.set()
            return 5.0
        if len(asked) == 2:  # after the second: put off, no batch within the wait
            return 0.05
        if len(asked) == 3:
            steps.append("work")
            feed.go.set()
            return True
        return False

    feed.go.set()
    t0 = time.monotonic()
    for data, cut in live._received(feed, 0.1, threading.Event(), None, idle):  # type: ignore[arg-type]
        steps.append(data.decode().strip())
        assert cut >= t0
    assert steps[:4] == ["000000", "000001", "work", "000002"]
    assert asked[0] > t0  # when the latest batch came
    assert asked[1] >= asked[0]


@pytest.mark.parametrize(
    ("now", "steps", "want"),
    [
        (10.00, [], 0.0),  # no step measured yet: step
        (10.01, [0.02] * 8, 0.0),  # ends at 10.03, before the cut at 10.10
        (10.05, [0.08] * 8, 0.07),  # would end at 10.13: wait for the cut (+ grace)
        (10.05, [0.01] * 6 + [0.5] * 2, 0.0),  # the 75th percentile fits; the outliers do not count
        (10.13, [0.08] * 8, 0.0),  # the cut is late past the grace: the feed went quiet
    ],
)
def test_a_step_is_put_off_only_when_expected_to_end_after_the_next_cut(
    now: float, steps: list[float], want: float
) -> None:
    got = live._defer_s(10.0, 0.1, now, steps)
    assert got == pytest.approx(want, abs=1e-9)
