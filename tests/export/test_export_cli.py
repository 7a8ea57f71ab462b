"""``seawatch export`` through the store's query layer: a DuckDB store with records of
several labels, exported for readers who may see different parts of it."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from lxml import etree

from seawatch.cli.main import cli
from seawatch.export.cot import read_cot
from seawatch.labels import parse_label
from seawatch.settings import load_settings
from seawatch.store import TABLES, open_store

T0 = datetime(2024, 3, 1, tzinfo=UTC)
TS = TABLES["positions"].arrow_schema().field("ts").type
ENV = {"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_NODE_ID": "ifc-ior"}


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A store on an Indian node: an unclassified vessel, a SECRET Indian one, a QUAD one."""
    path = str(tmp_path / "store.duckdb")
    with open_store(path, load_settings(env=ENV)) as store:
        p = store.policy
        u = parse_label("UNCLASSIFIED", p)
        secret = parse_label("SECRET//NOFORN", p)  # India's own
        quad = parse_label("CONFIDENTIAL//REL TO QUAD", p)
        with store.transaction():
            ids = [store.label_id(lb) for lb in (u, u, secret, quad)]
            store.write(
                "positions",
                pa.table(
                    {
                        "msg_key": pa.array([1, 2, 3, 4], pa.int64()),
                        "ts": pa.array([T0 + timedelta(minutes=m) for m in (0, 10, 5, 20)], TS),
                        "mmsi": pa.array([419000001, 419000001, 419000002, 419000003], pa.int32()),
                        "msg_type": pa.array([1] * 4, pa.int8()),
                        "lat": [10.0, 10.5, 12.0, 14.0],
                        "lon": [85.0, 85.5, 88.0, 90.0],
                        "speed_kn": [10.0, 11.0, 0.5, 7.0],
                        "course_deg": [90.0, 91.0, None, 180.0],
                        "label_id": pa.array(ids, pa.int32()),
                    }
                ),
            )
            store.write(
                "events",
                pa.table(
                    {
                        "event_id": ["e1", "e2", "e3"],
                        "event_type": ["encounter", "gap", "encounter"],
                        "start_ts": pa.array([T0, T0, T0 + timedelta(hours=1)], TS),
                        "end_ts": pa.array([T0 + timedelta(hours=2), None, None], TS),
                        "mmsi": pa.array([419000001, 419000002, 419000003], pa.int32()),
                        "lat": [10.0, None, 14.0],
                        "lon": [85.0, None, 90.0],
                        "details": ['{"distance_m":300.0}', "{}", "{}"],
                        "label_id": pa.array([ids[3], ids[2], ids[2]], pa.int32()),
                    }
                ),
            )
    return path


def _invoke(command: str, db: str, out: Path, *extra: str) -> tuple[int, str]:
    args = [*command.split(), "--db", db, "--out", str(out), *extra]
    result = CliRunner().invoke(cli, args, env=ENV)
    return result.exit_code, result.output


def _run(command: str, db: str, out: Path, *extra: str) -> str:
    code, output = _invoke(command, db, out, *extra)
    assert code == 0, output
    return output


def test_geojson_for_a_partner_withholds_what_it_may_not_see(db: str, tmp_path: Path) -> None:
    out = tmp_path / "p.geojson"
    said = _run("export positions --format geojson --reader USA:S", db, out)
    doc = json.loads(out.read_text())
    assert [f["properties"]["mmsi"] for f in doc["features"]] == [419000001, 419000001, 419000003]
    assert doc["label"] == "CONFIDENTIAL//REL TO IND, QUAD"
    assert "3 positions record(s)" in said
    assert "marked CONFIDENTIAL//REL TO IND, QUAD" in said
    # India's own reader cleared SECRET sees its SECRET record, and the file is marked for it
    _run("export positions --format geojson --reader IND:S", db, out)
    doc = json.loads(out.read_text())
    assert len(doc["features"]) == 4
    assert doc["label"] == "SECRET//NOFORN"
    # below SECRET it does not (issue 12: the originator's exemption is releasability only)
    _run("export positions --format geojson --reader IND:U", db, out)
    assert len(json.loads(out.read_text())["features"]) == 2


def test_cot_latest_per_vessel(db: str, tmp_path: Path) -> None:
    out = tmp_path / "v.cot"
    _run("export latest --format cot --reader JPN:C", db, out)
    back = read_cot(out)
    assert back["uid"].to_pylist() == ["seawatch.ifc-ior.419000001", "seawatch.ifc-ior.419000003"]
    assert back["label"].to_pylist() == ["UNCLASSIFIED", "CONFIDENTIAL//REL TO IND, QUAD"]
    assert back["lat"].to_pylist() == [10.5, 14.0]  # the latest report of 419000001
    stale = back["stale"].to_pylist()[0] - back["time"].to_pylist()[0]
    assert stale == timedelta(seconds=600)
    for line in out.read_bytes().splitlines():
        assert etree.fromstring(line).tag == "event"


