"""The ``db_memory_limit`` setting reaches DuckDB: a quarter of the RAM unless set."""

from __future__ import annotations

from pathlib import Path

import pytest

from seawatch.errors import ConfigError
from seawatch.settings import default_db_memory_limit, load_settings, physical_memory
from seawatch.store import open_store


def _limit(db: Path, env: dict[str, str]) -> str:
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND", **env})
    with open_store(str(db), settings) as store:
        row = store.backend.con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert row is not None
    return str(row[0])


def test_the_memory_limit_is_a_quarter_of_the_ram_unless_set(tmp_path: Path) -> None:
    ram = physical_memory()
    assert ram is not None  # Linux says
    quarter = f"{default_db_memory_limit(ram) >> 20}MiB"
    assert _limit(tmp_path / "a.duckdb", {}) == _limit(
        tmp_path / "q.duckdb", {"SEAWATCH_DB_MEMORY_LIMIT": quarter}
    )
    own = _limit(tmp_path / "o.duckdb", {"SEAWATCH_DB_MEMORY_LIMIT": "0"})  # DuckDB's own
    assert own != _limit(tmp_path / "a.duckdb", {})
    assert _limit(tmp_path / "b.duckdb", {"SEAWATCH_DB_MEMORY_LIMIT": "256MiB"}) == "256.0 MiB"
    assert _limit(tmp_path / "c.duckdb", {"SEAWATCH_DB_MEMORY_LIMIT": "2GiB"}) == "2.0 GiB"


def test_the_default_is_a_quarter_of_the_ram_at_least_1_gib() -> None:
    gib = 1 << 30
    assert default_db_memory_limit(None) == 0  # not known: DuckDB's own
    assert default_db_memory_limit(2 * gib) == gib
    assert default_db_memory_limit(24 * gib) == 6 * gib
    assert default_db_memory_limit(256 * gib) == 64 * gib
    assert load_settings().db_memory_limit == default_db_memory_limit(physical_memory())


def test_a_memory_limit_that_is_not_a_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="db_memory_limit"):
        load_settings(env={"SEAWATCH_DB_MEMORY_LIMIT": "lots"})
