"""Fixtures of the store tests: ``store_url`` runs a backend test against each database.

``store_url`` is a fresh, empty database: a DuckDB file in the test's temporary directory
(PostgreSQL joins the parameters through ``tests/store/pgserver.py``). ``node`` is the
settings of an Indian node; ``store`` opens ``store_url`` with them.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # pgserver, helpers

from pgserver import PostgresServer, pg_server, pg_url

from seawatch.settings import Settings, load_settings
from seawatch.store import Store, open_store

__all__ = ["pg_server", "pg_url"]  # fixtures: the session's throwaway PostgreSQL server

BACKENDS = ["duckdb", "postgresql"]
_databases = itertools.count()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each backend: a file path (DuckDB) or a postgresql:// URL."""
    if request.param == "duckdb":
        return str(tmp_path / "store.duckdb")
    if request.param == "postgresql":  # a new database; skips without PostgreSQL (pgserver)
        server: PostgresServer = request.getfixturevalue("pg_server")
        name = f"store_{next(_databases)}"
        # and store0_N, store1_N: a test makes more fresh stores by url.replace("store",
        # "store0") as with DuckDB paths; a database, unlike a file, must exist to connect
        names = [name, name.replace("store", "store0"), name.replace("store", "store1")]
        urls = [server.create_database(n) for n in names]
        request.addfinalizer(lambda: [server.drop_database(n) for n in names])  # noqa: PT021
        return urls[0]
    raise AssertionError(f"unknown backend {request.param}")  # pragma: no cover


@pytest.fixture
def node() -> Settings:
    """Settings of an Indian node with the default policy."""
    return load_settings(env={"SEAWATCH_NODE_NATION": "IND"})


@pytest.fixture
def store(store_url: str, node: Settings) -> Iterator[Store]:
    with open_store(store_url, node) as s:
        yield s
