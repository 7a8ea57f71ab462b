"""C2SP signed notes, tree checkpoints and offline inclusion proofs, as text.

In: a checkpoint (origin, tree size, root hash) and the node's keys, or the text of one.
Out: the C2SP ``tlog-checkpoint`` body (``<origin>\\n<size>\\n<base64 root>\\n``) wrapped in a
``signed-note`` (the body, a blank line, then ``— <key name> <base64(key id || Ed25519
signature over the body)>`` lines), and the ``tlog-proof`` text (``c2sp.org/tlog-proof@v1``,
``index N``, the proof hashes, a blank line, the checkpoint). Third-party C2SP tooling
reads them; :func:`verify_note` checks them with a pinned :class:`~.keys.Verifier`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from seawatch.share.errors import VerifyError
from seawatch.share.keys import NodeKeys, Verifier

__all__ = [
    "Checkpoint",
    "parse_checkpoint",
    "parse_proof",
    "proof_text",
    "sign_note",
    "signed_checkpoint",
    "verify_checkpoint",
    "verify_note",
]

DASH = "\u2014"
PROOF_HEADER = "c2sp.org/tlog-proof@v1"


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: which log (``origin``), how many entries, and their Merkle root."""

    origin: str
    size: int
    root_hash: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root_hash).decode()}\n"


def sign_note(body: str, keys: NodeKeys, name: str) -> str:
    """``body`` (ending in a newline) as a signed note under the key named ``name``."""
    if not body.endswith("\n"):
        raise ValueError("a note body ends with a newline")
    verifier = keys.verifier(name)
    sig = base64.b64encode(verifier.key_id + keys.sign(body.encode())).decode()
    return f"{body}\n{DASH} {name} {sig}\n"


def signed_checkpoint(cp: Checkpoint, keys: NodeKeys, name: str) -> str:
    return sign_note(cp.body(), keys, name)


def _split_note(text: str) -> tuple[str, list[str]]:
    body, sep, sigs = text.rpartition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise VerifyError("signed note", "no blank line before the signature lines")
    return body + "\n", sigs[:-1].split("\n")


def verify_note(text: str, verifier: Verifier) -> str:
    """The body of the signed note ``text`` if ``verifier`` signed it; else VerifyError."""
    body, lines = _split_note(text)
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise VerifyError("signed note", f"malformed signature line {line[:60]!r}")
        if parts[1] != verifier.name:
            continue
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            raise VerifyError("signed note", f"signature of {parts[1]!r} is not base64") from None
        if len(raw) != 68 or raw[:4] != verifier.key_id:
            continue
        if verifier.verify(raw[4:], body.encode()):
            return body
        raise VerifyError("signature", f"the signature of {verifier.name!r} does not verify")
    raise VerifyError(
        "signature", f"no signature by {verifier.name}+{verifier.key_id.hex()} on the note"
    )


def signer_names(text: str) -> list[str]:
    """The key names on the signature lines of ``text`` (unchecked)."""
    _, lines = _split_note(text)
    return [line.split(" ")[1] for line in lines if len(line.split(" ")) == 3]


def parse_checkpoint(body: str) -> Checkpoint:
    """The checkpoint in a note ``body`` (extension lines after the third are ignored)."""
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise VerifyError("checkpoint", "expected origin, size and root hash lines")
    origin, size_text, root_text = lines[:3]
    if not origin or not size_text.isdigit() or (size_text != "0" and size_text[0] == "0"):
        raise VerifyError("checkpoint", f"bad origin or tree size {size_text[:20]!r}")
    try:
        root_hash = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise VerifyError("checkpoint", "root hash is not base64") from None
    if len(root_hash) != 32:
        raise VerifyError("checkpoint", f"root hash has {len(root_hash)} bytes, not 32")
    return Checkpoint(origin, int(size_text), root_hash)


def verify_checkpoint(text: str, verifier: Verifier, origin: str | None = None) -> Checkpoint:
    """The checkpoint in the signed note ``text``, checked against ``verifier`` (and the
    expected ``origin``, when given)."""
    cp = parse_checkpoint(verify_note(text, verifier))
    if origin is not None and cp.origin != origin:
        raise VerifyError("checkpoint", f"origin {cp.origin!r} is not the log {origin!r}")
    return cp


def proof_text(index: int, proof: list[bytes], checkpoint_note: str) -> str:
    """A C2SP ``tlog-proof``: entry ``index``, its inclusion proof, and the checkpoint."""
    hashes = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
    return f"{PROOF_HEADER}\nindex {index}\n{hashes}\n{checkpoint_note}"


def parse_proof(text: str) -> tuple[int, list[bytes], str]:
    """``(index, proof hashes, checkpoint note)`` from a ``tlog-proof`` text."""
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or lines[0] != PROOF_HEADER:
        raise VerifyError("proof", f"not a {PROOF_HEADER} text")
    rest = lines[1:]
    if rest and rest[0].startswith("extra "):
        rest = rest[1:]
    if not rest or not rest[0].startswith("index ") or not rest[0][6:].isdigit():
        raise VerifyError("proof", "no 'index N' line")
    try:
        hashes = [base64.b64decode(line, validate=True) for line in rest[1:]]
    except binascii.Error:
        raise VerifyError("proof", "a proof hash is not base64") from None
    if any(len(h) != 32 for h in hashes):
        raise VerifyError("proof", "a proof hash is not 32 bytes")
    return int(rest[0][6:]), hashes, note
