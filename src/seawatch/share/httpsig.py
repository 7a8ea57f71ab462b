"""Node-to-node HTTP authentication: every request and answer signed with a node's key.

In (sender): this node's keys and name, the request's method, path, body and the pinned
peer it goes to. Out: headers (:func:`sign_request`): ``X-Seawatch-Node`` (the sender's
verifier key), ``X-Seawatch-Time`` (Unix seconds), ``X-Seawatch-Nonce`` (32 hex digits) and
``X-Seawatch-Signature``: base64 of the Ed25519 signature over::

    seawatch-request/1 LF <METHOD> LF <path?query> LF <hex SHA-256 of body> LF
    <time> LF <nonce> LF <the receiving node's verifier key>

In (receiver): those headers. Out: the pinned :class:`~seawatch.share.peers.Peer` that
signed (:meth:`Guard.verify`), or :class:`~seawatch.errors.Unauthorized` (401) saying
which check failed: an unknown or missing key, a time more than :data:`SKEW_S` away, a
nonce seen before (a replay), a signature that does not verify (anything changed, or
signed for another node). The answer is signed too (:func:`sign_response` over the status,
the request's nonce and the body's digest), so the caller knows which node answered: the
authentication is mutual, with no bearer token between nodes.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Mapping
from typing import Final

from seawatch.errors import Unauthorized
from seawatch.share.errors import KeyFormatError
from seawatch.share.keys import NodeKeys, Verifier, parse_vkey
from seawatch.share.peers import Peer, Peers
from seawatch.share.seal import b64, unb64

__all__ = [
    "NODE",
    "NONCE",
    "SIGNATURE",
    "SKEW_S",
    "TIME",
    "Guard",
    "sign_request",
    "sign_response",
    "verify_response",
]

NODE: Final = "X-Seawatch-Node"
TIME: Final = "X-Seawatch-Time"
NONCE: Final = "X-Seawatch-Nonce"
SIGNATURE: Final = "X-Seawatch-Signature"
SKEW_S: Final = 300
"""How far a request's time may be from the receiver's clock (and how long nonces are kept)."""
_NONCE = re.compile(r"[0-9a-f]{32}")


def _request_message(
    method: str, target: str, body: bytes, when: str, nonce: str, audience: str
) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    lines = ["seawatch-request/1", method.upper(), target, digest, when, nonce, audience]
    return "\n".join(lines).encode()


def _response_message(status: int, nonce: str, body: bytes) -> bytes:
    return f"seawatch-response/1\n{status}\n{nonce}\n{hashlib.sha256(body).hexdigest()}".encode()


def sign_request(
    keys: NodeKeys,
    name: str,
    audience: Verifier,
    method: str,
    target: str,
    body: bytes,
    now: float | None = None,
) -> dict[str, str]:
    """The headers authenticating a request to the node ``audience`` (``target``: the path
    and query string as sent)."""
    when = str(int(time.time() if now is None else now))
    nonce = os.urandom(16).hex()
    message = _request_message(method, target, body, when, nonce, audience.vkey)
    return {
        NODE: keys.verifier(name).vkey,
        TIME: when,
        NONCE: nonce,
        SIGNATURE: b64(keys.sign(message)),
    }


def sign_response(keys: NodeKeys, status: int, nonce: str, body: bytes) -> str:
    """The ``X-Seawatch-Signature`` of an answer to the request that carried ``nonce``."""
    return b64(keys.sign(_response_message(status, nonce, body)))


def verify_response(
    peer: Peer, status: int, nonce: str, body: bytes, signature: str | None
) -> bool:
    """Whether ``peer`` signed this answer to the request that carried ``nonce``."""
    try:
        sig = unb64(signature)
    except ValueError:
        return False
    return peer.verifier.verify(sig, _response_message(status, nonce, body))


class Guard:
    """The receiving side: checks signed requests against the pinned peers (and this node
    itself, for requests its own command line makes), and remembers nonces for
    :data:`SKEW_S` so a replayed request is refused. Thread-safe."""

    def __init__(self, skew_s: float = SKEW_S) -> None:
        self.skew_s = skew_s
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def verify(
        self,
        me: Verifier,
        peers: Peers,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        self_ok: bool = False,
        now: float | None = None,
    ) -> Peer:
        """The pinned peer (or, with ``self_ok``, this node as a peer of itself) that
        signed the request; :class:`Unauthorized` naming the failed check otherwise."""
        now = time.time() if now is None else now
        values = [headers.get(h) for h in (NODE, TIME, NONCE, SIGNATURE)]
        if any(v is None for v in values):
            raise Unauthorized(
                f"unsigned request: node requests carry {NODE}, {TIME}, {NONCE} and {SIGNATURE}"
            )
        vkey, when, nonce, signature = (str(v) for v in values)
        try:
            signer = parse_vkey(vkey)
        except KeyFormatError:
            raise Unauthorized(f"{NODE} is not a verifier key") from None
        peer = peers.by_key(signer.public)
        if peer is None and self_ok and signer.public == me.public:
            peer = Peer(me.name, "", me.vkey)
        if peer is None:
            raise Unauthorized("the signing key is not a pinned peer's (seawatch peers add)")
        if not when.isdigit() or abs(int(when) - now) > self.skew_s:
            raise Unauthorized(f"{TIME} is more than {self.skew_s:g} s from this node's clock")
        if not _NONCE.fullmatch(nonce):
            raise Unauthorized(f"{NONCE} is not 32 hex digits")
        try:
            sig = unb64(signature)
        except ValueError:
            sig = b""
        message = _request_message(method, target, body, when, nonce, me.vkey)
        if not peer.verifier.verify(sig, message):
            raise Unauthorized(
                f"the signature of {peer.name} does not verify (changed, or signed for "
                "another node)"
            )
        with self._lock:
            for old in [n for n, expiry in self._seen.items() if expiry < now]:
                del self._seen[old]
            key = f"{signer.public.hex()}/{nonce}"
            if key in self._seen:
                raise Unauthorized(f"a replayed request: {NONCE} was used before")
            self._seen[key] = int(when) + self.skew_s  # refused by its time after that
        return peer
