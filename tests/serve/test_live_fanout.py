"""The hub's fan-out to many clients: what clients with the same queues keep when full is
worked out once and shared (same chunks, so one frame text between them), and is what each
would keep alone; a new subscription is acknowledged without waiting for the replaced
one's audit row (written meanwhile, on a thread of its own)."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pyarrow as pa
from test_live_ws import WEST, _connect, _subscribe, live  # noqa: F401

from seawatch.labels import Policy, Reader
from seawatch.serve.audit import audit_rows
from seawatch.serve.live_client import LIMITS, Client
from seawatch.serve.live_frames import Chunk
from seawatch.serve.live_render import Rendered
from seawatch.serve.subscription import Subscription
from seawatch.store import Store


def _chunks(keys: list[int], size: int) -> list[Chunk]:
    n = len(keys)
    rows = pa.table({"label_id": pa.array([1] * n, pa.int32())})
    texts = np.array([str(k) for k in range(n)], object)
    r = Rendered("positions", rows, texts, np.ones(n, np.int32), np.asarray(keys, np.int64))
    return [Chunk(r, np.arange(k, min(n, k + size))) for k in range(0, n, size)]


def _texts(client: Client) -> list[str]:
    return [t for c in client.queues["positions"].chunks for t in c.r.texts[c.idx].tolist()]


def test_clients_with_the_same_queue_share_what_they_keep() -> None:
    reader = Reader.parse("IND:SECRET", Policy(node_nation="IND"))
    n = LIMITS["positions"] + 1_500
    first = _chunks([k % 3_000 for k in range(n)], size=700)
    alone, a, b, other = (Client(reader, Subscription()) for _ in range(4))
    assert alone.put("positions", first) == n - 3_000
    shared: dict[Any, Any] = {}
    for c in (a, b):
        assert c.put("positions", first, shared) == n - 3_000
    assert _texts(a) == _texts(b) == _texts(alone)
    qa, qb = a.queues["positions"], b.queues["positions"]
    assert qa.chunks is not qb.chunks  # each its own list (each takes its own)
    assert all(x is y for x, y in zip(qa.chunks, qb.chunks, strict=True))  # same chunks
    assert a.missed == b.missed == alone.missed == {"positions": n - 3_000}
    # a queue holding other chunks keeps its own, even with the same fan-out's memo
    mine = _chunks([k % 10 for k in range(n)], size=700)
    assert other.put("positions", mine, shared) == n - 10
    assert len(other.queues["positions"]) == 10
    assert _texts(other) == [str(k) for k in range(n - 10, n)]
    # the next fan-out: a's and b's queues still hold the same chunks, over the limit again
    more = _chunks([3_000 + k for k in range(4_000)], size=1_000)
    shared = {}
    for c in (a, b):
        c.put("positions", more, shared)
    assert _texts(a) == _texts(b)
    assert all(
        x is y
        for x, y in zip(a.queues["positions"].chunks, b.queues["positions"].chunks, strict=True)
    )
    assert len(a.queues["positions"]) == LIMITS["positions"]


def test_a_new_subscription_is_acknowledged_before_the_replaced_ones_audit_row(
    live: tuple[Any, Store, str, dict],  # noqa: F811
) -> None:
    app, store, url, tokens = live

    def rows() -> list[dict[str, Any]]:
        with app.state.seawatch.lock:
            got = audit_rows(store).to_pylist()
        return [r for r in got if r["route"] == "/live" and r["user_name"] == "u1"]

    before = len(rows())
    with _connect(url, tokens["USA:SECRET"]) as ws:
        assert _subscribe(ws, {"bbox": [WEST]})["type"] == "subscribed"
        with app.state.seawatch.lock:  # the audit row cannot be written meanwhile
            t0 = time.monotonic()
            ack = _subscribe(ws, {"types": ["events"]})
            assert time.monotonic() - t0 < 2.0
            assert ack["type"] == "subscribed"
            assert ack["types"] == ["events"]
        deadline = time.monotonic() + 10
        while len(rows()) == before:  # then it is written
            assert time.monotonic() < deadline
            time.sleep(0.05)
    (row, *_) = rows()[before:]
    assert json.loads(row["query"])["bbox"] == [WEST]  # the replaced subscription's row
