"""The partner nodes this node knows, with the keys pinned for them.

In: ``peers add`` arguments (name, nation, verifier key, encryption key, URL). Out:
``<data_dir>/peers.json`` (written atomically), read back as :class:`Peer` values. A peer's
verifier key checks its signatures (bundles, checkpoints); its encryption key is what
courier bundles are encrypted to. Keys are validated when added, never guessed later.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from seawatch.labels.countries import is_nation
from seawatch.share.errors import PeerError
from seawatch.share.files import write_atomic
from seawatch.share.keys import Verifier, parse_enc_key, parse_vkey

__all__ = ["Peer", "Peers", "peers_file"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def peers_file(data_dir: Path) -> Path:
    return Path(data_dir) / "peers.json"


@dataclass(frozen=True)
class Peer:
    """A pinned partner: its name here, nation, verifier key, encryption key and URL."""

    name: str
    nation: str
    vkey: str
    enc_key: str | None = None
    url: str | None = None

    @property
    def verifier(self) -> Verifier:
        return parse_vkey(self.vkey)

    @property
    def enc_public(self) -> bytes:
        if self.enc_key is None:
            raise PeerError(
                f"peer {self.name!r} has no encryption key: add it with `seawatch peers add "
                f"{self.name} --nation {self.nation} --key ... --enc-key x25519:... --replace`"
            )
        return parse_enc_key(self.enc_key)


def make_peer(
    name: str, nation: str, vkey: str, enc_key: str | None = None, url: str | None = None
) -> Peer:
    """A validated :class:`Peer` (clear errors for a bad name, nation, key or URL)."""
    if not _NAME.fullmatch(name):
        raise PeerError(f"peer name {name!r}: letters, digits, '.', '_', '-' (up to 64)")
    code = nation.strip().upper()
    if not is_nation(code):
        raise PeerError(f"peer {name!r}: {nation!r} is not an ISO 3166-1 alpha-3 nation code")
    parse_vkey(vkey)
    if enc_key is not None:
        parse_enc_key(enc_key)
    if url is not None and not re.fullmatch(r"https?://[^\s]+", url):
        raise PeerError(f"peer {name!r}: URL {url!r} is not an http(s) URL")
    return Peer(name, code, vkey.strip(), enc_key.strip() if enc_key else None, url)


class Peers:
    """The peers in ``<data_dir>/peers.json``."""

    def __init__(self, data_dir: Path) -> None:
        self.path = peers_file(data_dir)
        self.peers: dict[str, Peer] = {}
        if self.path.exists():
            self.peers = {p.name: p for p in self._load()}

    def _load(self) -> list[Peer]:
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
            return [make_peer(**row) for row in data["peers"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PeerError(f"peers file '{self.path}' cannot be read: {exc}") from None

    def save(self) -> None:
        rows = [asdict(p) for p in sorted(self.peers.values(), key=lambda p: p.name)]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"peers": rows}, indent=2, ensure_ascii=False) + "\n"
        write_atomic(self.path, text.encode())

    def add(self, peer: Peer, replace: bool = False) -> None:
        if peer.name in self.peers and not replace:
            raise PeerError(f"peer {peer.name!r} is already known: give --replace to change it")
        for other in self.peers.values():
            if other.name != peer.name and other.verifier.public == peer.verifier.public:
                raise PeerError(
                    f"peer {peer.name!r}: its signing key is already pinned for {other.name!r}"
                )
        self.peers[peer.name] = peer
        self.save()

    def remove(self, name: str) -> Peer:
        if name not in self.peers:
            raise PeerError(f"no peer {name!r} (see `seawatch peers list`)")
        peer = self.peers.pop(name)
        self.save()
        return peer

    def get(self, name: str) -> Peer:
        if name not in self.peers:
            raise PeerError(f"no peer {name!r} (add it with `seawatch peers add`)")
        return self.peers[name]

    def by_key(self, public: bytes) -> Peer | None:
        """The peer whose signing key is ``public``, if pinned."""
        for peer in self.peers.values():
            if peer.verifier.public == public:
                return peer
        return None
