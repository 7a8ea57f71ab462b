"""The live node of the API tests (:class:`Node`, :class:`Served`: uvicorn on a free loopback
port in a thread) and reading the API the way a client does: every page through the
``next`` links, each answer checked for its marking and for records the reader may not
read."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from seawatch.labels import Policy, Reader, may_read, parse_label
from seawatch.store import Store

READERS = ("IND:SECRET", "USA:SECRET", "IND:CONFIDENTIAL", "USA:UNCLASSIFIED")
LABELS = ("CONFIDENTIAL//REL TO IND, USA", "SECRET//REL TO IND")


@dataclass
class Node:
    store: Store
    app: FastAPI
    url: str
    tokens: dict[str, str]  # reader -> token

    def client(self, reader: str | None = None) -> httpx.Client:
        headers = {} if reader is None else {"Authorization": f"Bearer {self.tokens[reader]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


class Served:
    """uvicorn serving ``app`` on 127.0.0.1, a free port, in a thread."""

    def __init__(self, app: FastAPI, **options: Any) -> None:
        """``options``: more of uvicorn's settings (e.g. ``ws``, the WebSocket protocol)."""
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_config=None, lifespan="off", **options
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            assert self.thread.is_alive(), "uvicorn stopped"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)


MARKING = "x-seawatch-marking"


def readable(items: list[dict[str, Any]], reader: Reader, policy: Policy) -> None:
    """Fail when an item carries a label ``reader`` may not read."""
    for item in items:
        label = parse_label(item["label"], policy)
        assert may_read(reader, label, policy), f"{reader} received a {item['label']} record"


def fetch_all(client: httpx.Client, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a listing, following ``next`` links; each page marked."""
    out: list[dict[str, Any]] = []
    r = client.get(path, params=params)
    for _ in range(1000):
        assert r.status_code == 200, r.text
        assert r.headers[MARKING] == r.json()["marking"]
        body = r.json()
        out += body["items"]
        if body["next"] is None:
            return out
        assert r.headers["link"].startswith(f"<{body['next']}>")
        r = client.get(body["next"])
    raise AssertionError("more than 1000 pages")
