"""Two nodes exchanging by files: IND releases to USA under its rules, USA imports; what a
label forbids to USA, what IND did not originate and what no rule releases never leaves;
imports are idempotent; a bundle changed in any way (a flipped byte, a truncated or
swapped part, another node's key, another audience) is rejected whole with the check and
the file named, nothing stored; every decision is in the audit logs."""

from __future__ import annotations

import base64
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
from seawatch.settings import load_settings
from seawatch.share.errors import BundleRejected
from seawatch.share.receive import import_bundle
from seawatch.store import TABLES, Store, open_store
from seawatch.store.query import Query

from .conftest import NodeDir

MakeNode = Callable[[str, str], NodeDir]
T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
TS = TABLES["positions"].arrow_schema().field("ts").type
# (marking, originator, rows, lon): what IND holds
HELD = [
    ("UNCLASSIFIED", "IND", 50, 85.0),
    ("CONFIDENTIAL//REL TO IND, USA", "IND", 30, 95.0),
    ("SECRET//NOFORN", "IND", 20, 85.0),  # IND only
    ("CONFIDENTIAL//ORCON//REL TO IND, USA", "IND", 10, 85.0),  # a caveat USA does not hold
    ("UNCLASSIFIED", "GBR", 5, 85.0),  # not IND's to release
]


def store_of(node: NodeDir) -> Store:
    return open_store(None, load_settings(env=node.values))


def fill(node: NodeDir) -> None:
    with store_of(node) as store, store.transaction():
        key = 0
        for marking, originator, n, lon in HELD:
            lid = store.label_id(parse_label(marking, store.policy, originator=originator))
            rows = pa.table(
                {
                    "msg_key": pa.array(range(key, key + n), pa.int64()),
                    "ts": pa.array([T0 + dt.timedelta(minutes=i) for i in range(n)], TS),
                    "mmsi": pa.array([419000000 + i % 7 for i in range(n)], pa.int32()),
                    "lat": [10.0] * n,
                    "lon": [lon] * n,
                    "label_id": pa.array([lid] * n, pa.int32()),
                }
            )
            store.write("positions", rows)
            key += n
        lid = store.label_id(parse_label("UNCLASSIFIED", store.policy))
        events = pa.table(
            {
                "event_id": ["e1", "e2", "e3"],
                "event_type": ["encounter", "gap", "loitering"],
                "start_ts": pa.array([T0] * 3, TS),
                "end_ts": pa.array([T0 + dt.timedelta(hours=1)] * 3, TS),
                "mmsi": pa.array([419000001] * 3, pa.int32()),
                "lat": [10.0] * 3,
                "lon": [85.0] * 3,
                "label_id": pa.array([lid] * 3, pa.int32()),
            }
        )
        store.write("events", events)


def held(node: NodeDir) -> dict[tuple[str, str], int]:
    """Positions the node's own reader sees, by (originator, marking)."""
    with store_of(node) as store:
        q = Query(store, default_reader(store.policy))
        labels = q.labels()
        out: dict[tuple[str, str], int] = {}
        for lid in q.positions().column("label_id").to_pylist():
            k = (labels[lid].originator, labels[lid].marking)
            out[k] = out.get(k, 0) + 1
        return out


def pin(a: NodeDir, b: NodeDir) -> None:
    """``a`` pins ``b``."""
    them = b.identity()
    a.run("peers", "add", b.name, "--nation", b.nation, "--key", them["vkey"],
          "--enc-key", them["enc_key"])  # fmt: skip


@pytest.fixture
def pair(make_node: MakeNode) -> tuple[NodeDir, NodeDir]:
    ind, usa = make_node("IND", "ifc-ior"), make_node("USA", "usa-c2")
    pin(ind, usa)
    pin(usa, ind)
    fill(ind)
    usa.run("db", "migrate")
    return ind, usa


def log_kinds(node: NodeDir) -> list[str]:
    return [json.loads(e)["kind"] for e in node.node().log().entries]


