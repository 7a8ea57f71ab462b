"""No module under src/seawatch grows past 400 lines without saying why (issue 11).

In: every ``*.py`` under ``src/seawatch``. Out: a failure naming each module longer than
``MAX_LINES`` whose module docstring has no line starting with ``MARKER``.

To keep a long module whole, give the reason in its docstring on a line of its own that
starts with ``Kept whole:`` (for example ``Kept whole: one compiled state machine ...``).
Otherwise split it along a natural seam (STYLE.md: modules of 150–300 lines).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "seawatch"
MAX_LINES = 400
MARKER = "Kept whole:"


def _kept_whole(path: Path) -> bool:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return any(line.strip().startswith(MARKER) for line in doc.splitlines())


def oversized(src: Path = SRC) -> list[str]:
    """Modules over ``MAX_LINES`` lines that do not say why they are kept whole."""
    out = []
    for path in sorted(src.rglob("*.py")):
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES and not _kept_whole(path):
            out.append(f"{path.relative_to(src)}: {n} lines")
    return out


def test_no_module_is_oversized_without_a_reason() -> None:
    assert oversized() == [], (
        f"split these modules, or add a docstring line starting {MARKER!r} saying why not"
    )


def test_the_check_sees_a_long_module(tmp_path: Path) -> None:
    body = "x = 1\n" * (MAX_LINES + 1)
    (tmp_path / "long.py").write_text('"""Long."""\n' + body, encoding="utf-8")
    kept = f'"""Long.\n\n{MARKER} reason.\n"""\n'
    (tmp_path / "kept.py").write_text(kept + body, encoding="utf-8")
    (tmp_path / "short.py").write_text('"""Short."""\nx = 1\n', encoding="utf-8")
    assert oversized(tmp_path) == [f"long.py: {MAX_LINES + 2} lines"]
