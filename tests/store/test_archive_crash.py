"""Archiving killed with SIGKILL at each step leaves the old state or the new one, never a
loss or a duplicate; run again, it ends where an uninterrupted run ends. And the command
line and the API see archived days without code of their own.

In both backends. The kill is real: a subprocess archives and kills itself
(``os.kill(getpid(), SIGKILL)``) when the archive reports the chosen step (a day's
temporary file fsynced, renamed into place, the rows deleted in the open transaction, the
commit).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from records import T0, Rec, write

from seawatch.cli.main import cli
from seawatch.labels import Reader, parse_label
from seawatch.settings import Settings
from seawatch.store import Store, open_store
from seawatch.store.archive import archive, archived_days
from seawatch.store.query import Query

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))
from apiclient import Served

from seawatch.serve.accounts import create_user
from seawatch.serve.app import create_app

DAY3 = T0 + timedelta(days=2)
ENV = {"SEAWATCH_NODE_NATION": "IND"}
KILLER = """
import os, signal, sys
from datetime import datetime
from seawatch.settings import load_settings
from seawatch.store import open_store
from seawatch.store.archive import archive

db, point, nth, before, to = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
seen = 0

def step(what, day):
    global seen
    if what == point:
        seen += 1
        if seen == nth:
            os.kill(os.getpid(), signal.SIGKILL)

with open_store(db, load_settings(env={"SEAWATCH_NODE_NATION": "IND"})) as store:
    archive(store, datetime.fromisoformat(before), to, step=step)
"""


def _fill(store: Store) -> None:
    u = parse_label("UNCLASSIFIED", store.policy)
    sec = parse_label("SECRET//REL TO IND", store.policy, originator="IND")
    recs = [
        Rec(k, 419000000 + k % 4, u if k % 3 else sec, minute=k * 150, lat=10 + k / 10, lon=85)
        for k in range(30)
    ]
    write(store, recs)


def _all(store: Store) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = Query(store, Reader.node_admin("test")).positions().to_pylist()
    return rows


def _files(store: Store) -> set[Path]:
    days = archived_days(store)
    folder = Path(days[0].folder) if days else None
    return set() if folder is None else {p for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("point", "nth", "committed"),
    [
        ("written", 1, False),  # the first day's temporary file, fsynced
        ("renamed", 1, False),  # the first day in place, the second not written
        ("written", 2, False),  # the first in place, the second's temporary file
        ("deleted", 1, False),  # every file in place, the rows deleted, not committed
        ("committed", 1, True),
    ],
)
def test_killed_archive_loses_and_doubles_nothing(
    store_url: str, node: Settings, tmp_path: Path, point: str, nth: int, committed: bool
) -> None:
    db, to = store_url, tmp_path / "archive"
    with open_store(db, node) as store:
        _fill(store)
        expected = _all(store)
        n = store.counts()["positions"]
    done = subprocess.run(
        [sys.executable, "-c", KILLER, db, point, str(nth), DAY3.isoformat(), str(to)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    with open_store(db, node) as store:
        assert _all(store) == expected  # the old state or the new: the same rows, once
        assert len(archived_days(store)) == (2 if committed else 0)
        assert (store.counts()["positions"] < n) is committed
        again = archive(store, DAY3, to)  # run again: ends as an uninterrupted run does
        assert _all(store) == expected
        days = archived_days(store)
        assert [d.day for d in days] == [T0, T0 + timedelta(days=1)]
        assert sum(d.rows for d in days) == n - store.counts()["positions"]
        assert _files(store) == {d.path for d in days}  # no temporary or stray file left
        assert len(again.days) == (0 if committed else 2)


def test_cli_and_api_read_archived_days(node: Settings, tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    with open_store(db, node) as store:
        _fill(store)
    runner = CliRunner()
    track = ["query", "track", "419000001", "--reader", "IND:SECRET", "--db", db]
    track += ["--start", T0.isoformat(), "--end", (T0 + timedelta(days=3)).isoformat()]
    before = runner.invoke(cli, track, env=ENV)
    assert before.exit_code == 0, before.output
    store = open_store(db, node)
    token = create_user(store, "u", "USA:SECRET")[1]
    auth = {"Authorization": f"Bearer {token}"}
    params = {"bbox": "80,5,95,22", "limit": 1000}
    with Served(create_app(store, node)) as url:
        api_before = httpx.get(f"{url}/api/v1/positions", params=params, headers=auth).json()
    store.close()
    res = runner.invoke(cli, ["db", "archive", "--before", "2024-03-03", "--db", db], env=ENV)
    assert res.exit_code == 0, res.output
    assert "2 day(s) archived" in res.stdout
    stats = runner.invoke(cli, ["db", "stats", "--db", db], env=ENV)
    assert "archived: " in stats.stdout, stats.output
    after = runner.invoke(cli, track, env=ENV)
    assert after.exit_code == 0, after.output
    assert after.stdout == before.stdout
    assert len(before.stdout.splitlines()) > 5
    store = open_store(db, node)
    with Served(create_app(store, node)) as url:
        api_after = httpx.get(f"{url}/api/v1/positions", params=params, headers=auth).json()
    store.close()
    assert api_after["items"] == api_before["items"]
    assert len(api_before["items"]) > 10
    refused = runner.invoke(cli, ["db", "archive", "--before", "2999-01-01", "--db", db], env=ENV)
    assert refused.exit_code != 0
    assert "not over" in refused.output
