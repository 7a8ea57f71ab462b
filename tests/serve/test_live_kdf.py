"""``/live`` during a storm of new tokens: each new token's secret is checked once with the
slow KDF (scrypt) on threads of its own (``live-kdf``), during the handshake, so a client
whose token was verified before is acknowledged without queueing behind the others' KDFs, a
subscription sent once connected is answered at once, connections bringing the same new
token share one KDF run, every new token is still checked (a wrong secret for a known id
refused with the reason; a token revoked since it was verified refused), and every good one
acknowledged. Real WebSocket clients of a real uvicorn server on loopback."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apiclient import Served
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from seawatch.serve import accounts, live_auth
from seawatch.serve.accounts import create_user, revoke_user
from seawatch.serve.app import create_app
from seawatch.settings import load_settings
from seawatch.store import Store, open_store

NEW = 24  # new tokens at once: more than the KDF threads of any machine this runs on


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, str, list[str], Any]]:
    tmp: Path = tmp_path_factory.mktemp("kdf")
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    store = open_store(tmp / "node.duckdb", settings)
    tokens = [create_user(store, f"u{i}", "IND:SECRET")[1] for i in range(NEW + 1)]
    tokens += [create_user(store, name, "IND:SECRET")[1] for name in ("same", "gone")]
    app = create_app(store, settings)
    with Served(app) as url:
        yield store, url.replace("http://", "ws://"), tokens, app
    store.close()


def _connect(url: str, token: str) -> ClientConnection:
    headers = {"Authorization": f"Bearer {token}"}
    return connect(f"{url}/live", additional_headers=headers, open_timeout=30)


def _ack(ws: ClientConnection) -> dict[str, Any]:
    ws.send(json.dumps({"types": ["positions"]}))
    got: dict[str, Any] = json.loads(ws.recv(timeout=60))
    return got


def _kdf_running() -> bool:
    return bool(live_auth._CHECKING)


def test_a_verified_token_is_not_held_behind_a_storm_of_new_ones(
    node: tuple[Store, str, list[str], Any],
) -> None:
    _, url, tokens, _ = node
    known, new = tokens[0], tokens[1 : NEW + 1]
    with _connect(url, known) as ws:  # verified once: the KDF, then cached
        assert _ack(ws)["type"] == "subscribed"
    order = itertools.count()
    acks: dict[str, tuple[int, dict[str, Any], float]] = {}

    def subscribe(token: str) -> None:
        with _connect(url, token) as ws:  # the handshake waits for this token's KDF
            t0 = time.monotonic()
            got = _ack(ws)
            acks[token] = (next(order), got, time.monotonic() - t0)

    threads = [threading.Thread(target=subscribe, args=(t,)) for t in new]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while not _kdf_running():  # the storm's KDFs under way
        assert time.monotonic() < deadline
        time.sleep(0.001)
    with _connect(url, known) as ws:
        got = _ack(ws)
        mine = next(order)
        kdf_threads = [t.name for t in threading.enumerate() if t.name.startswith("live-kdf")]
    for t in threads:
        t.join(60)
    assert got["type"] == "subscribed"
    assert all(a["type"] == "subscribed" for _, a, _ in acks.values()), acks
    assert len(acks) == len(new)
    assert mine < max(n for n, _, _ in acks.values())  # not after every new token's KDF
    assert kdf_threads  # the KDFs ran on threads of their own
    # once connected (the token checked), a subscription is answered at once
    assert max(s for _, _, s in acks.values()) < 5.0


def test_one_kdf_for_connections_that_bring_the_same_new_token(
    node: tuple[Store, str, list[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url, tokens, _ = node
    token = tokens[NEW + 1]
    runs = []
    real = accounts._hash

    def counted(secret: str, salt: bytes) -> str:
        runs.append(1)
        return real(secret, salt)

    monkeypatch.setattr(accounts, "_hash", counted)
    got: list[dict[str, Any]] = []

    def subscribe() -> None:
        with _connect(url, token) as ws:
            got.append(_ack(ws))

    threads = [threading.Thread(target=subscribe) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [g["type"] for g in got] == ["subscribed"] * 8
    assert len(runs) == 1  # those that came while its KDF ran (on any thread) waited for it


def test_a_verified_token_revoked_since_is_refused(
    node: tuple[Store, str, list[str], Any],
) -> None:
    store, url, tokens, app = node
    token = tokens[NEW + 2]
    with _connect(url, token) as ws:  # verified, and kept as verified in the server
        assert _ack(ws)["type"] == "subscribed"
    with app.state.seawatch.lock:  # as `seawatch users revoke` would: the users table
        revoke_user(store, "gone")
    with _connect(url, token) as ws:
        msg = json.loads(ws.recv(timeout=30))
    assert msg["type"] == "error"
    assert msg["detail"].startswith("token revoked at ")


def test_a_wrong_secret_for_a_known_id_is_still_refused(
    node: tuple[Store, str, list[str], Any],
) -> None:
    _, url, tokens, _ = node
    # sw_<16 hex>_<43 urlsafe characters>, and the secret may itself hold "_": cut by length
    prefix, secret = tokens[0][: len("sw_") + 16 + 1], tokens[0][len("sw_") + 16 + 1 :]
    wrong = prefix + ("A" if secret[0] != "A" else "B") + secret[1:]
    assert wrong != tokens[0]
    assert len(wrong) == len(tokens[0])
    with _connect(url, wrong) as ws:
        msg = json.loads(ws.recv(timeout=30))
        assert msg == {"type": "error", "detail": "unknown token"}
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
