"""Witnessing: partners cosign each other's checkpoints (C2SP tlog-cosignature v1, checked
here with plain hashlib and cryptography) and pass on those they hold of third nodes; an
origin that shows IND one history and JPN another is caught when IND and JPN exchange,
with both signed checkpoints kept as evidence and logged."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from seawatch.labels import parse_label
from seawatch.share.note import verify_checkpoint
from seawatch.share.rules import Rules, rules_file
from seawatch.share.sync import (
    Pulled,
    answer_pull,
    check_answer,
    exchange_request,
    seen_size,
    store_answer,
)
from seawatch.share.witness import SplitView, Witness, cosign, cosignature_time

from .conftest import NodeDir
from .test_bundles import TS, log_kinds, pin, store_of

MakeNode = Callable[[str, str], NodeDir]
T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def add(node: NodeDir, first: int, n: int) -> None:
    """``n`` UNCLASSIFIED positions originated by ``node``'s nation."""
    with store_of(node) as store, store.transaction():
        lid = store.label_id(parse_label("UNCLASSIFIED", store.policy, originator=node.nation))
        store.write("positions", pa.table({
            "msg_key": pa.array(range(first, first + n), pa.int64()),
            "ts": pa.array([T0 + dt.timedelta(minutes=i) for i in range(n)], TS),
            "mmsi": pa.array([338000001] * n, pa.int32()),
            "lat": [30.0] * n, "lon": [140.0] * n,
            "label_id": pa.array([lid] * n, pa.int32()),
        }))  # fmt: skip


def pull(dst: NodeDir, src: NodeDir) -> Pulled:
    """``dst`` pulls from ``src`` in process (the answer through JSON, as it travels)."""
    me, them = dst.node(), src.node()
    peer = me.peers().get(src.name)
    after = seen_size(me, peer)
    request = json.loads(json.dumps(exchange_request(me, peer)))
    rules = Rules.load(rules_file(them.data_dir))
    with store_of(src) as store:
        answer = answer_pull(store, them, them.peers().get(dst.name), rules, after, request)
    checked = check_answer(me, peer, json.loads(json.dumps(answer)), after)
    with store_of(dst) as store:
        return store_answer(store, me, checked)


@pytest.fixture
def trio(make_node: MakeNode) -> tuple[NodeDir, NodeDir, NodeDir]:
    usa, ind, jpn = (make_node(*a) for a in (("USA", "usa-c2"), ("IND", "ifc-ior"),
                                            ("JPN", "jpn-mof")))  # fmt: skip
    for a in (usa, ind, jpn):
        for b in (usa, ind, jpn):
            if a is not b:
                pin(a, b)
        a.run("db", "migrate")
    add(usa, 0, 10)
    usa.run("share", "allow", "ifc-ior")
    usa.run("share", "allow", "jpn-mof")
    return usa, ind, jpn


def test_cosignature_is_c2sp_tlog_cosignature_v1(trio: tuple[NodeDir, NodeDir, NodeDir]) -> None:
    usa, ind, _ = trio
    assert sum(i.stored for i in pull(ind, usa).imported) == 10
    me = ind.node()
    (note,) = Witness(me).held()
    verify_checkpoint(note, usa.node().verifier)  # the origin's signature stays
    body, _, sigs = note.rpartition("\n\n")
    line = sigs.strip().split("\n")[-1]
    dash, name, b64 = line.split(" ")
    assert (dash, name) == ("\u2014", "ifc-ior")
    raw = base64.b64decode(b64)
    public = me.keys.sign_public
    assert raw[:4] == hashlib.sha256(b"ifc-ior\n\x04" + public).digest()[:4]
    ts = int.from_bytes(raw[4:12], "big")
    message = f"cosignature/v1\ntime {ts}\n{body}\n".encode()
    Ed25519PublicKey.from_public_bytes(public).verify(raw[12:], message)  # raises if wrong
    assert cosignature_time(note, me.verifier) == ts
    assert cosignature_time(note, usa.node().verifier) is None
    again = cosign(note, me.keys, me.name, ts + 5)  # re-cosigning replaces the old line
    assert again.count("\u2014 ifc-ior ") == 1
    assert cosignature_time(again, me.verifier) == ts + 5


