"""bench/share --converge --processes: each node in a process of its own.

Real nodes are separate processes (on separate machines); in one process the five nodes
of the bench share one GIL. Here each node runs in a process started with ``spawn`` that
holds its own store, keys, log and outboxes and does what the parent asks over a pipe:
store positions, answer a peer's pull (the answer's bytes as on the wire: binary, or JSON
with ``--json``), or check and store an answer. The parent only schedules the steps and
carries the answers' bytes from the sender's process to the puller's (no sockets, no HTTP
server: the exchange is ``answer_pull`` / ``check_answer`` + ``store_answer``, as in the
one-process mode).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any


def _wire() -> Any:
    """seawatch.share.wire, imported when used (``--json`` runs on a version without it)."""
    import seawatch.share.wire

    return seawatch.share.wire


def _serve(conn: Connection, data_dir: str, nation: str, name: str, peers: list[str]) -> None:
    """A node's process: one request at a time from ``conn`` until ``stop``."""
    from seawatch.labels import parse_label
    from seawatch.settings import load_settings
    from seawatch.share.node import Node
    from seawatch.share.rules import Rules, make_rule
    from seawatch.share.sync import answer_pull, check_answer, store_answer
    from seawatch.store import open_store
    from share import _positions

    env = {"SEAWATCH_DATA_DIR": data_dir, "SEAWATCH_NODE_NATION": nation, "SEAWATCH_NODE_ID": name}
    settings = load_settings(env=env)
    node = Node.from_settings(settings)
    rules = Rules([make_rule({"peer": p}) for p in peers])
    with open_store(None, settings) as store:
        conn.send(("ok", None))
        while True:
            op, *args = conn.recv()
            if op == "stop":
                conn.send(("ok", None))
                return
            try:
                value: Any = None
                if op == "add":
                    count, start = args
                    with store.transaction():
                        label = parse_label("UNCLASSIFIED", store.policy, originator=nation)
                        lid = store.label_id(label)
                        store.write("positions", _positions(count, lid, start))
                elif op == "answer":
                    puller, after, binary = args
                    peer = node.peers().get(puller)
                    raw = {"raw": True} if binary else {}  # (an older version has no raw=)
                    answer = answer_pull(store, node, peer, rules, after, **raw)
                    value = _wire().encode_answer(answer) if binary else json.dumps(answer).encode()
                elif op == "store":
                    sender, body, after, binary = args
                    got = _wire().decode_answer(body) if binary else json.loads(body)
                    checked = check_answer(node, node.peers().get(sender), got, after)
                    value = sum(i.stored for i in store_answer(store, node, checked).imported)
                elif op == "cpu":
                    value = time.process_time()
                elif op == "counts":
                    value = store.counts()
                else:
                    raise ValueError(f"unknown request {op!r}")
                conn.send(("ok", value))
            except Exception as exc:  # reported to the parent, which raises it
                conn.send(("error", f"{type(exc).__name__}: {exc}"))


class NodeProcesses:
    """One process per node (by nation), each holding its node's store."""

    def __init__(self, nodes: dict[str, Any]) -> None:
        ctx = mp.get_context("spawn")
        self.conns: dict[str, Connection] = {}
        self.procs: list[Any] = []
        for nation, node in nodes.items():
            parent, child = ctx.Pipe()
            peers = [other.name for other in nodes.values() if other is not node]
            args = (child, str(Path(node.data_dir)), nation, node.name, peers)
            proc = ctx.Process(target=_serve, args=args, daemon=True)
            proc.start()
            self.conns[nation], self.procs = parent, [*self.procs, proc]
        for nation in nodes:
            self._answer(nation)  # started, store open

    def _answer(self, nation: str) -> Any:
        status, value = self.conns[nation].recv()
        if status != "ok":
            raise RuntimeError(f"node {nation}: {value}")
        return value

    def call(self, nation: str, *request: Any) -> Any:
        self.conns[nation].send(request)
        return self._answer(nation)

    def each(self, *request: Any) -> dict[str, Any]:
        """The same request to every node at once; their answers."""
        for conn in self.conns.values():
            conn.send(request)
        return {nation: self._answer(nation) for nation in self.conns}

    def close(self) -> None:
        for nation in self.conns:
            with contextlib.suppress(OSError, EOFError, RuntimeError):
                self.call(nation, "stop")
        for proc in self.procs:
            proc.join(timeout=30)
