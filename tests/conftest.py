"""Shared fixtures: where the real data lives, and a clean settings environment."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from file_costs import load as load_file_costs
from file_costs import order as order_by_cost

pytest_plugins = ("partitioned_days",)
"""The partitioned engine's days, reference and Dask clusters, made once per process."""

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_KEPT = {
    "SEAWATCH_REQUIRE_POSTGRES",
    "SEAWATCH_SOAK_S",
    "SEAWATCH_SOAK_SEED",
    "SEAWATCH_UPDATE_DOCS",
}
"""Variables that steer the tests themselves, not the product's settings."""
_USER_HOME = pytest.StashKey[Path]()
WARMED_WAIT_S = 900.0
"""At most this long the tests wait for `make test`'s kernel warm-up (then run anyway)."""


def pytest_configure(config: pytest.Config) -> None:
    """Before any fixture (module- and session-scoped ones too, which the per-test fixtures
    below come too late for): no SEAWATCH_* variable of the developer's shell, and user
    data and config directories of the run's own, never the real ones (a node set up on
    the machine, ``~/.config/seawatch/seawatch.toml``, would change the tests' settings)."""
    for name in list(os.environ):
        if name.startswith("SEAWATCH_") and name not in _KEPT:
            del os.environ[name]
    home = Path(tempfile.mkdtemp(prefix="seawatch-test-user-"))
    config.stash[_USER_HOME] = home
    os.environ["XDG_DATA_HOME"] = str(home / "data")
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The most expensive test files first (tests/file_costs.py says why)."""
    order_by_cost(items, load_file_costs())


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Under `make test` (``KERNELS_WARMED``: a file the warm-up touches when done), the
    suite is collected while tests/compile_kernels.py finishes filling numba's cache; the
    tests start once it has, so that no test process compiles the same kernels again."""
    marker = os.environ.get("KERNELS_WARMED")
    if not marker or session.config.option.collectonly:
        return
    deadline = time.monotonic() + WARMED_WAIT_S
    while not Path(marker).exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's own user directories go with it: nothing of a test run survives it."""
    home = config.stash.get(_USER_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


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


_LOGGERS = ("seawatch", "seawatch.access")
_LOGGING_AT_START = {
    name: (list(lg.handlers), lg.level, lg.propagate)
    for name, lg in ((n, logging.getLogger(n)) for n in _LOGGERS)
}


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI configures the ``seawatch`` and ``seawatch.access`` loggers; after each test
    they go back to how they were when the session started, not to how the test found them:
    a module fixture that ran the CLI would otherwise leave its handler for every later file
    of its worker, and a served node's access lines, logged after a test's capture ended,
    would reach the terminal. The steps' loggers ``seawatch run`` quiets (a level of their
    own) are set back to inherit."""
    yield
    for name, lg in list(logging.root.manager.loggerDict.items()):
        if name.startswith("seawatch.") and isinstance(lg, logging.Logger):
            lg.setLevel(logging.NOTSET)  # `seawatch run` quiets some steps' loggers
    for name, (handlers, level, propagate) in _LOGGING_AT_START.items():
        lg = logging.getLogger(name)
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate
