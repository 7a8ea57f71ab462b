"""JSON Lines, Parquet and Arrow IPC exports: each record's marking, the file's marking,
and a round trip to the same table."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from exportdata import LABELS, POLICY, events, expected, exported_schema, positions

from seawatch.export import OUTPUT_FORMATS, export, output_format
from seawatch.export.columnar import read_arrow, read_parquet
from seawatch.export.jsonl import read_jsonl
from seawatch.labels import Reader

READERS: dict[str, Callable[[Path], tuple[pa.Table, dict[str, object]]]] = {
    "parquet": read_parquet,
    "arrow": read_arrow,
}
BANNER = "TOP SECRET//ORCON//NOFORN"  # the combination of every label in exportdata


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
@pytest.mark.parametrize(("kind", "make"), [("positions", positions), ("events", events)])
def test_columnar_round_trip_and_marking(
    tmp_path: Path, fmt: str, kind: str, make: Callable[[], pa.Table]
) -> None:
    table = make()
    out = tmp_path / f"x{OUTPUT_FORMATS[fmt].suffix}"
    admin = Reader.node_admin("test")
    result = export(table, LABELS, out, fmt=fmt, kind=kind, reader=admin, policy=POLICY)  # type: ignore[arg-type]
    back, meta = READERS[fmt](out)
    assert meta == {
        "kind": kind,
        "label": result.marking,
        "labels": sorted(set(result.markings)),
    }
    assert result.marking == BANNER
    assert back.replace_schema_metadata(None).equals(expected(table))


@pytest.mark.parametrize(("kind", "make"), [("positions", positions), ("events", events)])
def test_jsonl_marking_line_records_and_round_trip(
    tmp_path: Path, kind: str, make: Callable[[], pa.Table]
) -> None:
    table = make()
    out = tmp_path / "x.jsonl"
    admin = Reader.node_admin("test")
    result = export(table, LABELS, out, fmt="jsonl", kind=kind, reader=admin, policy=POLICY)  # type: ignore[arg-type]
    lines = out.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {
        "seawatch": {"kind": kind, "label": BANNER, "labels": sorted(set(result.markings))}
    }
    records = [json.loads(line) for line in lines[1:]]
    assert len(records) == table.num_rows
    assert all(next(iter(r)) == "label" for r in records)  # the marking first
    assert "label_id" not in records[0]
    back, head = read_jsonl(out, exported_schema(table))
    assert head["label"] == BANNER
    assert back.equals(expected(table))


def test_vessels_only_in_formats_without_a_map(tmp_path: Path) -> None:
    vessels = positions().select(["mmsi", "ts", "label_id"])
    admin = Reader.node_admin("test")
    for fmt in ("csv", "jsonl", "parquet", "arrow"):
        result = export(
            vessels,
            LABELS,
            tmp_path / f"v.{fmt}",
            fmt=fmt,
            kind="vessels",
            reader=admin,
            policy=POLICY,
        )
        assert result.rows == vessels.num_rows
    with pytest.raises(Exception, match="geojson cannot hold vessels"):
        output_format("geojson", "vessels")
