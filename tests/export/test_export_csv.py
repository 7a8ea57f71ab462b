"""CSV export: one row per record, a label column, no comment lines, round trip."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pytest
from exportdata import LABELS, POLICY, events, expected, exported_schema, positions

from seawatch.errors import LabelError, SchemaError
from seawatch.export.csv import read_csv, write_csv


@pytest.mark.parametrize(("kind", "make"), [("positions", positions), ("events", events)])
def test_rows_header_and_round_trip(tmp_path: Path, kind: str, make: object) -> None:
    table = make()  # type: ignore[operator]
    out = tmp_path / "x.csv"
    result = write_csv(table, LABELS, out, kind=kind, policy=POLICY)  # type: ignore[arg-type]
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    assert header[0] == "label"
    assert "label_id" not in header
    assert header[1:] == [n for n in table.column_names if n != "label_id"]
    assert len(rows) == table.num_rows + 1
    assert not any(r[0].startswith("#") for r in rows)
    assert [r[0] for r in rows[1:]] == [LABELS[i].marking for i in table["label_id"].to_pylist()]
    assert result.rows == table.num_rows
    back = read_csv(out, exported_schema(table))
    assert back.equals(expected(table))


def test_cells(tmp_path: Path) -> None:
    out = tmp_path / "e.csv"
    write_csv(events(), LABELS, out, kind="events", policy=POLICY)
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["start_ts"] == "2025-03-01T12:00:00.123456Z"
    assert rows[0]["segment_ids"] == '["1","2"]'
    assert rows[1]["end_ts"] == ""  # open event
    assert rows[0]["details"] == '{"distance_m":310.5,"duration_s":7200}'


def test_unknown_label_id_is_refused(tmp_path: Path) -> None:
    table = positions()
    table = table.set_column(12, "label_id", pa.array([0, 1, 2, 3, 9, None], pa.int32()))
    with pytest.raises(LabelError, match="label ids"):
        write_csv(table, LABELS, tmp_path / "x.csv", kind="positions", policy=POLICY)


def test_missing_columns_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="no column lon"):
        write_csv(
            positions().drop_columns(["lon"]),
            LABELS,
            tmp_path / "x.csv",
            kind="positions",
            policy=POLICY,
        )
