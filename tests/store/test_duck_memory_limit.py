"""The ``db_memory_limit`` setting reaches DuckDB (a node sharing its machine bounds it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seawatch.errors import ConfigError
from seawatch.settings import load_settings
from seawatch.store import open_store


def _limit(db: Path, env: dict[str, str]) -> str:
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND", **env})
    with open_store(str(db), settings) as store:
        row = store.backend.con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert row is not None
    return str(row[0])


def test_the_memory_limit_is_duckdbs_own_unless_set(tmp_path: Path) -> None:
    default = _limit(tmp_path / "a.duckdb", {})
    assert _limit(tmp_path / "b.duckdb", {"SEAWATCH_DB_MEMORY_LIMIT": "256MiB"}) == "256.0 MiB"
    assert default != "256.0 MiB"
    assert _limit(tmp_path / "c.duckdb", {"SEAWATCH_DB_MEMORY_LIMIT": "2GiB"}) == "2.0 GiB"


def test_a_memory_limit_that_is_not_a_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="db_memory_limit"):
        load_settings(env={"SEAWATCH_DB_MEMORY_LIMIT": "lots"})