def _fork(usa: NodeDir, tmp_path: Path) -> NodeDir:
    """A copy of USA's node (same key, same log so far) that goes on differently."""
    fork = NodeDir(tmp_path / "usa-fork", "USA", "usa-c2")
    shutil.copytree(usa.root, fork.root)
    return fork


def test_a_split_view_is_caught_when_partners_exchange(
    trio: tuple[NodeDir, NodeDir, NodeDir], tmp_path: Path
) -> None:
    usa, ind, jpn = trio
    pull(ind, usa)
    pull(jpn, usa)
    fork = _fork(usa, tmp_path)
    add(usa, 100, 3)  # IND is shown this history ...
    add(fork, 200, 5)  # ... and JPN another, of the same size
    assert sum(i.stored for i in pull(ind, usa).imported) == 3
    assert sum(i.stored for i in pull(jpn, fork).imported) == 5
    assert Witness(ind.node()).best(ind.node().peers().get("usa-c2")) is not None
    # IND and JPN exchange (each way): the cosigned checkpoints they pass on disagree
    ind.run("share", "allow", "jpn-mof")
    done = pull(jpn, ind)
    assert len(done.forks) == 1
    (evidence,) = done.forks
    assert (evidence.peer, evidence.origin, evidence.via) == ("usa-c2", "seawatch/USA/usa-c2",
                                                              "ifc-ior")  # fmt: skip
    assert "two trees" in evidence.reason
    key = usa.node().verifier
    a, b = (verify_checkpoint(n, key) for n in evidence.notes)  # both signed by USA
    assert a.size == b.size
    assert a.root_hash != b.root_hash
    assert {cosignature_time(n, ind.node().verifier) is not None for n in evidence.notes} == {
        True, False
    }  # fmt: skip
    # IND learnt it from JPN's request; both keep the evidence and logged it once
    for node in (ind, jpn):
        assert log_kinds(node).count("fork") == 1
        assert len(Witness(node.node()).forks()) == 1
        assert "verified" in node.run("audit", "verify")
    entry = next(json.loads(e) for e in jpn.node().log().entries if b'"fork"' in e)
    assert sorted(entry["notes"]) == sorted(evidence.notes)
    pull(jpn, ind)  # the same evidence again is not logged again
    assert log_kinds(jpn).count("fork") == 1


def test_histories_of_other_sizes_are_proven_at_the_next_exchange_with_the_origin(
    trio: tuple[NodeDir, NodeDir, NodeDir], tmp_path: Path
) -> None:
    usa, ind, jpn = trio
    pull(ind, usa)
    pull(jpn, usa)
    fork = _fork(usa, tmp_path)
    add(usa, 100, 3)
    add(fork, 200, 5)
    fork.node().record({"kind": "note", "text": "one more entry: another size"})
    pull(ind, usa)
    pull(jpn, fork)
    # sizes differ: no proof between them yet, each keeps the other's as pending
    assert pull(jpn, ind).forks == []
    usa_at_jpn = jpn.node().peers().get("usa-c2")
    assert len(Witness(jpn.node()).wanted(usa_at_jpn)) == 2
    # the honest origin cannot prove a tree larger than its own: IND's stays pending
    assert pull(ind, usa).imported == []
    usa_at_ind = ind.node().peers().get("usa-c2")
    assert len(Witness(ind.node()).wanted(usa_at_ind)) == 2
    # JPN's next exchange with the fork asks it to prove IND's checkpoint: it cannot
    with pytest.raises(SplitView) as info:
        pull(jpn, fork)
    assert info.value.check == "fork"
    assert "does not extend" in info.value.evidence.reason
    key = usa.node().verifier
    sizes = sorted(verify_checkpoint(n, key).size for n in info.value.evidence.notes)
    assert sizes[0] < sizes[1]
    assert log_kinds(jpn).count("fork") == 1


