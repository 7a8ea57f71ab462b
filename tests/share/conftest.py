"""Nodes for the federation tests: each its own data directory and settings file, driven
through the real `seawatch` command group (click's runner, in process)."""

from __future__ import annotations

import json
import os
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
    def env(self) -> dict[str, str | None]:
        """This node's variables; any other SEAWATCH_* of the test process unset (a
        module-scoped fixture runs before the per-test clean-up of the environment)."""
        out: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SEAWATCH_")}
        out["SEAWATCH_DATA_DIR"] = str(self.root / "data")
        out["SEAWATCH_SETTINGS_FILE"] = str(self.root / "seawatch.toml")
        return out

    @property
    def values(self) -> dict[str, str]:
        """This node's variables alone (for a settings object or a child's environment)."""
        return {k: v for k, v in self.env.items() if v is not None}

    def run(self, *args: str, ok: bool = True) -> str:
        res = CliRunner().invoke(cli, list(args), env=self.env)
        if ok:
            assert res.exit_code == 0, res.output
        else:
            assert res.exit_code == 1, res.output
            assert "Traceback" not in res.output
        return res.output

    def identity(self) -> dict[str, str]:
        res = CliRunner().invoke(cli, ["node", "show", "--json"], env=self.env)
        assert res.exit_code == 0, res.output
        value: dict[str, str] = json.loads(res.stdout)  # logs go to stderr
        return value

    def node(self) -> Node:
        return Node.from_settings(load_settings(env=self.values))


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
