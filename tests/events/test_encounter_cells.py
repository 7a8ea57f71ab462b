"""The encounter rule's close pairs of grid points against every pair measured."""

from __future__ import annotations

import numpy as np
import pytest

from seawatch.events.encounter import CELL_M, EncounterParams, grid_pairs
from seawatch.events.encounter_cells import _hashed, _packed, _row_table
from seawatch.events.encounter_kernels import wrapped
from seawatch.events.tracks_in import haversine_m

MAX_D = EncounterParams().max_distance_m


def _points(far_step: bool) -> tuple[np.ndarray, ...]:
    """90 tracks, one grid point per step over 4 steps, crowded into boxes of ~3 km: on
    the equator, at 60° N, astride ±180° (near the equator and at 40° S), off Oregon, at
    70° N 150° E and 5 km from the pole; the land/port flag on some. ``far_step``: one
    more track with a point 2^26 steps later (alone)."""
    rng = np.random.default_rng(7)
    centres = [(0.0, 10.0), (60.0, 20.0), (0.5, 179.99), (0.5, -179.99), (89.955, 30.0)]
    # far from 0° and the equator, where a point's own cosine put points ~500 m apart two or
    # three cells apart (-40°, 179.98°: such a pair was missed)
    centres += [(-40.0, 179.977), (-40.0, -179.99), (47.0, -125.0), (70.0, 150.0)]
    gk, gs, glat, glon, ga = [], [], [], [], []
    for k in range(90):
        c_lat, c_lon = centres[k % len(centres)]
        for s in range(4):
            gk.append(k)
            gs.append(1000 + s)
            glat.append(min(c_lat + rng.uniform(-0.015, 0.015), 90.0))
            lon = c_lon + rng.uniform(-0.015, 0.015)
            glon.append(lon - 360.0 if lon > 180.0 else lon + 360.0 if lon < -180.0 else lon)
            ga.append(1.0 if rng.random() < 0.1 else 0.0)
    if far_step:
        gk.append(90)
        gs.append(1000 + (1 << 26))
        glat.append(-80.0)
        glon.append(-170.0)
        ga.append(0.0)
    arrays = [np.asarray(gk, np.int64), np.asarray(gs, np.int64)]
    arrays += [np.asarray(a, np.float64) for a in (glat, glon, ga)]
    order = np.lexsort((arrays[1], arrays[0]))
    return tuple(a[order] for a in arrays)


def _measured(gk: np.ndarray, gs: np.ndarray, glat: np.ndarray, glon: np.ndarray, ga: np.ndarray,
              mmsi: np.ndarray) -> dict[tuple[int, int], float]:  # fmt: skip
    """Every pair of points of one step, off land, of two MMSIs, lower MMSI first: its distance."""
    out = {}
    for i in range(len(gk)):
        for j in range(len(gk)):
            if gs[i] != gs[j] or ga[i] or ga[j] or mmsi[i] >= mmsi[j]:
                continue
            out[(i, j)] = haversine_m(glat[i], glon[i], glat[j], glon[j])
    return out


@pytest.mark.parametrize("far_step", [False, True])
def test_close_pairs_are_every_pair_measured_close(far_step: bool) -> None:
    gk, gs, glat, glon, ga = _points(far_step)
    mmsi = 200_000_000 + 7 * gk  # one MMSI per track
    src = np.concatenate([np.arange(len(gk), dtype=np.int64), wrapped(glat, glon, CELL_M)])
    key, _ = _hashed(gs, glat, glon, ga, mmsi, src, len(gk), CELL_M, *_row_table(glat, CELL_M))
    # keys renumbered densely and sorted with their index, or (a span of steps too long
    # for 63 bits) the argsort of the keys as they are
    assert (_packed(key)[2] == 0) == far_step
    p, q, d = grid_pairs(gk, gs, glat, glon, ga, mmsi, int(gk.max()) + 1, EncounterParams())
    measured = _measured(gk, gs, glat, glon, ga, mmsi)
    close = {pq: m for pq, m in measured.items() if m <= MAX_D}
    assert len(close) > 100  # crowded: cells with many points, pairs across cells and ±180°
    assert any(glon[i] * glon[j] < 0 and abs(glon[i]) > 179 for i, j in close)
    got = dict(zip(zip(p.tolist(), q.tolist(), strict=True), d.tolist(), strict=True))
    assert len(got) == len(p)  # each pair once
    assert set(got) == set(close)
    for pq, m in got.items():
        assert m == pytest.approx(close[pq], rel=1e-9, abs=1e-6)
    # by (track, other track, step)
    keys = list(zip(gk[p].tolist(), gk[q].tolist(), gs[p].tolist(), strict=True))
    assert keys == sorted(keys)


def test_a_close_pair_far_from_the_equator_and_0_is_found() -> None:
    """Two points 484.9 m apart at 40° S by the antimeridian: with each point's own cosine
    their cells were two apart in x, and the pair was never compared."""
    glat = np.array([-39.99777, -39.99393])
    glon = np.array([179.97619, 179.97889])
    gk, gs = np.array([0, 1], np.int64), np.array([5, 5], np.int64)
    mmsi = np.array([211_000_001, 211_000_002], np.int64)
    p, q, d = grid_pairs(gk, gs, glat, glon, np.zeros(2), mmsi, 2, EncounterParams())
    assert (p.tolist(), q.tolist()) == ([0], [1])
    assert d[0] == pytest.approx(haversine_m(glat[0], glon[0], glat[1], glon[1]))
    assert d[0] < MAX_D
