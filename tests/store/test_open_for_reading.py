"""A store that does not exist is an error for the commands that read it (query, export,
db stats), never a new empty store read as "0 records"; the commands that write say which
store they wrote to. The default store is in the user's data directory, whatever the
current directory."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest
from click.testing import CliRunner
from test_ingest import head

from seawatch.cli.main import cli
from seawatch.errors import StoreError
from seawatch.settings import Settings
from seawatch.store import open_store

NO_STORE = "(nothing ingested yet?): run `seawatch ingest ...` or give --db"


def test_open_for_reading_does_not_create(store_url: str, node: Settings) -> None:
    with pytest.raises(StoreError, match=r"^no store at .*nothing ingested yet"):
        open_store(store_url, node, create=False)
    if not store_url.startswith("postgresql"):
        assert not Path(store_url).exists()
    with open_store(store_url, node):  # created for writing
        pass
    with open_store(store_url, node, create=False) as store:
        assert store.version() is not None


READS = [
    ["export", "positions", "--format", "geojson", "--out", "out.geojson", "--reader", "IND:S"],
    ["query", "latest", "--reader", "IND:S"],
    ["db", "stats"],
]


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a[:2]))
def test_reading_a_missing_store_is_an_error(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, args, env={"SEAWATCH_NODE_NATION": "IND"})
    expected = Path(platformdirs.user_data_dir("seawatch")) / "seawatch.duckdb"
    assert res.exit_code == 1, res.output
    assert res.output == f"error: no store at {expected} {NO_STORE}\n"
    assert not expected.exists()
    assert not (tmp_path / "out.geojson").exists()
    assert not (tmp_path / "data").exists()


def test_ingest_writes_the_users_store_whatever_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = head(tmp_path, 500)
    env = {"SEAWATCH_NODE_NATION": "IND"}
    store = Path(platformdirs.user_data_dir("seawatch")) / "seawatch.duckdb"
    (tmp_path / "a").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    res = CliRunner().invoke(cli, ["ingest", str(feed)], env=env)
    assert res.exit_code == 0, res.output
    assert f"store: {store}" in res.output.splitlines()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "b")  # another directory, the same store
    args = ["export", "positions", "--format", "csv", "--out", "p.csv", "--reader", "IND:S"]
    res = CliRunner().invoke(cli, args, env=env)
    assert res.exit_code == 0, res.output
    assert not res.output.startswith("0 ")
    res = CliRunner().invoke(cli, ["db", "migrate"], env=env)
    assert res.exit_code == 0, res.output
    assert str(store) in res.output
