"""The pull exchange in process: a peer that shows USA one history, then (a copy of its
data going on differently) another, is caught at the next exchange by the consistency
proof from the checkpoint USA verified (once USA has seen a checkpoint past the point
where the histories part: before that, both extend it); a stale answer is refused; the
honest history is refused too until the operator clears the evidence, then goes on."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from seawatch.share.errors import BundleRejected, SyncError
from seawatch.share.forks import OriginForked
from seawatch.share.rules import Rules, rules_file
from seawatch.share.sync import answer_pull, check_answer, seen_size, store_answer

from .conftest import NodeDir
from .test_bundles import fill, held, pin, store_of
from .test_retract import add_positions

MakeNode = Callable[[str, str], NodeDir]


def _answer(node: NodeDir, peer: str, after: int) -> dict[str, object]:
    me = node.node()
    rules = Rules.load(rules_file(me.data_dir))
    with store_of(node) as store:
        answer = answer_pull(store, me, me.peers().get(peer), rules, after)
    return json.loads(json.dumps(answer))  # as it travels


def test_a_forked_history_is_caught_at_the_next_pull(make_node: MakeNode, tmp_path: Path) -> None:
    ind, usa = make_node("IND", "ifc-ior"), make_node("USA", "usa-c2")
    pin(ind, usa)
    pin(usa, ind)
    fill(ind)
    usa.run("db", "migrate")
    ind.run("share", "allow", "usa-c2")
    me = usa.node()
    source = me.peers().get("ifc-ior")

    def pull_from(node: NodeDir) -> int:
        after = seen_size(me, source)
        checked = check_answer(me, source, _answer(node, "usa-c2", after), after)
        with store_of(usa) as store:
            done = store_answer(store, me, checked)
        return sum(sum(i.counts.values()) for i in done.imported)

    assert pull_from(ind) == 83
    assert pull_from(ind) == 0  # nothing new, nothing resent
    # a copy of IND's data goes on with another history of the same records
    fork = NodeDir(tmp_path / "fork", "IND", "ifc-ior")
    shutil.copytree(ind.root, fork.root)
    add_positions(ind, 5000, 4)
    assert pull_from(ind) == 4  # USA has seen IND's history past the copy
    add_positions(fork, 6000, 7)
    fork.node().record({"kind": "note", "text": "another history"})
    with pytest.raises(BundleRejected) as info:
        pull_from(fork)
    assert info.value.check == "fork"
    assert held(usa)[("IND", "UNCLASSIFIED")] == 54  # nothing of the fork stored
    # an answer from another position than USA verified is stale
    after = seen_size(me, source)
    with pytest.raises(SyncError, match="stale"):
        check_answer(me, source, _answer(ind, "usa-c2", 0), after + 1)
    add_positions(ind, 5010, 3)
    # USA holds fork evidence against IND: nothing more from IND, even its honest history,
    # until the operator clears it
    with pytest.raises(OriginForked) as refused:
        pull_from(ind)
    assert refused.value.check == "fork"
    (evidence,) = refused.value.ids
    assert evidence in usa.run("share", "forks", "list")
    out = usa.run("share", "forks", "clear", evidence, "--reason", "IND restored; checked")
    assert "cleared" in out
    assert "no fork evidence held" in usa.run("share", "forks", "list")
    assert evidence in usa.run("share", "forks", "list", "--cleared")
    assert pull_from(ind) == 3  # the honest history goes on
    entries = [json.loads(e) for e in me.log().entries]
    kinds = [e["kind"] for e in entries]
    assert kinds.count("rejection") == 2  # the fork, then the import refused
    assert kinds.count("fork") == 1
    (cleared,) = (e for e in entries if e["kind"] == "fork-cleared")
    assert cleared["evidence_id"] == evidence
    assert cleared["reason"] == "IND restored; checked"
