"""A live node for the API tests: a DuckDB store filled by the engine from two simulated
feeds under two labels, a real uvicorn server on a free loopback port, one token per
reader, and an httpx client.

Labels: feed A ``CONFIDENTIAL//REL TO IND, USA``, feed B ``SECRET//REL TO IND``. Readers:
``IND:SECRET`` reads both, ``USA:SECRET`` and ``IND:CONFIDENTIAL`` only A,
``USA:UNCLASSIFIED`` nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # apiclient

from apiclient import LABELS, READERS, Node, Served

from seawatch.engine.ingest import ingest
from seawatch.labels import parse_label
from seawatch.serve.accounts import create_user
from seawatch.serve.app import create_app
from seawatch.settings import load_settings
from seawatch.sim.synth import write_sample
from seawatch.store import open_store


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("node")
    settings = load_settings(  # the property tests ask fast: no rate limit in their way
        env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_API_RATE_PER_S": "1e6"}
    )
    store = open_store(tmp / "node.duckdb", settings)
    for seed, marking in enumerate(LABELS, start=1):
        feed = tmp / f"feed{seed}.nmea"
        write_sample(feed, vessels=15, minutes=20, seed=seed)
        ingest(store, [feed], settings, label=parse_label(marking, store.policy), detect=True)
    tokens = {r: create_user(store, f"u{i}", r)[1] for i, r in enumerate(READERS)}
    app = create_app(store, settings)
    with Served(app) as url:
        yield Node(store, app, url, tokens)
    store.close()
