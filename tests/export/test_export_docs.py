"""docs/exports.md: its Python example runs, and it names every format, kind and schema file."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from seawatch.export import FORMATS, KINDS, OUTPUT_FORMATS

DOC = Path(__file__).resolve().parents[2] / "docs" / "exports.md"


def test_python_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {})


def test_every_format_kind_and_schema_file_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in (*FORMATS, *KINDS, "cot_stale_s", "node_id"):
        assert name in text, name
    schemas = resources.files("seawatch.export").joinpath("schemas")
    files = sorted(p.name for p in schemas.iterdir() if not p.name.startswith("."))
    assert files == [
        "cot-event-seawatch.xsd",
        "geojson-seawatch.schema.json",
        "kml22-seawatch.xsd",
    ]
    for name in files:
        assert f"src/seawatch/export/schemas/{name}" in text, name


def test_the_formats_table_is_the_registry() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- formats:", 1)[1].split("<!-- /formats -->", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert rows == [
        f"| `{f.name}` | `{f.media_type}` | `{f.suffix}` | {', '.join(f.kinds)} |"
        for f in OUTPUT_FORMATS.values()
    ]
