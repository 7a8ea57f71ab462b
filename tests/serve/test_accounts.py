"""Users and tokens: stored hashed, shown once, refused with the reason, never in a repr."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from seawatch.cli.main import cli
from seawatch.errors import InputError, LabelError, Unauthorized
from seawatch.serve.accounts import (
    authenticate,
    create_user,
    list_users,
    parse_expiry,
    revoke_user,
)
from seawatch.settings import load_settings
from seawatch.store import Store, open_store
from seawatch.store.tables import TABLES


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "s.duckdb", load_settings(env={"SEAWATCH_NODE_NATION": "IND"}))
    yield s
    s.close()


def test_token_authenticates_as_its_reader(store: Store) -> None:
    user, token = create_user(store, "ana", "IND:SECRET:ORCON")
    assert re.fullmatch(r"sw_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", token)
    found, reader = authenticate(store, token)
    assert found.name == "ana"
    assert str(reader) == "IND:SECRET:ORCON"
    secret = token.split("_", 2)[2]
    stored = store.backend.fetch("SELECT * FROM users", [], _users_schema()).to_pylist()[0]
    assert secret not in str(stored)
    assert token not in str(stored)
    assert len(stored["token_hash"]) == 64
    assert token not in repr(user)
    assert stored["token_hash"] not in repr(user)


def _users_schema() -> pa.Schema:
    return TABLES["users"].arrow_schema()


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("nope", "malformed token"),
        ("sw_0123456789abcdef_" + "A" * 43, "unknown token"),
    ],
)
def test_bad_tokens_are_refused_with_the_reason(store: Store, token: str, reason: str) -> None:
    with pytest.raises(Unauthorized, match=reason):
        authenticate(store, token)


def test_wrong_secret_is_unknown(store: Store) -> None:
    _, token = create_user(store, "ana", "IND:SECRET")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(Unauthorized, match="unknown token"):
        authenticate(store, forged)


def test_a_checked_token_is_checked_fast_and_still_refused_once_revoked(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slow KDF runs once per token and process; revocation and a wrong secret are
    seen at every request all the same."""
    from seawatch.serve import accounts

    _, token = create_user(store, "cy", "IND:SECRET")
    calls = []
    kdf = accounts._hash
    monkeypatch.setattr(accounts, "_hash", lambda *a: calls.append(1) or kdf(*a))
    for _ in range(5):
        authenticate(store, token)
    assert len(calls) == 1
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(Unauthorized, match="unknown token"):
        authenticate(store, forged)
    revoke_user(store, "cy")
    with pytest.raises(Unauthorized, match="token revoked at"):
        authenticate(store, token)


def test_revoked_and_expired(store: Store) -> None:
    _, token = create_user(store, "ana", "IND:SECRET")
    revoke_user(store, "ana")
    with pytest.raises(Unauthorized, match="token revoked at"):
        authenticate(store, token)
    _, token = create_user(
        store, "bo", "IND:SECRET", expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    store.backend.execute(
        "UPDATE users SET expires_at = ? WHERE name = 'bo'", (datetime.now(UTC) - timedelta(1),)
    )
    with pytest.raises(Unauthorized, match="token expired at"):
        authenticate(store, token)
    assert [(u.name, u.status()) for u in list_users(store)] == [
        ("ana", "revoked"),
        ("bo", "expired"),
    ]


def test_bad_users_are_refused(store: Store) -> None:
    with pytest.raises(LabelError):
        create_user(store, "ana", "IND:TOPMOST")
    with pytest.raises(InputError, match="user name"):
        create_user(store, "a b", "IND:SECRET")
    create_user(store, "ana", "IND:SECRET")
    with pytest.raises(InputError, match="exists"):
        create_user(store, "ana", "IND:SECRET")
    with pytest.raises(InputError, match="expiry"):
        parse_expiry("tomorrow")


def test_expiry_forms() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_expiry("30d", now) == now + timedelta(days=30)
    assert parse_expiry("12h", now) == now + timedelta(hours=12)
    assert parse_expiry("2027-01-01T00:00:00", now) == datetime(2027, 1, 1, tzinfo=UTC)
    assert parse_expiry(None) is None


def test_cli_prints_the_token_once_on_the_last_line(tmp_path: Path) -> None:
    db = str(tmp_path / "c.duckdb")
    env = {"SEAWATCH_NODE_NATION": "IND"}
    res = CliRunner().invoke(
        cli,
        ["users", "add", "ana", "--reader", "IND:SECRET", "--expires", "30d", "--db", db],
        env=env,
    )
    assert res.exit_code == 0, res.output
    token = res.output.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(r"sw_[0-9a-f]{16}_\S{43}", token)
    assert res.output.count(token) == 1
    listed = CliRunner().invoke(cli, ["users", "list", "--db", db], env=env)
    assert listed.exit_code == 0
    assert "ana" in listed.output
    assert "active" in listed.output
    assert token.split("_", 2)[2] not in listed.output
    revoked = CliRunner().invoke(cli, ["users", "revoke", "ana", "--db", db], env=env)
    assert revoked.exit_code == 0
    assert "revoked" in revoked.output
    listed = CliRunner().invoke(cli, ["users", "list", "--db", db], env=env)
    assert "revoked" in listed.output
    bad = CliRunner().invoke(cli, ["users", "add", "x", "--reader", "XX", "--db", db], env=env)
    assert bad.exit_code == 1
    assert "error:" in bad.output
