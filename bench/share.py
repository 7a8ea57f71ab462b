"""Federation benchmark: seal a release bundle, then verify and import it on a second node.

Two nodes (IND, USA) in a temporary folder, each its own DuckDB store and keys. IND holds
``--positions`` positions (default 1,000,000) under three labels releasable to USA and
one that is not (NOFORN, never read for USA); a rule releases everything to USA. Timed:

- seal: :func:`seawatch.share.bundle.export_bundle`: the read for the peer through the
  query layer, rules, the split per label, Parquet, AES-256-GCM, the DSSE signature and
  the audit log entry with its checkpoint;
- verify + import: :func:`seawatch.share.receive.import_bundle`: the signature, the
  inclusion proof, digests, decryption, labels and schema, then the write into the store;
- size: the bundle's bytes against the same released rows as one plain Parquet file per
  table (zstd, without ``label_id``).

    .venv/bin/python bench/share.py
    .venv/bin/python bench/share.py --positions 200000 --runs 1
    .venv/bin/python bench/share.py --output-md      # also add a section to bench/RESULTS.md
    .venv/bin/python bench/share.py --sync --positions 200000   # the pull exchange only
    .venv/bin/python bench/share.py --converge --output-md      # 5 nodes after a partition
    .venv/bin/python bench/share.py --converge --workers 1       # one step at a time
    .venv/bin/python bench/share.py --converge --processes       # each node its own process
    .venv/bin/python bench/share.py --converge --serve           # 5 real `seawatch serve`

``--converge``: five nodes (IND, USA, JPN, AUS, FRA) in process (each its own DuckDB store,
keys, log and outboxes; the exchange is the HTTP pull's in memory: the answer serialised to
its binary form, or JSON with ``--json``, and back, no sockets; ``--processes``: each node
in a process of its own, bench/share_procs.py; ``--serve``: five real ``seawatch serve``
processes pulling over loopback HTTP, bench/share_serve.py), every node releasing
everything to every other. They sync
1,000 positions each, then are partitioned while they store ``--positions`` new ones
between them (1 M: 200,000 each, all releasable to all); timed from the heal until every
node holds all of them and every node's view of every log is that log's root: rounds in
which every node pulls from every other. An exchange is two steps, the sender's answer
(its store, log and outbox) and the puller's import (its own); ``--workers`` steps run at
once (threads, default: the CPU count), each on a node no other running step uses, as
five machines would run them (``--workers 1``: one after another, as before). Printed
beside the wall-clock times: the process's CPU-seconds (all its threads, DuckDB's too),
the figure that does not move with the machine's other load.

Goals (issue 14): seal >= 300,000 records/s; verify + import >= 1,000,000 records/s;
size overhead <= 5 %; a 1 M-record backlog converging across 5 nodes in < 10 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from seawatch.labels import parse_label
from seawatch.settings import load_settings
from seawatch.share import merkle
from seawatch.share.bundle import export_bundle, parquet_bytes
from seawatch.share.history import seen_checkpoint
from seawatch.share.keys import enc_key_text, init_keys
from seawatch.share.node import Node
from seawatch.share.peers import Peers, make_peer
from seawatch.share.receive import import_bundle, verify_bundle
from seawatch.share.rules import Rules, make_rule
from seawatch.store import TABLES, open_store

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"
TS = TABLES["positions"].arrow_schema().field("ts").type
MARKINGS = [
    ("UNCLASSIFIED", 0.5),
    ("CONFIDENTIAL//REL TO IND, USA", 0.3),
    ("SECRET//REL TO IND, USA", 0.1),
    ("SECRET//NOFORN", 0.1),  # not releasable to USA: never read for it
]
GOALS = {"seal": 300_000, "import": 1_000_000, "overhead": 0.05}


def _wire() -> Any:
    """seawatch.share.wire, imported when used (``--json`` runs on a version without it)."""
    import seawatch.share.wire

    return seawatch.share.wire


def _node(root: Path, nation: str, name: str) -> Node:
    env = {
        "SEAWATCH_DATA_DIR": str(root / name),
        "SEAWATCH_NODE_NATION": nation,
        "SEAWATCH_NODE_ID": name,
    }
    init_keys(root / name)
    return Node.from_settings(load_settings(env=env))


def _positions(n: int, lid: int, start: int) -> pa.Table:
    rng = np.random.default_rng(start)
    t0_us = int(dt.datetime(2026, 12, 1, tzinfo=dt.UTC).timestamp() * 1_000_000)
    return pa.table(
        {
            "msg_key": pa.array(np.arange(start, start + n), pa.int64()),
            "ts": pa.array(t0_us + rng.integers(0, 86400 * 3, n) * 10**6, pa.int64()).cast(TS),
            "mmsi": pa.array(rng.integers(200_000_000, 775_000_000, n), pa.int32()),
            "msg_type": pa.array(np.full(n, 1), pa.int8()),
            "lat": rng.uniform(-10, 25, n),
            "lon": rng.uniform(60, 100, n),
            "speed_kn": np.round(rng.uniform(0, 20, n), 1),
            "course_deg": np.round(rng.uniform(0, 360, n), 1),
            "heading_deg": pa.array(rng.integers(0, 360, n), pa.int16()),
            "station": pa.array([f"coast-{i % 12}" for i in range(n)]),
            "label_id": pa.array(np.full(n, lid), pa.int32()),
        }
    )


def run(positions: int, runs: int) -> dict[str, float]:
    best: dict[str, float] = {"load": os.getloadavg()[0]}
    for _ in range(runs):
        root = Path(tempfile.mkdtemp(prefix="seawatch-bench-share-"))
        try:
            ind, usa = _node(root, "IND", "ind-node"), _node(root, "USA", "usa-node")
            Peers(ind.data_dir).add(
                make_peer("usa-node", "USA", usa.verifier.vkey, enc_key_text(usa.keys.enc_public))
            )
            Peers(usa.data_dir).add(make_peer("ind-node", "IND", ind.verifier.vkey))
            rules = Rules([make_rule({"peer": "usa-node"})])
            ind_settings = load_settings(env={"SEAWATCH_DATA_DIR": str(ind.data_dir),
                                              "SEAWATCH_NODE_NATION": "IND"})  # fmt: skip
            usa_settings = load_settings(env={"SEAWATCH_DATA_DIR": str(usa.data_dir),
                                              "SEAWATCH_NODE_NATION": "USA"})  # fmt: skip
            with open_store(None, ind_settings) as store, store.transaction():
                start = 0
                for marking, share in MARKINGS:
                    n = int(positions * share)
                    lid = store.label_id(parse_label(marking, store.policy))
                    store.write("positions", _positions(n, lid, start))
                    start += n
            released = sum(int(positions * s) for m, s in MARKINGS if "NOFORN" not in m)
            with open_store(None, ind_settings) as store:
                t, cpu = time.perf_counter(), time.process_time()
                release = export_bundle(store, ind, Peers(ind.data_dir).get("usa-node"), rules,
                                        root / "courier")  # fmt: skip
                seal_s, seal_cpu = time.perf_counter() - t, time.process_time() - cpu
                from seawatch.labels import Reader
                from seawatch.store.query import Query

                rows = Query(store, Reader("USA", "TOP SECRET")).positions()
                buf = io.BytesIO()
                pq.write_table(rows.drop_columns(["label_id"]), buf, compression="zstd")
                plain_bytes = len(buf.getvalue())
                same_bytes = len(parquet_bytes(rows.drop_columns(["label_id"])))
            assert release.folder is not None
            assert sum(release.counts.values()) == released, (release.counts, released)
            bundle_bytes = sum(p.stat().st_size for p in release.folder.iterdir())
            with open_store(None, usa_settings) as store:
                t = time.perf_counter()
                verify_bundle(store, usa, release.folder)
                verify_s = time.perf_counter() - t
                t, cpu = time.perf_counter(), time.process_time()
                done = import_bundle(store, usa, release.folder)
                import_s, import_cpu = time.perf_counter() - t, time.process_time() - cpu
            assert done.stored == released
            result = {
                "records": released,
                "seal_s": seal_s,
                "seal_rps": released / seal_s,
                "seal_cpu_s": seal_cpu,
                "import_cpu_s": import_cpu,
                "verify_s": verify_s,
                "import_s": import_s,
                "import_rps": released / import_s,
                "bundle_bytes": bundle_bytes,
                "plain_bytes": plain_bytes,
                "overhead": bundle_bytes / plain_bytes - 1,
                "same_bytes": same_bytes,
                "overhead_same": bundle_bytes / same_bytes - 1,
                "parts": len(release.counts),
            }
            for key, value in result.items():
                if key not in best:
                    best[key] = value
            best["seal_s"] = min(best["seal_s"], seal_s)
            best["import_s"] = min(best["import_s"], import_s)
            best["verify_s"] = min(best["verify_s"], verify_s)
            best["seal_cpu_s"] = min(best["seal_cpu_s"], seal_cpu)
            best["import_cpu_s"] = min(best["import_cpu_s"], import_cpu)
            best["seal_rps"] = released / best["seal_s"]
            best["import_rps"] = released / best["import_s"]
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return best


def run_sync(positions: int) -> dict[str, float]:
    """The pull exchange in process (no sockets): IND answers a first pull (seal into the
    outbox, then every file as base64 JSON), USA checks and stores it; then 1 % new
    positions and a second pull (incremental: only the new rows are sealed and sent)."""
    from seawatch.share.outbox import Outbox
    from seawatch.share.sync import answer_pull, check_answer, seen_size, store_answer

    root = Path(tempfile.mkdtemp(prefix="seawatch-bench-sync-"))
    out: dict[str, float] = {"records": positions}
    try:
        ind, usa = _node(root, "IND", "ind-node"), _node(root, "USA", "usa-node")
        Peers(ind.data_dir).add(
            make_peer("usa-node", "USA", usa.verifier.vkey, enc_key_text(usa.keys.enc_public))
        )
        Peers(usa.data_dir).add(make_peer("ind-node", "IND", ind.verifier.vkey))
        rules = Rules([make_rule({"peer": "usa-node"})])
        ind_settings = load_settings(env={"SEAWATCH_DATA_DIR": str(ind.data_dir),
                                          "SEAWATCH_NODE_NATION": "IND"})  # fmt: skip
        usa_settings = load_settings(env={"SEAWATCH_DATA_DIR": str(usa.data_dir),
                                          "SEAWATCH_NODE_NATION": "USA"})  # fmt: skip
        to_usa = Peers(ind.data_dir).get("usa-node")
        from_ind = Peers(usa.data_dir).get("ind-node")
        with open_store(None, ind_settings) as store, store.transaction():
            lid = store.label_id(parse_label("CONFIDENTIAL//REL TO IND, USA", store.policy))
            store.write("positions", _positions(positions, lid, 0))
        for label, new in (("first", 0), ("again", max(1, positions // 100))):
            if new:
                with open_store(None, ind_settings) as store, store.transaction():
                    lid = store.label_id(parse_label("UNCLASSIFIED", store.policy))
                    store.write("positions", _positions(new, lid, positions))
            after = seen_size(usa, from_ind)
            with open_store(None, ind_settings) as store:
                t = time.perf_counter()
                answer = answer_pull(store, ind, to_usa, rules, after)
                body = json.dumps(answer).encode()
                out[f"{label}_answer_s"] = time.perf_counter() - t
            out[f"{label}_body_bytes"] = len(body)
            with open_store(None, usa_settings) as store:
                t = time.perf_counter()
                checked = check_answer(usa, from_ind, json.loads(body), after)
                done = store_answer(store, usa, checked)
                out[f"{label}_store_s"] = time.perf_counter() - t
            out[f"{label}_records"] = sum(sum(i.counts.values()) for i in done.imported)
        sent = Outbox(ind.data_dir, "usa-node").bundles()
        out["bundles_kept"] = len(sent)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return out


NATIONS = ("IND", "USA", "JPN", "AUS", "FRA")


def converged(nodes: dict[str, Node]) -> bool:
    """Every node has verified every other node's whole log: each view = each root."""
    roots = {n: (nd.log().size, merkle.root(nd.log().leaves)) for n, nd in nodes.items()}
    for na in nodes.values():
        for b, nb in nodes.items():
            if na is not nb:
                cp = seen_checkpoint(na.data_dir, na.peers().get(nb.name))
                if cp is None or (cp.size, cp.root_hash) != roots[b]:
                    return False
    return True


