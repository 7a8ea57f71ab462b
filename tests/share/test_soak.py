"""A soak of three real nodes (IND, USA, JPN) syncing through fault proxies that cut links.

Each node is its own data directory, store, keys and `seawatch serve` process, holding
records of five labels it originated (and three events). Each node pins
the others at the address of a fault proxy (tests/faultproxy.py): six one-way routes. For a
bounded time, rounds of exchanges (every node pulls from, or pushes to, every other, at
random, at once) run while the proxies cut links at random (connections reset mid-request
or mid-answer, new ones refused) and delay them; midway IND retracts some records. Then the
links heal and, within two rounds of pulls:

- every node holds, per originator, the root of that originator's log (the checkpoint it
  verified last equals the originator's own log);
- every node holds exactly what each originator's labels and rules release to it: nothing
  lost, nothing duplicated, nothing wrongly released (decided here from the markings,
  not by the release code), no retracted record;
- every log verifies, and no server wrote a traceback.

The chaos is seeded (SEAWATCH_SOAK_SEED to replay one; the seed is in the failure message).
About a minute of wall time on a loaded machine.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator

import pyarrow as pa
import pytest

from faultproxy import Chaos, Link, network
from seawatch.errors import SeawatchError
from seawatch.labels import Reader, parse_label
from seawatch.share import merkle
from seawatch.share.history import seen_checkpoint
from seawatch.share.peers import Peer
from seawatch.share.retract import retract
from seawatch.share.sync import PREFIX, signed_post
from seawatch.store.query import Query

from .conftest import NodeDir
from .test_bundles import T0, TS, store_of
from .test_sync_http import Server

pytestmark = pytest.mark.slow
MakeNode = Callable[[str, str], NodeDir]
NODES = (("IND", "ind-ifc"), ("USA", "usa-c2"), ("JPN", "jpn-mof"))
NO_EVENTS = {("USA", "JPN")}  # USA's rule for JPN: positions only
CHAOS_S = float(os.environ.get("SEAWATCH_SOAK_S", "20"))
RETRACTED = list(range(1_000_000, 1_000_005))  # five of IND's UNCLASSIFIED positions


def releasable(marking: str, nation: str) -> bool:
    """Whether ``marking`` lets a node of ``nation`` (top clearance, no caveats) have it:
    decided from the marking's text, independently of the release code."""
    if marking == "UNCLASSIFIED":
        return True
    if "NOFORN" in marking or "ORCON" in marking:
        return False
    found = re.search(r"REL TO ([A-Z, ]+)$", marking)
    return found is not None and nation in [n.strip() for n in found.group(1).split(",")]


def _held_markings(nation: str, others: list[str]) -> list[tuple[str, int]]:
    a, b = others
    return [
        ("UNCLASSIFIED", 40),
        (f"CONFIDENTIAL//REL TO {', '.join(sorted([nation, a]))}", 20),
        (f"CONFIDENTIAL//REL TO {', '.join(sorted([nation, b]))}", 20),
        ("SECRET//NOFORN", 10),
        (f"CONFIDENTIAL//ORCON//REL TO {', '.join(sorted([nation, a, b]))}", 10),
    ]


def _prefill(node: NodeDir, index: int, others: list[str]) -> None:
    """Positions of five labels and three events stored before the node starts."""
    with store_of(node) as store, store.transaction():
        key = (index + 1) * 1_000_000
        for marking, n in _held_markings(node.nation, others):
            lid = store.label_id(parse_label(marking, store.policy, originator=node.nation))
            store.write("positions", pa.table({
                "msg_key": pa.array(range(key, key + n), pa.int64()),
                "ts": pa.array([T0 + dt.timedelta(minutes=i) for i in range(n)], TS),
                "mmsi": pa.array([200000000 + index * 1000 + i % 7 for i in range(n)], pa.int32()),
                "lat": [10.0] * n, "lon": [85.0] * n,
                "label_id": pa.array([lid] * n, pa.int32()),
            }))  # fmt: skip
            key += n
        lid = store.label_id(parse_label("UNCLASSIFIED", store.policy, originator=node.nation))
        store.write("events", pa.table({
            "event_id": [f"{node.nation}-e{k}" for k in range(3)],
            "event_type": ["encounter", "gap", "loitering"],
            "start_ts": pa.array([T0] * 3, TS),
            "end_ts": pa.array([T0 + dt.timedelta(hours=1)] * 3, TS),
            "mmsi": pa.array([200000000 + index * 1000] * 3, pa.int32()),
            "lat": [10.0] * 3, "lon": [85.0] * 3,
            "label_id": pa.array([lid] * 3, pa.int32()),
        }))  # fmt: skip


