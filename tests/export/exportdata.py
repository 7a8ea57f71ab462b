"""Tables shaped as the store's queries return them, and the labels they point to."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from seawatch.events.schema import EVENTS_SCHEMA
from seawatch.labels import Label, Policy, parse_label

POLICY = Policy(node_nation="USA")
TS = pa.timestamp("us", tz="UTC")
T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def lab(marking: str, originator: str | None = None) -> Label:
    return parse_label(marking, POLICY, originator=originator)


LABELS: dict[int, Label] = {
    0: POLICY.default_label,  # UNCLASSIFIED, USA
    1: lab("SECRET//REL TO USA, IND", "IND"),
    2: lab("CONFIDENTIAL//ORCON//REL TO QUAD"),
    3: lab("TOP SECRET//NOFORN"),
}

POSITIONS_SCHEMA = pa.schema(
    [
        ("ts", TS),
        ("mmsi", pa.int32()),
        ("msg_type", pa.int8()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("speed_kn", pa.float64()),
        ("course_deg", pa.float64()),
        ("heading_deg", pa.int16()),
        ("accuracy", pa.bool_()),
        ("station", pa.string()),
        ("segment_id", pa.int64()),
        ("name", pa.string()),
        ("label_id", pa.int32()),
    ]
)


def positions() -> pa.Table:
    """Six positions of three vessels (one with an invalid MMSI), four labels."""
    us = int(T0.timestamp() * 1_000_000)
    rows = [
        # ts offset s, mmsi, lat, lon, speed, course, heading, accuracy, name, label
        (0, 366123456, 18.9, 72.8, 12.5, 45.0, 44, True, "EVER GIVEN", 0),
        (60, 366123456, 18.91, 72.81, 12.4, 46.5, 45, True, "EVER GIVEN", 1),
        (30, 419000001, -10.5, 100.25, 0.0, None, None, False, "", 2),
        (90, 419000001, -10.6, 100.3, 3.0, 359.9, 511, False, None, 3),
        (10, 12345, 0.0, -179.999, None, None, None, None, "NO NAME", 1),
        (20, 12345, 45.0, 179.5, 1.5, 180.0, 180, True, "NO NAME", 0),
    ]
    cols = list(zip(*rows, strict=True))
    return pa.Table.from_arrays(
        [
            pa.array([us + s * 1_000_000 for s in cols[0]], pa.int64()).cast(TS),
            pa.array(cols[1], pa.int32()),
            pa.array([1] * len(rows), pa.int8()),
            pa.array(cols[2], pa.float64()),
            pa.array(cols[3], pa.float64()),
            pa.array(cols[4], pa.float64()),
            pa.array(cols[5], pa.float64()),
            pa.array(cols[6], pa.int16()),
            pa.array(cols[7], pa.bool_()),
            pa.array(["rx-1"] * len(rows), pa.string()),
            pa.array([7] * len(rows), pa.int64()),
            pa.array(cols[8], pa.string()),
            pa.array(cols[9], pa.int32()),
        ],
        schema=POSITIONS_SCHEMA,
    )


def events() -> pa.Table:
    """Three events (one open, one without a position) with the events schema + label_id."""
    us = int(T0.timestamp() * 1_000_000)
    table = pa.Table.from_pylist(
        [
            {
                "event_id": "a" * 32,
                "event_type": "encounter",
                "start_ts": us,
                "end_ts": us + 7_200_000_000,
                "mmsi": 366123456,
                "other_mmsi": 419000001,
                "lat": 18.9,
                "lon": 72.8,
                "segment_ids": ["1", "2"],
                "confidence": 1.0,
                "details": '{"distance_m":310.5,"duration_s":7200}',
            },
            {
                "event_id": "b" * 32,
                "event_type": "gap",
                "start_ts": us + 1,
                "end_ts": None,
                "mmsi": 419000001,
                "other_mmsi": None,
                "lat": None,
                "lon": None,
                "segment_ids": None,
                "confidence": 0.5,
                "details": "{}",
            },
            {
                "event_id": "c" * 32,
                "event_type": "loitering",
                "start_ts": us + 2,
                "end_ts": us + 3,
                "mmsi": 12345,
                "other_mmsi": None,
                "lat": -33.5,
                "lon": 151.25,
                "segment_ids": ["3"],
                "confidence": 0.75,
                "details": '{"speed_kn":1.25}',
            },
        ],
        schema=pa.schema(
            [
                f if f.name not in ("start_ts", "end_ts") else pa.field(f.name, pa.int64())
                for f in EVENTS_SCHEMA
            ]
        ),
    )
    table = table.set_column(2, "start_ts", table["start_ts"].cast(TS))
    table = table.set_column(3, "end_ts", table["end_ts"].cast(TS))
    table = table.cast(EVENTS_SCHEMA)
    return table.append_column("label_id", pa.array([1, 3, 2], pa.int32()))


def exported_schema(table: pa.Table) -> pa.Schema:
    """The schema of ``table`` as it comes back from an export: no label_id, a label."""
    fields = [f.remove_metadata() for f in table.schema if f.name != "label_id"]
    return pa.schema([*fields, pa.field("label", pa.string())])


def expected(table: pa.Table, labels: dict[int, Label] = LABELS) -> pa.Table:
    """``table`` as an export should give it back: label_id replaced by the marking."""
    markings = [labels[i].marking for i in table["label_id"].to_pylist()]
    out = table.drop_columns(["label_id"]).append_column("label", pa.array(markings))
    return out.cast(exported_schema(table))


def gdal_layers(path: Path) -> list[str]:
    """The layers GDAL finds in ``path`` (a KML Folder is a layer; a GeoJSON file, one)."""
    import pyogrio

    return [str(name) for name, _ in pyogrio.list_layers(path)]


def gdal_frame(path: Path) -> Any:
    """Every record GDAL (pyogrio) reads from ``path``: the features of every layer but
    lines (a KML track line is not a record), in file order."""
    import pandas as pd
    import pyogrio

    frames = [pyogrio.read_dataframe(path, layer=name) for name in gdal_layers(path)]
    frames = [f[(f.geometry.geom_type == "Point") | f.geometry.isna()] for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True)


def gdal_fields(path: Path) -> dict[str, str]:
    """Field name -> the type GDAL reports in any layer of ``path`` (``OFTInteger``,
    ``OFTReal``, ``OFTString``, ``Boolean`` for an integer of subtype boolean, ...)."""
    import pyogrio

    out: dict[str, str] = {}
    for name in gdal_layers(path):
        info = pyogrio.read_info(path, layer=name)
        for field, typ, sub in zip(
            info["fields"], info["ogr_types"], info["ogr_subtypes"], strict=True
        ):
            out[str(field)] = "Boolean" if sub == "OFSTBoolean" else str(typ)
    return out
