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

from seawatch.engine.alert_admin import Actor, add_rule
from seawatch.engine.ingest import ingest
from seawatch.labels import Reader, parse_label
from seawatch.serve.accounts import create_user
from seawatch.serve.app import create_app
from seawatch.settings import Settings, load_settings
from seawatch.sim.synth import write_sample
from seawatch.store import Store, open_store
from seawatch.store.query import Query


def _rules(store: Store, settings: Settings, feeds: list[Path], tmp: Path) -> None:
    """Under each label, watchlists of the feeds' vessels (rearmed every 3 minutes: alerts
    under every combination of the rules' and the records' labels). No area: the zones
    are test_ogc.py's."""
    scout = open_store(tmp / "scout.duckdb", settings)
    ingest(scout, feeds, settings)
    q = Query(scout, Reader.node_admin("test: the vessels to watch"))
    mmsis = sorted(set(q.latest().column("mmsi").to_pylist()))
    scout.close()
    actor = Actor("setup", Reader.parse("IND:SECRET", store.policy), settings.default_label)
    with store.transaction():
        for k, marking in enumerate(LABELS):
            watch = {"name": f"watch {k}", "kind": "watchlist", "mmsi": mmsis[k::2],
                     "rearm_h": 0.05}  # fmt: skip
            add_rule(store, actor, watch, marking)
            add_rule(store, actor, {"name": f"gaps {k}", "kind": "gap"}, marking)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp = tmp_path_factory.mktemp("node")
    settings = load_settings(  # the property tests ask fast: no rate limit in their way
        env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_API_RATE_PER_S": "1e6"}
    )
    feeds = [tmp / f"feed{seed}.nmea" for seed in range(1, len(LABELS) + 1)]
    for seed, feed in enumerate(feeds, start=1):
        write_sample(feed, vessels=15, minutes=20, seed=seed)
    store = open_store(tmp / "node.duckdb", settings)
    _rules(store, settings, feeds, tmp)
    for feed, marking in zip(feeds, LABELS, strict=True):
        ingest(store, [feed], settings, label=parse_label(marking, store.policy), detect=True)
    assert store.counts()["alerts"] > 20  # the watchlists fired, under every label pair
    tokens = {r: create_user(store, f"u{i}", r)[1] for i, r in enumerate(READERS)}
    app = create_app(store, settings)
    with Served(app) as url:
        yield Node(store, app, url, tokens)
    store.close()
