"""The node's keys and the public forms partners pin.

In: the data directory. Out: :class:`NodeKeys` (an Ed25519 signing key and an X25519
encryption key, created once by :func:`init_keys` under ``<data_dir>/node/`` as PKCS#8 PEM
files readable by the owner only, mode 0600) and the public strings a partner pins:

- the verifier key, C2SP signed-note form ``<name>+<hex key id>+<base64(0x01 || pubkey)>``
  (:func:`vkey`, parsed back by :func:`parse_vkey`), whose key id is the first 4 bytes of
  ``SHA-256(name || "\\n" || 0x01 || pubkey)``;
- the encryption key, ``x25519:<base64 of the 32-byte public key>`` (:func:`enc_key_text`,
  :func:`parse_enc_key`).

Private keys never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from seawatch.share.errors import KeyFormatError

__all__ = [
    "ED25519_ALG",
    "NodeKeys",
    "Verifier",
    "enc_key_text",
    "init_keys",
    "key_dir",
    "keys_exist",
    "load_keys",
    "parse_enc_key",
    "parse_vkey",
]

ED25519_ALG: Final = 0x01
"""Signature type byte of Ed25519 in C2SP signed notes."""
SIGNING_FILE: Final = "signing.key"
ENCRYPTION_FILE: Final = "encryption.key"
ENC_PREFIX: Final = "x25519:"
_NAME = re.compile(r"[^\s+]+")


def key_dir(data_dir: Path) -> Path:
    """Where the node's private keys live: ``<data_dir>/node``."""
    return Path(data_dir) / "node"


