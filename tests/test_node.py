"""A node knows who it is: `seawatch node init` writes its nation and name to the settings
file, `node show` prints them, and no record is ever labelled with the placeholder nation
(XXX): the commands that would label one refuse, saying how to set it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import platformdirs
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "store"))
from test_ingest import head

from seawatch.cli.main import cli
from seawatch.settings import load_settings

ADVICE = "seawatch node init --nation"


def user_file() -> Path:
    return Path(platformdirs.user_config_dir("seawatch")) / "seawatch.toml"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args), env=env or {})
    return res.exit_code, res.output


def test_init_writes_the_per_user_settings_file_and_show_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = run("node", "show")
    assert code == 0, out
    assert "nation: not set" in out
    assert ADVICE in out
    code, out = run("node", "show", "--json")
    assert json.loads(out) == {"nation": None, "name": "local", "vkey": None, "enc_key": None}
    code, out = run("node", "init", "--nation", "ind", "--name", "ifc-ior")
    assert code == 0, out
    assert f"settings file: {user_file()}" in out
    assert (load_settings(env={}).node_nation, load_settings(env={}).node_id) == ("IND", "ifc-ior")
    code, out = run("node", "show", "--json")
    shown = json.loads(out)
    assert (shown["nation"], shown["name"]) == ("IND", "ifc-ior")
    assert shown["vkey"].startswith("ifc-ior+")
    assert shown["enc_key"].startswith("x25519:")
    code, out = run("node", "show")
    assert out.splitlines()[:2] == ["nation: IND", "name: ifc-ior"]
    # again with the same nation: nothing to change; another nation needs --force
    assert run("node", "init", "--nation", "IND")[0] == 0
    code, out = run("node", "init", "--nation", "USA")
    assert code == 1
    assert "already IND" in out
    assert "--force" in out
    assert load_settings(env={}).node_nation == "IND"
    assert run("node", "init", "--nation", "USA", "--force")[0] == 0
    assert load_settings(env={}).node_nation == "USA"
    assert load_settings(env={}).node_id == "ifc-ior"


def test_init_keeps_the_rest_of_an_existing_settings_file(tmp_path: Path) -> None:
    toml = tmp_path / "node.toml"
    toml.write_text(
        '# my node\nnode_nation = "XXX"\nlog_level = "DEBUG"\n\n[decode]\nkeep_raw = true\n'
    )
    env = {"SEAWATCH_SETTINGS_FILE": str(toml)}
    code, out = run("node", "init", "--nation", "JPN", env=env)
    assert code == 0, out
    s = load_settings(env=env)
    assert (s.node_nation, s.log_level, s.decode_keep_raw) == ("JPN", "DEBUG", True)
    assert "# my node" in toml.read_text()
    assert not user_file().exists()


def test_init_rejects_a_bad_nation() -> None:
    code, out = run("node", "init", "--nation", "INDIA")
    assert code == 1
    assert "node_nation" in out
    assert not user_file().exists()


def test_no_record_is_labelled_with_the_placeholder_nation(tmp_path: Path) -> None:
    feed = str(head(tmp_path, 300))
    db = str(tmp_path / "s.duckdb")
    for args in (
        ["ingest", feed, "--db", db],
        ["ingest", feed, "--db", db, "--label", "CONFIDENTIAL//REL TO IND, USA"],
        ["run", feed, "--out", str(tmp_path / "run")],
    ):
        code, out = run(*args)
        assert code == 1, out
        assert out.startswith("error: node_nation is not set")
        assert ADVICE in out
    assert not Path(db).exists()
    # a label with its originator needs no node nation
    code, out = run(
        "ingest", feed, "--db", db, "--label", "SECRET//REL TO USA", "--originator", "USA"
    )
    assert code == 0, out
    code, out = run("ingest", feed, "--db", db, env={"SEAWATCH_NODE_NATION": "IND"})
    assert code == 0, out