def until_converged(
    nodes: dict[str, Node], sync_round: Callable[[], int], cpu: Callable[[], float],
    out: dict[str, float],
) -> int:  # fmt: skip
    """Exchange rounds until nothing moves and every view is every root; the times, CPU
    and rounds into ``out``; the records moved."""
    t, cpu0 = time.perf_counter(), cpu()
    rounds, moved = 0, 0
    while True:
        got = sync_round()
        rounds += 1
        moved += got
        if rounds == 1:
            out["first_round_s"] = time.perf_counter() - t
        if not got and converged(nodes):
            break
    out["converge_s"] = time.perf_counter() - t
    out["converge_cpu_s"] = cpu() - cpu0
    out["rounds"] = rounds
    return moved


def run_converge(
    positions: int,
    before: int = 1_000,
    workers: int = 2,
    processes: bool = False,
    binary: bool = True,
) -> dict[str, float]:
    """See the module: 5 nodes, a partition with ``positions`` new records, the heal;
    ``workers`` exchanges of disjoint node pairs at once; ``processes``: each node in a
    process of its own (bench/share_procs.py); ``binary``: answers in the binary form
    (share.wire, as nodes of this version negotiate), else JSON with base64 files."""
    from seawatch.share.sync import answer_pull, check_answer, seen_size, store_answer

    root = Path(tempfile.mkdtemp(prefix="seawatch-bench-converge-"))
    out: dict[str, float] = {"load": os.getloadavg()[0], "records": positions, "workers": workers,
                             "processes": float(processes), "binary": float(binary)}  # fmt: skip
    stores = {}
    procs = None
    try:
        nodes = {n: _node(root, n, f"{n.lower()}-node") for n in NATIONS}
        for a in nodes.values():
            for b in nodes.values():
                if a is not b:
                    key = enc_key_text(b.keys.enc_public)
                    Peers(a.data_dir).add(make_peer(b.name, b.nation, b.verifier.vkey, key))
        rules = {
            n: Rules([make_rule({"peer": b.name}) for b in nodes.values() if b is not a])
            for n, a in nodes.items()
        }
        if processes:
            from share_procs import NodeProcesses

            procs = NodeProcesses(nodes)
        else:
            for n, node in nodes.items():
                env = {"SEAWATCH_DATA_DIR": str(node.data_dir), "SEAWATCH_NODE_NATION": n}
                stores[n] = open_store(None, load_settings(env=env))

        def add(count: int, start: int) -> None:
            if procs is not None:
                for k, n in enumerate(nodes):
                    procs.conns[n].send(("add", count, start + k * count))
                for n in nodes:
                    procs._answer(n)
                return
            for k, (n, store) in enumerate(stores.items()):
                with store.transaction():
                    lid = store.label_id(parse_label("UNCLASSIFIED", store.policy, originator=n))
                    store.write("positions", _positions(count, lid, start + k * count))

        def answer(a: str, b: str) -> tuple[bytes, int]:
            """``b`` answers ``a``'s pull (b's store, log, outbox): the body on the wire."""
            na, nb = nodes[a], nodes[b]
            after = seen_size(na, na.peers().get(nb.name))
            if procs is not None:
                return procs.call(b, "answer", na.name, after, binary), after
            to_a = nb.peers().get(na.name)
            raw = {"raw": True} if binary else {}  # (an older version has no raw=)
            answer = answer_pull(stores[b], nb, to_a, rules[b], after, **raw)
            return _wire().encode_answer(answer) if binary else json.dumps(answer).encode(), after

        def store(a: str, b: str, body: bytes, after: int) -> int:
            """``a`` checks and stores ``b``'s answer (a's store, log, witness state)."""
            if procs is not None:
                return int(procs.call(a, "store", nodes[b].name, body, after, binary))
            na, from_b = nodes[a], nodes[a].peers().get(nodes[b].name)
            got = _wire().decode_answer(body) if binary else json.loads(body)
            checked = check_answer(na, from_b, got, after)
            return sum(i.stored for i in store_answer(stores[a], na, checked).imported)

        def cpu() -> float:
            """CPU-seconds so far of this process and the nodes' processes."""
            own = time.process_time()
            return own + (sum(procs.each("cpu").values()) if procs is not None else 0.0)

        def sync_round() -> int:
            """Every node pulls from every other. An exchange is two steps: the answer
            (the sender's store, log and outbox) and the import (the receiver's); up to
            ``workers`` steps run at once, each on a node no other running step uses (as
            each node's own process would: one node answers one peer while another imports
            what a third sent it)."""
            pairs = [(a, b) for a in nodes for b in nodes if a != b]
            if workers == 1:  # in this thread (so a profiler sees it)
                return sum(store(a, b, *answer(a, b)) for a, b in pairs)
            steps: list[tuple[str, str, str, tuple[bytes, int] | None]] = [
                (b, a, b, None) for a, b in pairs
            ]  # (the node it uses, puller, sender, the answer when it is an import)
            busy: set[str] = set()
            running, moved = 0, 0
            cond = threading.Condition()

            def worker() -> None:
                nonlocal moved, running
                while True:
                    with cond:
                        while True:
                            ready = [t for t in steps if t[0] not in busy]
                            step = next((t for t in ready if t[3] is not None), None) or next(
                                iter(ready), None
                            )  # imports first: they free the answers held in memory
                            if step is not None or (not steps and not running):
                                break
                            cond.wait()
                        if step is None:
                            return
                        steps.remove(step)
                        busy.add(step[0])
                        running += 1
                    node, a, b, sent = step
                    body: tuple[bytes, int] | None = None
                    got = 0
                    try:
                        if sent is None:
                            body = answer(a, b)
                        else:
                            got = store(a, b, *sent)
                    finally:
                        with cond:
                            busy.discard(node)
                            running -= 1
                            if body is not None:
                                steps.append((a, a, b, body))
                            moved += got
                            cond.notify_all()

            with ThreadPoolExecutor(workers) as pool:
                for f in [pool.submit(worker) for _ in range(workers)]:
                    f.result()
            return moved

        add(before // len(NATIONS), 0)
        sync_round()
        each = positions // len(NATIONS)
        add(each, 10**9)  # the partition: every node stores its share, nobody syncs
        moved = until_converged(nodes, sync_round, cpu, out)
        out["moved"] = moved
        expected = (each + before // len(NATIONS)) * len(NATIONS)
        counts = procs.each("counts") if procs is not None else {}
        counts.update({n: s.counts() for n, s in stores.items()})
        for n, held in counts.items():
            assert held["positions"] == expected, (n, held, expected)
    finally:
        for store in stores.values():
            store.close()
        if procs is not None:
            procs.close()
        shutil.rmtree(root, ignore_errors=True)
    return out


def markdown_converge(r: dict[str, float], command: str) -> str:
    source = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=BENCH).stdout.strip()  # fmt: skip
    met = "**met**" if r["converge_s"] < 10 else "**not met**"
    return (
        f"\n## bench/share --converge {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n\n"
        f"- Machine: {os.cpu_count()} cores shared with other helpers' tests and benches "
        f"(load average {r['load']:.1f} when the run started); git {source}.\n"
        f"- Command: `{command}`. Five nodes in one process (each its own DuckDB store, keys, "
        "log, outboxes; the HTTP pull's exchange in memory, JSON and back, no sockets), "
        "every node releasing everything to every other.\n\n"
        "| measure | value | goal |\n|---|---:|---|\n"
        f"| backlog stored during the partition (all nodes) | {r['records']:,.0f} | |\n"
        f"| records imported after the heal (each to 4 peers) | {r['moved']:,.0f} | |\n"
        f"| first round (every node pulls from every other) | {r['first_round_s']:.1f} s | |\n"
        f"| converged (all held, every view = every root) | {r['converge_s']:.1f} s in "
        f"{r['rounds']:.0f} rounds | < 10 s: {met} |\n"
    )


def markdown(r: dict[str, float], command: str) -> str:
    source = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=BENCH).stdout.strip()  # fmt: skip

    def goal(ok: bool) -> str:
        return "**met**" if ok else "**not met**"

    return (
        f"\n## bench/share {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n\n"
        f"- Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Linux {platform.release()}; one process, DuckDB stores in a temporary folder; "
        f"load average {r['load']:.1f} when the runs started (other work on the machine).\n"
        f"- Command: `{command}`; seawatch source: git {source}.\n"
        f"- Input: {r['records']:,.0f} released positions under {r['parts']:.0f} labels (and "
        "a NOFORN share never read for the peer), one rule releasing everything.\n\n"
        "| step | records | seconds | records/s | goal |\n|---|---:|---:|---:|---|\n"
        f"| seal (read for peer, rules, split, Parquet, encrypt, sign, log) | "
        f"{r['records']:,.0f} | {r['seal_s']:.2f} | {r['seal_rps']:,.0f} | "
        f"≥ 300,000: {goal(r['seal_rps'] >= GOALS['seal'])} |\n"
        f"| verify + import (signature, proof, digests, decrypt, labels, store write) | "
        f"{r['records']:,.0f} | {r['import_s']:.2f} | {r['import_rps']:,.0f} | "
        f"≥ 1,000,000: {goal(r['import_rps'] >= GOALS['import'])} |\n"
        f"| of which verify only (no store write) | {r['records']:,.0f} | {r['verify_s']:.2f} | "
        f"{r['records'] / r['verify_s']:,.0f} | |\n\n"
        f"Size: bundle {r['bundle_bytes']:,.0f} bytes vs plain Parquet (zstd, one file) "
        f"{r['plain_bytes']:,.0f} bytes: overhead {r['overhead'] * 100:+.1f} % "
        f"(goal ≤ 5 %: {goal(r['overhead'] <= GOALS['overhead'])}). Against one Parquet file "
        f"with the bundle's encodings (delta-encoded integers and times) "
        f"{r['same_bytes']:,.0f} bytes: {r['overhead_same'] * 100:+.1f} % (the split per "
        "label, the encryption and the manifest).\n\n"
        f"Verify + import is bound by the store write ({1 - r['verify_s'] / r['import_s']:.0%} "
        "of its time: DuckDB's deduplicating insert, src/seawatch/store/duck.py); the checks "
        "alone run at the rate of the third row.\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--positions", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=2, help="best of N")
    ap.add_argument("--output-md", action="store_true", help="append to bench/RESULTS.md")
    ap.add_argument("--sync", action="store_true", help="only the pull exchange (printed)")
    ap.add_argument("--converge", action="store_true", help="5 nodes after a partition")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="--converge: exchanges of disjoint node pairs at once")  # fmt: skip
    ap.add_argument("--processes", action="store_true",
                    help="--converge: each node in a process of its own")  # fmt: skip
    ap.add_argument("--serve", action="store_true",
                    help="--converge: five real `seawatch serve` nodes, loopback")  # fmt: skip
    ap.add_argument("--json", action="store_true",
                    help="--converge: answers as JSON, files in base64")  # fmt: skip
    args = ap.parse_args()
    if args.converge:
        if args.serve:
            from share_serve import run_served

            r = run_served(args.positions)
        else:
            r = run_converge(
                args.positions, workers=args.workers, processes=args.processes, binary=not args.json
            )
        for key, value in r.items():
            print(f"{key:>14}: {value:,.3f}")
        if args.output_md:
            command = (
                f"python bench/share.py --converge --positions {args.positions} "
                f"--workers {args.workers}{' --processes' if args.processes else ''}"
                f"{' --serve' if args.serve else ''}"
                f"{' --json' if args.json else ''} --output-md"
            )
            with open(RESULTS, "a", encoding="utf-8") as f:
                f.write(markdown_converge(r, command))
        return
    if args.sync:
        for key, value in run_sync(args.positions).items():
            print(f"{key:>18}: {value:,.3f}")
        return
    r = run(args.positions, args.runs)
    for key, value in r.items():
        print(f"{key:>14}: {value:,.3f}")
    if args.output_md:
        command = "python bench/share.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in (("positions", args.positions),
                                                          ("runs", args.runs))
        ) + " --output-md"  # fmt: skip
        with open(RESULTS, "a", encoding="utf-8") as f:
            f.write(markdown(r, command))


if __name__ == "__main__":
    main()
