"""Land mask (global-land-mask, 30″ GLOBE grid): known places, vectorisation, edge input."""

from __future__ import annotations

import numpy as np

from seawatch.geo.land import grid_index, on_land


def test_known_places() -> None:
    lat = [48.8566, 45.0, -33.8688, -33.85, 51.5074, 0.0, -80.0, 36.0]
    lon = [2.3522, -30.0, 151.2093, 151.35, -0.1278, 0.0, 0.0, -5.5]
    # Paris, mid-Atlantic, Sydney CBD, Tasman Sea off Sydney, London, Gulf of Guinea,
    # Antarctica, Strait of Gibraltar
    expected = [True, False, True, False, True, False, True, False]
    assert on_land(lat, lon).tolist() == expected


def test_vectorised_shapes_and_nan() -> None:
    out = on_land(np.array([np.nan, 10.0, 48.8566]), np.array([0.0, np.nan, 2.3522]))
    assert out.dtype == np.bool_
    assert out.tolist() == [False, False, True]
    assert on_land(48.8566, 2.3522).shape == (1,)


def test_longitude_wraps_and_poles_clip() -> None:
    assert on_land([48.8566], [2.3522 + 360.0]).tolist() == [True]
    assert on_land([48.8566], [2.3522 - 360.0]).tolist() == [True]
    rows, cols = grid_index([90.0, -90.0], [180.0, -180.0], 120)
    assert rows.tolist() == [0, 180 * 120 - 1]
    assert cols.tolist() == [0, 0]


def test_large_batch_matches_package_lookup() -> None:
    from global_land_mask import globe  # the package's own reference lookup

    rng = np.random.default_rng(7)
    lat = rng.uniform(-89.0, 89.0, 20_000)
    lon = rng.uniform(-179.9, 179.9, 20_000)
    assert np.array_equal(on_land(lat, lon), globe.is_land(lat, lon))
