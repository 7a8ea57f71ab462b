"""``seawatch alerts``: an analyst makes an area and rules from the command line, ``seawatch
ingest`` fires them, the alerts are listed (per reader), acknowledged and the rules removed;
bad input is one line saying why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from seawatch.cli.main import cli
from seawatch.sim.synth import write_sample

ENV = {"SEAWATCH_NODE_NATION": "IND"}


def run(*args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(cli, list(args), env=ENV, catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "node.duckdb")


def test_rules_fire_on_ingest_and_are_acknowledged(tmp_path: Path, db: str) -> None:
    feed = tmp_path / "feed.nmea"
    write_sample(feed, vessels=10, minutes=20, seed=3)
    whole = tmp_path / "area.geojson"
    ring = [[60, -10], [100, -10], [100, 30], [60, 30], [60, -10]]
    feature = {"type": "Feature", "properties": {},
               "geometry": {"type": "Polygon", "coordinates": [ring]}}  # fmt: skip
    whole.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    area = run("alerts", "areas", "add", "Bay of Bengal", str(whole), "--db", db).splitlines()[-1]
    assert area.startswith("area-")
    scout = str(tmp_path / "scout.duckdb")  # which vessels the feed has
    run("ingest", str(feed), "--db", scout)
    latest = run("query", "latest", "--reader", "IND:S", "--format", "jsonl", "--db", scout)
    rows = [json.loads(x) for x in latest.splitlines() if x.startswith("{")]
    mmsis = sorted(r["mmsi"] for r in rows if "mmsi" in r)
    assert mmsis
    watch = run("alerts", "rules", "add", "watch one", "--kind", "watchlist", "--zone", area,
                "--mmsi", str(mmsis[0]), "--marking", "SECRET//REL TO IND", "--db", db)  # fmt: skip
    rule_id = watch.splitlines()[-1]
    out = run("ingest", str(feed), "--db", db)
    assert "1 alerts fired" in out
    got = run("alerts", "list", "--format", "jsonl", "--db", db)
    listed = [json.loads(x) for x in got.splitlines()]
    assert [a["rule_id"] for a in listed] == [rule_id]
    assert listed[0]["label"] == "SECRET//NOFORN"
    usa = run("alerts", "list", "--reader", "USA:TS", "--format", "jsonl", "--db", db)
    assert usa.strip() == ""
    assert "acknowledged by cli:" in run("alerts", "ack", listed[0]["alert_id"], "--db", db)
    assert run("alerts", "list", "--unacked", "--format", "jsonl", "--db", db).strip() == ""
    assert rule_id in run("alerts", "rules", "list", "--db", db)
    refused = run("alerts", "areas", "remove", area, "--db", db, ok=False)
    assert "delete them first" in refused
    run("alerts", "rules", "remove", rule_id, "--db", db)
    run("alerts", "areas", "remove", area, "--db", db)
    assert run("alerts", "areas", "list", "--db", db).strip() == ""


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["rules", "add", "x", "--kind", "zone_entry", "--zone", "nowhere"], "no such zone"),
        (["rules", "add", "x", "--kind", "watchlist"], "give the vessels"),
        (["rules", "add", "x", "--kind", "gap", "--marking", "PURPLE"], "unknown classification"),
        (["rules", "add", "x", "--kind", "teleport"], "teleport"),
        (["ack", "nope"], "no alert 'nope'"),
        (["areas", "add", "x", "missing.geojson"], "cannot be read"),
    ],
)
def test_bad_input_says_why(db: str, args: list[str], says: str) -> None:
    out = run("alerts", *args, "--db", db, ok=False)
    assert says in out
