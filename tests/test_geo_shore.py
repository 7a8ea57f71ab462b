"""Distance to shore: known distances, exact near shore, bounded error far out."""

from __future__ import annotations

import numpy as np
import pytest

from seawatch.geo import shore
from seawatch.geo._sphere import chord_to_km, unit_vectors
from seawatch.geo.land import on_land
from seawatch.geo.shore import EXACT_WITHIN_KM, _coast_tree, distance_to_shore_km


def test_known_distances() -> None:
    # Dover Strait midpoint (~33 km wide), Point Nemo (2,688 km from the nearest land), Paris
    d = distance_to_shore_km([51.0, -48.8767, 48.8566], [1.45, -123.3933, 2.3522])
    assert 12.0 < d[0] < 19.0
    assert abs(d[1] - 2688.0) < 20.0
    assert d[2] == 0.0


def test_nan_gives_nan() -> None:
    d = distance_to_shore_km([np.nan, 30.0], [0.0, -40.0])
    assert np.isnan(d[0])
    assert d[1] > 500.0


def test_exact_near_shore_and_bounded_far() -> None:
    rng = np.random.default_rng(3)
    lat = rng.uniform(-70.0, 70.0, 20_000)
    lon = rng.uniform(-180.0, 180.0, 20_000)
    sea = ~on_land(lat, lon)
    got = distance_to_shore_km(lat, lon)[sea]
    chord, _ = _coast_tree().query(unit_vectors(lat[sea], lon[sea]), k=1)
    exact = chord_to_km(chord)
    near = exact < EXACT_WITHIN_KM - 25.0
    np.testing.assert_allclose(got[near], exact[near], atol=1e-6)
    assert np.abs(got - exact).max() < 20.0
    assert np.median(np.abs(got - exact)) < 1.0


def test_distance_inland() -> None:
    """0 at sea, far inland in central India, about a cell at a berth the mask calls land
    (a ship lying at 0 kn in Visby harbour, Gotland, in the Argenni Baltic sample), and the
    Suez Canal at Ismailia, narrower than a mask cell, is ~58 km "inland"."""
    from seawatch.geo.enrich import INLAND_MARGIN_KM, enrich
    from seawatch.geo.shore import distance_inland_km

    lat = np.array([10.0, 21.0, 57.70978, 30.58, np.nan])
    lon = np.array([70.0, 78.0, 18.808386, 32.27, 1.0])
    d = distance_inland_km(lat, lon)
    assert d[0] == 0.0
    assert 400 < d[1] < 700
    assert on_land(lat[2:3], lon[2:3])[0]
    assert 0.5 < d[2] < INLAND_MARGIN_KM
    assert 40 < d[3] < 80
    assert np.isnan(d[4])
    import pyarrow as pa

    out = enrich(pa.table({"lat": lat, "lon": lon}))
    assert out["on_land"].to_pylist() == [False, True, False, True, None]


def test_a_few_points_in_one_query_give_what_the_bins_give(monkeypatch: pytest.MonkeyPatch) -> None:
    """A live batch's points go in one query: the same km as one query per bin, also where
    a point's coast is beyond its bin's radius (inf there: guesses made too small; a guess
    is never negative)."""
    rng = np.random.default_rng(5)
    lat, lon = rng.uniform(-70.0, 70.0, 3_000), rng.uniform(-180.0, 180.0, 3_000)
    xyz = unit_vectors(lat, lon)
    chord, _ = _coast_tree().query(xyz, k=1)
    exact = chord_to_km(chord)
    for guess in (exact, exact * rng.uniform(0.0, 1.2, exact.shape)):
        one = shore._exact_km(xyz, guess)
        monkeypatch.setattr(shore, "ONE_QUERY_POINTS", 0)
        binned = shore._exact_km(xyz, guess)
        monkeypatch.undo()
        assert np.array_equal(one, binned)
    assert (binned > 20_000).sum() > 100  # coasts beyond the radius were there to get
