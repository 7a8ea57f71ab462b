"""Retraction: IND releases three bundles to USA, then retracts the first and one record of
the second. Whatever order USA receives the bundles and the notice in, replays included,
a retracted record is never held once the notice arrived, nothing else is lost, and the
receipt is logged once. IND never releases a retracted record again."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.labels import default_reader, parse_label
from seawatch.share.outbox import Outbox, read_files
from seawatch.share.receive import import_bundle
from seawatch.share.retract import apply_retraction, notices
from seawatch.store.archive import archive
from seawatch.store.query import Query

from .conftest import NodeDir
from .test_bundles import T0, TS, fill, log_kinds, pin, store_of

MakeNode = Callable[[str, str], NodeDir]


def add_positions(node: NodeDir, first: int, n: int) -> None:
    with store_of(node) as store, store.transaction():
        lid = store.label_id(parse_label("UNCLASSIFIED", store.policy, originator="IND"))
        store.write("positions", pa.table({
            "msg_key": pa.array(range(first, first + n), pa.int64()),
            "ts": pa.array([T0 + dt.timedelta(minutes=i) for i in range(n)], TS),
            "mmsi": pa.array([419000009] * n, pa.int32()),
            "lat": [10.0] * n, "lon": [85.0] * n,
            "label_id": pa.array([lid] * n, pa.int32()),
        }))  # fmt: skip


def keys_held(node: NodeDir) -> set[int]:
    with store_of(node) as store:
        q = Query(store, default_reader(store.policy))
        return set(q.positions().column("msg_key").to_pylist())


def _export(ind: NodeDir, out: Path, *again: str) -> dict[str, bytes]:
    ind.run("share", "export", *again, "--to", "usa-c2", str(out))
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return read_files(folder)


class World(dict[str, Any]):
    """The nodes, bundles and notice of the module (a short repr for hypothesis)."""

    def __repr__(self) -> str:
        return "World(IND, USA, B1, B2, B3, R)"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("retract")
    nodes = {}
    for nation, name in (("IND", "ifc-ior"), ("USA", "usa-c2")):
        root = tmp / name
        root.mkdir()
        (root / "seawatch.toml").touch()
        nodes[name] = NodeDir(root, nation, name)
        nodes[name].run("node", "init", "--nation", nation, "--name", name)
    ind, usa = nodes["ifc-ior"], nodes["usa-c2"]
    pin(ind, usa)
    pin(usa, ind)
    fill(ind)
    usa.run("db", "migrate")
    ind.run("share", "allow", "usa-c2")
    b1 = _export(ind, tmp / "b1")
    first = {int(k) for k in range(0, 50)} | set(range(50, 80))  # UNCLASSIFIED + REL USA
    add_positions(ind, 2000, 10)
    b2 = _export(ind, tmp / "b2")
    (bundle1,) = [p.name for p in (tmp / "b1").iterdir() if p.is_dir()]
    ind.run("share", "retract", "--bundle", bundle1, "--position", "2000", "--reason", "test")
    (notice,) = notices(ind.node().data_dir, "usa-c2")
    add_positions(ind, 3000, 5)
    b3 = _export(ind, tmp / "b3", "--again")  # everything released, but what was retracted
    return World({"ind": ind, "usa": usa, "B1": b1, "B2": b2, "B3": b3, "R": notice,
            "retracted": first | {2000}, "bundle1": bundle1, "dirs": tmp})  # fmt: skip


def test_originator_never_releases_a_retracted_record_again(world: dict[str, Any]) -> None:
    ind = world["ind"]
    assert "retraction" in log_kinds(ind)
    assert "verified" in ind.run("audit", "verify")
    manifest = json.loads(world["B3"]["manifest.dsse.json"])
    assert manifest["payloadType"].endswith("bundle-manifest.v1+json")
    # B3 holds only 2001..2009 and 3000..3004 (positions) and the events
    release = ind.node().log().entry(len(ind.node().log().entries) - 1)
    rows = sum(p["rows"] for p in release["parts"] if p["table"] == "positions")
    assert rows == 9 + 5
    # the bundle retracted is never resent from the outbox (B2 is; B3 was --again: not kept)
    kept = [p.name for _, p in Outbox(ind.node().data_dir, "usa-c2").bundles()]
    assert len(kept) == 1
    assert world["bundle1"] not in kept


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.lists(st.sampled_from(["B1", "B2", "B3", "R"]), min_size=1, max_size=8))
def test_retracted_records_never_come_back(world: dict[str, Any], order: list[str]) -> None:
    usa: NodeDir = world["usa"]
    with tempfile.TemporaryDirectory() as tmp:
        node = NodeDir(Path(tmp) / "usa", "USA", "usa-c2")
        shutil.copytree(usa.root, node.root)
        me = node.node()
        peer = me.peers().get("ifc-ior")
        delivered: set[int] = set()
        with store_of(node) as store:
            for i, step in enumerate(order):
                if step == "R":
                    apply_retraction(store, me, peer, world["R"])
                else:
                    import_bundle(store, me, world[step])
                    delivered |= _keys_of(step, world)
                held = set(Query(store, default_reader(store.policy)).positions()
                           .column("msg_key").to_pylist())  # fmt: skip
                if "R" in order[: i + 1]:
                    assert not held & world["retracted"], order
                    assert held == delivered - world["retracted"], order
                else:
                    assert held == delivered, order
        kinds = [json.loads(e)["kind"] for e in me.log().entries]
        assert kinds.count("receipt") == (1 if "R" in order else 0)


def _keys_of(step: str, world: dict[str, Any]) -> set[int]:
    if step == "B1":
        return set(range(0, 80))
    if step == "B2":
        return set(range(2000, 2010))
    return set(range(2001, 2010)) | set(range(3000, 3005))


def test_retraction_by_files(world: dict[str, Any], tmp_path: Path) -> None:
    """A file export carries the notices (retraction-*.json); `share import DIR` applies
    them first, once."""
    node = NodeDir(tmp_path / "usa", "USA", "usa-c2")
    shutil.copytree(world["usa"].root, node.root)
    dirs: Path = world["dirs"]
    assert "83 records from ifc-ior" in node.run("share", "import", str(dirs / "b1"))
    assert sorted(p.name for p in (dirs / "b3").glob("retraction-*.json"))
    out = node.run("share", "import", str(dirs / "b3"))
    assert "83 records removed" in out  # 80 positions, 3 events
    assert "removed" not in node.run("share", "import", str(dirs / "b3"))
    assert keys_held(node) == set(range(2001, 2010)) | set(range(3000, 3005))
    assert "verified" in node.run("audit", "verify")


def test_retraction_reaches_archived_days(world: dict[str, Any], tmp_path: Path) -> None:
    """Records of days archived to GeoParquet (seawatch db archive) are removed as well:
    their days come back into the database first."""
    node = NodeDir(tmp_path / "usa", "USA", "usa-c2")
    shutil.copytree(world["usa"].root, node.root)
    me = node.node()
    with store_of(node) as store:
        import_bundle(store, me, world["B1"])
        import_bundle(store, me, world["B2"])
        done = archive(store, T0 + dt.timedelta(days=2))
        assert done.rows >= 90
        assert store.counts()["positions"] == 0
        apply_retraction(store, me, me.peers().get("ifc-ior"), world["R"])
        held = set(Query(store, default_reader(store.policy)).positions()
                   .column("msg_key").to_pylist())  # fmt: skip
    assert held == (set(range(0, 80)) | set(range(2000, 2010))) - world["retracted"]
