"""Ports: searoute's UN/LOCODE table, World Port Index CSV, KD-tree nearest = brute force."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

from seawatch.errors import InputError
from seawatch.geo._sphere import EARTH_RADIUS_KM
from seawatch.geo.ports import PORTS_SCHEMA, default_ports, load_ports_csv, nearest_port


def _haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(lon2 - lon1)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def test_default_ports_table() -> None:
    ports = default_ports()
    assert ports.table.schema == PORTS_SCHEMA
    assert len(ports) > 3000
    row = ports.table.filter(pc.equal(ports.table.column("port_id"), "NLRTM"))
    assert row.num_rows == 1
    assert row.column("port_name")[0].as_py() == "Rotterdam"


def test_nearest_matches_brute_force() -> None:
    ports = default_ports()
    rng = np.random.default_rng(11)
    lat = rng.uniform(-80.0, 80.0, 2_000)
    lon = rng.uniform(-180.0, 180.0, 2_000)
    index, km = nearest_port(lat, lon)
    plat = ports.table.column("lat").to_numpy()
    plon = ports.table.column("lon").to_numpy()
    all_km = _haversine_km(lat[:, None], lon[:, None], plat[None, :], plon[None, :])
    np.testing.assert_allclose(km, all_km.min(axis=1), rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(all_km[np.arange(len(lat)), index], km, atol=1e-6)


def test_nan_positions() -> None:
    index, km = nearest_port([np.nan, 51.9], [0.0, 4.1])
    assert index[0] == -1
    assert np.isnan(km[0])
    assert km[1] < 20.0


def test_world_port_index(shared_data: Path) -> None:
    csv = shared_data / "geo" / "ports_nga_world_port_index_pub150" / "UpdatedPub150.csv"
    wpi = load_ports_csv(csv)
    assert wpi.table.schema == PORTS_SCHEMA
    assert len(wpi) == 3802
    ids = set(wpi.table.column("port_id").to_pylist())
    assert "INMUN" in ids  # "IN MUN" without its space
    assert any(i.startswith("wpi:") for i in ids)  # ports without a UN/LOCODE
    both = default_ports().extend(wpi)
    assert len(default_ports()) < len(both) < len(default_ports()) + len(wpi)
    assert len(set(both.table.column("port_id").to_pylist())) == len(both)
    assert len(set(default_ports().table.column("port_id").to_pylist())) == len(default_ports())


def test_generic_csv_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "mine.csv"
    good.write_text("id,name,country,lat,lon\n1,Quay A,Atlantis,10.5,20.5\n2,Bad,X,95,0\n")
    ports = load_ports_csv(good)
    assert ports.table.to_pylist() == [
        {"port_id": "mine:1", "port_name": "Quay A", "country": "Atlantis",
         "lat": 10.5, "lon": 20.5, "source": "mine"}
    ]  # fmt: skip
    index, km = ports.nearest([10.5], [20.5])
    assert index.tolist() == [0]
    assert km[0] == pytest.approx(0.0, abs=1e-6)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\n1,x\n")
    with pytest.raises(InputError, match="no lat column"):
        load_ports_csv(bad)
    with pytest.raises(InputError, match="cannot read"):
        load_ports_csv(tmp_path / "missing.csv")
