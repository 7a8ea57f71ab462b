"""Schema versions: a database of the first schema (built at test time from the committed
SQL in fixtures/schema_v1.sql) opens with this version and migrates, its rows intact."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from click.testing import CliRunner

from seawatch.cli.main import cli
from seawatch.errors import StoreError
from seawatch.labels import Reader
from seawatch.settings import Settings
from seawatch.store import SCHEMA_VERSION, TABLES, open_store
from seawatch.store.duck import DUCKDB
from seawatch.store.query import Query
from seawatch.store.tables import create_sql

V1_SQL = Path(__file__).parent / "fixtures" / "schema_v1.sql"


@pytest.fixture
def v1_db(tmp_path: Path) -> Path:
    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    con.execute(V1_SQL.read_text()).fetchall()
    con.close()
    return path


def test_v1_sql_is_what_the_declarations_say_version_1_was() -> None:
    """Columns may be added with a later ``since``; version 1 itself never changes."""
    text = V1_SQL.read_text()
    creates = re.findall(r"CREATE TABLE .*?\n\);", text, flags=re.DOTALL)
    v1_tables = [t for t in TABLES.values() if t.since <= 1]
    assert creates == [create_sql(t, DUCKDB, 1) + ";" for t in v1_tables]


def test_old_database_opens_and_migrates(v1_db: Path, node: Settings) -> None:
    with open_store(v1_db, node, migrate=False) as store:
        assert store.version() == 1
        with pytest.raises(StoreError, match="run `seawatch db migrate`"):
            store.require_current()
    res = CliRunner().invoke(cli, ["db", "migrate", "--db", str(v1_db)], env={})
    assert res.exit_code == 0, res.output
    assert f"schema version 1 -> {SCHEMA_VERSION}" in res.output
    with open_store(v1_db, node) as store:
        store.require_current()
        counts = store.counts()
        assert counts["positions"] == 3
        assert counts["events"] == 1
        assert counts["labels"] == 2
        q = Query(store, Reader.parse("USA:SECRET", store.policy))
        assert q.positions().column("msg_key").to_pylist() == [101, 103, 102]
        assert q.vessels(name="star").column("imo").to_pylist() == [9123456]
        admin = Query(store, Reader.node_admin("test: migrated columns"))
        assert admin.events().column("segment_ids").to_pylist() == [["7002"]]
        added = store.backend.fetch(  # columns of version 2, null in old rows
            "SELECT s.flag, l.label FROM segments s, ingest_log l",
            (),
            pa.schema([pa.field("flag", pa.string()), pa.field("label", pa.string())]),
        )
        assert added.to_pylist() == [{"flag": None, "label": None}]
    res = CliRunner().invoke(cli, ["db", "migrate", "--db", str(v1_db)], env={})
    assert f"schema version {SCHEMA_VERSION} (current)" in res.output


def test_newer_schema_is_refused(store_url: str, node: Settings) -> None:
    with open_store(store_url, node) as store:
        store.backend.execute(
            "INSERT INTO schema_version VALUES (?, NULL, 'from the future')", (SCHEMA_VERSION + 1,)
        )
    with pytest.raises(StoreError, match="newer than this seawatch"):
        open_store(store_url, node)
