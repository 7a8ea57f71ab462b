"""``/live`` during a storm of new tokens: each new token's secret is checked once with the
slow KDF (scrypt) on threads of its own (``live-kdf``), so a client whose token was verified
before is acknowledged without queueing behind the others' KDFs, every new token is still
checked (a wrong secret for a known id refused with the reason), and every good one
acknowledged. Real WebSocket clients of a real uvicorn server on loopback."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apiclient import Served
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from seawatch.serve.accounts import create_user
from seawatch.serve.app import create_app
from seawatch.settings import load_settings
from seawatch.store import Store, open_store

NEW = 24  # new tokens at once: more than the KDF threads of any machine this runs on


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, str, list[str]]]:
    tmp: Path = tmp_path_factory.mktemp("kdf")
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    store = open_store(tmp / "node.duckdb", settings)
    tokens = [create_user(store, f"u{i}", "IND:SECRET")[1] for i in range(NEW + 1)]
    with Served(create_app(store, settings)) as url:
        yield store, url.replace("http://", "ws://"), tokens
    store.close()


def _connect(url: str, token: str) -> ClientConnection:
    headers = {"Authorization": f"Bearer {token}"}
    return connect(f"{url}/live", additional_headers=headers, open_timeout=30)


def _ack(ws: ClientConnection) -> dict[str, Any]:
    ws.send(json.dumps({"types": ["positions"]}))
    got: dict[str, Any] = json.loads(ws.recv(timeout=60))
    return got


def test_a_verified_token_is_not_held_behind_a_storm_of_new_ones(
    node: tuple[Store, str, list[str]],
) -> None:
    _, url, tokens = node
    known, new = tokens[0], tokens[1:]
    with _connect(url, known) as ws:  # verified once: the KDF, then cached
        assert _ack(ws)["type"] == "subscribed"
    order = itertools.count()
    acks: dict[str, tuple[int, dict[str, Any]]] = {}
    sent = threading.Barrier(len(new) + 1)

    def subscribe(token: str) -> None:
        with _connect(url, token) as ws:
            ws.send(json.dumps({"types": ["positions"]}))
            sent.wait(30)  # every new token's subscription sent, its KDF queued
            got = json.loads(ws.recv(timeout=60))
            acks[token] = (next(order), got)

    threads = [threading.Thread(target=subscribe, args=(t,)) for t in new]
    for t in threads:
        t.start()
    sent.wait(30)
    with _connect(url, known) as ws:
        got = _ack(ws)
        mine = next(order)
        kdf_threads = [t.name for t in threading.enumerate() if t.name.startswith("live-kdf")]
    for t in threads:
        t.join(60)
    assert got["type"] == "subscribed"
    assert all(a["type"] == "subscribed" for _, a in acks.values()), acks
    assert len(acks) == len(new)
    assert mine < max(n for n, _ in acks.values())  # not after every new token's KDF
    assert kdf_threads  # the KDFs ran on threads of their own


def test_a_wrong_secret_for_a_known_id_is_still_refused(
    node: tuple[Store, str, list[str]],
) -> None:
    _, url, tokens = node
    prefix, _, secret = tokens[0].rpartition("_")
    wrong = f"{prefix}_{secret[::-1]}"
    assert wrong != tokens[0]
    with _connect(url, wrong) as ws:
        msg = json.loads(ws.recv(timeout=30))
        assert msg == {"type": "error", "detail": "unknown token"}
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
