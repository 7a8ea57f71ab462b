"""The web tests' node (:class:`WebNode`): its store, URL, users and tokens."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from seawatch.store import Store

READERS = ("IND:SECRET", "JPN:SECRET")


@dataclass
class WebNode:
    store: Store
    url: str
    tokens: dict[str, str]  # reader -> token
    users: dict[str, str]  # reader -> user name
    db: Path
    app: Any  # the FastAPI app (its state: the live subscribers)

    def client(self, reader: str | None = None) -> httpx.Client:
        headers = {} if reader is None else {"Authorization": f"Bearer {self.tokens[reader]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def all_pages(client: httpx.Client, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a listing, through every page (as the map reads)."""
    items: list[dict[str, Any]] = []
    url: str | None = path
    query: dict[str, Any] | None = {"limit": 10000, **params}
    while url:
        page = client.get(url, params=query).json()
        items += page["items"]
        url, query = page["next"], None
    return items
