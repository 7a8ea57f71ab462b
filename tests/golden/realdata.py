"""Real data for the golden tests: where it is, the pipeline run through the public API,
and independent readings of the raw files (``csv``, plain Python) to check facts against.

../shared/data/ais is absent on users' machines: every fixture built on it skips then.
"""

from __future__ import annotations

import csv
import importlib
import itertools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from seawatch import tracks
from seawatch.decode import DecodeStats, decode
from seawatch.events import combine

AIS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ais"
ARGENNI = AIS / "argenni_ais_reconstruction"
BALTIC = ARGENNI / "decoded_reports_baltic_all_ships_april_2018_micro_20k_sample_ais_data.csv"
GIBRALTAR = (
    ARGENNI / "decoded_traffic_Gibraltar_Straight_all_ships_2016A_micro_20k_sample_ais_data.csv"
)
GUERNSEY = AIS / "opencpn_testdata" / "Go_to_Guernesey.txt"
SUEZ = AIS / "movingpandas_evergiven" / "boat-positions.csv"


def require(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"../shared/data/ais/{path.parent.name} not present")
    return path


@dataclass(frozen=True)
class Run:
    """One input through decode → tracks.clean → tracks.segment."""

    tables: dict[str, pa.Table]
    stats: DecodeStats
    clean: tracks.CleanResult
    segmented: pa.Table

    def events(self, detector: str, **params: Any) -> pa.Table:
        module = importlib.import_module(f"seawatch.events.{detector}")
        table = self.tables["statics"] if detector == "identity_change" else self.segmented
        out, _ = module.detect(table, **params)
        return combine([out])

    def segments_per_mmsi(self) -> dict[int, int]:
        seg = self.segmented.filter(pc.is_valid(self.segmented["segment_id"]))
        pairs = set(zip(seg["mmsi"].to_pylist(), seg["segment_id"].to_pylist(), strict=True))
        out: dict[int, int] = {}
        for mmsi, _ in pairs:
            out[mmsi] = out.get(mmsi, 0) + 1
        return out


def run(path: Path) -> Run:
    tables, stats = decode(require(path))
    cleaned = tracks.clean(tables["positions"])
    segmented, _ = tracks.segment(cleaned.positions)
    return Run(tables, stats, cleaned, segmented)


def read_csv(path: Path, delimiter: str) -> list[dict[str, str]]:
    with require(path).open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def utc(text: str, fmt: str) -> datetime:
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def gaps(
    times: dict[Any, list[datetime]], data_end: datetime, min_h: float = 6.0
) -> tuple[set[tuple[Any, datetime]], set[tuple[Any, datetime]]]:
    """(closed, open) silences of at least ``min_h`` per key, by its last time before."""
    closed, still = set(), set()
    for key, ts in times.items():
        ts = sorted(ts)
        for a, b in itertools.pairwise(ts):
            if (b - a).total_seconds() >= min_h * 3600:
                closed.add((key, a))
        if (data_end - ts[-1]).total_seconds() >= min_h * 3600:
            still.add((key, ts[-1]))
    return closed, still


def median_on_grid(
    rows: list[dict[str, Any]], start: datetime, stop: datetime, key: str, step_s: int = 600
) -> float:
    """Median of ``key`` sampled every ``step_s`` from ``start`` to ``stop``: at each step,
    the last report at or before it (within an hour). ``rows`` sorted by ``"t"``."""
    values, i, t = [], 0, start
    while t <= stop:
        while i < len(rows) and rows[i]["t"] <= t:
            i += 1
        if i and (t - rows[i - 1]["t"]).total_seconds() <= 3600:
            values.append(float(rows[i - 1][key]))
        t += timedelta(seconds=step_s)
    values.sort()
    return values[len(values) // 2]
