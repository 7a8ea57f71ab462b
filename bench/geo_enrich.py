"""Throughput of seawatch.geo.enrich on random ocean positions (docs/geography.md).

Run: .venv/bin/python bench/geo_enrich.py [N]   (default 1,000,000; caches warmed first)
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pyarrow as pa

from seawatch.geo import enrich, on_land


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rng = np.random.default_rng(0)
    lat = np.empty(0)
    lon = np.empty(0)
    while len(lat) < n:  # rejection-sample sea positions, uniform in lat/lon within ±80°
        la, lo = rng.uniform(-80, 80, n), rng.uniform(-180, 180, n)
        sea = ~on_land(la, lo)
        lat, lon = np.concatenate([lat, la[sea]]), np.concatenate([lon, lo[sea]])
    table = pa.table({"lat": lat[:n], "lon": lon[:n]})
    enrich(table.slice(0, 1000))  # load land mask, coast tree, shore grid, ports
    for _ in range(3):
        start = time.perf_counter()
        out = enrich(table)
        elapsed = time.perf_counter() - start
        shore = out.column("distance_to_shore_km").to_numpy()
        print(
            f"{n:,} positions in {elapsed:.2f} s = {n / elapsed:,.0f} positions/s "
            f"(within 150 km of shore: {(shore < 150).mean():.1%})"
        )


if __name__ == "__main__":
    main()
