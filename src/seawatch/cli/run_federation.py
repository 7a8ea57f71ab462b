"""``seawatch run --federation``: the simulated run's traffic shared between three nodes.

In: the run's simulated NMEA files (``<out>/sim``). Out: three nodes under
``<out>/federation/`` (each its own data directory, DuckDB store, keys and audit log, made
afresh each run): IND (``ifc-ior``) ingests the coast stations' receptions, USA (``usa-c2``)
the satellite passes, each under its own labels; each releases to the other two what its
rules and labels allow, as sealed bundles passed by courier files
(``<out>/federation/courier/<from>-to-<to>/``: :mod:`seawatch.share.bundle`, then
:mod:`seawatch.share.receive` on the other side), and JPN (``jpn-mof``) receives only what
is REL TO JPN. Then a table of what each node holds, by originator and marking (read for
the node's own reader through the query layer), and every node's audit log verified
(every checkpoint's signature and root) with the last checkpoint each holds of the others.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from seawatch.engine.ingest import ingest
from seawatch.labels import default_reader
from seawatch.settings import Settings
from seawatch.share import merkle
from seawatch.share.bundle import export_bundle
from seawatch.share.errors import VerifyError
from seawatch.share.history import seen_checkpoint
from seawatch.share.keys import enc_key_text, init_keys
from seawatch.share.log import verify_log
from seawatch.share.node import Node
from seawatch.share.peers import Peers, make_peer
from seawatch.share.receive import import_bundle
from seawatch.share.rules import Rules, make_rule
from seawatch.store import Store, open_store
from seawatch.store.query import Query

__all__ = ["FEDERATION", "federate"]

EAST: Final = "bbox=85,-15,110,30"
"""The Bay of Bengal and east of it: what both feeders also release to JPN."""


@dataclass(frozen=True)
class Member:
    """One node of the run's federation: its nation, name, feed and labels."""

    nation: str
    name: str
    feed: str  # "coast", "satellite" or "" (ingests nothing)
    default_label: str
    label_rules: str


FEDERATION: Final = (
    Member("IND", "ifc-ior", "coast", "CONFIDENTIAL//REL TO IND, USA",
           f"{EAST} -> IND:CONFIDENTIAL//REL TO IND, JPN, USA"),
    Member("USA", "usa-c2", "satellite", "CONFIDENTIAL//REL TO USA, IND",
           f"{EAST} -> USA:CONFIDENTIAL//REL TO USA, IND, JPN"),
    Member("JPN", "jpn-mof", "", "UNCLASSIFIED", ""),
)  # fmt: skip


def _split_feeds(sim: Path, files: Sequence[str], folder: Path) -> dict[str, Path]:
    """The simulated lines as two feeds: satellite passes (station ``sat-N``) and coast
    stations (the rest)."""
    folder.mkdir(parents=True)
    paths = {"coast": folder / "coast-stations.nmea", "satellite": folder / "satellite.nmea"}
    with paths["coast"].open("wb") as coast, paths["satellite"].open("wb") as sat:
        for name in files:
            with (sim / name).open("rb") as fh:
                for line in fh:
                    (sat if b"s:sat-" in line[:48] else coast).write(line)
    return paths


def _held(store: Store) -> dict[tuple[str, str], int]:
    """Positions the node's own reader sees, by (originator, marking) (counted in the
    database)."""
    q = Query(store, default_reader(store.policy))
    labels = q.labels()
    out: dict[tuple[str, str], int] = {}
    for row in q.count_positions().to_pylist():
        label = labels[int(row["label_id"])]
        k = (label.originator, label.marking)
        out[k] = out.get(k, 0) + int(row["positions"])
    return out


def federate(settings: Settings, out: Path, files: Sequence[str]) -> str:
    """Run the federation of the module docstring on the simulated ``files`` in
    ``out/sim``; the section of the summary that tells it."""
    started = time.perf_counter()
    root = out / "federation"
    shutil.rmtree(root, ignore_errors=True)
    feeds = _split_feeds(out / "sim", files, root / "feeds")
    nodes: dict[str, Node] = {}
    conf: dict[str, Settings] = {}
    for m in FEDERATION:
        data_dir = root / m.name
        init_keys(data_dir)
        conf[m.name] = dataclasses.replace(
            settings, data_dir=data_dir, node_nation=m.nation, node_id=m.name,
            default_label=m.default_label, label_rules=m.label_rules,
        )  # fmt: skip
        nodes[m.name] = Node.from_settings(conf[m.name])
    for a in nodes.values():
        for b in nodes.values():
            if a is not b:
                key = enc_key_text(b.keys.enc_public)
                Peers(a.data_dir).add(make_peer(b.name, b.nation, b.verifier.vkey, key))
    lines = []
    stores = {name: open_store(None, conf[name]) for name in nodes}
    try:
        for m in FEDERATION:
            if m.feed:
                got = ingest(stores[m.name], [feeds[m.feed]], conf[m.name])
                lines.append(
                    f"  {m.nation} {m.name:<8} ingested {got.stored['positions']:,} positions "
                    f"from its {m.feed} feed"
                )
        for m in FEDERATION:
            if not m.feed:
                continue
            node = nodes[m.name]
            rules = Rules([make_rule({"peer": p.name}) for p in FEDERATION if p is not m])
            sent = []
            for p in FEDERATION:
                if p is m:
                    continue
                courier = root / "courier" / f"{m.name}-to-{p.name}"
                peer = node.peers().get(p.name)
                release = export_bundle(stores[m.name], node, peer, rules, courier)
                if release.folder is not None:
                    import_bundle(stores[p.name], nodes[p.name], release.folder)
                sent.append(f"{sum(release.counts.values()):,} to {p.nation}")
            lines.append(f"  {m.nation} {m.name:<8} released {', '.join(sent)} (sealed bundles)")
        held = {name: _held(store) for name, store in stores.items()}
    finally:
        for store in stores.values():
            store.close()
    lines.append("  node  originator  marking                                 positions")
    for m in FEDERATION:
        for (origin, marking), n in sorted(held[m.name].items()):
            lines.append(f"  {m.nation:<5} {origin:<11} {marking:<38} {n:>10,}")
    checked = []
    for m in FEDERATION:
        node = nodes[m.name]
        report = verify_log(node.log(), node.keys.verifier(node.name).public)
        of = []
        for peer in node.peers().peers.values():  # signature checked as it is read
            cp = seen_checkpoint(node.data_dir, peer)
            if cp is not None:
                theirs = next(n for n in nodes.values() if n.name == peer.name).log()
                if merkle.root(theirs.leaves[: cp.size]) != cp.root_hash:
                    raise VerifyError("root", f"{m.name}'s checkpoint of {peer.name} differs")
                of.append(peer.nation)
        held_of = f", {'/'.join(sorted(of))}'s as received" if of else ""
        checked.append(f"{m.nation} {report.checkpoints} of its own{held_of}")
    lines.append(f"  checkpoints verified (signature and root): {'; '.join(checked)}")
    took = time.perf_counter() - started
    head = (
        f"Federation: IND, USA and JPN nodes in {root}, sharing sealed bundles by courier "
        f"files ({took:.1f} s)"
    )
    return "\n".join([head, *lines]) + "\n"