def key_id(name: str, public: bytes) -> bytes:
    """The 4-byte key id of an Ed25519 key in C2SP signed notes."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519_ALG]) + public).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key: what checks a node's signatures."""

    name: str
    public: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public)

    @property
    def vkey(self) -> str:
        raw = base64.b64encode(bytes([ED25519_ALG]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{raw}"

    def verify(self, signature: bytes, message: bytes) -> bool:
        """Whether ``signature`` is this key's over ``message``. A triple that verified
        is remembered (by its SHA-256; the last :data:`VERIFIED_KEPT`): witness state and
        answers hold the same signed notes over and over, and the same triple always
        verifies the same way."""
        seen = hashlib.sha256(
            len(signature).to_bytes(4, "big") + signature + self.public + message
        ).digest()
        if seen in _VERIFIED:
            return True
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except InvalidSignature:
            return False
        if len(_VERIFIED) >= VERIFIED_KEPT:
            _VERIFIED.pop(next(iter(_VERIFIED)), None)
        _VERIFIED[seen] = None
        return True


VERIFIED_KEPT: Final = 4096
_VERIFIED: dict[bytes, None] = {}
"""Digests of (signature, key, message) triples that verified (see Verifier.verify)."""


@functools.lru_cache(maxsize=256)  # peers' keys are parsed again at every exchange
def parse_vkey(text: str) -> Verifier:
    """The :class:`Verifier` written as ``text`` (C2SP form); a clear error if malformed
    (a key that parses is remembered: the result is immutable)."""
    parts = text.strip().split("+", 2)  # the base64 key may hold "+" itself
    if len(parts) != 3:
        raise KeyFormatError(
            f"verifier key {text.strip()[:80]!r}: expected <name>+<hex key id>+<base64 key> "
            "(as `seawatch node show` prints it)"
        )
    name, hex_id, b64 = parts
    if not _NAME.fullmatch(name):
        raise KeyFormatError(f"verifier key: name {name!r} is empty or has spaces")
    try:
        raw = base64.b64decode(b64, validate=True)
    except binascii.Error:
        raise KeyFormatError(f"verifier key of {name!r}: the key part is not base64") from None
    if len(raw) != 33 or raw[0] != ED25519_ALG:
        raise KeyFormatError(
            f"verifier key of {name!r}: expected 0x01 and a 32-byte Ed25519 key "
            f"({len(raw)} bytes given)"
        )
    found = Verifier(name, raw[1:])
    if hex_id.lower() != found.key_id.hex():
        raise KeyFormatError(
            f"verifier key of {name!r}: key id {hex_id} does not match the name and key "
            f"({found.key_id.hex()} expected); the key was mistyped or altered"
        )
    return found


def enc_key_text(public: bytes) -> str:
    """The printed form of an X25519 public key."""
    return ENC_PREFIX + base64.b64encode(public).decode()


def parse_enc_key(text: str) -> bytes:
    """The 32-byte X25519 public key written as ``text`` (``x25519:<base64>``)."""
    body = text.strip()
    if not body.startswith(ENC_PREFIX):
        raise KeyFormatError(f"encryption key {body[:60]!r}: expected x25519:<base64>")
    try:
        raw = base64.b64decode(body.removeprefix(ENC_PREFIX), validate=True)
    except binascii.Error:
        raise KeyFormatError("encryption key: not base64 after 'x25519:'") from None
    if len(raw) != 32:
        raise KeyFormatError(f"encryption key: expected 32 bytes, got {len(raw)}")
    return raw


class NodeKeys:
    """This node's private keys. The repr shows only the public halves."""

    __slots__ = ("_enc", "_sign")

    def __init__(self, sign: Ed25519PrivateKey, enc: X25519PrivateKey) -> None:
        self._sign = sign
        self._enc = enc

    @property
    def sign_public(self) -> bytes:
        return self._sign.public_key().public_bytes_raw()

    @property
    def enc_public(self) -> bytes:
        return self._enc.public_key().public_bytes_raw()

    def verifier(self, name: str) -> Verifier:
        return Verifier(name, self.sign_public)

    def sign(self, message: bytes) -> bytes:
        return self._sign.sign(message)

    def exchange(self, peer_public: bytes) -> bytes:
        """X25519 shared secret with ``peer_public``."""
        return self._enc.exchange(X25519PublicKey.from_public_bytes(peer_public))

    def __repr__(self) -> str:
        return f"NodeKeys(sign={self.sign_public.hex()[:16]}…, enc={self.enc_public.hex()[:16]}…)"


def _write_private(path: Path, pem: bytes) -> None:
    """Create ``path`` with mode 0600 (never replacing an existing key)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())


def _pem(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def init_keys(data_dir: Path) -> tuple[NodeKeys, bool]:
    """The node's keys, created if missing (existing ones are kept). Returns
    ``(keys, created)``: ``created`` is true when at least one key was made now."""
    folder = key_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    created = False
    for name, make in ((SIGNING_FILE, Ed25519PrivateKey), (ENCRYPTION_FILE, X25519PrivateKey)):
        path = folder / name
        if not path.exists():
            _write_private(path, _pem(make.generate()))
            created = True
    return load_keys(data_dir), created


def _read_private(path: Path) -> object:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFormatError(f"cannot read key file '{path}': {exc.strerror}") from None
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise KeyFormatError(
            f"key file '{path}' is readable by others: make it owner-only "
            f"(chmod 600 '{path}') before using it"
        )
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyFormatError(f"key file '{path}' is not a PKCS#8 PEM private key") from None


def load_keys(data_dir: Path) -> NodeKeys:
    """The node's keys; a clear error if ``seawatch node init`` has not made them."""
    folder = key_dir(data_dir)
    if not (folder / SIGNING_FILE).exists() or not (folder / ENCRYPTION_FILE).exists():
        raise KeyFormatError(
            f"this node has no keys in '{folder}': create them with "
            "`seawatch node init --nation AAA` (with the same SEAWATCH_DATA_DIR)"
        )
    sign = _read_private(folder / SIGNING_FILE)
    enc = _read_private(folder / ENCRYPTION_FILE)
    if not isinstance(sign, Ed25519PrivateKey) or not isinstance(enc, X25519PrivateKey):
        raise KeyFormatError(f"key files in '{folder}' are not Ed25519 and X25519 keys")
    return NodeKeys(sign, enc)


def keys_exist(data_dir: Path) -> bool:
    folder = key_dir(data_dir)
    return (folder / SIGNING_FILE).exists() and (folder / ENCRYPTION_FILE).exists()
