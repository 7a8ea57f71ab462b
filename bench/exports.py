"""Export writers' speed and size (docs/exports.md "Speed and size").

Random positions (``--positions``, ``--vessels``; three labels, every column the store's
positions have plus the vessels' identity as :func:`seawatch.export.records.named` adds it)
and random events (``--events``; details of three shapes as detectors write them), written
by :func:`seawatch.export.export` for reader ``USA:S`` in each map format (GeoJSON, KML,
CoT) and CSV/GeoParquet for comparison. Prints records/s and bytes/record per format and
kind; one run, wall-clock time including the label filter and the atomic rename.

    .venv/bin/python bench/exports.py [--positions 200000] [--vessels 5000] [--events 20000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from seawatch.errors import SeawatchError
from seawatch.events.schema import EVENTS_SCHEMA
from seawatch.export import export
from seawatch.labels import Policy, Reader, parse_label

POLICY = Policy(node_nation="USA")
LABELS = {
    0: POLICY.default_label,
    1: parse_label("SECRET//REL TO USA, IND", POLICY, originator="IND"),
    2: parse_label("CONFIDENTIAL//REL TO USA, GBR", POLICY),
}
TS = pa.timestamp("us", tz="UTC")
T0_US = 1_748_736_000_000_000
TYPES = ["cargo", "tanker", "fishing", "passenger", "unknown"]


def positions(n: int, vessels: int, rng: np.random.Generator) -> pa.Table:
    mmsi = 366_000_000 + rng.integers(0, vessels, n)
    return pa.table(
        {
            "msg_key": pa.array(rng.integers(-(2**62), 2**62, n), pa.int64()),
            "ts": pa.array(T0_US + np.sort(rng.integers(0, 86_400_000_000, n)), pa.int64()).cast(
                TS
            ),
            "mmsi": pa.array(mmsi, pa.int32()),
            "lat": rng.uniform(-10, 20, n),
            "lon": rng.uniform(60, 100, n),
            "speed_kn": rng.uniform(0, 20, n),
            "course_deg": rng.uniform(0, 360, n),
            "accuracy": rng.integers(0, 2, n).astype(bool),
            "segment_id": pa.array(rng.integers(0, 2**62, n), pa.int64()),
            "name": pa.array([f"SHIP {m % 1000}" for m in mmsi.tolist()]),
            "ship_type": pa.array(rng.choice([70, 80, 30, 60, 0], n), pa.int16()),
            "vessel_type": pa.array(rng.choice(TYPES, n)),
            "flag": pa.array(["USA"] * n),
            "label_id": pa.array(rng.integers(0, 3, n), pa.int32()),
        }
    )


def events(n: int, rng: np.random.Generator) -> pa.Table:
    shapes = [
        {"median_distance_m": 259.0, "duration_s": 11400, "params": {"max_distance_m": 500.0}},
        {"field": "draught_m", "before": 6.4, "after": 6.8, "params": {"fields": ["draught_m"]}},
        {"rule": "jump", "n_jumps": 3, "max_distance_m": 2.7e6, "params": {"pad_h": 0.25}},
    ]
    kinds = ["encounter", "identity_change", "spoofing"]
    pick = rng.integers(0, 3, n)
    start = T0_US + rng.integers(0, 86_400_000_000, n)
    table = pa.table(
        {
            "event_id": [f"{i:032x}" for i in range(n)],
            "event_type": [kinds[k] for k in pick.tolist()],
            "start_ts": pa.array(start, pa.int64()).cast(TS),
            "end_ts": pa.array(start + 3_600_000_000, pa.int64()).cast(TS),
            "mmsi": pa.array(366_000_000 + rng.integers(0, 5000, n), pa.int32()),
            "other_mmsi": pa.nulls(n, pa.int32()),
            "lat": rng.uniform(-10, 20, n),
            "lon": rng.uniform(60, 100, n),
            "segment_ids": pa.array([["1"]] * n, pa.list_(pa.string())),
            "confidence": np.ones(n),
            "details": [json.dumps(shapes[k]) for k in pick.tolist()],
        }
    ).cast(EVENTS_SCHEMA)
    return table.append_column("label_id", pa.array(rng.integers(0, 3, n), pa.int32()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--positions", type=int, default=200_000)
    ap.add_argument("--vessels", type=int, default=5_000)
    ap.add_argument("--events", type=int, default=20_000)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    reader = Reader.parse("USA:S", POLICY)
    cases = [
        ("positions", positions(args.positions, args.vessels, rng), fmt)
        for fmt in ("geojson", "kml", "cot", "csv", "geoparquet")
    ] + [("events", events(args.events, rng), fmt) for fmt in ("geojson", "kml", "cot", "csv")]
    print("| kind | format | records | records/s | bytes/record |")
    print("|---|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for kind, table, fmt in cases:
            out = Path(tmp) / f"{kind}.{fmt}"
            t0 = time.perf_counter()
            try:
                result = export(
                    table, LABELS, out, fmt=fmt, kind=kind, reader=reader, policy=POLICY
                )  # type: ignore[arg-type]
            except SeawatchError as e:  # an older checkout: CoT refused events
                print(f"| {kind} | {fmt} | refused: {e} | | |")
                continue
            dt = time.perf_counter() - t0
            size = out.stat().st_size
            print(
                f"| {kind} | {fmt} | {result.rows:,} | {result.rows / dt:,.0f} | "
                f"{size / max(result.rows, 1):,.0f} |"
            )


if __name__ == "__main__":
    main()
