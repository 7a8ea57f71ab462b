"""``seawatch audit list``: the node admin reads the trail the API writes (who, what, how
many, under which marking), filtered by user and time; a missing store is an error."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
from click.testing import CliRunner

from seawatch.cli.main import cli
from seawatch.settings import load_settings
from seawatch.store import open_store
from seawatch.store.tables import TABLES

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _store(path: Path) -> None:
    rows = [
        {
            "audit_id": f"r{i}",
            "ts": T0 + dt.timedelta(hours=i),
            "user_name": "analyst" if i % 2 else "watch",
            "route": "/api/v1/positions",
            "query": f"bbox=80,5,95,22&limit={i + 1}",
            "rows": 10 * i,
            "markings": "CONFIDENTIAL//REL TO IND, USA",
        }
        for i in range(5)
    ]
    with open_store(path, load_settings(env={"SEAWATCH_NODE_NATION": "IND"})) as store:
        store.write("audit", pa.Table.from_pylist(rows, TABLES["audit"].arrow_schema()))


def test_audit_list_shows_who_read_what(tmp_path: Path) -> None:
    db = tmp_path / "node.duckdb"
    _store(db)
    res = CliRunner().invoke(cli, ["audit", "list", "--db", str(db)])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("2026-12-01T00:00:00Z  watch")
    assert "/api/v1/positions?bbox=80,5,95,22&limit=1" in lines[0]
    assert "[CONFIDENTIAL//REL TO IND, USA]" in lines[0]
    assert "5 request(s)" in res.stderr

    res = CliRunner().invoke(
        cli,
        ["audit", "list", "--db", str(db), "--user", "analyst", "--since", "2026-12-01T02:00Z"],
    )
    assert res.exit_code == 0, res.output
    assert [ln.split()[1] for ln in res.stdout.splitlines()] == ["analyst"]  # r3 only

    res = CliRunner().invoke(cli, ["audit", "list", "--db", str(db), "--format", "jsonl"])
    got = [json.loads(ln) for ln in res.stdout.splitlines()]
    assert [g["rows"] for g in got] == [0, 10, 20, 30, 40]
    assert set(got[0]) == set(TABLES["audit"].names)

    res = CliRunner().invoke(cli, ["audit", "list", "--db", str(db), "--limit", "2"])
    assert [ln.split()[0] for ln in res.stdout.splitlines()] == [
        "2026-12-01T03:00:00Z",
        "2026-12-01T04:00:00Z",
    ]


def test_audit_list_needs_a_store(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["audit", "list", "--db", str(tmp_path / "none.duckdb")])
    assert res.exit_code == 1
    assert "no store at" in res.output
    assert not (tmp_path / "none.duckdb").exists()


def test_audit_list_refuses_a_bad_time(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["audit", "list", "--since", "yesterday"])
    assert res.exit_code == 2
    assert "'yesterday' is not an ISO 8601 time" in res.output
