"""docs/tracks.md cannot drift: its examples run, every parameter and reason is described."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from seawatch.sim.synth import generate
from seawatch.tracks.clean import DROP_REASONS, NULLED_REASONS, CleanParams
from seawatch.tracks.mid import CLASSES
from seawatch.tracks.schemas import IDENTITY, SEGMENTS
from seawatch.tracks.segment import SegmentParams

DOC = Path(__file__).resolve().parents[2] / "docs" / "tracks.md"


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "name",
    [f.name for f in dataclasses.fields(SegmentParams)]
    + [f.name for f in dataclasses.fields(CleanParams)]
    + list(DROP_REASONS)
    + list(NULLED_REASONS)
    + list(CLASSES)
    + [f.name for f in SEGMENTS],
)
def test_every_parameter_reason_class_and_column_is_documented(name: str) -> None:
    assert f"`{name}`" in doc_text()


def test_every_output_field_has_a_description() -> None:
    for schema in (SEGMENTS, IDENTITY):
        for f in schema:
            assert f.metadata is not None, f.name
            assert f.metadata[b"doc"], f.name


def test_the_examples_run_on_a_synthetic_feed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = list(generate(vessels=20, minutes=30, seed=5, bad_every=10**9))
    (tmp_path / "feed.nmea").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", doc_text(), flags=re.S)
    assert len(blocks) == 2
    scope: dict[str, object] = {}
    exec(blocks[0], scope)
    scope["chunks"] = [scope["tables"]["positions"].slice(k, 500) for k in range(0, 5000, 500)]  # type: ignore[index]
    exec(blocks[1], scope)
    segments = scope["segments"]
    # every synthetic ship and base station keeps one MMSI and moves plausibly: one segment each
    assert segments.num_rows == len(segments.column("mmsi").unique())  # type: ignore[attr-defined]
