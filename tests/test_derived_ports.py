"""Issue 16: ports missing from the port list made berthed ships look like encounters.

Real files: ../shared/data/ais/argenni_ais_reconstruction. On the Baltic file (387 vessels,
10.9 h) every encounter the built-in ports let through is a berth: Stralsund (3 pairs),
Peenemünde (2), Niendorf (1) and the two Læsø ferries at Vesterø Havn (1); on the
Gibraltar file, Tanger Med (12 pairs) and the Puerto Banús marina (4). Anchorages derived
from the file itself (GFW's rule with thresholds lowered for 11-16 h of data: ≥ 2 vessels
stationary ≥ 2 h, kept within 5 km of the coast) remove them all, while an encounter at
sea added to the file (two vessels stopped together 60 km off Bornholm for 4 h) stays.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seawatch.engine.detect import detect_files
from seawatch.geo.anchorages import AnchorageParams, derive_anchorages
from seawatch.geo.ports import PORTS_SCHEMA, PortTable, default_ports
from seawatch.settings import load_settings

ARGENNI = "ais/argenni_ais_reconstruction"
BALTIC = "decoded_reports_baltic_all_ships_april_2018_micro_20k_sample_ais_data.csv"
GIBRALTAR = "decoded_traffic_Gibraltar_Straight_all_ships_2016A_micro_20k_sample_ais_data.csv"
#: GFW's rule with its thresholds lowered for a file of 11-16 hours (GFW: 20 vessels, 12 h)
SHORT = AnchorageParams(min_vessels=2, min_stationary_s=2 * 3600.0, max_distance_to_shore_km=5.0)
AT_SEA = (211_000_001, 211_000_002)

BERTHS = {  # name: (lat, lon) of the berth, within 1.5 km of each encounter there
    "Stralsund": (54.3057, 13.1171),
    "Peenemünde": (54.1367, 13.7651),
    "Niendorf": (53.9943, 10.8086),
    "Læsø (Vesterø Havn)": (57.2967, 10.9219),
    "Tanger Med": (35.8960, -5.4910),
    "Puerto Banús": (36.4862, -4.9527),
}


def _at_sea(path: Path) -> Path:
    """Two vessels stopped 150 m apart, 60 km off Bornholm, 02:00-06:00 on 1 April 2018,
    in the Baltic file's own format: a real encounter (far from any port and coast)."""
    head = (
        '"timestamp_pretty";"timestamp";"msgid";"targetType";"mmsi";"lat";"long";"posacc";'
        '"sog";"cog";"shipType";"dimBow";"draught";"dimPort";"dimStarboard";"dimStern";'
        '"month";"week";"imo";"country";"name";"callsign"'
    )
    lines = [head]
    t0 = datetime(2018, 4, 1, 2, 0, tzinfo=UTC)
    for k in range(80):  # every 3 min for 4 h
        t = t0 + timedelta(minutes=3 * k)
        ms = int(t.timestamp() * 1000)
        pretty = t.strftime("%d/%m/%Y %H:%M:%S")
        for mmsi, lon in zip(AT_SEA, (16.3000, 16.3024), strict=True):
            lines.append(
                f'"{pretty}";{ms};1;"A";{mmsi};55.55;{lon};1;0.1;90;"TANKER";100;8;10;10;'
                f'50;4;13;0;"Germany";"SEA {mmsi % 10}";"CALL{mmsi % 10}"'
            )
    path.write_text("\n".join(lines) + "\n")
    return path


def _encounters(folder: Path) -> list[dict[str, object]]:
    ev = pq.read_table(folder / "events.parquet")
    return ev.filter(pc.equal(ev["event_type"], "encounter")).to_pylist()


def _berth(e: dict[str, object]) -> str | None:
    from seawatch.geo._sphere import chord_to_km, unit_vectors

    for name, (lat, lon) in BERTHS.items():
        a, b = unit_vectors([e["lat"]], [e["lon"]]), unit_vectors([lat], [lon])
        if chord_to_km(((a - b) ** 2).sum() ** 0.5) < 1.5:
            return name
    return None


def _run(inputs: list[Path], out: Path, ports: PortTable | None) -> list[dict[str, object]]:
    detect_files(inputs, settings=load_settings(), out_dir=out, ports=ports)
    return _encounters(out)


