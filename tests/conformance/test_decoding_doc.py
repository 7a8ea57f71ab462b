"""docs/decoding.md cannot drift: its layout tables are generated from the layouts, and it
documents every reject reason and every known cause of disagreement the tests accept.

``SEAWATCH_UPDATE_DOCS=1 pytest tests/conformance`` rewrites the generated block.
"""

from __future__ import annotations

import re
from pathlib import Path

from seawatch.decode.nmea import REASONS

from . import gpsd, layout_doc, libais, report

DECODING = Path(__file__).resolve().parents[2] / "docs" / "decoding.md"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(text: str) -> set[str]:
    return {_slug(m) for m in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


def test_layout_tables_are_generated_from_the_layouts() -> None:
    text = DECODING.read_text()
    begin, end = text.index(layout_doc.BEGIN), text.index(layout_doc.END) + len(layout_doc.END)
    block = layout_doc.render()
    if report.UPDATE_DOCS:
        text = text[:begin] + block.rstrip("\n") + text[end:]
        DECODING.write_text(text)
    assert text[begin : text.index(layout_doc.END) + len(layout_doc.END)] + "\n" == block, (
        "docs/decoding.md is out of date with the layouts: "
        "run `SEAWATCH_UPDATE_DOCS=1 pytest tests/conformance/test_decoding_doc.py`"
    )


def test_every_reject_reason_is_documented() -> None:
    text = DECODING.read_text()
    missing = [r for r in REASONS if f"| `{r}` |" not in text]
    assert not missing, f"reject reasons missing from docs/decoding.md: {missing}"


def test_every_known_cause_has_its_section() -> None:
    anchors = _anchors(DECODING.read_text())
    missing = {k.anchor for k in (*gpsd.KNOWN, *libais.KNOWN)} - anchors
    assert not missing, f"docs/decoding.md has no section for: {sorted(missing)}"


def test_links_within_the_decoding_doc_resolve() -> None:
    text = DECODING.read_text()
    links = set(re.findall(r"\]\(#([\w\-]+)\)", text))
    assert links <= _anchors(text), sorted(links - _anchors(text))
