"""Encounters before and after ports are added (issue 16), on the Argenni real files.

For the Baltic and Gibraltar samples of ../shared/data/ais/argenni_ais_reconstruction:
encounters, loitering and port visits with the built-in ports, + the World Port Index,
+ the GFW anchorage overrides, and + anchorages derived from the file itself (GFW's rule;
its defaults and the thresholds lowered for a short file), each encounter with the berth
it lies at; and the time the derivation takes. docs/geography.md, bench/RESULTS.md.

Run: .venv/bin/python bench/derived_ports.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seawatch.engine.detect import detect_files
from seawatch.geo.anchorages import AnchorageParams, derive_anchorages
from seawatch.geo.ports import PORTS_SCHEMA, PortTable, default_ports, load_ports_csv
from seawatch.settings import load_settings

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FILES = {
    "Baltic": "decoded_reports_baltic_all_ships_april_2018_micro_20k_sample_ais_data.csv",
    "Gibraltar": "decoded_traffic_Gibraltar_Straight_all_ships_2016A_micro_20k_sample_ais_data.csv",
}
WPI = SHARED / "geo/ports_nga_world_port_index_pub150/UpdatedPub150.csv"
GFW = SHARED / "geo/anchorages_ports_gfw_pipe_anchorages/anchorage_overrides.csv"
SHORT = AnchorageParams(min_vessels=2, min_stationary_s=2 * 3600.0, max_distance_to_shore_km=5.0)


def _ports(found: pa.Table) -> PortTable:
    n = found.num_rows
    return PortTable(
        pa.table(
            {
                "port_id": found["port_id"],
                "port_name": pa.nulls(n, pa.string()),
                "country": pa.nulls(n, pa.string()),
                "lat": found["lat"],
                "lon": found["lon"],
                "source": pa.array(["derived"] * n, pa.string()),
            },
            schema=PORTS_SCHEMA,
        )
    )


def _count(folder: Path) -> dict[str, int]:
    ev = pq.read_table(folder / "events.parquet")
    types = ev["event_type"].to_pylist()
    return {t: types.count(t) for t in ("encounter", "loitering", "port_visit")}


def main() -> None:
    if not SHARED.is_dir():
        sys.exit("../shared/data is not here")
    settings = load_settings()
    for name, file in FILES.items():
        path = SHARED / "ais/argenni_ais_reconstruction" / file
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp) / "base"
            detect_files([path], settings=settings, out_dir=base)
            positions = pq.read_table(base / "positions.parquet")
            start = time.perf_counter()
            gfw_default = derive_anchorages(positions)
            t_default = time.perf_counter() - start
            start = time.perf_counter()
            short = derive_anchorages(positions, SHORT)
            t_short = time.perf_counter() - start
            rows = [("built-in (searoute, 3,962)", _count(base))]
            lists = {
                "+ World Port Index (3,802)": default_ports().extend(load_ports_csv(WPI)),
                "+ GFW anchorage overrides (60,409)": default_ports().extend(load_ports_csv(GFW)),
                f"+ derived, GFW defaults ({gfw_default.num_rows})": default_ports().extend(
                    _ports(gfw_default)
                ),
                f"+ derived, ≥ 2 vessels ≥ 2 h ≤ 5 km from shore ({short.num_rows})": (
                    default_ports().extend(_ports(short))
                ),
            }
            for label, ports in lists.items():
                out = Path(tmp) / label[:8].strip("+ ")
                detect_files([path], settings=settings, out_dir=out, ports=ports)
                rows.append((label, _count(out)))
            ev = pq.read_table(base / "events.parquet")
            enc = ev.filter(pc.equal(ev["event_type"], "encounter"))
        print(
            f"\n{name}: {positions.num_rows:,} positions; derivation {t_default:.2f} s "
            f"(GFW defaults), {t_short:.2f} s (short)"
        )
        print("| ports | encounters | loitering | port visits |\n|---|---:|---:|---:|")
        for label, c in rows:
            print(f"| {label} | {c['encounter']} | {c['loitering']} | {c['port_visit']} |")
        print("encounters with the built-in ports:")
        idx, km = default_ports().nearest(enc["lat"].to_numpy(), enc["lon"].to_numpy())
        names = default_ports().table["port_name"]
        for e, i, d in zip(enc.to_pylist(), idx, km, strict=True):
            print(
                f"  {e['mmsi']}-{e['other_mmsi']} at {e['lat']:.4f},{e['lon']:.4f} "
                f"(nearest built-in port {names[int(i)]} {d:.1f} km)"
            )


if __name__ == "__main__":
    main()
