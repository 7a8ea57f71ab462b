"""The package layout is the data's path: lower stages import nothing above them.

In: the source files of :mod:`seawatch.sources` and :mod:`seawatch.sim`. Out: a failure
naming each import that crosses a layer (docs/STYLE.md, "The shape").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "seawatch"
#: package -> the seawatch packages its modules may import (besides itself)
ALLOWED = {
    "sources": {"errors", "log", "settings"},
    "sim": {"errors", "log", "settings", "sources", "decode", "tracks", "geo", "events"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute ``seawatch`` import in ``path``, lazy ones too."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        out += [(node.lineno, n) for n in names if n.split(".")[0] == "seawatch"]
    return out


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_below(package: str) -> None:
    bad = []
    for path in sorted((SRC / package).rglob("*.py")):
        for line, module in _imports(path):
            parts = module.split(".")
            top = parts[1] if len(parts) > 1 else ""
            if top != package and top not in ALLOWED[package]:
                bad.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    assert not bad, "\n".join(bad)


def test_sources_holds_no_simulator() -> None:
    assert not (SRC / "sources" / "simulate").exists()
    assert (SRC / "sim" / "__init__.py").is_file()
