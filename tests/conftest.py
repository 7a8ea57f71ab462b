"""Shared fixtures: where the real data lives, and a clean settings environment."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (real public data; absent on users' machines)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data not present")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _no_seawatch_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start without SEAWATCH_* variables from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("SEAWATCH_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _no_user_dirs(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The user's data and config directories (platformdirs: the default ``data_dir`` and the
    per-user settings file) are a fresh temporary directory each test, never the real ones."""
    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI configures the ``seawatch`` and ``seawatch.access`` loggers; undo that after
    each test (a server thread of a later test would otherwise write to the terminal)."""
    logger, access = logging.getLogger("seawatch"), logging.getLogger("seawatch.access")
    handlers, level = list(logger.handlers), logger.level
    access_handlers, propagate = list(access.handlers), access.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    access.handlers[:] = access_handlers
    access.propagate = propagate