def test_release_and_import_by_files(pair: tuple[NodeDir, NodeDir], tmp_path: Path) -> None:
    ind, usa = pair
    courier = tmp_path / "courier"
    # no rule yet: nothing leaves, and the refusal is logged
    assert "nothing released" in ind.run("share", "export", "--to", "usa-c2", str(courier))
    ind.run("share", "allow", "usa-c2")
    out = ind.run("share", "export", "--to", "usa-c2", str(courier))
    assert "53  UNCLASSIFIED" in out  # 50 positions, 3 events
    assert "30  CONFIDENTIAL//REL TO IND, USA" in out
    assert log_kinds(ind) == ["refusal", "release"]
    out = usa.run("share", "import", str(courier))
    assert "83 records from ifc-ior" in out
    want = {("IND", "UNCLASSIFIED"): 50, ("IND", "CONFIDENTIAL//REL TO IND, USA"): 30}
    assert held(usa) == want
    # the same bundle again: idempotent
    assert "already imported" in usa.run("share", "import", str(courier))
    assert held(usa) == want
    assert log_kinds(usa) == ["import", "import"]
    with store_of(usa) as store:
        events = Query(store, default_reader(store.policy)).events()
        assert sorted(events.column("event_id").to_pylist()) == ["e1", "e2", "e3"]
    for node in (ind, usa):
        assert "verified" in node.run("audit", "verify")


