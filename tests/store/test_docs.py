"""docs/storage.md cannot drift: its table reference is generated from the declarations,
and its Python example runs (against a temporary database)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from seawatch.store.tables import tables_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "storage.md"


def test_table_reference_is_generated() -> None:
    assert tables_markdown() in DOC.read_text(), (
        "docs/storage.md is out of date: paste seawatch.store.tables.tables_markdown()"
    )


def test_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = re.search(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert block is not None
    monkeypatch.chdir(tmp_path)
    os.makedirs("data")
    exec(compile(block.group(1), str(DOC), "exec"), {})
    assert (tmp_path / "data" / "seawatch.duckdb").is_file()
