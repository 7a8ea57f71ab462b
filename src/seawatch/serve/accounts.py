"""API users and their tokens: who may call the HTTP API, and as which reader.

In: the store (its ``users`` table), a user name and a reader (``IND:SECRET[:CAVEATS]``),
an optional expiry; later a bearer token from a request. Out: :func:`create_user` stores
the user and returns the token once (``sw_<id>_<secret>``); :func:`authenticate` turns a
token back into the user's :class:`~seawatch.labels.Reader`, or raises
:class:`~seawatch.errors.Unauthorized` with the reason (malformed, unknown, revoked,
expired). Only the secret's scrypt hash and salt are stored; the id is public (it finds
the row), the secret is compared in constant time. Tokens never enter logs or reprs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from seawatch.errors import InputError, Unauthorized
from seawatch.labels import Policy, Reader
from seawatch.store import Store
from seawatch.store.tables import TABLES

__all__ = [
    "Claim",
    "User",
    "authenticate",
    "claim",
    "create_user",
    "get_user",
    "list_users",
    "parse_expiry",
    "revoke_user",
    "user_by_id",
    "verify",
]

log = logging.getLogger(__name__)

_PREFIX = "sw"
_TOKEN = re.compile(r"^sw_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# scrypt cost: n=2**14, r=8, p=1 (16 MiB, ~50 ms): slow for a guesser, fine per request
# since the server caches nothing; tokens carry 256 random bits, so this guards leaked
# hashes, not guessable passwords
_N, _R, _P = 2**14, 8, 1
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class User:
    """A stored user (no secret: the hash is not even kept here)."""

    user_id: str
    name: str
    reader: str
    created_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    _hash: str = field(default="", repr=False, compare=False)
    _salt: str = field(default="", repr=False, compare=False)

    def status(self, now: datetime | None = None) -> str:
        """``active``, ``revoked`` or ``expired``."""
        now = now or datetime.now(UTC)
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def _hash(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32).hex()


def parse_expiry(text: str | None, now: datetime | None = None) -> datetime | None:
    """``30d``, ``12h``, ``2w`` (from now) or an ISO 8601 time (UTC if it has no zone)."""
    if text is None or text == "":
        return None
    now = now or datetime.now(UTC)
    m = _DURATION.match(text.strip())
    if m:
        return now + timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"expiry {text!r}: give a duration (30d, 12h, 2w) or an ISO 8601 time"
        ) from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _users(store: Store, where: str = "", params: list[object] | None = None) -> list[User]:
    schema = TABLES["users"].arrow_schema()
    t = store.backend.fetch(
        f"SELECT {', '.join(schema.names)} FROM users {where} ORDER BY name", params or [], schema
    )
    return [
        User(
            r["user_id"],
            r["name"],
            r["reader"],
            r["created_at"],
            r["expires_at"],
            r["revoked_at"],
            r["token_hash"],
            r["salt"],
        )
        for r in t.to_pylist()
    ]


def list_users(store: Store) -> list[User]:
    """Every user, by name, without secrets."""
    return _users(store)


def get_user(store: Store, name: str) -> User:
    """The user called ``name``; :class:`InputError` if there is none."""
    found = _users(store, "WHERE name = ?", [name])
    if not found:
        raise InputError(f"no user {name!r} (see `seawatch users list`)")
    return found[0]


def user_by_id(store: Store, user_id: str) -> User:
    """The user whose token id is ``user_id``; :class:`Unauthorized` if there is none."""
    found = _users(store, "WHERE user_id = ?", [user_id])
    if not found:
        raise Unauthorized("unknown user")
    return found[0]


def create_user(
    store: Store, name: str, reader: str, *, expires_at: datetime | None = None
) -> tuple[User, str]:
    """Add user ``name`` reading as ``reader``; returns the user and its token (shown once:
    only its hash is stored)."""
    if not _NAME.match(name):
        raise InputError(
            f"user name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    parsed = Reader.parse(reader, store.policy)  # a bad reader fails here (LabelError)
    if parsed.is_node_admin:
        raise InputError("an API user cannot be the node admin")
    if _users(store, "WHERE name = ?", [name]):
        raise InputError(f"user {name!r} exists (revoke it, or choose another name)")
    now = datetime.now(UTC)
    if expires_at is not None and expires_at <= now:
        raise InputError(f"expiry {expires_at.isoformat()} is in the past")
    user_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    row = {
        "user_id": user_id,
        "name": name,
        "reader": str(parsed),
        "token_hash": _hash(secret, salt),
        "salt": salt.hex(),
        "created_at": now,
        "expires_at": expires_at,
        "revoked_at": None,
    }
    with store.transaction():
        store.write("users", pa.Table.from_pylist([row], TABLES["users"].arrow_schema()))
    log.info("user %s added (reader %s)", name, parsed)
    user = _users(store, "WHERE user_id = ?", [user_id])[0]
    return user, f"{_PREFIX}_{user_id}_{secret}"


def revoke_user(store: Store, name: str) -> User:
    """Revoke ``name``'s token from now on."""
    user = get_user(store, name)
    if user.revoked_at is None:
        with store.transaction():
            store.backend.execute(
                "UPDATE users SET revoked_at = ? WHERE user_id = ?",
                (datetime.now(UTC), user.user_id),
            )
        log.info("user %s revoked", name)
    return get_user(store, name)