def test_honest_exchanges_resolve_every_pending_checkpoint(
    trio: tuple[NodeDir, NodeDir, NodeDir],
) -> None:
    usa, ind, jpn = trio
    ind.run("share", "allow", "jpn-mof")
    for round_ in range(3):
        add(usa, 1000 * (round_ + 1), 2)
        add(ind, 1000 * (round_ + 1), 2)
        pull(ind, usa)
        pull(jpn, ind)  # JPN hears of USA's newer checkpoint from IND first
        pull(jpn, usa)
    # IND holds what JPN passed on of USA (pending) until its next exchange with USA
    pull(ind, usa)
    for node in (ind, jpn):
        me = node.node()
        assert len(Witness(me).wanted(me.peers().get("usa-c2"))) == 1, node.name
        assert Witness(me).forks() == []
    jpn_view = Witness(jpn.node()).best(jpn.node().peers().get("usa-c2"))
    assert jpn_view is not None
    assert jpn_view.size == usa.node().log().size


def test_by_courier_the_witnessed_checkpoints_travel_beside_the_bundle(
    trio: tuple[NodeDir, NodeDir, NodeDir], tmp_path: Path
) -> None:
    usa, ind, jpn = trio
    pull(ind, usa)
    pull(jpn, usa)
    fork = _fork(usa, tmp_path)
    add(usa, 100, 3)
    add(fork, 200, 5)
    pull(ind, usa)
    pull(jpn, fork)
    ind.run("share", "allow", "jpn-mof")
    add(ind, 5000, 4)
    courier = tmp_path / "courier"
    ind.run("share", "export", "--to", "jpn-mof", str(courier))
    assert (courier / "witness-ifc-ior.json").is_file()
    out = jpn.run("share", "import", str(courier))
    assert "4 records from ifc-ior" in out
    assert log_kinds(jpn).count("fork") == 1
    me = jpn.node()
    best = Witness(me).best(me.peers().get("ifc-ior"))  # the courier bundle's, cosigned
    assert best is not None
    jpn.run("share", "import", str(courier))  # again: nothing new, no second fork entry
    assert log_kinds(jpn).count("fork") == 1
    # JPN holds evidence against USA: a courier bundle from (the real) USA is refused whole,
    # and logged, until JPN's operator clears the evidence
    from_usa = tmp_path / "from-usa"
    usa.run("share", "export", "--to", "jpn-mof", str(from_usa))
    out = jpn.run("share", "import", str(from_usa), ok=False)
    assert "fork evidence against usa-c2" in out
    assert log_kinds(jpn)[-1] == "rejection"
    (evidence,) = json.loads(jpn.run("share", "forks", "list", "--json"))
    jpn.run("share", "forks", "clear", evidence, "--reason", "USA explained the copy")
    assert "3 records from usa-c2" in jpn.run("share", "import", str(from_usa))


def test_gossip_that_does_not_verify_is_ignored(trio: tuple[NodeDir, NodeDir, NodeDir]) -> None:
    usa, ind, _ = trio
    pull(ind, usa)
    me = ind.node()
    witness = Witness(me)
    peer = me.peers().get("usa-c2")
    before = witness.wanted(peer)
    (note,) = witness.held()
    lines = note.split("\n")
    lines[2] = ("A" if lines[2][0] != "A" else "B") + lines[2][1:]  # another root, same size
    forged = "\n".join(lines)
    junk = [forged, "junk", 5, note[:-5], note.replace("\u2014", "-"), None]
    assert witness.receive(junk, via="jpn-mof") == []
    assert witness.receive("not a list", via="jpn-mof") == []
    assert witness.wanted(peer) == before
    assert witness.forks() == []
