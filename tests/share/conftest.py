"""Nodes for the federation tests: each its own data directory and settings file, driven
through the real `seawatch` command group (click's runner, in process)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from seawatch.cli.main import cli
from seawatch.settings import load_settings
from seawatch.share.node import Node


@dataclass
class NodeDir:
    """One node on this machine: ``run`` invokes ``seawatch`` as that node."""

    root: Path
    nation: str
    name: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "SEAWATCH_DATA_DIR": str(self.root / "data"),
            "SEAWATCH_SETTINGS_FILE": str(self.root / "seawatch.toml"),
        }

    def run(self, *args: str, ok: bool = True) -> str:
        res = CliRunner().invoke(cli, list(args), env=self.env)
        if ok:
            assert res.exit_code == 0, res.output
        else:
            assert res.exit_code == 1, res.output
            assert "Traceback" not in res.output
        return res.output

    def identity(self) -> dict[str, str]:
        value: dict[str, str] = json.loads(self.run("node", "show", "--json"))
        return value

    def node(self) -> Node:
        return Node.from_settings(load_settings(env=self.env))


@pytest.fixture
def make_node(tmp_path: Path) -> Callable[[str, str], NodeDir]:
    def make(nation: str, name: str) -> NodeDir:
        root = tmp_path / name
        root.mkdir()
        (root / "seawatch.toml").touch()
        node = NodeDir(root, nation, name)
        node.run("node", "init", "--nation", nation, "--name", name)
        return node

    return make
