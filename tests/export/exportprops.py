"""What the label property tests share: labels and readers to draw, the access rule stated
independently of seawatch.labels, and the records an export file holds."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import hypothesis.strategies as st
import pyarrow as pa
import pyarrow.parquet as pq

from seawatch.export.columnar import read_arrow
from seawatch.export.cot import read_cot
from seawatch.export.jsonl import read_jsonl
from seawatch.export.kml import read_kml
from seawatch.labels import Label, Policy, Reader

LEVELS = ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET"]
COALITIONS = {"FVEY": {"AUS", "CAN", "GBR", "NZL", "USA"}, "QUAD": {"AUS", "IND", "JPN", "USA"}}
NATIONS = ["AUS", "CAN", "FRA", "GBR", "IND", "JPN", "USA"]
CAVEATS = ["ORCON", "PROPIN", "LIMDIS"]
POLICY = Policy(
    tuple(LEVELS),
    {k: frozenset(v) for k, v in COALITIONS.items()},
    frozenset(CAVEATS),
    "USA",
)
BASE_MMSI = 366000000
T0_US = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)


@st.composite
def labels(draw: st.DrawFn) -> Label:
    rel = draw(
        st.none()
        | st.frozensets(st.sampled_from(NATIONS + list(COALITIONS)), min_size=1, max_size=4)
    )
    return Label(
        classification=draw(st.sampled_from(LEVELS)),
        originator=draw(st.sampled_from(NATIONS)),
        releasable_to=rel,
        caveats=draw(st.frozensets(st.sampled_from(CAVEATS), max_size=2)),
        derived=draw(st.booleans()),
    )


@st.composite
def readers(draw: st.DrawFn) -> Reader:
    return Reader(
        nation=draw(st.sampled_from(NATIONS)),
        clearance=draw(st.sampled_from(LEVELS)),
        caveats=draw(st.frozensets(st.sampled_from(CAVEATS), max_size=3)),
    )


def allowed(reader: Reader, label: Label) -> bool:
    """The rule of issue 12, stated directly (deny unless permitted): clearance >=
    classification and every caveat held, for everyone; the nation in the expanded REL TO
    (none: any nation), the originator's nation counting as listed unless derived."""
    if LEVELS.index(reader.clearance) < LEVELS.index(label.classification):
        return False
    if label.releasable_to is not None:
        nations: set[str] = set()
        for entry in label.releasable_to:
            nations |= COALITIONS.get(entry, {entry})
        own = reader.nation == label.originator and not label.derived
        if reader.nation not in nations and not own:
            return False
    return label.caveats <= reader.caveats


def table_of(label_ids: list[int | None]) -> pa.Table:
    n = len(label_ids)
    return pa.table(
        {
            "ts": pa.array([T0_US + i * 1_000_000 for i in range(n)], pa.int64()).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "mmsi": pa.array([BASE_MMSI + i for i in range(n)], pa.int32()),
            "lat": pa.array([10.0 + i / 100 for i in range(n)]),
            "lon": pa.array([70.0 + i / 100 for i in range(n)]),
            "speed_kn": pa.array([5.0] * n),
            "course_deg": pa.array([90.0] * n),
            "label_id": pa.array(label_ids, pa.int32()),
        }
    )


def written(fmt: str, path: Path) -> dict[int, str]:
    """MMSI -> marking of every record in an export file."""
    if fmt == "geojson":
        doc = json.loads(path.read_text())
        return {f["properties"]["mmsi"]: f["properties"]["label"] for f in doc["features"]}
    if fmt == "csv":
        with path.open(newline="") as fh:
            return {int(r["mmsi"]): r["label"] for r in csv.DictReader(fh)}
    if fmt == "kml":
        table, _ = read_kml(path)
        if table.num_rows == 0:
            return {}
        return dict(
            zip(map(int, table["mmsi"].to_pylist()), table["label"].to_pylist(), strict=True)
        )
    if fmt == "cot":
        table = read_cot(path)
        uids = [int(u.rsplit(".", 1)[1]) for u in table["uid"].to_pylist()]
        return dict(zip(uids, table["label"].to_pylist(), strict=True))
    if fmt == "jsonl":
        table, _ = read_jsonl(path)
    elif fmt == "arrow":
        table, _ = read_arrow(path)
    else:
        table = pq.read_table(path)
    if table.num_rows == 0:
        return {}
    return dict(zip(table["mmsi"].to_pylist(), table["label"].to_pylist(), strict=True))


def banner(fmt: str, path: Path) -> str | None:
    """The marking of the whole file, as the file states it (None: the format has no place
    for it: CSV, CoT)."""
    if fmt == "geojson":
        found: str = json.loads(path.read_text())["label"]
        return found
    if fmt == "kml":
        return read_kml(path)[1]["label"]
    if fmt == "jsonl":
        return read_jsonl(path)[1]["label"]
    if fmt == "arrow":
        return read_arrow(path)[1]["label"]
    if fmt in ("parquet", "geoparquet"):
        meta = pq.read_schema(path).metadata or {}
        return json.loads(meta[b"seawatch"])["label"]
    return None
