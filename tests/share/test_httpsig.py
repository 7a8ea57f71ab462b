"""Node request signatures, checked in process: each check refuses with its own reason
(the 3-node test sends real unsigned, altered and replayed requests)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from seawatch.errors import Unauthorized
from seawatch.share.httpsig import (
    NONCE,
    SIGNATURE,
    TIME,
    Guard,
    sign_request,
    sign_response,
    verify_response,
)
from seawatch.share.peers import Peer

from .conftest import NodeDir
from .test_bundles import pin

MakeNode = Callable[[str, str], NodeDir]
PATH = "/federation/v1/pull"
BODY = b'{"after": 0}'
NOW = 1_800_000_000.0


def test_each_check_refuses_with_its_reason(make_node: MakeNode) -> None:
    ind, usa, jpn = make_node("IND", "ifc-ior"), make_node("USA", "usa-c2"), make_node("JPN", "j")
    pin(ind, usa)
    me, them = ind.node(), usa.node()
    guard = Guard()

    def check(headers: dict[str, str], body: bytes = BODY, now: float = NOW) -> Peer:
        return guard.verify(me.verifier, me.peers(), "POST", PATH, headers, body, now=now)

    def signed(now: float = NOW, audience: NodeDir = ind) -> dict[str, str]:
        aud = audience.node().verifier
        return sign_request(them.keys, them.name, aud, "POST", PATH, BODY, now=now)

    assert check(signed()).name == "usa-c2"
    cases = [
        ({**signed(), TIME: str(int(NOW) - 301)}, "from this node's clock"),
        (signed(now=NOW + 400), "from this node's clock"),
        ({**signed(), NONCE: "xyz"}, "32 hex digits"),
        ({**signed(), SIGNATURE: "!!"}, "does not verify"),
        (signed(audience=jpn), "does not verify"),  # signed for another node
    ]
    for headers, reason in cases:
        with pytest.raises(Unauthorized, match=reason):
            check(headers)
    with pytest.raises(Unauthorized, match="does not verify"):
        check(signed(), body=b'{"after": 9}')
    stranger = jpn.node()
    headers = sign_request(stranger.keys, stranger.name, me.verifier, "POST", PATH, BODY, now=NOW)
    with pytest.raises(Unauthorized, match="not a pinned peer"):
        check(headers)
    once = signed()
    check(once)
    with pytest.raises(Unauthorized, match="replayed"):
        check(once, now=NOW + 10)
    # a nonce is forgotten only once its request's time is out of the window anyway
    with pytest.raises(Unauthorized, match="clock"):
        check(once, now=NOW + 400)
    # answers: signed by the node asked, bound to the request's nonce and body
    peer = me.peers().get("usa-c2")
    sig = sign_response(them.keys, 200, once[NONCE], b"{}")
    assert verify_response(peer, 200, once[NONCE], b"{}", sig)
    assert not verify_response(peer, 200, once[NONCE], b"[]", sig)
    assert not verify_response(peer, 200, "0" * 32, b"{}", sig)
    assert not verify_response(peer, 200, once[NONCE], b"{}", None)
