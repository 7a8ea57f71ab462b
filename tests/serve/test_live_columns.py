"""Columnar frames of a batch the hub has superseded (its value grid forgotten, as for a
client still behind) are the frames it gave before, built from each chunk's own values."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from seawatch.labels import Policy, parse_label
from seawatch.serve.live_frames import Chunk
from seawatch.serve.live_render import Rendered
from seawatch.settings import load_settings


def test_a_forgotten_batch_gives_the_same_columnar_frames() -> None:
    policy = Policy.from_settings(load_settings(env={"SEAWATCH_NODE_NATION": "IND"}))
    labels = {
        1: parse_label("SECRET//REL TO IND", policy),
        2: parse_label("CONFIDENTIAL//REL TO IND, USA", policy),
    }
    n = 2_500
    rng = np.random.default_rng(3)
    rows = pa.table(
        {
            "mmsi": pa.array(rng.integers(200_000_000, 800_000_000, n), pa.int64()),
            "lat": rng.uniform(-60, 60, n),
            "lon": rng.uniform(-180, 180, n),
            "name": [f'v "{k}"' if k % 7 else None for k in range(n)],
            "label_id": pa.array(rng.integers(1, 3, n), pa.int32()),
        }
    )
    r = Rendered.of("positions", rows, labels)

    def marking(ids: frozenset[int]) -> str:
        return "/".join(sorted(labels[i].marking for i in ids))

    picks = [np.arange(0, 1_000), np.flatnonzero(rng.random(n) < 0.3), np.array([n - 1])]
    before = [Chunk(r, idx).frame("columns", marking) for idx in picks]
    r.forget()
    after = [Chunk(r, idx).frame("columns", marking) for idx in picks]
    assert after == before
    assert "grid" not in r._cache  # built from the chunks' values, not the whole grid again
    first = json.loads(after[0])
    assert first["count"] == 1_000
    assert first["columns"]["mmsi"] == rows.column("mmsi").to_pylist()[:1_000]