def test_bbox_time_and_formats(db: str, tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    _run(
        "export positions --format csv --reader USA:TS",
        db,
        out,
        *("--bbox", "84,9,86,11", "--start", "2024-03-01T00:05Z"),
    )
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["mmsi"], r["label"]) for r in rows] == [("419000001", "UNCLASSIFIED")]
    for fmt in ("kml", "geoparquet"):
        target = tmp_path / f"x.{fmt}"
        _run(f"export latest --format {fmt} --reader USA:C", db, target)
        assert target.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_events_to_kml(db: str, tmp_path: Path) -> None:
    out = tmp_path / "ev.kml"
    said = _run("export events --type encounter --format kml --reader JPN:C", db, out)
    assert "1 events record(s)" in said
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    doc = etree.parse(str(out))
    names = [n.text for n in doc.iterfind("k:Document/k:Folder/k:Placemark/k:name", ns)]
    assert names == ["encounter: MMSI 419000001"]  # e3 is India's SECRET//NOFORN
    assert doc.findtext("k:Document/k:description", None, ns) == "CONFIDENTIAL//REL TO IND, QUAD"


def test_bad_usage(db: str, tmp_path: Path) -> None:
    out = tmp_path / "x.geojson"
    code, said = _invoke("export positions --type gap --format geojson --reader USA:S", db, out)
    assert code == 1
    assert "--type selects event types" in said
    code, said = _invoke("export vessels --format cot --reader USA:S", db, out)
    assert code == 2  # vessels have no position: not a kind the export command writes
    assert not out.exists()
    code, said = _invoke("export latest --format cot --reader USA:X", db, out)
    assert code == 1
    assert "unknown clearance" in said


def _add_statics(db: str) -> None:
    """Names: 419000001's unclassified; 419000003's SECRET for India and the USA only."""
    with open_store(db, load_settings(env=ENV)) as store:
        p = store.policy
        u = store.label_id(parse_label("UNCLASSIFIED", p))
        usa = store.label_id(parse_label("SECRET//REL TO USA, IND", p))
        with store.transaction():
            store.write(
                "statics",
                pa.table(
                    {
                        "msg_key": pa.array([11, 12, 13, 14], pa.int64()),
                        "ts": pa.array([T0 + timedelta(minutes=m) for m in (1, 2, 3, 4)], TS),
                        "mmsi": pa.array([419000001, 419000001, 419000003, 419000003], pa.int32()),
                        "msg_type": pa.array([24, 24, 5, 24], pa.int8()),
                        # a later part B (call sign only) does not hide the name of part A
                        "name": ["SAGAR KANYA", None, "QUAD PATROL", None],
                        "callsign": [None, "VTSK", "VQP", ""],
                        "label_id": pa.array([u, u, usa, u], pa.int32()),
                    }
                ),
            )


def test_exports_name_vessels_from_statics_the_reader_may_read(db: str, tmp_path: Path) -> None:
    _add_statics(db)
    out = tmp_path / "v.cot"
    # Japan may read 419000003's position (REL TO QUAD) but not the report naming it
    _run("export latest --format cot --reader JPN:C", db, out)
    back = read_cot(out)
    assert back["callsign"].to_pylist() == ["SAGAR KANYA", "419000003"]
    assert back["label"].to_pylist() == ["UNCLASSIFIED", "CONFIDENTIAL//REL TO IND, QUAD"]
    # the USA may read both: the name, under the combination of the two labels
    said = _run("export latest --format cot --reader USA:S", db, out)
    back = read_cot(out)
    assert back["callsign"].to_pylist() == ["SAGAR KANYA", "QUAD PATROL"]
    assert back["label"].to_pylist() == ["UNCLASSIFIED", "SECRET//REL TO IND, USA"]
    assert "marked SECRET//REL TO IND, USA" in said
    # the name reaches every position of a GeoJSON export too, with the same rule
    geo = tmp_path / "p.geojson"
    _run("export positions --format geojson --reader JPN:C", db, geo)
    props = [f["properties"] for f in json.loads(geo.read_text())["features"]]
    assert [(p["mmsi"], p["name"]) for p in props] == [
        (419000001, "SAGAR KANYA"),
        (419000001, "SAGAR KANYA"),
        (419000003, None),
    ]


def test_cot_of_events_has_incident_markers_of_what_the_reader_may_read(
    db: str, tmp_path: Path
) -> None:
    out = tmp_path / "e.cot"
    _run("export events --format cot --cot-stale-from export --reader JPN:C", db, out)
    back = read_cot(out)
    incidents = [r for r in back.to_pylist() if ".incident." in r["uid"]]
    events = [r for r in back.to_pylist() if ".event." in r["uid"]]
    assert [r["uid"] for r in events] == ["seawatch.ifc-ior.event.e1"]  # JPN: QUAD only
    assert len(incidents) == 1  # e1's encounter; nothing of the SECRET//NOFORN ones
    assert incidents[0]["label"].startswith(events[0]["access"] + " encounter MMSI 419000001")
    assert incidents[0]["stale"] - incidents[0]["time"] == timedelta(seconds=600)
    assert incidents[0]["time"] > T0 + timedelta(days=365)  # the time of the export
    _run("export events --format cot --reader IND:S", db, out)
    kinds = [u.split(".")[2] for u in read_cot(out)["uid"].to_pylist()]
    assert kinds.count("incident") == 2  # e1 and e3 (e2, a gap open at the end, is not one)
    _run("export events --format cot --no-cot-incidents --reader IND:S", db, out)
    assert "incident" not in {u.split(".")[2] for u in read_cot(out)["uid"].to_pylist()}
