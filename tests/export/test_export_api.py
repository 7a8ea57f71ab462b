"""``seawatch.export.export``: the reader applied once more, the file renamed into place only
when complete, bad arguments refused."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from exportdata import LABELS, POLICY, positions

import seawatch.export as export_module
from seawatch.errors import InputError, SchemaError
from seawatch.export import export
from seawatch.labels import Reader


def test_reader_applied_and_withheld_records_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "x.geojson"
    reader = Reader.parse("GBR:TS:ORCON", POLICY)
    with caplog.at_level(logging.INFO, logger="seawatch.export"):
        result = export(
            positions(), LABELS, out, fmt="geojson", kind="positions", reader=reader, policy=POLICY
        )
    doc = json.loads(out.read_text())
    # GBR is in none of the REL TO lists (India's, QUAD, NOFORN): the unclassified only
    assert [f["properties"]["label"] for f in doc["features"]] == ["UNCLASSIFIED"] * 2
    assert result.rows == 2
    assert "4 record(s) withheld by label" in caplog.text
    assert "for GBR:TOP SECRET:ORCON" in caplog.text


def test_failed_export_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "x.geojson"
    out.write_text("old")

    def broken(table: Any, labels: Any, path: Path, options: Any) -> None:
        Path(path).write_text("half a file")
        raise SchemaError("disk full")

    spec = export_module.OUTPUT_FORMATS["geojson"]
    monkeypatch.setitem(export_module.OUTPUT_FORMATS, "geojson", replace(spec, write=broken))
    reader = Reader.parse("USA:S", POLICY)
    with pytest.raises(SchemaError, match="disk full"):
        export(
            positions(), LABELS, out, fmt="geojson", kind="positions", reader=reader, policy=POLICY
        )
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.geojson"]


def test_bad_arguments(tmp_path: Path) -> None:
    reader = Reader.parse("USA:S", POLICY)
    with pytest.raises(InputError, match="unknown export format 'shp'"):
        export(
            positions(),
            LABELS,
            tmp_path / "x",
            fmt="shp",
            kind="positions",
            reader=reader,
            policy=POLICY,
        )  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="unknown export kind"):
        export(
            positions(),
            LABELS,
            tmp_path / "x",
            fmt="csv",
            kind="tracks",
            reader=reader,
            policy=POLICY,
        )  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
