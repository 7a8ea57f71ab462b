"""A node for the web map's tests: a DuckDB store filled by the engine from two simulated
feeds under two labels, a real uvicorn server on a free loopback port (the same
:class:`Served` as tests/serve), and one token per reader.

Labels: feed A ``CONFIDENTIAL//REL TO IND, JPN``, feed B ``SECRET//REL TO IND``. Readers:
``IND:SECRET`` reads both, ``JPN:SECRET`` only A.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # apiclient
sys.path.insert(0, str(Path(__file__).parent))  # webnode

from apiclient import Served
from browser import CHROMIUM, FLAGS
from playwright.sync_api import Browser, sync_playwright
from webnode import READERS, WebNode

from seawatch.cli.main import cli
from seawatch.engine.ingest import ingest
from seawatch.labels import parse_label
from seawatch.serve import web
from seawatch.serve.accounts import create_user
from seawatch.serve.app import create_app
from seawatch.settings import load_settings
from seawatch.sim.synth import write_sample
from seawatch.store import open_store

LABELS = ("CONFIDENTIAL//REL TO IND, JPN", "SECRET//REL TO IND")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's headless chromium, one per test module (the test modules that use it skip,
    or fail under ``REQUIRE_CHROMIUM=1``, without it: see :func:`browser.require_chromium`)."""
    if not (web.WEB_DIST / "index.html").is_file():
        pytest.fail("the map is not built: run `make web`")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def browser(chromium: Browser) -> Iterator[Browser]:
    """The module's chromium for one test: the pages the test opened are closed after it
    (left open, each kept its map, its live connection and its timers running in the
    browser through the module's later tests)."""
    yield chromium
    for context in chromium.contexts:
        context.close()


@pytest.fixture(scope="module")
def webnode(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebNode]:
    tmp = tmp_path_factory.mktemp("webnode")
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_API_RATE_PER_S": "1e6"})
    db = tmp / "node.duckdb"
    store = open_store(db, settings)
    for seed, marking in enumerate(LABELS, start=1):
        feed = tmp / f"feed{seed}.nmea"
        write_sample(feed, vessels=15, minutes=20, seed=seed)
        ingest(store, [feed], settings, label=parse_label(marking, store.policy), detect=True)
    users = {r: f"web{i}" for i, r in enumerate(READERS)}
    tokens = {r: create_user(store, users[r], r)[1] for r in READERS}
    app = create_app(store, settings)
    with Served(app) as url:
        yield WebNode(store, url, tokens, users, db, app)
    store.close()


@pytest.fixture
def livenode(tmp_path: Path) -> Iterator[WebNode]:
    """A node whose store starts empty: what the map shows arrives through /live."""
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_API_RATE_PER_S": "1e6"})
    db = tmp_path / "live.duckdb"
    store = open_store(db, settings)
    users = {r: f"live{i}" for i, r in enumerate(READERS)}
    tokens = {r: create_user(store, users[r], r)[1] for r in READERS}
    app = create_app(store, settings)
    with Served(app) as url:
        yield WebNode(store, url, tokens, users, db, app)
    store.close()


@pytest.fixture(scope="module")
def simnode(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebNode]:
    """A node holding 3 h of 40 simulated vessels with injected behaviours (spoofing,
    identity changes, port calls), detected: the situation has ranked incidents."""
    tmp = tmp_path_factory.mktemp("simnode")
    res = CliRunner().invoke(
        cli, ["simulate", "--vessels", "40", "--hours", "3", "--out", str(tmp / "sim")]
    )
    assert res.exit_code == 0, res.output
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_API_RATE_PER_S": "1e6"})
    db = tmp / "sim.duckdb"
    store = open_store(db, settings)
    feeds = sorted((tmp / "sim").glob("*.nmea"))
    ingest(store, feeds, settings, label=parse_label(LABELS[1], store.policy), detect=True)
    users = {r: f"sim{i}" for i, r in enumerate(READERS)}
    tokens = {r: create_user(store, users[r], r)[1] for r in READERS}
    app = create_app(store, settings)
    with Served(app) as url:
        yield WebNode(store, url, tokens, users, db, app)
    store.close()
