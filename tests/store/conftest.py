"""Fixtures of the store tests: ``store_url`` runs a backend test against each database.

``store_url`` is a fresh, empty database: a DuckDB file in the test's temporary directory
(PostgreSQL joins the parameters through ``tests/store/pgserver.py``). ``node`` is the
settings of an Indian node; ``store`` opens ``store_url`` with them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # pgserver, helpers

from seawatch.settings import Settings, load_settings
from seawatch.store import Store, open_store

BACKENDS = ["duckdb"]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each backend: a file path (DuckDB) or a postgresql:// URL."""
    if request.param == "duckdb":
        return str(tmp_path / "store.duckdb")
    raise AssertionError(f"unknown backend {request.param}")  # pragma: no cover


@pytest.fixture
def node() -> Settings:
    """Settings of an Indian node with the default policy."""
    return load_settings(env={"SEAWATCH_NODE_NATION": "IND"})


@pytest.fixture
def store(store_url: str, node: Settings) -> Iterator[Store]:
    with open_store(store_url, node) as s:
        yield s
