"""Browser sessions of the web map: one-time sign-in links and session cookies.

In: a user name (``seawatch users link``), later a link code or an API token posted by the
map's sign-in form, and on every request the session cookie. Out: :func:`create_link`
stores a link (only the SHA-256 of its secret; single use; expires after
:data:`LINK_TTL`) and returns its code once (``swl_<id>_<secret>``); :func:`redeem_link`
uses it up; :class:`Sessions` holds the server's sessions (in memory, as SHA-256 of their
ids: a restart signs everyone out) and turns a cookie back into the user and reader,
checking at each use that the user is still active (revoked or expired ends it).

The cookie (:data:`COOKIE`) is HttpOnly and SameSite=Strict: scripts cannot read it and
other sites' pages cannot make the browser send it. Codes, tokens and session ids never
enter logs or reprs. Secrets carry 256 random bits, so a plain SHA-256 guards the stored
hashes (the API tokens' scrypt is for the same reason no stronger here).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pyarrow as pa

from seawatch.errors import PolicyError, Unauthorized
from seawatch.labels import Reader
from seawatch.serve.accounts import User, get_user, user_by_id
from seawatch.store import Store
from seawatch.store.tables import TABLES

__all__ = [
    "COOKIE",
    "LINK_TTL",
    "SESSION_TTL",
    "Sessions",
    "check_same_site",
    "create_link",
    "link_url",
    "redeem_link",
]

log = logging.getLogger(__name__)

COOKIE = "seawatch_session"
LINK_TTL = timedelta(minutes=10)
"""How long a sign-in link works (once)."""
SESSION_TTL = timedelta(hours=12)
"""How long a browser session lasts from sign-in."""
_CODE = re.compile(r"^swl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _active(user: User) -> None:
    status = user.status()
    if status != "active":
        raise Unauthorized(f"user {user.name}: token {status}")


def create_link(store: Store, name: str, now: datetime | None = None) -> tuple[str, datetime]:
    """A one-time sign-in code for user ``name`` and when it expires (only its hash is
    stored)."""
    user = get_user(store, name)
    _active(user)
    now = now or datetime.now(UTC)
    link_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    row = {
        "link_id": link_id,
        "user_id": user.user_id,
        "code_hash": _sha(secret),
        "created_at": now,
        "expires_at": now + LINK_TTL,
        "used_at": None,
    }
    with store.transaction():
        store.write(
            "signin_links", pa.Table.from_pylist([row], TABLES["signin_links"].arrow_schema())
        )
    log.info("sign-in link made for user %s", name)
    return f"swl_{link_id}_{secret}", now + LINK_TTL


def link_url(base_url: str, code: str) -> str:
    """The link to open: the code rides in the fragment, which browsers never send to a
    server (so it reaches no access log or Referer); the map posts it and drops it."""
    return f"{base_url.rstrip('/')}/#signin={code}"


def redeem_link(store: Store, code: str, lock: threading.Lock) -> tuple[User, Reader]:
    """Use up a sign-in code: the user and reader, or :class:`Unauthorized` with the reason
    (malformed, unknown, used, expired). ``store``: the server's writer store, used under
    ``lock``, its writer lock."""
    m = _CODE.match(code)
    if m is None:
        raise Unauthorized("malformed sign-in link: expected swl_<id>_<secret>")
    schema = TABLES["signin_links"].arrow_schema()
    now = datetime.now(UTC)
    with lock, store.transaction():
        rows = store.backend.fetch(
            f"SELECT {', '.join(schema.names)} FROM signin_links WHERE link_id = ?",
            [m.group(1)],
            schema,
        ).to_pylist()
        digest = _sha(m.group(2))
        if not rows or not hmac.compare_digest(digest, rows[0]["code_hash"]):
            raise Unauthorized("unknown sign-in link")
        row = rows[0]
        if row["used_at"] is not None:
            raise Unauthorized("sign-in link already used (make another: `seawatch users link`)")
        if row["expires_at"] is None or row["expires_at"] <= now:
            raise Unauthorized("sign-in link expired (make another: `seawatch users link`)")
        store.backend.execute(
            "UPDATE signin_links SET used_at = ? WHERE link_id = ?", (now, m.group(1))
        )
        user = user_by_id(store, row["user_id"])
    _active(user)
    return user, Reader.parse(user.reader, store.policy)


_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def check_same_site(method: str, headers: Mapping[str, str]) -> None:
    """Refuse (403) a cookie-authenticated request that changes something (POST, DELETE,
    ...) sent from another site's page, by its ``Origin`` (or ``Sec-Fetch-Site``) header:
    defence in depth behind SameSite=Strict against cross-site request forgery."""
    if method.upper() in _SAFE:
        return
    origin = headers.get("origin")
    if origin is not None:
        if urlsplit(origin).netloc != headers.get("host"):
            raise PolicyError(f"{method} with the session cookie from another site's page")
    elif headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        raise PolicyError(f"{method} with the session cookie from another site's page")


@dataclass(frozen=True)
class _Session:
    user_id: str
    expires_at: datetime


class Sessions:
    """The server's browser sessions, keyed by the SHA-256 of their ids."""

    def __init__(self) -> None:
        self._by_hash: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def start(self, user: User) -> str:
        """A new session for ``user``; returns its id (the cookie's value, given once)."""
        sid = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self._lock:
            self._by_hash = {k: s for k, s in self._by_hash.items() if s.expires_at > now}
            self._by_hash[_sha(sid)] = _Session(user.user_id, now + SESSION_TTL)
        log.info("web session started for user %s", user.name)
        return sid

    def end(self, sid: str) -> None:
        with self._lock:
            self._by_hash.pop(_sha(sid), None)

    def principal(self, store: Store, sid: str) -> tuple[User, Reader]:
        """The user and reader of a session cookie; :class:`Unauthorized` otherwise."""
        with self._lock:
            found = self._by_hash.get(_sha(sid))
        if found is None or found.expires_at <= datetime.now(UTC):
            raise Unauthorized("session unknown or expired: sign in again")
        user = user_by_id(store, found.user_id)
        _active(user)
        return user, Reader.parse(user.reader, store.policy)
