"""Three real nodes on loopback, each its own data directory, store, keys and `seawatch
serve` process: IND releases to USA and JPN under its rules; USA pulls through its own
server, IND's server pushes to JPN; JPN receives only what is REL TO JPN; syncing again
brings nothing new and duplicates nothing; an unknown key, an unsigned, altered or
replayed request is a 401 problem, never a traceback; a retraction reaches USA at its
next pull."""

from __future__ import annotations

import base64
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import pyarrow as pa
import pytest

from seawatch.labels import parse_label
from seawatch.share.errors import SyncError
from seawatch.share.httpsig import sign_request
from seawatch.share.rules import Rules, rules_file
from seawatch.share.sync import answer_pull, signed_post
from seawatch.share.wire import MEDIA_TYPE, decode_answer
from seawatch.share.witness import Witness, cosignature_time

from .conftest import NodeDir
from .test_bundles import T0, TS, fill, held, log_kinds, store_of

MakeNode = Callable[[str, str], NodeDir]
REL_JPN = "CONFIDENTIAL//REL TO IND, JPN"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """`seawatch serve` as ``node``, on a free loopback port."""

    def __init__(self, node: NodeDir, *extra: str, port: int | None = None) -> None:
        self.node = node
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "seawatch.cli.main", "serve", "--port", str(self.port)]
        cmd += extra
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SEAWATCH_")},
            **node.values,
        }
        self.err = open(node.root / "serve.err", "w+")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=self.err)

    def wait(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/healthz", timeout=1).raise_for_status()
                return
            except httpx.TransportError:
                assert self.proc.poll() is None, (self.node.root / "serve.err").read_text()
                assert time.monotonic() < deadline, "seawatch serve did not start"
                time.sleep(0.1)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self.err.close()
        err = (self.node.root / "serve.err").read_text()
        assert self.proc.returncode == 0, err
        return err


def _with_url(a: NodeDir, b: NodeDir, url: str) -> None:
    """``a`` pins ``b`` at ``url``."""
    them = b.identity()
    a.run("peers", "add", b.name, "--nation", b.nation, "--key", them["vkey"],
          "--enc-key", them["enc_key"], "--url", url, "--replace")  # fmt: skip


@pytest.fixture
def three(make_node: MakeNode) -> Iterator[dict[str, tuple[NodeDir, Server]]]:
    ind, usa = make_node("IND", "ifc-ior"), make_node("USA", "usa-c2")
    jpn, rogue = make_node("JPN", "jpn-mof"), make_node("USA", "rogue")
    fill(ind)
    with store_of(ind) as store, store.transaction():
        lid = store.label_id(parse_label(REL_JPN, store.policy, originator="IND"))
        n = 15
        store.write("positions", pa.table({
            "msg_key": pa.array(range(1000, 1000 + n), pa.int64()),
            "ts": pa.array([T0 + dt.timedelta(minutes=i) for i in range(n)], TS),
            "mmsi": pa.array([431000000 + i % 3 for i in range(n)], pa.int32()),
            "lat": [30.0] * n, "lon": [135.0] * n,
            "label_id": pa.array([lid] * n, pa.int32()),
        }))  # fmt: skip
    for node in (usa, jpn, rogue):
        node.run("db", "migrate")
    servers = {n.name: Server(n) for n in (ind, usa, jpn)}
    for node in (usa, jpn):
        _with_url(ind, node, servers[node.name].url)
        _with_url(node, ind, servers["ifc-ior"].url)
    _with_url(rogue, ind, servers["ifc-ior"].url)  # rogue pins IND; IND does not know it
    ind.run("share", "allow", "usa-c2")
    ind.run("share", "allow", "jpn-mof")
    for s in servers.values():
        s.wait()
    try:
        yield {
            n.name: (n, servers.get(n.name) or servers["ifc-ior"]) for n in (ind, usa, jpn, rogue)
        }
    finally:
        for s in servers.values():
            if s.proc.poll() is None:
                s.stop()


def test_pull_over_http_three_nodes(three: dict[str, tuple[NodeDir, Server]]) -> None:
    (ind, ind_srv), (usa, usa_srv), (jpn, jpn_srv) = (
        three["ifc-ior"], three["usa-c2"], three["jpn-mof"],
    )  # fmt: skip
    out = usa.run("share", "pull", "ifc-ior", "--via", usa_srv.url)
    assert "83 records" in out  # 50 UNCLASSIFIED + 30 REL TO IND, USA positions, 3 events
    # JPN gets it by push: IND's server asks JPN's what it verified, then sends it
    out = ind.run("share", "push", "jpn-mof", "--via", ind_srv.url)
    assert "68 records" in out  # 50 UNCLASSIFIED + 15 REL TO IND, JPN positions, 3 events
    assert "0 bundle(s)" in ind.run("share", "push", "jpn-mof", "--via", ind_srv.url)
    # again: nothing new is sealed, nothing is resent, nothing is duplicated
    for node, srv in ((usa, usa_srv), (jpn, jpn_srv)):
        assert "0 bundle(s)" in node.run("share", "pull", "ifc-ior", "--via", srv.url)
    # a node IND never pinned is refused, and says so (exit 1, no traceback)
    rogue, _ = three["rogue"]
    out = rogue.run("share", "pull", "ifc-ior", ok=False)
    assert "401" in out
    assert "not a pinned peer" in out
    # unsigned, altered and replayed requests: 401 problem+json
    url = f"{ind_srv.url}/federation/v1/pull"
    r = httpx.post(url, content=b'{"after": 0}')
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert "unsigned" in r.json()["detail"]
    me = usa.node()
    body = b'{"after": 0}'
    headers = sign_request(
        me.keys, me.name, ind.node().verifier, "POST", "/federation/v1/pull", body
    )
    r = httpx.post(url, content=b'{"after": 1}', headers=headers)
    assert r.status_code == 401
    assert "does not verify" in r.json()["detail"]
    headers = sign_request(
        me.keys, me.name, ind.node().verifier, "POST", "/federation/v1/pull", body
    )
    assert httpx.post(url, content=body, headers=headers).status_code == 200
    r = httpx.post(url, content=body, headers=headers)
    assert r.status_code == 401
    assert "replayed" in r.json()["detail"]
    # formats: a pull naming none is answered in JSON (files in base64), one naming
    # seawatch-pull/2 in the binary form (share.wire): the same answer
    answers, path = [], "/federation/v1/pull"
    for ask, kind in ((b'{"after": 0}', "application/json"),
                      (b'{"after": 0, "formats": ["seawatch-pull/2"]}', MEDIA_TYPE)):  # fmt: skip
        signed = sign_request(me.keys, me.name, ind.node().verifier, "POST", path, ask)
        r = httpx.post(url, content=ask, headers=signed)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith(kind)
        answers.append(r.json() if kind == "application/json" else decode_answer(r.content))
    as_json, as_binary = answers
    assert as_binary["bundles"]
    assert as_binary["bundles"] == [
        {k: base64.b64decode(v) for k, v in b.items()} for b in as_json["bundles"]
    ]
    assert {**as_json, "bundles": []} == {**as_binary, "bundles": []}
    # a binary push that is not a well-formed answer: 400 problem, nothing stored
    bad = b"seawatch-pull/2\n" + (99).to_bytes(8, "big") + b"{}"
    signed = sign_request(me.keys, me.name, ind.node().verifier, "POST", "/federation/v1/push", bad)
    r = httpx.post(f"{ind_srv.url}/federation/v1/push", content=bad,
                   headers={**signed, "Content-Type": MEDIA_TYPE})  # fmt: skip
    assert r.status_code == 400
    assert "seawatch-pull/2" in r.json()["detail"]
    # signed for another node (JPN's server): refused there
    r = httpx.post(f"{jpn_srv.url}/federation/v1/sync", content=body, headers=headers)
    assert r.status_code == 401
    # IND retracts what it released to USA (its log and files only: its server runs on)
    outbox = ind.root / "data" / "share" / "outbox" / "usa-c2"
    (bundle,) = [p.name for p in outbox.iterdir() if p.is_dir()]
    ind.run("share", "retract", "--bundle", bundle, "--reason", "wrong area")
    out = usa.run("share", "pull", "ifc-ior", "--via", usa_srv.url)
    assert "83 records removed" in out  # 80 positions, 3 events
    assert "0 bundle(s)" in out
    assert "removed" not in usa.run("share", "pull", "ifc-ior", "--via", usa_srv.url)
    assert "removed" not in jpn.run("share", "pull", "ifc-ior", "--via", jpn_srv.url)
    for srv in (ind_srv, usa_srv, jpn_srv):
        err = srv.stop()
        assert "Traceback" not in err
    assert held(usa) == {}  # retracted
    assert held(jpn) == {("IND", "UNCLASSIFIED"): 50, ("IND", REL_JPN): 15}
    # one release per peer, however often they pulled
    assert log_kinds(ind).count("release") == 2
    assert log_kinds(usa) == ["import", "receipt"]
    for node in (ind, usa, jpn):
        assert "verified" in node.run("audit", "verify")
    # witnessing: each cosigned IND's checkpoint in the exchange (pull and push alike)
    for node in (usa, jpn):
        me = node.node()
        assert Witness(me).best(me.peers().get("ifc-ior")) is not None
        (note,) = Witness(me).held()
        assert cosignature_time(note, me.verifier) is not None


def test_a_json_push_from_an_older_node_is_stored(make_node: MakeNode) -> None:
    """A node that knows only the JSON form (files in base64, no ``formats``) pushes to a
    node of this version: its ``/seen`` answer offers the binary form, the pusher ignores
    it and posts JSON, and the records are stored as a binary push would store them."""
    ind, jpn = make_node("IND", "ifc-ior"), make_node("JPN", "jpn-mof")
    fill(ind)
    jpn.run("db", "migrate")
    server = Server(jpn)
    try:
        _with_url(ind, jpn, server.url)
        _with_url(jpn, ind, "http://127.0.0.1:9")  # pinned; never called back here
        ind.run("share", "allow", "jpn-mof")
        server.wait()
        node = ind.node()
        peer = node.peers().get("jpn-mof")
        state = signed_post(node, peer, "/federation/v1/seen", {})
        assert "seawatch-pull/2" in state["formats"]  # offered, and not taken
        with store_of(ind) as store:
            rules = Rules.load(rules_file(node.data_dir))
            answer = answer_pull(store, node, peer, rules, int(state["after"]), raw=False)
        assert all(isinstance(v, str) for b in answer["bundles"] for v in b.values())
        summary = signed_post(node, peer, "/federation/v1/push", answer)  # JSON
        (got,) = summary["imported"]
        assert got["counts"] == {"UNCLASSIFIED": 53}  # 50 positions and 3 events
        assert (got["stored"], got["repeat"]) == (50, False)
        with pytest.raises(SyncError, match="424: stale"):  # an answer from before it
            signed_post(node, peer, "/federation/v1/push", answer)
        state = signed_post(node, peer, "/federation/v1/seen", {})
        with store_of(ind) as store:
            rules = Rules.load(rules_file(node.data_dir))
            answer = answer_pull(store, node, peer, rules, int(state["after"]), raw=False)
        again = signed_post(node, peer, "/federation/v1/push", answer)
        assert again["imported"] == []  # nothing new: nothing stored twice
    finally:
        server.stop()
    with store_of(jpn) as store:
        assert store.counts()["positions"] == 50
