"""A node's identity and its partners: `node init` makes the keys once (owner-only files,
never printed), `node show` gives the verifier and encryption keys, `peers add/list/remove`
pin partners with validated keys and clear errors."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import stat
from collections.abc import Callable

import pytest

from seawatch.share.errors import KeyFormatError
from seawatch.share.keys import parse_enc_key, parse_vkey

from .conftest import NodeDir

MakeNode = Callable[[str, str], NodeDir]


def test_init_makes_owner_only_keys_once_and_show_prints_the_public_halves(
    make_node: MakeNode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ind = make_node("IND", "ifc-ior")
    folder = ind.root / "data" / "node"
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["encryption.key", "signing.key"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for p in folder.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    shown = ind.identity()
    assert shown["nation"] == "IND"
    assert shown["name"] == "ifc-ior"
    # the C2SP verifier key: <name>+<hex key id>+<base64(0x01 || key)>, id from name and key
    name, key_id, raw_b64 = shown["vkey"].split("+", 2)
    raw = base64.b64decode(raw_b64)
    assert (name, len(raw), raw[0]) == ("ifc-ior", 33, 1)
    assert key_id == hashlib.sha256(b"ifc-ior\n" + raw).digest()[:4].hex()
    assert len(parse_enc_key(shown["enc_key"])) == 32
    # init again: the keys are kept
    out = ind.run("node", "init", "--nation", "IND")
    assert "keys: kept" in out
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert ind.identity() == shown
    # no private key in any output, repr or log line
    private = [b"".join(v.splitlines()[1:-1]).decode() for v in before.values()]
    texts = [out, ind.run("node", "show"), repr(ind.node().keys), caplog.text]
    assert not any(secret in text for secret in private for text in texts)


def test_a_key_file_readable_by_others_is_refused(make_node: MakeNode) -> None:
    ind = make_node("IND", "ifc-ior")
    key = ind.root / "data" / "node" / "signing.key"
    key.chmod(0o644)
    out = ind.run("node", "show", ok=False)
    assert "chmod 600" in out


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("usa+deadbeef", "expected <name>+<hex key id>+<base64 key>"),
        ("usa+deadbeef+!!!", "not base64"),
        ("usa+deadbeef+AAAA", "32-byte Ed25519 key"),
    ],
)
def test_peers_add_rejects_malformed_keys(make_node: MakeNode, key: str, says: str) -> None:
    ind = make_node("IND", "ifc-ior")
    out = ind.run("peers", "add", "usa", "--nation", "USA", "--key", key, ok=False)
    assert says in out
    with pytest.raises(KeyFormatError, match=says.split("<")[0]):
        parse_vkey(key)


def test_peers_add_list_remove(make_node: MakeNode) -> None:
    ind, usa = make_node("IND", "ifc-ior"), make_node("USA", "usa-c2")
    them = usa.identity()
    # a key whose id does not match its name and key is refused (mistyped or altered)
    name, _, raw = them["vkey"].split("+", 2)
    bad = f"{name}+00000000+{raw}"
    out = ind.run("peers", "add", "x", "--nation", "USA", "--key", bad, ok=False)
    assert "does not match" in out
    out = ind.run("peers", "add", "usa-c2", "--nation", "GBX", "--key", them["vkey"], ok=False)
    assert "not an ISO 3166-1 alpha-3" in out
    out = ind.run("peers", "add", "usa-c2", "--nation", "usa", "--key", them["vkey"],
                  "--enc-key", "x25519:AAAA", ok=False)  # fmt: skip
    assert "32 bytes" in out
    ind.run("peers", "add", "usa-c2", "--nation", "usa", "--key", them["vkey"],
            "--enc-key", them["enc_key"], "--url", "https://c2.example.mil")  # fmt: skip
    out = ind.run("peers", "add", "usa-c2", "--nation", "USA", "--key", them["vkey"], ok=False)
    assert "--replace" in out
    out = ind.run("peers", "add", "again", "--nation", "USA", "--key", them["vkey"], ok=False)
    assert "already pinned for 'usa-c2'" in out
    rows = [json.loads(line) for line in ind.run("peers", "list", "--json").splitlines()]
    assert rows == [
        {"name": "usa-c2", "nation": "USA", "vkey": them["vkey"], "enc_key": them["enc_key"],
         "url": "https://c2.example.mil"}
    ]  # fmt: skip
    assert "usa-c2" in ind.run("peers", "list")
    ind.run("peers", "remove", "usa-c2")
    assert ind.run("peers", "list", "--json") == ""
    own = ind.identity()["vkey"]
    assert "own key" in ind.run("peers", "add", "me", "--nation", "IND", "--key", own, ok=False)
    assert "no peer 'usa-c2'" in ind.run("peers", "remove", "usa-c2", ok=False)
