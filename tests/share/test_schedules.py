"""Random partition and delivery schedules over 3 to 5 nodes, in process (the real sync
functions, stores, keys and logs; no servers): answers lost, duplicated, reordered and
delayed across cut links, records and retractions made between; then two exchange rounds
over healed links. After them: every node holds, of each originator's log, the same root
(the checkpoint it cosigned is the originator's current one); 0 records lost, 0
duplicated, 0 released against the rules and labels (the ground truth kept here);
retracted records gone everywhere and never back; no fork alerts.

Each hypothesis example builds one world (rules drawn per pair of nodes) and runs
``SCHEDULES`` schedules in it, one after the other. fsync is switched off here (what is
tested is the protocol, not the disk). ``FEDERATION_SCHEDULES=1000`` runs 1,000 schedules
(many minutes on a loaded machine); the default runs 40 (see docs/federation.md for the
figures measured).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.labels import Reader, parse_label
from seawatch.share import merkle
from seawatch.share.errors import SyncError
from seawatch.share.retract import retract
from seawatch.share.rules import Rule, Rules, rules_file
from seawatch.share.sync import answer_pull, check_answer, exchange_request, seen_size
from seawatch.share.sync import store_answer as store_checked
from seawatch.share.witness import Witness
from seawatch.store import Store
from seawatch.store.query import Query

from .conftest import NodeDir
from .test_bundles import TS, pin, store_of

NODES = (("IND", "ind"), ("USA", "usa"), ("JPN", "jpn"), ("AUS", "aus"), ("FRA", "fra"))
"""The nodes a world is made of: the first 3, 4 or 5 (drawn per world)."""
SCHEDULES = 10
"""Schedules per hypothesis example (one world each)."""
TOTAL = int(os.environ.get("FEDERATION_SCHEDULES", "40"))
"""Schedules in all: FEDERATION_SCHEDULES=1000 for the full run (minutes)."""
T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
RULES = ("all", "unclassified", "none")
RAN = {"schedules": 0, "deliveries": 0, "stale": 0}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Three nodes, keys made, each pinning the others, stores migrated (copied per world)."""
    root = tmp_path_factory.mktemp("schedules")
    nodes = []
    for nation, name in NODES:
        (root / name).mkdir()
        (root / name / "seawatch.toml").touch()
        node = NodeDir(root / name, nation, name)
        node.run("node", "init", "--nation", nation, "--name", name)
        node.run("db", "migrate")
        nodes.append(node)
    for a, b in itertools.permutations(nodes, 2):
        pin(a, b)
    yield root
    print(f"\nschedules run: {RAN}")


@dataclass
class World:
    nodes: dict[str, NodeDir]
    stores: dict[str, Store]
    rules: dict[tuple[str, str], str]
    made: dict[str, dict[int, str]] = field(default_factory=dict)  # key -> marking
    retracted: dict[str, set[int]] = field(default_factory=dict)
    key: int = 0

    def nation(self, name: str) -> str:
        return self.nodes[name].nation

    def expected(self, at: str) -> set[int]:
        """What ``at`` must hold of others: labels allow its nation, the rule releases."""
        out = set()
        for origin, made in self.made.items():
            if origin == at or self.rules[(origin, at)] == "none":
                continue
            for key, marking in made.items():
                readable = marking == "UNCLASSIFIED" or (
                    marking.startswith("CONFIDENTIAL//REL TO") and self.nation(at) in marking
                )
                allowed = self.rules[(origin, at)] == "all" or marking == "UNCLASSIFIED"
                if readable and allowed and key not in self.retracted[origin]:
                    out.add(key)
        return out


def _world(template: Path, tmp: Path, k: int, rules: dict[tuple[str, str], str]) -> World:
    nodes = {}
    for nation, name in NODES[:k]:
        shutil.copytree(template / name, tmp / name)
        nodes[name] = NodeDir(tmp / name, nation, name)
        me = nodes[name].node()
        file = Rules([], rules_file(me.data_dir))
        for (origin, peer), kind in sorted(rules.items()):
            if origin == name and kind != "none":
                file.append(Rule(peer, "UNCLASSIFIED" if kind == "unclassified" else None))
    stores = {name: store_of(node) for name, node in nodes.items()}
    return World(nodes, stores, rules, {n: {} for n in nodes}, {n: set() for n in nodes})


def _add(world: World, name: str, markings: list[str]) -> None:
    store = world.stores[name]
    with store.transaction():
        for marking in markings:
            world.key += 1
            label = parse_label(marking, store.policy, originator=world.nation(name))
            store.write("positions", pa.table({
                "msg_key": pa.array([world.key], pa.int64()),
                "ts": pa.array([T0 + dt.timedelta(seconds=world.key)], TS),
                "mmsi": pa.array([419000000 + world.key % 9], pa.int32()),
                "lat": [10.0], "lon": [80.0],
                "label_id": pa.array([store.label_id(label)], pa.int32()),
            }))  # fmt: skip
            world.made[name][world.key] = label.marking


def _build(world: World, dst: str, src: str) -> tuple[int, dict[str, Any]]:
    """``src``'s answer to ``dst`` pulling now (as it travels: JSON)."""
    me, them = world.nodes[dst].node(), world.nodes[src].node()
    after = seen_size(me, me.peers().get(src))
    request = exchange_request(me, me.peers().get(src))
    rules = Rules.load(rules_file(them.data_dir))
    answer = answer_pull(world.stores[src], them, them.peers().get(dst), rules, after, request)
    return after, json.loads(json.dumps(answer))