class Soak:
    """The nodes, their servers and links, and the exchanges asked of them."""

    def __init__(self, nodes: list[NodeDir], servers: dict[str, Server]) -> None:
        self.nodes, self.servers = nodes, servers
        self.me = {n.name: n.node() for n in nodes}
        self.outcomes: dict[str, int] = {}
        self.lock = threading.Lock()
        self.why = ""

    def exchange(self, a: NodeDir, b: NodeDir, way: str) -> None:
        """``a``'s server pulls from, or pushes to, ``b`` (asked as its CLI's --via does)."""
        node = self.me[a.name]
        itself = Peer(node.name, node.nation, node.verifier.vkey, url=self.servers[a.name].url)
        try:
            signed_post(node, itself, f"{PREFIX}/sync", {"peer": b.name, "direction": way})
            outcome = "ok"
        except SeawatchError as exc:
            text = str(exc)
            assert "answered 5" not in text, f"{text} {self.why}"  # a 424, never a 500
            outcome = "stale" if "stale" in text else "failed"
        with self.lock:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def round(self, pool: concurrent.futures.Executor, rng: random.Random | None) -> None:
        """Every node exchanges with every other at once: a pull, or (with ``rng``) a pull
        or a push at random."""
        jobs = [
            pool.submit(self.exchange, a, b, "push" if rng and rng.random() < 0.4 else "pull")
            for a in self.nodes
            for b in self.nodes
            if a is not b
        ]
        for job in jobs:
            job.result()

    def roots(self) -> dict[str, tuple[int, bytes]]:
        """Each originator's log: size and root."""
        out = {}
        for n in self.nodes:
            log = self.me[n.name].log()
            out[n.name] = (log.size, merkle.root(log.leaves))
        return out

    def views(self) -> dict[tuple[str, str], tuple[int, bytes] | None]:
        """What each node verified last of each other's log: size and root."""
        out: dict[tuple[str, str], tuple[int, bytes] | None] = {}
        for a in self.nodes:
            node = self.me[a.name]
            for b in self.nodes:
                if a is not b:
                    cp = seen_checkpoint(node.data_dir, node.peers().get(b.name))
                    out[a.name, b.name] = None if cp is None else (cp.size, cp.root_hash)
        return out


@pytest.fixture
def soak(make_node: MakeNode) -> Iterator[tuple[Soak, list[Link]]]:
    nodes = [make_node(nation, name) for nation, name in NODES]
    nations = [n.nation for n in nodes]
    for i, node in enumerate(nodes):
        _prefill(node, i, [n for n in nations if n != node.nation])
    servers = {n.name: Server(n) for n in nodes}
    with network() as net:
        links = []
        for a in nodes:
            for b in nodes:
                if a is b:
                    continue
                link = net.link(f"{a.name}->{b.name}", servers[b.name].port)
                links.append(link)
                them = b.identity()
                a.run("peers", "add", b.name, "--nation", b.nation, "--key", them["vkey"],
                      "--enc-key", them["enc_key"], "--url", link.url)  # fmt: skip
                if (a.nation, b.nation) in NO_EVENTS:
                    a.run("share", "allow", b.name, "--type", "positions")
                else:
                    a.run("share", "allow", b.name)
        try:
            for s in servers.values():
                s.wait()
            yield Soak(nodes, servers), links
        finally:
            for s in servers.values():
                if s.proc.poll() is None:
                    s.stop()


def _positions(node: NodeDir) -> dict[str, dict[str, list[int]]]:
    """msg_keys the node holds, by originator nation and marking."""
    with store_of(node) as store:
        q = Query(store, Reader.node_admin("test: soak"))
        labels = q.labels()
        rows = q.positions()
        out: dict[str, dict[str, list[int]]] = {}
        for key, lid in zip(
            rows.column("msg_key").to_pylist(), rows.column("label_id").to_pylist(), strict=True
        ):
            lb = labels[lid]
            out.setdefault(lb.originator, {}).setdefault(lb.marking, []).append(key)
        return out


