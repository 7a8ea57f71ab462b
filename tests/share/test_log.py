"""The audit log: appends are signed C2SP checkpoints over an RFC 6962 tree; `audit verify`
catches any change to the files (a flipped byte, a lost entry, a checkpoint signed by
another key); `audit prove` gives an offline tlog-proof; `audit export` writes what anyone
can check with their own code (here: plain hashlib and cryptography, no seawatch)."""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.share import merkle
from seawatch.share.errors import VerifyError
from seawatch.share.keys import NodeKeys, init_keys
from seawatch.share.log import AuditLog, verify_log
from seawatch.share.note import parse_proof, verify_checkpoint

from .conftest import NodeDir

MakeNode = Callable[[str, str], NodeDir]


def _entries(n: int, start: int = 0) -> list[dict[str, object]]:
    return [{"kind": "release", "peer": "usa-c2", "records": i, "note": "é\n"} for i in
            range(start, start + n)]  # fmt: skip


def _independent_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH written out again, from the RFC text only."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    left, right = _independent_root(leaves[:k]), _independent_root(leaves[k:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def test_export_verifies_with_independent_code(make_node: MakeNode, tmp_path: Path) -> None:
    ind = make_node("IND", "ifc-ior")
    node = ind.node()
    for batch in (3, 1, 5):
        node.record(*_entries(batch))
    out = ind.run("audit", "export", str(tmp_path / "out"))
    assert "9 entries" in out
    lines = (tmp_path / "out" / "entries.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["index"] for r in rows] == list(range(9))
    leaves = [base64.b64decode(r["leaf"]) for r in rows]
    assert [json.loads(leaf) for leaf in leaves] == [r["entry"] for r in rows]
    # the verifier key: name+id+base64(0x01 || key)
    name, key_id, b64 = (tmp_path / "out" / "key.vkey").read_text().strip().split("+", 2)
    raw = base64.b64decode(b64)
    assert raw[0] == 1
    assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == key_id
    # the checkpoint: origin, size, root; a blank line; "— name base64(id || signature)"
    text = (tmp_path / "out" / "checkpoint").read_text()
    body, sig_lines = text.split("\n\n")
    origin, size, root_b64 = body.split("\n")
    assert (origin, int(size)) == ("seawatch/IND/ifc-ior", 9)
    assert base64.b64decode(root_b64) == _independent_root(leaves)
    dash, signer, sig_b64 = sig_lines.strip().split(" ")
    assert (dash, signer) == ("\u2014", name)
    sig = base64.b64decode(sig_b64)
    assert sig[:4].hex() == key_id
    Ed25519PublicKey.from_public_bytes(raw[1:]).verify(sig[4:], (body + "\n").encode())


def test_verify_and_prove(make_node: MakeNode) -> None:
    ind = make_node("IND", "ifc-ior")
    node = ind.node()
    first, note = node.record(*_entries(6))
    assert first == 0
    assert node.record(*_entries(2))[0] == 6
    out = ind.run("audit", "verify")
    assert "8 entries" in out
    assert "2 checkpoint(s) verified" in out
    for i in range(8):
        index, proof, cp_note = parse_proof(ind.run("audit", "prove", str(i)))
        cp = verify_checkpoint(cp_note, node.verifier, node.origin)
        leaf = merkle.leaf_hash(node.log().entries[i])
        assert index == i
        assert merkle.verify_inclusion(i, cp.size, leaf, proof, cp.root_hash)
    assert "holds 8 entries" in ind.run("audit", "prove", "8", ok=False)
    # an old checkpoint is consistent with the newer tree
    log = node.log()
    old = verify_checkpoint(note, node.verifier)
    new_root = merkle.root(log.leaves)
    assert merkle.verify_consistency(6, 8, log.consistency(6, 8), old.root_hash, new_root)


def _signed_log(tmp_path: Path, n: int = 5) -> tuple[AuditLog, NodeKeys]:
    keys, _ = init_keys(tmp_path)
    log = AuditLog.open(tmp_path, "seawatch/IND/test")
    log.append(_entries(n - 2), keys, "test")
    log.append(_entries(2, n - 2), keys, "test")
    return log, keys


def test_tampered_logs_fail_verify(tmp_path: Path) -> None:
    log, keys = _signed_log(tmp_path)
    assert verify_log(log, keys.sign_public).checkpoints == 2
    entries = tmp_path / "log" / "entries"
    data = entries.read_bytes()
    # an entry changed, still canonical JSON: the root no longer matches
    entries.write_bytes(data.replace(b'"records":1', b'"records":7'))
    with pytest.raises(VerifyError, match="root"):
        verify_log(AuditLog.open(tmp_path), keys.sign_public)
    # entries lost: a checkpoint covers more than the log holds
    entries.write_bytes(data[: data.rfind(b"\n", 0, -1) + 1])
    with pytest.raises(VerifyError, match="entries lost"):
        verify_log(AuditLog.open(tmp_path), keys.sign_public)
    entries.write_bytes(data)
    # a checkpoint signed by another key under the same name
    other, _ = init_keys(tmp_path / "other")
    forged = AuditLog.open(tmp_path)
    forged.sign(other, "test")
    with pytest.raises(VerifyError, match="signature"):
        verify_log(AuditLog.open(tmp_path), keys.sign_public)


def test_a_torn_last_line_is_cut_off_by_the_next_append(tmp_path: Path) -> None:
    _, keys = _signed_log(tmp_path)
    with open(tmp_path / "log" / "entries", "ab") as f:
        f.write(b'{"kind":"rel')  # a crash in the middle of an append
    reopened = AuditLog.open(tmp_path)
    assert reopened.size == 5
    reopened.append(_entries(1), keys, "test")
    again = AuditLog.open(tmp_path)
    assert again.size == 6
    assert verify_log(again, keys.sign_public).checkpointed == 6


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_any_flipped_byte_in_the_log_fails_verify(tmp_path: Path, data: st.DataObject) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    _, keys = _signed_log(folder, n=7)
    name = data.draw(st.sampled_from(["entries", "checkpoints/7.note", "checkpoints/5.note"]))
    path = folder / "log" / name
    raw = bytearray(path.read_bytes())
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] ^= data.draw(st.integers(1, 255))
    path.write_bytes(bytes(raw))
    with pytest.raises(VerifyError):
        verify_log(AuditLog.open(folder), keys.sign_public)