_VERIFIED: OrderedDict[tuple[str, str], str] = OrderedDict()
"""(user id, stored scrypt hash) → SHA-256 of a secret scrypt accepted for it, in this
process only: a token checks with the slow KDF once, then with a fast hash (the API's
latency was mostly scrypt). Keyed by the stored hash: a new token for the user misses."""
_VERIFIED_MAX = 10_000
_VERIFIED_LOCK = threading.Lock()


def _quick(user: User, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(user._salt) + secret.encode()).hexdigest()


def _known(user: User, secret: str) -> bool:
    """Was ``secret`` already verified for ``user``'s stored hash in this process (no KDF)?"""
    with _VERIFIED_LOCK:
        known = _VERIFIED.get((user.user_id, user._hash))
    return known is not None and hmac.compare_digest(known, _quick(user, secret))


def _verified(user: User, secret: str) -> bool:
    """Does ``secret`` match ``user``'s stored hash (scrypt, or the cache of one)?"""
    if _known(user, secret):
        return True
    if not hmac.compare_digest(_hash(secret, bytes.fromhex(user._salt)), user._hash):
        return False
    key = (user.user_id, user._hash)
    with _VERIFIED_LOCK:
        _VERIFIED[key] = _quick(user, secret)
        _VERIFIED.move_to_end(key)
        while len(_VERIFIED) > _VERIFIED_MAX:
            _VERIFIED.popitem(last=False)
    return True


@dataclass(frozen=True)
class Claim:
    """A bearer token read, its secret not yet checked (:func:`claim`, :func:`verify`):
    the user whose id it names (None: no such user) and its secret."""

    user: User | None
    secret: str = field(repr=False)

    @property
    def key(self) -> tuple[str, str, str] | None:
        """What this claim checks: the user id, the stored hash, and the secret as a fast
        hash (never the secret itself); claims with the same key check the same, so one
        KDF run can answer them all (None: no such user)."""
        if self.user is None:
            return None
        return (self.user.user_id, self.user._hash, _quick(self.user, self.secret))

    @property
    def needs_kdf(self) -> bool:
        """Checking it takes the slow KDF (its secret not verified in this process yet)."""
        return self.user is None or not _known(self.user, self.secret)


def claim(store: Store, token: str) -> Claim:
    """The user a bearer token names (a read of the store, no KDF): :func:`verify` it
    next; :class:`Unauthorized` if the token is malformed."""
    m = _TOKEN.match(token)
    if m is None:
        raise Unauthorized("malformed token: expected sw_<id>_<secret> (from `seawatch users add`)")
    found = _users(store, "WHERE user_id = ?", [m.group(1)])
    return Claim(found[0] if found else None, m.group(2))


def verify(found: Claim, policy: Policy) -> tuple[User, Reader]:
    """The user and reader of a :func:`claim` whose secret matches, checked with the slow
    KDF unless verified before (:attr:`Claim.needs_kdf`; no store needed: a server runs it
    on threads of its own); :class:`Unauthorized` with the reason otherwise."""
    if found.user is None:
        _hash(found.secret, b"\0" * 16)  # as slow as a wrong secret: timing tells no ids apart
        raise Unauthorized("unknown token")
    if not _verified(found.user, found.secret):
        raise Unauthorized("unknown token")
    user = found.user
    status = user.status()
    if status == "revoked":
        raise Unauthorized(f"token revoked at {user.revoked_at:%Y-%m-%dT%H:%M:%SZ}")
    if status == "expired":
        raise Unauthorized(f"token expired at {user.expires_at:%Y-%m-%dT%H:%M:%SZ}")
    return user, Reader.parse(user.reader, policy)


def authenticate(store: Store, token: str) -> tuple[User, Reader]:
    """The user a bearer token belongs to and its reader; :class:`Unauthorized` with the
    reason otherwise (:func:`claim`, then :func:`verify`)."""
    return verify(claim(store, token), store.policy)
