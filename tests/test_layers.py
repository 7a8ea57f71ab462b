"""The package layout is the data's path: the import contract in pyproject.toml holds.

In: the ``[tool.importlinter]`` contracts (layers sources → decode → tracks → geo → events →
store → engine/sim → export → share → serve → cli; pure detectors; a storage-only store; bytes-in
sources). Out: a failure naming each contract broken and the import chain that breaks it.
``make test`` runs ``lint-imports`` too; this keeps ``pytest`` alone honest.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert ", 0 broken" in done.stdout


def test_the_contracts_name_every_package() -> None:
    """A new package must be placed in the layers (or it is checked by nothing)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    named = {
        m.strip().removeprefix("seawatch.") for layer in layers["layers"] for m in layer.split("|")
    }
    src = ROOT / "src" / "seawatch"
    packages = {p.name for p in src.iterdir() if (p / "__init__.py").exists()}
    modules = {p.stem for p in src.glob("*.py") if p.stem != "__init__"}
    assert packages | modules <= named, sorted((packages | modules) - named)
