"""A live feed never cuts a message of several sentences between two batches.

Each live batch is decoded alone (it is kept as its own file), so a static and voyage report
(two sentences) whose first sentence ended one batch and whose second began the next was two
orphan fragments and the report was lost. Through a real loopback TCP feed that pauses right
after every first sentence, the batches decoded one by one give what the whole stream gives.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seawatch.decode import decode
from seawatch.sources import feed as feed_module
from seawatch.sources.feed import Feed
from seawatch.sources.fragments import TAIL_LINES, unfinished_tail


def _serve(lines: list[bytes], pause_s: float) -> tuple[int, threading.Thread]:
    """A loopback TCP server sending ``lines``, pausing around each first sentence of two."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def run() -> None:
        conn, _ = server.accept()
        with conn, server:
            for line in lines:
                first = b",2,1," in line
                if first:  # a batch cut comes when the first sentence arrives alone
                    time.sleep(pause_s)
                conn.sendall(line + b"\n")
                if first:
                    time.sleep(pause_s)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return port, thread


def _batches(lines: list[bytes]) -> list[bytes]:
    port, thread = _serve(lines, pause_s=0.12)
    feed = Feed("tcp", ("127.0.0.1", port), reconnect_s=0.3)
    got = list(feed.batches(0.05, threading.Event(), duration_s=30))
    thread.join(5)
    return got


def _statics(data: bytes) -> list[int]:
    tables, _ = decode(data)
    return sorted(tables["statics"].column("mmsi").to_pylist()) if "statics" in tables else []


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    from seawatch.sim.synth import write_sample

    path = tmp_path_factory.mktemp("feed") / "sample.nmea"
    write_sample(path, vessels=5, minutes=10, seed=3)
    out = path.read_bytes().splitlines()
    assert sum(b",2,1," in line for line in out) >= 5  # static reports of two sentences
    return out


def test_batches_decoded_alone_give_what_the_whole_feed_gives(lines: list[bytes]) -> None:
    got = _batches(lines)
    assert b"".join(got) == b"".join(line + b"\n" for line in lines)  # nothing lost
    assert len(got) > 5  # the pauses cut it into batches
    assert sorted(s for b in got for s in _statics(b)) == _statics(b"".join(got))
    assert all(b",2,1," not in b.splitlines()[-1] for b in got)


def test_without_holding_the_tail_the_reports_were_lost(
    lines: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_module, "unfinished_tail", lambda batch, held: len(batch))
    got = _batches(lines)
    assert b"".join(got) == b"".join(line + b"\n" for line in lines)
    assert len([s for b in got for s in _statics(b)]) < len(_statics(b"".join(got)))


_SINGLE = b"!AIVDM,1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0*5C"


def _group(seq: int, count: int, channel: str, tag: bool) -> list[bytes]:
    lines = [
        f"!AIVDM,{count},{k},{seq},{channel},PAYLOAD{k},0*00".encode() for k in range(1, count + 1)
    ]
    return (
        [b"\\g:%d-%d-1,c:1*00\\" % (k + 1, count) + x for k, x in enumerate(lines)]
        if tag
        else lines
    )


@given(
    st.lists(
        st.one_of(
            st.just(None),
            st.tuples(st.integers(0, 9), st.integers(2, 4), st.sampled_from("AB"), st.booleans()),
        ),
        max_size=30,
    ),
    st.data(),
)
def test_the_tail_starts_at_the_earliest_unfinished_message(
    groups: list[tuple[int, int, str, bool] | None], data: st.DataObject
) -> None:
    """Whole messages, then one cut short: the tail starts at the first sentence of the one
    cut short (or later, when its start is in the bytes held once), and a batch of whole
    messages keeps nothing back."""
    lines: list[bytes] = []
    for g in groups:
        lines += [_SINGLE] if g is None else _group(g[0], g[1], g[2], tag=g[3])
    whole = b"".join(x + b"\n" for x in lines)
    assert unfinished_tail(whole) == len(whole)
    seq, count = data.draw(st.integers(10, 15)), data.draw(st.integers(2, 4))
    short = _group(seq, count, "A", tag=False)[: data.draw(st.integers(1, count - 1))]
    batch = whole + b"".join(x + b"\n" for x in short)
    assert unfinished_tail(batch) == len(whole)
    held = data.draw(st.integers(0, len(batch)))
    at = unfinished_tail(batch, held)
    assert at == len(whole) if held <= len(whole) else at == len(batch)
    assert at == len(batch) or batch[at - 1 : at] in (b"", b"\n")


def test_only_the_last_lines_are_looked_at() -> None:
    first = _group(3, 2, "A", tag=False)[0] + b"\n"
    rest = (_SINGLE + b"\n") * TAIL_LINES
    assert unfinished_tail(first + rest[: -len(_SINGLE) - 1]) == 0  # within the last lines
    assert unfinished_tail(first + rest) == len(first + rest)  # too far back: an orphan