def _events(node: NodeDir) -> dict[str, list[tuple[str, str]]]:
    """(event id, marking) the node holds, by originator nation."""
    with store_of(node) as store:
        q = Query(store, Reader.node_admin("test: soak"))
        labels = q.labels()
        rows = q.events()
        out: dict[str, list[tuple[str, str]]] = {}
        for eid, lid in zip(
            rows.column("event_id").to_pylist(), rows.column("label_id").to_pylist(), strict=True
        ):
            out.setdefault(labels[lid].originator, []).append((eid, labels[lid].marking))
        return out


def test_soak_three_nodes_through_fault_proxies(
    soak: tuple[Soak, list[Link]],
) -> None:
    run, links = soak
    seed = int(os.environ.get("SEAWATCH_SOAK_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    why = run.why = f"(replay with SEAWATCH_SOAK_SEED={seed})"
    pairs = [[a, b] for a in links for b in links if a.name.split("->") == b.name.split("->")[::-1]]
    ind = run.nodes[0]
    rounds = 0
    with (
        concurrent.futures.ThreadPoolExecutor(6) as pool,
        Chaos(pairs, seed, max_delay_s=0.05) as chaos,
    ):
        ends = time.monotonic() + CHAOS_S
        retracted = False
        while time.monotonic() < ends:
            run.round(pool, rng)
            rounds += 1
            time.sleep(rng.uniform(0, 0.2))
            if not retracted and time.monotonic() > ends - CHAOS_S / 2:
                retract(run.me[ind.name], RETRACTED, (), (), "soak: wrong area", ())
                retracted = True
        assert retracted, why
    net_flips = chaos.flips
    for link in links:
        link.heal()
        link.delay_s = 0.0
    cut = sum(link.stats.reset for link in links)  # connections reset mid-exchange
    refused = sum(link.stats.refused for link in links)
    assert cut > 0, f"the chaos cut nothing {why}"
    assert run.outcomes.get("failed", 0) > 0, f"no exchange failed: the chaos did nothing {why}"
    # healed: two rounds of pulls
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        for _ in range(2):
            before = dict(run.outcomes)
            run.round(pool, None)
            assert run.outcomes.get("failed", 0) == before.get("failed", 0), why
    roots = run.roots()
    for (a, b), seen in run.views().items():
        assert seen == roots[b], f"{a}'s view of {b}'s log is not its root {why}"
    for s in run.servers.values():
        assert "Traceback" not in s.stop(), why
    # against ground truth: each originator's store, its markings read here
    held = {n.name: _positions(n) for n in run.nodes}
    events = {n.name: _events(n) for n in run.nodes}
    for x in run.nodes:
        own = held[x.name][x.nation]
        own_events = dict(events[x.name][x.nation])
        for r in run.nodes:
            if r is x:
                continue
            mine = {k for keys in held[r.name][r.nation].values() for k in keys}
            got = held[r.name].get(x.nation, {})
            for marking, keys in own.items():
                want = set(keys) - mine  # one row per message: a node keeps its own copy
                if not releasable(marking, r.nation):
                    want = set()
                if x is ind:
                    want -= set(RETRACTED)
                have = got.get(marking, [])
                assert len(have) == len(set(have)), f"{r.name} duplicated {x.name}'s {why}"
                assert set(have) == want, (
                    f"{r.name} holds {len(have)} of {x.name}'s {marking}, expected "
                    f"{len(want)}: lost {len(want - set(have))}, wrongly released "
                    f"{len(set(have) - want)} {why}"
                )
            assert set(got) <= set(own), why
            theirs = events[r.name].get(x.nation, [])
            ids = [e for e, _ in theirs]
            assert len(ids) == len(set(ids)), f"{r.name} duplicated {x.name}'s events {why}"
            if (x.nation, r.nation) in NO_EVENTS:
                assert theirs == [], why
                continue
            assert dict(theirs) == own_events, why
    for n in run.nodes:
        assert "verified" in n.run("audit", "verify")
    print(
        f"soak seed {seed}: {rounds} rounds in {CHAOS_S:g} s, {net_flips} link flips, "
        f"{cut} connections reset, {refused} refused, exchanges {run.outcomes}"
    )