def _derived(folder: Path) -> PortTable:
    found = derive_anchorages(pq.read_table(folder / "positions.parquet"), SHORT)
    n = found.num_rows
    table = pa.table(
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
    return default_ports().extend(PortTable(table))


def _pairs(encounters: list[dict[str, object]]) -> set[tuple[object, object]]:
    return {(e["mmsi"], e["other_mmsi"]) for e in encounters}


def test_baltic_berthed_encounters_go_the_one_at_sea_stays(
    shared_data: Path, tmp_path: Path
) -> None:
    inputs = [shared_data / ARGENNI / BALTIC, _at_sea(tmp_path / "at_sea.csv")]
    before = _run(inputs, tmp_path / "before", None)
    at_berth = [e for e in before if _berth(e)]
    assert {_berth(e) for e in at_berth} == {
        "Stralsund",
        "Peenemünde",
        "Niendorf",
        "Læsø (Vesterø Havn)",
    }
    assert len(at_berth) == 7
    assert _pairs(before) - _pairs(at_berth) == {AT_SEA}  # every other one is at a berth
    ports = _derived(tmp_path / "before")
    after = _run(inputs, tmp_path / "after", ports)
    assert _pairs(after) == {AT_SEA}
    sea = json.loads(str(after[0]["details"]))
    assert sea["duration_s"] >= 3 * 3600


def test_gibraltar_tanger_med_goes(shared_data: Path, tmp_path: Path) -> None:
    inputs = [shared_data / ARGENNI / GIBRALTAR]
    before = _run(inputs, tmp_path / "before", None)
    where = [_berth(e) for e in before]
    # 12 and 4 before encounters ran on across shared silences (then one more at Tanger Med)
    assert set(where) == {"Tanger Med", "Puerto Banús"}
    assert where.count("Tanger Med") >= 12
    assert where.count("Puerto Banús") >= 4
    after = _run(inputs, tmp_path / "after", _derived(tmp_path / "before"))
    assert after == []


def test_gfw_defaults_find_nothing_in_eleven_hours(shared_data: Path) -> None:
    """ "Stationary ≥ 12 h" cannot happen in a 10.9 h file: GFW's defaults derive nothing."""
    table = _decoded(shared_data / ARGENNI / BALTIC)
    assert derive_anchorages(table).num_rows == 0
    assert derive_anchorages(table, SHORT).num_rows > 20


def _decoded(path: Path) -> pa.Table:
    import pyarrow.csv as pcsv

    t = pcsv.read_csv(path, parse_options=pcsv.ParseOptions(delimiter=";"))
    ts = pc.multiply(t["timestamp"].cast(pa.int64()), 1000).cast(pa.timestamp("us", tz="UTC"))
    return pa.table({"ts": ts, "mmsi": t["mmsi"], "lat": t["lat"], "lon": t["long"]})


def test_through_the_store_with_the_cli(shared_data: Path, tmp_path: Path) -> None:
    """ingest, ports derive, ingest --detect: the stored encounters are the one at sea."""
    from click.testing import CliRunner

    from seawatch.cli.main import cli
    from seawatch.labels import default_reader
    from seawatch.store import open_store
    from seawatch.store.query import Query

    db = str(tmp_path / "node.duckdb")
    env = {"SEAWATCH_NODE_NATION": "DEU"}
    inputs = [str(shared_data / ARGENNI / BALTIC), str(_at_sea(tmp_path / "at_sea.csv"))]

    def run(*args: str) -> str:
        res = CliRunner().invoke(cli, [*args, "--db", db], env=env)
        assert res.exit_code == 0, res.output
        return res.output

    run("ingest", *inputs)
    out = run("ports", "derive")
    assert "0 anchorages" in out
    assert "a short history needs a lower --min-stationary-h" in out
    short = ("ports", "derive", "--min-vessels", "2", "--min-stationary-h", "2")
    loose = run(*short)
    out = run(*short, "--max-shore-km", "5")  # replaces the previous derivation
    n_loose, n_coast = (int(text.split(" anchorages")[0].split()[-1]) for text in (loose, out))
    assert n_loose == n_coast + 1  # without the limit, the two stopped at sea are one too
    listed = run("ports", "list", "--source", "derived")
    assert f"derived: {n_coast} ports" in listed
    assert "anchorage:" in listed
    wpi = shared_data / "geo/ports_nga_world_port_index_pub150/UpdatedPub150.csv"
    out = run("ports", "import", str(wpi))
    assert "3,802 ports stored from 3,802 rows" in out
    assert "rows left out: none" in out
    run("ingest", *inputs, "--detect")
    settings = load_settings(env=env)
    with open_store(db, settings) as store:
        q = Query(store, default_reader(store.policy))
        ev = q.events(types=["encounter"])
        visits = q.events(types=["port_visit"])
    assert _pairs(ev.to_pylist()) == {AT_SEA}
    at = [json.loads(d)["port_id"] for d in visits["details"].to_pylist()]
    assert any(str(p).startswith("anchorage:") for p in at)


def test_detect_takes_port_lists_and_import_reports_bad_input(
    shared_data: Path, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from seawatch.cli.main import cli

    wpi = shared_data / "geo/ports_nga_world_port_index_pub150/UpdatedPub150.csv"
    gib = shared_data / ARGENNI / GIBRALTAR
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["detect", str(gib), "--out", str(out), "--ports", str(wpi)])
    assert res.exit_code == 0, res.output
    where = [_berth(e) for e in _encounters(out)]
    assert set(where) == {"Puerto Banús"}  # Tanger Med is in the World Port Index
    assert len(where) >= 4
    env = {"SEAWATCH_NODE_NATION": "ESP"}
    db = ["--db", str(tmp_path / "node.duckdb")]
    res = CliRunner().invoke(cli, ["ports", "import", str(tmp_path / "none.csv"), *db], env=env)
    assert res.exit_code == 1
    assert "error: cannot read ports CSV" in res.output
    assert "Traceback" not in res.output
    nolat = tmp_path / "nolat.csv"
    nolat.write_text("id,name\n1,x\n")
    res = CliRunner().invoke(cli, ["ports", "import", str(nolat), *db], env=env)
    assert (res.exit_code, "has no lat column" in res.output) == (1, True)
    res = CliRunner().invoke(cli, ["ports", "list", *db], env=env)
    assert "no stored ports" in res.output