def test_rules_filter_and_explain(pair: tuple[NodeDir, NodeDir], tmp_path: Path) -> None:
    ind, usa = pair
    ind.run("share", "allow", "usa-c2", "--type", "positions", "--bbox", "90,0,100,20",
            "--delay", "6h")  # fmt: skip
    ind.run("share", "allow", "usa-c2", "--type", "encounter")
    listed = ind.run("share", "rules", "list")
    assert "1: to usa-c2 types positions bbox 90,0,100,20 delayed 21600 s" in listed
    sample = {"table": "positions", "marking": "UNCLASSIFIED", "ts": "2026-12-01T00:00:00Z",
              "lat": 10, "lon": 95, "mmsi": 1}  # fmt: skip
    out = ind.run("share", "rules", "check", "--sample", json.dumps(sample))
    assert "valid" in out
    assert "usa-c2: rule 1:" in out
    out = ind.run("share", "rules", "check", "--sample", json.dumps({**sample, "lon": 50}))
    assert "usa-c2: no rule: denied" in out
    ind.run("share", "export", "--to", "usa-c2", str(tmp_path / "c"))
    usa.run("share", "import", str(tmp_path / "c"))
    assert held(usa) == {("IND", "CONFIDENTIAL//REL TO IND, USA"): 30}
    with store_of(usa) as store:
        events = Query(store, default_reader(store.policy)).events()
        assert events.column("event_type").to_pylist() == ["encounter"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\npeer = "jpn"\nmarking = "SECRET//REL TO XYZW"\n')
    out = ind.run("share", "rules", "check", "--rules", str(bad), ok=False)
    assert "'jpn' is not pinned" in out
    assert "XYZW" in out


@pytest.fixture
def bundle(pair: tuple[NodeDir, NodeDir], tmp_path: Path) -> Path:
    ind, _ = pair
    ind.run("share", "allow", "usa-c2")
    ind.run("share", "export", "--to", "usa-c2", str(tmp_path / "c"))
    (found,) = (tmp_path / "c").iterdir()
    return found


def _rejected(usa: NodeDir, folder: Path) -> BundleRejected:
    with store_of(usa) as store, pytest.raises(BundleRejected) as info:
        import_bundle(store, usa.node(), folder)
    assert held(usa) == {}
    return info.value


def test_truncated_swapped_and_misdirected_bundles(
    pair: tuple[NodeDir, NodeDir], bundle: Path, make_node: MakeNode, tmp_path: Path
) -> None:
    ind, usa = pair
    cut = tmp_path / "cut"
    shutil.copytree(bundle, cut)
    part = cut / "part-001.parquet.enc"
    part.write_bytes(part.read_bytes()[:-10])
    err = _rejected(usa, cut)
    assert (err.check, err.part) == ("digest", "part-001.parquet.enc")
    swapped = tmp_path / "swapped"
    shutil.copytree(bundle, swapped)
    a, b = swapped / "part-001.parquet.enc", swapped / "part-002.parquet.enc"
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    assert _rejected(usa, swapped).check == "digest"
    # USA pinned another key under IND's name: the bundle's signer is unknown
    other = make_node("IND", "impostor")
    usa.run("peers", "remove", "ifc-ior")
    pin(usa, other)
    usa.run("peers", "remove", "impostor")
    them = other.identity()
    usa.run("peers", "add", "ifc-ior", "--nation", "IND", "--key", them["vkey"])
    assert _rejected(usa, bundle).check == "originator"
    # a bundle for USA carried to JPN: not its audience
    jpn = make_node("JPN", "jpn-mof")
    pin(jpn, ind)
    jpn.run("db", "migrate")
    with store_of(jpn) as store, pytest.raises(BundleRejected) as info:
        import_bundle(store, jpn.node(), bundle)
    assert info.value.check == "audience"
    assert log_kinds(jpn) == ["rejection"]
    out = jpn.run("share", "import", str(bundle), ok=False)
    assert "audience check failed on manifest.dsse.json" in out


def test_a_bundle_failing_at_its_last_part_stores_nothing_of_the_parts_before(
    pair: tuple[NodeDir, NodeDir], bundle: Path, tmp_path: Path
) -> None:
    """The parts before are written while the last is read (one transaction): a failure
    there rolls them back, labels added with them too, and the intact bundle then imports
    whole through the same store."""
    _, usa = pair
    bad = tmp_path / "bad"
    shutil.copytree(bundle, bad)
    last = sorted(bad.glob("part-*.parquet.enc"))[-1]
    assert last.name != "part-001.parquet.enc"
    raw = bytearray(last.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    last.write_bytes(bytes(raw))
    with store_of(usa) as store:
        with pytest.raises(BundleRejected) as info:
            import_bundle(store, usa.node(), bad)
        assert (info.value.check, info.value.part) == ("digest", last.name)
        assert store.counts()["positions"] == 0
        assert store.counts()["events"] == 0
        done = import_bundle(store, usa.node(), bundle)
        assert done.stored == 80
    assert log_kinds(usa) == ["rejection", "import"]
    assert held(usa) == {("IND", "UNCLASSIFIED"): 50, ("IND", "CONFIDENTIAL//REL TO IND, USA"): 30}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_any_flipped_byte_is_rejected(
    pair: tuple[NodeDir, NodeDir], bundle: Path, tmp_path: Path, data: st.DataObject
) -> None:
    _, usa = pair
    folder = Path(tempfile.mkdtemp(dir=tmp_path)) / "b"
    shutil.copytree(bundle, folder)
    name = data.draw(st.sampled_from(sorted(p.name for p in folder.iterdir())))
    raw = bytearray((folder / name).read_bytes())
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] ^= data.draw(st.integers(1, 255))
    (folder / name).write_bytes(bytes(raw))
    err = _rejected(usa, folder)
    assert err.check in {"manifest", "originator", "signature", "digest"}


def test_the_receiver_checks_labels_whatever_the_sender_did(
    pair: tuple[NodeDir, NodeDir], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sender that ignores labels (here: reads as node admin) cannot get a NOFORN record
    into the receiver: the receiver's own label check rejects the bundle whole."""
    import seawatch.share.bundle as bundle_module
    from seawatch.labels import Reader

    ind, usa = pair
    ind.run("share", "allow", "usa-c2")
    monkeypatch.setattr(bundle_module, "peer_reader", lambda *_: Reader.node_admin("test"))
    ind.run("share", "export", "--to", "usa-c2", str(tmp_path / "c"))
    (folder,) = (tmp_path / "c").iterdir()
    err = _rejected(usa, folder)
    assert err.check == "label"
    assert "not releasable" in str(err)


def test_bundles_extend_one_history_and_a_fork_is_caught(
    pair: tuple[NodeDir, NodeDir], tmp_path: Path
) -> None:
    ind, usa = pair
    ind.run("share", "allow", "usa-c2")
    for n in ("1", "2"):
        ind.run("share", "export", "--again", "--to", "usa-c2", str(tmp_path / n))
    # IND's data copied: the copy goes on with another history of the same length
    fork = NodeDir(tmp_path / "fork", "IND", "ifc-ior")
    shutil.copytree(ind.root, fork.root)
    ind.node().record({"kind": "note", "text": "the history USA will see"})
    fork.node().record({"kind": "note", "text": "another history"})
    ind.run("share", "export", "--again", "--to", "usa-c2", str(tmp_path / "3"))
    fork.run("share", "export", "--again", "--to", "usa-c2", str(tmp_path / "3-fork"))
    for n in ("1", "2", "3"):
        usa.run("share", "import", str(tmp_path / n))
    history = [json.loads(e).get("history") for e in usa.node().log().entries]
    assert history == ["first", "extends", "extends"]
    out = usa.run("share", "import", str(tmp_path / "3-fork"), ok=False)
    assert "fork check failed" in out
    assert "two histories" in out


def test_an_import_never_replaces_a_record_another_nation_originated(
    pair: tuple[NodeDir, NodeDir], tmp_path: Path
) -> None:
    """Events are replaced by key when they grow; an imported event whose id a USA event
    already has must not replace (and so relabel) the USA one."""
    ind, usa = pair
    with store_of(usa) as store, store.transaction():
        lid = store.label_id(parse_label("SECRET//NOFORN", store.policy))
        mine = {
            "event_id": ["e1"],
            "event_type": ["gap"],
            "start_ts": pa.array([T0], TS),
            "mmsi": pa.array([1], pa.int32()),
            "label_id": pa.array([lid], pa.int32()),
        }
        store.write("events", pa.table(mine))
    ind.run("share", "allow", "usa-c2")
    ind.run("share", "export", "--to", "usa-c2", str(tmp_path / "c"))
    usa.run("share", "import", str(tmp_path / "c"))
    with store_of(usa) as store:
        q = Query(store, default_reader(store.policy))
        labels = q.labels()
        events = q.events().to_pylist()
    by_id = {e["event_id"]: (e["event_type"], labels[e["label_id"]].marking) for e in events}
    assert by_id == {
        "e1": ("gap", "SECRET//NOFORN"),  # USA's own, kept
        "e2": ("gap", "UNCLASSIFIED"),
        "e3": ("loitering", "UNCLASSIFIED"),
    }
    (entry,) = [json.loads(e) for e in usa.node().log().entries]
    assert entry["kept_local"] == 1


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (lambda m: m.pop("parts"), "manifest"),
        (lambda m: m.update(parts=[]), "manifest"),
        (lambda m: m.update(release="x"), "manifest"),
        (lambda m: m["release"].update(index=m["release"]["index"] + 1), "proof"),
        (lambda m: m["parts"][0].update(rows=1), "proof"),
        (lambda m: m["parts"][0].update(file="../../etc/passwd"), "proof"),
        (lambda m: m["audience"].update(nation="JPN"), "audience"),
    ],
)
def test_a_signed_but_malformed_manifest_is_rejected(
    pair: tuple[NodeDir, NodeDir],
    bundle: Path,
    change: Callable[[dict[str, Any]], object],
    check: str,
) -> None:
    """Even a pinned peer's signature does not make a bad manifest acceptable."""
    from seawatch.share.seal import MANIFEST_TYPE, dsse_envelope

    ind, usa = pair
    path = bundle / "manifest.dsse.json"
    manifest = json.loads(base64.b64decode(json.loads(path.read_bytes())["payload"]))
    change(manifest)
    node = ind.node()
    path.write_bytes(dsse_envelope(json.dumps(manifest).encode(), MANIFEST_TYPE, node.keys,
                                   node.name))  # fmt: skip
    assert _rejected(usa, bundle).check == check