def _deliver(world: World, dst: str, src: str, after: int, answer: dict[str, Any]) -> None:
    me = world.nodes[dst].node()
    RAN["deliveries"] += 1
    try:
        checked = check_answer(me, me.peers().get(src), answer, after)
    except SyncError as exc:  # a late or repeated answer: the node moved on; refused
        if "stale" not in str(exc):
            raise
        RAN["stale"] += 1
        return
    assert checked.forks == []
    store_checked(world.stores[dst], me, checked)


def _held(store: Store) -> list[int]:
    """Every position key the store holds of other originators (with repeats)."""
    query = Query(store, Reader.node_admin("test: what the node holds"))
    mine = store.policy.node_nation
    labels = query.labels()
    rows = query.positions()
    return [
        k
        for k, lid in zip(
            rows.column("msg_key").to_pylist(), rows.column("label_id").to_pylist(), strict=True
        )
        if labels[lid].originator != mine
    ]


MARKINGS = ("UNCLASSIFIED", "CONFIDENTIAL//REL TO {me}, {other}", "SECRET//NOFORN")


def _schedule(names: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    links = list(itertools.permutations(names, 2))
    return st.fixed_dictionaries({
        "records": st.lists(st.tuples(st.sampled_from(names), st.sampled_from(MARKINGS),
                                      st.sampled_from(names)), max_size=3),
        "retract": st.none() | st.tuples(st.sampled_from(names), st.integers(0, 50)),
        "cut": st.sets(st.sampled_from(links)),
        "deliveries": st.lists(st.tuples(st.sampled_from(links),
                                         st.sampled_from(["deliver", "lose", "dup", "delay"])),
                               max_size=4),
        "heal": st.permutations(links),
    })  # fmt: skip


def _worlds(k: int) -> st.SearchStrategy[tuple[int, Any, list[dict[str, Any]]]]:
    names = [name for _, name in NODES[:k]]
    links = list(itertools.permutations(names, 2))
    return st.tuples(
        st.just(k),
        st.fixed_dictionaries({link: st.sampled_from(RULES) for link in links}),
        st.lists(_schedule(names), min_size=SCHEDULES, max_size=SCHEDULES),
    )


@settings(
    max_examples=max(1, -(-TOTAL // SCHEDULES)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=st.integers(3, len(NODES)).flatmap(_worlds))
def test_partition_and_delivery_schedules_converge(
    template: Path,
    monkeypatch: pytest.MonkeyPatch,
    world: tuple[int, dict[tuple[str, str], str], list[dict[str, Any]]],
) -> None:
    k, rules, schedules = world
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    with tempfile.TemporaryDirectory() as tmp:
        made = _world(template, Path(tmp), k, rules)
        try:
            for plan in schedules:
                _run(made, plan)
                _check(made)
                RAN["schedules"] += 1
                RAN[f"{k} nodes"] = RAN.get(f"{k} nodes", 0) + 1
        finally:
            for store in made.stores.values():
                store.close()


def _run(world: World, plan: dict[str, Any]) -> None:
    for name, marking, other in plan["records"]:
        me = world.nation(name)
        them = world.nation(other) if other != name else "GBR"
        _add(world, name, [marking.format(me=min(me, them), other=max(me, them))])
    if plan["retract"] is not None:
        name, pick = plan["retract"]
        keys = sorted(world.made[name])
        if keys:
            key = keys[pick % len(keys)]
            retract(world.nodes[name].node(), positions=[key], reason="schedule")
            world.retracted[name].add(key)
    delayed = []
    for (dst, src), fate in plan["deliveries"]:
        if (src, dst) in plan["cut"]:
            continue  # the link is down: the exchange fails before anything is built
        after, answer = _build(world, dst, src)
        if fate == "deliver" or fate == "dup":
            _deliver(world, dst, src, after, answer)
        if fate == "dup":
            _deliver(world, dst, src, after, answer)
        if fate == "delay":
            delayed.append((dst, src, after, answer))
    for dst, src, after, answer in reversed(delayed):  # late, and in another order
        _deliver(world, dst, src, after, answer)
    for _ in range(2):  # healed: two exchange rounds over every link
        for dst, src in plan["heal"]:
            _deliver(world, dst, src, *_build(world, dst, src))


def _check(world: World) -> None:
    for name, node in world.nodes.items():
        held = _held(world.stores[name])
        assert len(held) == len(set(held)), f"{name}: duplicated records"
        expected = world.expected(name)
        wrong = set(held) - expected
        gone = set().union(*world.retracted.values())
        assert not wrong & gone, f"{name}: retracted records came back: {wrong & gone}"
        assert not wrong, f"{name}: released against the rules or labels: {wrong}"
        assert not expected - set(held), f"{name}: lost {expected - set(held)}"
        me = node.node()
        witness = Witness(me)
        assert witness.forks() == []
        for origin, other in world.nodes.items():
            if origin == name:
                continue
            log = other.node().log()
            best = witness.best(me.peers().get(origin))
            assert best is not None
            assert (best.size, best.root_hash) == (log.size, merkle.root(log.leaves)), (
                f"{name} holds another root of {origin}'s log"
            )
