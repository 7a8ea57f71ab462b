"""bench/share --converge --serve: five real ``seawatch serve`` nodes over loopback HTTP.

The realistic figure: each node is its own ``seawatch serve`` process (its DuckDB store,
keys, log, outboxes, rules file), pinned by the others at its loopback URL. Each node's own
key asks its server to pull from a peer (``POST /federation/v1/sync``, as ``seawatch share
pull NAME --via URL`` does); the server then pulls over HTTP from the peer's server, signed
both ways, the answer in the binary form both sides negotiate. Sequence: ``before``
records synced (5 servers started, every node pulls from every other, servers stopped),
then the partition (``positions`` new records written into the five stores while no server
runs), then the servers started again and, timed from there, rounds in which every node
pulls from every other (the five pullers at once, each one peer after another) until a
round moves nothing and every node's view of every log is that log's root. CPU-seconds:
the five servers' (user + system from /proc) over the timed rounds.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

_TICK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cpu_s(pid: int) -> float:
    """User + system CPU-seconds of process ``pid`` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


class Served:
    """The five nodes' ``seawatch serve`` processes."""

    def __init__(self, nodes: dict[str, Any], ports: dict[str, int], root: Path) -> None:
        self.nodes, self.ports, self.root = nodes, ports, root
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        for n, node in self.nodes.items():
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("SEAWATCH_")},
                "SEAWATCH_DATA_DIR": str(node.data_dir),
                "SEAWATCH_NODE_NATION": n,
                "SEAWATCH_NODE_ID": node.name,
            }
            cmd = [sys.executable, "-m", "seawatch.cli.main", "serve", "--port", str(self.ports[n])]
            err = open(self.root / f"{n}.err", "ab")  # noqa: SIM115 (the child holds it)
            self.procs[n] = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 120
        for n in self.nodes:
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{self.ports[n]}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    if self.procs[n].poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError((self.root / f"{n}.err").read_text()) from None
                    time.sleep(0.1)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            proc.wait(timeout=120)
        self.procs = {}

    def cpu_s(self) -> float:
        return sum(_cpu_s(p.pid) for p in self.procs.values())

    def pull(self, a: str, b: str) -> int:
        """``a``'s server pulls from ``b``'s (asked with ``a``'s own key): records stored."""
        from seawatch.share.peers import Peer
        from seawatch.share.sync import PREFIX, signed_post

        na = self.nodes[a]
        me = Peer(na.name, na.nation, na.verifier.vkey, url=f"http://127.0.0.1:{self.ports[a]}")
        peer = self.nodes[b].name
        summary = signed_post(na, me, f"{PREFIX}/sync", {"peer": peer, "direction": "pull"})
        return sum(int(i["stored"]) for i in summary["imported"])

    def sync_round(self) -> int:
        """Every node pulls from every other: the five at once, each peer after another."""

        def puller(a: str) -> int:
            return sum(self.pull(a, b) for b in self.nodes if b != a)

        with ThreadPoolExecutor(len(self.nodes)) as pool:
            return sum(pool.map(puller, list(self.nodes)))


def run_served(positions: int, before: int = 1_000) -> dict[str, float]:
    """See the module; the figures as ``run_converge``'s."""
    import shutil
    import tempfile

    from seawatch.labels import parse_label
    from seawatch.settings import load_settings
    from seawatch.share.keys import enc_key_text
    from seawatch.share.peers import Peers, make_peer
    from seawatch.share.rules import rules_file
    from seawatch.store import open_store
    from share import NATIONS, _node, _positions, until_converged

    root = Path(tempfile.mkdtemp(prefix="seawatch-bench-served-"))
    out: dict[str, float] = {"load": os.getloadavg()[0], "records": positions, "served": 1.0}
    served = None
    try:
        nodes = {n: _node(root, n, f"{n.lower()}-node") for n in NATIONS}
        ports = {n: _free_port() for n in nodes}
        for a in nodes.values():
            for n, b in nodes.items():
                if a is not b:
                    key, url = enc_key_text(b.keys.enc_public), f"http://127.0.0.1:{ports[n]}"
                    Peers(a.data_dir).add(make_peer(b.name, b.nation, b.verifier.vkey, key, url))
            others = [b.name for b in nodes.values() if b is not a]
            rules_file(a.data_dir).write_text("".join(f'[[rule]]\npeer = "{p}"\n' for p in others))

        def add(count: int, start: int) -> None:
            for k, (n, node) in enumerate(nodes.items()):
                env = {"SEAWATCH_DATA_DIR": str(node.data_dir), "SEAWATCH_NODE_NATION": n}
                with open_store(None, load_settings(env=env)) as store, store.transaction():
                    lid = store.label_id(parse_label("UNCLASSIFIED", store.policy, originator=n))
                    store.write("positions", _positions(count, lid, start + k * count))

        served = Served(nodes, ports, root)
        add(before // len(NATIONS), 0)
        served.start()
        served.sync_round()
        served.stop()
        each = positions // len(NATIONS)
        add(each, 10**9)  # the partition: every node stores its share, no server runs
        served.start()
        out["moved"] = until_converged(nodes, served.sync_round, served.cpu_s, out)
        served.stop()
        expected = (each + before // len(NATIONS)) * len(NATIONS)
        for n, node in nodes.items():
            env = {"SEAWATCH_DATA_DIR": str(node.data_dir), "SEAWATCH_NODE_NATION": n}
            with open_store(None, load_settings(env=env)) as store:
                held = store.counts()["positions"]
            assert held == expected, (n, held, expected)
    finally:
        if served is not None and served.procs:
            served.stop()
        shutil.rmtree(root, ignore_errors=True)
    return out
