"""Anchorage derivation (GFW pipe-anchorages): the ~0.5 km grid, stationary periods, and
the distinct-vessel threshold, on synthetic tracks."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.errors import ConfigError
from seawatch.geo._sphere import EARTH_RADIUS_KM
from seawatch.geo.anchorages import (
    ANCHORAGES_SCHEMA,
    CELL_KM,
    AnchorageParams,
    cell_of,
    derive_anchorages,
    stationary_periods,
)

T0 = datetime(2024, 3, 1, tzinfo=UTC)
KM_PER_DEG = math.pi * EARTH_RADIUS_KM / 180


def _km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(lon2 - lon1)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


@pytest.mark.parametrize("lat", [0.0, 35.9, 54.3, 70.0, -60.0])
def test_cells_are_about_half_a_kilometre(lat: float) -> None:
    rng = np.random.default_rng(int(lat * 10) % 97)
    la = lat + rng.uniform(0, 0.05, 20_000)
    lo = 10.0 + rng.uniform(0, 0.05 / math.cos(math.radians(lat)), 20_000)
    cells = cell_of(la, lo)
    widest = 0.0
    for c in np.unique(cells)[:200]:
        m = cells == c
        if m.sum() < 2:
            continue
        i = np.flatnonzero(m)
        d = _km(la[i][:, None], lo[i][:, None], la[i][None, :], lo[i][None, :])
        widest = max(widest, float(d.max()))
    assert 0.6 < widest <= CELL_KM * math.sqrt(2) * 1.01  # a cell's diagonal, ~0.71 km
    side = 0.05 * KM_PER_DEG / CELL_KM  # the square's side in cells; edge cells cut
    assert len(np.unique(cells)) == pytest.approx((side + 1) ** 2, rel=0.1)


def test_cells_wrap_at_the_antimeridian_and_nan_has_none() -> None:
    assert cell_of(10.0, 180.0) == cell_of(10.0, -180.0)
    assert cell_of(10.0, 179.9999) != cell_of(10.0, -179.9999)
    assert cell_of([np.nan, 10.0], [0.0, np.nan]).tolist() == [-1, -1]


def _vessel(mmsi: int, lat: float, lon: float, hours: float, drift_km: float = 0.0) -> list[dict]:
    """Reports every 10 min for ``hours``, moving ``drift_km`` north in all."""
    n = round(hours * 6) + 1
    return [
        {
            "ts": T0 + timedelta(minutes=10 * k),
            "mmsi": mmsi,
            "lat": lat + drift_km * k / (n - 1) / KM_PER_DEG,
            "lon": lon,
        }
        for k in range(n)
    ]


def _table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows).cast(
        pa.schema(
            [
                ("ts", pa.timestamp("us", tz="UTC")),
                ("mmsi", pa.int32()),
                ("lat", pa.float64()),
                ("lon", pa.float64()),
            ]
        )
    )


def test_stationary_periods_follow_drift_and_duration() -> None:
    rows = _vessel(1, 54.0, 10.0, 13) + _vessel(2, 54.0, 10.0, 11) + _vessel(3, 54.0, 10.0, 13, 2)
    p = stationary_periods(_table(rows))
    assert p["mmsi"].to_pylist() == [1]  # 2: too short; 3: drifts 2 km
    assert p["n_positions"].to_pylist() == [79]
    assert (p["end_ts"][0].as_py() - p["start_ts"][0].as_py()) == 13 * 3600 * 10**6
    shorter = stationary_periods(_table(rows), AnchorageParams(min_stationary_s=2 * 3600))
    assert shorter["mmsi"].to_pylist() == [1, 2, 3, 3, 3, 3]  # 3: within 0.5 km at a time


def test_twenty_vessels_make_an_anchorage_nineteen_do_not() -> None:
    rows = [r for m in range(20) for r in _vessel(m, 54.30001, 13.10001 + m * 1e-5, 12)]
    found = derive_anchorages(_table(rows))
    assert found.schema == ANCHORAGES_SCHEMA
    assert found["n_vessels"].to_pylist() == [20]
    assert found["lat"][0].as_py() == pytest.approx(54.30001, abs=1e-6)
    assert found["port_id"][0].as_py().startswith("anchorage:")
    nineteen = [r for r in rows if r["mmsi"] != 0]
    assert derive_anchorages(_table(nineteen)).num_rows == 0
    assert derive_anchorages(_table(nineteen), AnchorageParams(min_vessels=19)).num_rows == 1


def test_shore_limit_keeps_anchorages_near_the_coast() -> None:
    near = [r for m in range(2) for r in _vessel(m, 54.3057, 13.1171, 3)]  # Stralsund
    far = [r for m in range(2, 4) for r in _vessel(m, 55.55, 16.30, 3)]  # 60 km off Bornholm
    few = AnchorageParams(min_vessels=2, min_stationary_s=2 * 3600)
    assert derive_anchorages(_table(near + far), few).num_rows == 2
    coast = AnchorageParams(min_vessels=2, min_stationary_s=2 * 3600, max_distance_to_shore_km=5)
    kept = derive_anchorages(_table(near + far), coast)
    assert kept["lat"].to_pylist() == [pytest.approx(54.3057)]


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(ConfigError, match="min_vessels"):
        AnchorageParams(min_vessels=0)
    with pytest.raises(ConfigError, match="max_drift_km"):
        AnchorageParams(max_drift_km=float("nan"))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_row_order_does_not_matter(seed: int) -> None:
    rows = [r for m in range(4) for r in _vessel(m, 10.0 + (m % 2) * 0.1, 80.0, 3, m * 0.2)]
    few = AnchorageParams(min_vessels=2, min_stationary_s=2 * 3600)
    rng = np.random.default_rng(seed)
    shuffled = [rows[i] for i in rng.permutation(len(rows))]
    assert derive_anchorages(_table(shuffled), few) == derive_anchorages(_table(rows), few)
