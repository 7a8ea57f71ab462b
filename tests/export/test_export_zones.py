"""Exports tell a vessel present in a zone at the start of its track from one that entered."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from exportdata import LABELS, POLICY

from seawatch.events.zone_entry import detect
from seawatch.export import export
from seawatch.labels import Reader

T0_US = 1_748_736_000_000_000  # 2025-06-01 00:00 UTC
HOUR_US = 3_600_000_000


def _events() -> pa.Table:
    """Vessel 1 is inside polygon 3 from its first position; vessel 2 enters it."""
    n = 3
    pos = pa.table(
        {
            "ts": pa.array([T0_US + i * HOUR_US for i in range(n)] * 2, pa.int64()).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "mmsi": pa.array([419_000_001] * n + [538_000_002] * n, pa.int64()),
            "lat": [-4.2] * 2 * n,
            "lon": [40.5] * 2 * n,
            "zone_eez": pa.array([3, 3, 3, None, 3, 3], pa.int32()),
        }
    )
    ev, _ = detect(pos.sort_by("ts"))
    return ev.append_column("label_id", pa.array([0] * ev.num_rows, pa.int32()))


def test_csv_geojson_and_kml_name_the_event_type(tmp_path: Path) -> None:
    ev = _events()
    reader = Reader("USA", "TOP SECRET")
    kinds = dict(zip(ev["mmsi"].to_pylist(), ev["event_type"].to_pylist(), strict=True))
    assert kinds == {419_000_001: "zone_present", 538_000_002: "zone_entry"}
    for fmt in ("csv", "geojson", "kml"):
        out = tmp_path / f"events.{fmt}"
        export(ev, LABELS, out, fmt=fmt, kind="events", reader=reader, policy=POLICY)  # type: ignore[arg-type]
        text = out.read_text(encoding="utf-8")
        if fmt == "csv":
            rows = list(csv.DictReader(text.splitlines()))
            got = {int(r["mmsi"]): r["event_type"] for r in rows}
        elif fmt == "geojson":
            props = [f["properties"] for f in json.loads(text)["features"]]
            got = {p["mmsi"]: p["event_type"] for p in props}
        else:
            assert "<name>zone_present: MMSI 419000001</name>" in text
            assert "<name>zone_entry: MMSI 538000002</name>" in text
            continue
        assert got == kinds, fmt
    present = ev.filter(pc.equal(ev["event_type"], "zone_present"))
    assert json.loads(present["details"][0].as_py())["zone"] == 3
