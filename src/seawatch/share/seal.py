"""Sealing: structured labels, DSSE signatures and per-recipient encryption of bundle parts.

In: a :class:`~seawatch.labels.Label`, bytes to sign, Parquet bytes to encrypt. Out:

- :func:`structured_label`: a label as STANAG 4774 / ADatP-5636 fields (policy,
  classification, categories typed PERMISSIVE ``Releasable To`` / RESTRICTIVE ``Caveat``,
  originator, creation time) plus its CAPCO marking; :func:`label_of` reads it back;
- :func:`dsse_envelope` / :func:`dsse_open`: a DSSE v1 envelope (the signature covers
  ``PAE(payloadType, payload)``, so one kind of statement cannot pass for another);
- :func:`encrypt_part` / :func:`decrypt_part`: AES-256-GCM under a fresh data key per
  part, the data key wrapped for the recipient with X25519 (an ephemeral key per bundle)
  and HKDF-SHA256. Readable offline with the recipient's key alone; no key server.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from seawatch.labels import Label, Policy, parse_label
from seawatch.share.keys import NodeKeys, Verifier

__all__ = [
    "ENC_ALG",
    "MANIFEST_TYPE",
    "Wrapper",
    "b64",
    "decrypt_part",
    "dsse_envelope",
    "dsse_open",
    "encrypt_part",
    "label_of",
    "pae",
    "structured_label",
    "unb64",
]

MANIFEST_TYPE: Final = "application/vnd.seawatch.bundle-manifest.v1+json"
ENC_ALG: Final = "X25519-HKDF-SHA256/AES-256-GCM"
_INFO: Final = b"seawatch bundle v1 key wrap"
_STANAG_CONTEXT: Final = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: Any) -> bytes:
    """Bytes of a base64 string; ValueError for anything else."""
    if not isinstance(text, str):
        raise ValueError("not a base64 string")
    return base64.b64decode(text, validate=True)


def structured_label(label: Label, policy: Policy, created: str) -> dict[str, Any]:
    """``label`` as STANAG 4774-style fields plus its CAPCO ``marking``."""
    categories = []
    rel = label.rel_to_list()
    if rel is not None:
        categories.append({"type": "PERMISSIVE", "name": "Releasable To", "values": rel})
    if label.caveats:
        categories.append(
            {"type": "RESTRICTIVE", "name": "Caveat", "values": sorted(label.caveats)}
        )
    return {
        "context": _STANAG_CONTEXT,
        "policy": policy.of(label).name,
        "classification": label.classification,
        "categories": categories,
        "originator": label.originator,
        "creation_time": created,
        "derived": label.derived,
        "marking": label.marking,
    }


def label_of(fields: Any, policy: Policy) -> Label:
    """The :class:`Label` of structured ``fields``; ValueError/LabelError if they do not
    describe one label consistently (the marking and the fields must agree)."""
    if not isinstance(fields, dict):
        raise ValueError("a label is an object")
    label = parse_label(
        str(fields["marking"]),
        policy,
        originator=str(fields["originator"]),
        derived=bool(fields.get("derived", False)),
    )
    if label.classification != fields["classification"]:
        raise ValueError(f"classification {fields['classification']!r} != marking's")
    cats = {c["name"]: c["values"] for c in fields["categories"]}
    rel = label.rel_to_list()
    if cats.get("Releasable To") != rel or sorted(cats.get("Caveat", [])) != sorted(label.caveats):
        raise ValueError("the categories do not match the marking")
    return label


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def dsse_envelope(payload: bytes, payload_type: str, keys: NodeKeys, name: str) -> bytes:
    sig = keys.sign(pae(payload_type, payload))
    envelope = {
        "payload": b64(payload),
        "payloadType": payload_type,
        "signatures": [{"keyid": keys.verifier(name).vkey, "sig": b64(sig)}],
    }
    return json.dumps(envelope, indent=1).encode() + b"\n"


def dsse_open(envelope: Any, payload_type: str, verifier: Verifier) -> bytes | None:
    """The payload if ``verifier`` signed ``envelope`` for ``payload_type``; else None."""
    if envelope.get("payloadType") != payload_type:
        return None
    payload = unb64(envelope["payload"])
    for sig in envelope["signatures"]:
        if verifier.verify(unb64(sig["sig"]), pae(payload_type, payload)):
            return payload
    return None


class Wrapper:
    """Wraps data keys for one recipient (sender side: a fresh ephemeral key) or unwraps
    them (recipient side: its own key and the sender's ephemeral public key)."""

    def __init__(self, shared: bytes, bundle_id: str, recipient: bytes, ephemeral: bytes):
        info = _INFO + recipient + ephemeral
        hkdf = HKDF(hashes.SHA256(), 32, bundle_id.encode(), info)
        self._kek = AESGCM(hkdf.derive(shared))
        self.ephemeral = ephemeral

    @classmethod
    def to(cls, recipient: bytes, bundle_id: str) -> Wrapper:
        eph = X25519PrivateKey.generate()
        shared = eph.exchange(X25519PublicKey.from_public_bytes(recipient))
        return cls(shared, bundle_id, recipient, eph.public_key().public_bytes_raw())

    @classmethod
    def at(cls, keys: NodeKeys, ephemeral: bytes, bundle_id: str) -> Wrapper:
        return cls(keys.exchange(ephemeral), bundle_id, keys.enc_public, ephemeral)

    def wrap(self, data_key: bytes, aad: bytes) -> dict[str, str]:
        nonce = os.urandom(12)
        return {"nonce": b64(nonce), "wrapped": b64(self._kek.encrypt(nonce, data_key, aad))}

    def unwrap(self, key: Any, aad: bytes) -> bytes:
        """The data key; InvalidTag if it was not wrapped for this recipient."""
        return self._kek.decrypt(unb64(key["nonce"]), unb64(key["wrapped"]), aad)


def encrypt_part(plain: bytes, wrapper: Wrapper, aad: bytes) -> tuple[bytes, dict[str, str]]:
    """``(nonce || ciphertext, wrapped data key)`` of one part."""
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    return nonce + AESGCM(data_key).encrypt(nonce, plain, aad), wrapper.wrap(data_key, aad)


def decrypt_part(sealed: bytes, key: Any, wrapper: Wrapper, aad: bytes) -> bytes:
    """The plaintext of one part; InvalidTag if anything was changed."""
    data_key = wrapper.unwrap(key, aad)
    return AESGCM(data_key).decrypt(sealed[:12], sealed[12:], aad)
