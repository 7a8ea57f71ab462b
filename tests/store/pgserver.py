"""A throwaway, real PostgreSQL server for the store tests (and benches).

In: the PostgreSQL server binaries of the machine (Debian: ``/usr/lib/postgresql/*/bin``,
installed by ``make test`` when run as root; else ``initdb``/``pg_ctl`` on ``PATH``).
Out: :class:`PostgresServer`, a server in a temporary directory that listens on
``127.0.0.1`` on a free port (its unix socket in that directory too), password
authentication over TCP, with a template database that has PostGIS when it is installed;
:meth:`PostgresServer.create_database` gives each test its own database as a
``postgresql://`` URL. Stopping removes everything (``keep=DIR``: the server lives in
``DIR``, is stopped cleanly and kept, and a later start there has its databases again; for
benches whose build is long, bench/store.py ``--pg-dir``).

initdb refuses to run as root, so as root the server runs as the ``postgres`` system user
(made by the Debian package) in a temporary directory that user owns. Durability is off
(``fsync=off``): the data is thrown away anyway.

Run it by hand for a bench: ``.venv/bin/python tests/store/pgserver.py`` prints the URL of a
database and keeps the server until Ctrl-C.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REQUIRE_ENV = "SEAWATCH_REQUIRE_POSTGRES"
# read at import (collection), before tests/conftest.py clears SEAWATCH_* for each test
REQUIRED = os.environ.get(REQUIRE_ENV, "") == "1"
SUPERUSER = "seawatch"
TEMPLATE_DB = "seawatch_template"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server binaries here (or no user to run them as)."""


def find_bindir(pattern: str = "/usr/lib/postgresql/*/bin/initdb", path: str | None = None) -> Path:
    """Directory of ``initdb``/``pg_ctl``/``psql``: the newest Debian version, else PATH."""
    found = sorted(
        (Path(p).parent for p in glob.glob(pattern)),
        key=lambda d: _version_key(d.parent.name),
    )
    if found:
        return found[-1]
    initdb = shutil.which("initdb", path=path)
    if initdb and shutil.which("pg_ctl", path=str(Path(initdb).parent)):
        return Path(initdb).parent
    raise PostgresUnavailableError(
        "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb, no "
        "initdb on PATH): install the Debian packages postgresql and postgresql-postgis "
        "(`make test` does, as root)"
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", name)) or (0,)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running throwaway server; make it with :func:`postgres_server`."""

    bindir: Path
    root: Path
    port: int
    password: str = field(repr=False)
    postgis: bool = False
    version: str = ""
    _user: str | None = field(default=None, repr=False)
    _count: int = field(default=0, repr=False)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = TEMPLATE_DB) -> str:
        """``postgresql://`` URL of ``database`` over TCP on 127.0.0.1, with the password."""
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with psql over the unix socket; its output (unaligned, no headers)."""
        out = self._run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.root),
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database,
                "-c",
                sql,
            ]
        )
        return out.strip()

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database (PostGIS in it when available); its URL."""
        self._count += 1
        name = name or f"test_{os.getpid()}_{self._count}"
        if not _NAME.fullmatch(name):
            raise ValueError(f"database name {name!r}: use lower-case letters, digits, _")
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE_DB}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name`` (closing its connections first)."""
        if not _NAME.fullmatch(name):
            raise ValueError(f"database name {name!r}: use lower-case letters, digits, _")
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _run(self, args: Sequence[str], timeout: float = 120) -> str:
        proc = subprocess.run(
            args,
            user=self._user,
            cwd=self.root,
            env=_child_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{Path(args[0]).name} failed (exit {proc.returncode}): "
                f"{(proc.stderr or proc.stdout).strip()[-2000:]}{self._log_tail()}"
            )
        return proc.stdout

    def _log_tail(self) -> str:
        log = self.root / "server.log"
        if not log.is_file():
            return ""
        return "\nserver log (end):\n" + log.read_text(errors="replace")[-2000:]


def _child_env() -> dict[str, str]:
    keep = ("PATH", "LANG", "TZ")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["LC_ALL"] = "C.UTF-8"
    env["PGTZ"] = "UTC"
    return env


def _run_as() -> tuple[str | None, int, int]:
    """User to run the server as: ``postgres`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None, os.getuid(), os.getgid()
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailableError(
            "running as root, and initdb refuses root, but there is no `postgres` user to run "
            "the server as (the Debian package postgresql makes it)"
        ) from None
    return "postgres", entry.pw_uid, entry.pw_gid


@contextmanager
def postgres_server(
    settings: Sequence[str] = (
        "fsync=off",
        "synchronous_commit=off",
        "full_page_writes=off",
        "max_prepared_transactions=32",  # the store's parallel writers (db_writers)
    ),
    keep: Path | None = None,
) -> Iterator[PostgresServer]:
    """Start a throwaway server; stop it and remove its directory on exit.

    ``settings`` are extra ``name=value`` server settings (durability is off by default).
    ``keep``: the server's directory instead of a temporary one, stopped (cleanly) but kept
    on exit; a directory a server was kept in before is started again with its databases
    (``settings`` may differ from the last start). Raises :class:`PostgresUnavailableError`
    when there are no server binaries.
    """
    bindir = find_bindir()
    user, uid, gid = _run_as()
    if keep is not None:
        with _kept(bindir, keep, settings, user, uid, gid) as server:
            yield server
        return
    root = Path(tempfile.mkdtemp(prefix="seawatch-pg-"))
    try:
        os.chown(root, uid, gid)
        server = PostgresServer(bindir, root, _free_port(), secrets.token_urlsafe(18), _user=user)
        _init(server, uid, gid)
        options = _options(server, settings)
        _start(server, options)
        watchdog = _watchdog(server)
        try:
            _template(server)
            yield server
        finally:
            server._run(
                [str(bindir / "pg_ctl"), "-D", str(server.datadir), "-m", "immediate", "-w", "stop"]
            )
            shutil.rmtree(root, ignore_errors=True)
            watchdog.wait(timeout=10)  # it sees the directory gone and ends
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def _kept(
    bindir: Path, root: Path, settings: Sequence[str], user: str | None, uid: int, gid: int
) -> Iterator[PostgresServer]:
    """:func:`postgres_server` in a directory that outlives it (``keep``)."""
    root.mkdir(parents=True, exist_ok=True)
    os.chown(root, uid, gid)
    secret = root / "password"  # the superuser's, for the URLs of a later start
    again = (root / "data" / "PG_VERSION").is_file() and secret.is_file()
    password = secret.read_text().strip() if again else secrets.token_urlsafe(18)
    server = PostgresServer(bindir, root, _free_port(), password, _user=user)
    if not again:
        shutil.rmtree(server.datadir, ignore_errors=True)
        _init(server, uid, gid)
        secret.write_text(password + "\n")
        secret.chmod(0o600)
    _start(server, _options(server, settings))
    watchdog = _watchdog(server, keep=True)
    try:
        if again:
            server.version = server.psql("SHOW server_version")
            server.postgis = (
                server.psql(
                    "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'",
                    database=TEMPLATE_DB,
                )
                == "1"
            )
        else:
            _template(server)
        yield server
    finally:
        stop = [str(bindir / "pg_ctl"), "-D", str(server.datadir), "-m", "fast", "-w", "-t", "900"]
        server._run([*stop, "stop"], timeout=900)  # a clean stop: its checkpoint may be long
        watchdog.wait(timeout=10)  # it sees the server's pid file gone and ends


def _init(server: PostgresServer, uid: int, gid: int) -> None:
    """initdb of ``server.datadir`` with the superuser's password."""
    root, bindir = server.root, server.bindir
    pwfile = root / "pwfile"
    pwfile.write_text(server.password + "\n")
    os.chown(pwfile, uid, gid)
    pwfile.chmod(0o600)
    server._run(
        [
            str(bindir / "initdb"),
            "-D",
            str(server.datadir),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
    )
    pwfile.unlink()


def _options(server: PostgresServer, settings: Sequence[str]) -> list[str]:
    return [
        "-c listen_addresses=127.0.0.1",
        f"-p {server.port}",
        f"-c unix_socket_directories={server.root}",
        *(f"-c {s}" for s in settings),
    ]


def _template(server: PostgresServer) -> None:
    """The template database of every :meth:`PostgresServer.create_database`."""
    server.version = server.psql("SHOW server_version")
    server.psql(f"CREATE DATABASE {TEMPLATE_DB}")
    available = server.psql("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")
    if available == "1":
        server.psql("CREATE EXTENSION postgis", database=TEMPLATE_DB)
        server.postgis = True


_WATCHDOG = """
import os, shutil, subprocess, sys, time
parent, root, pg_ctl, user = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] or None
keep = sys.argv[5] == "keep"
while os.path.isdir(root) and (not keep or os.path.isfile(root + "/data/postmaster.pid")):
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        subprocess.run([pg_ctl, "-D", root + "/data", "-m", "fast" if keep else "immediate",
                        "stop"], user=user, cwd=root, capture_output=True, check=False)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
        break
    time.sleep(2)
"""


def _watchdog(server: PostgresServer, keep: bool = False) -> subprocess.Popen[bytes]:
    """A detached process that stops the server and removes its directory (``keep``: only
    stops it) if this process dies without doing so (killed test run): no server outlives
    its tests."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            _WATCHDOG,
            str(os.getpid()),
            str(server.root),
            str(server.bindir / "pg_ctl"),
            server._user or "",
            "keep" if keep else "",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _start(server: PostgresServer, options: list[str]) -> None:
    """pg_ctl start, once more on another port if the free port was taken meanwhile."""
    for attempt in range(3):
        try:
            server._run(
                [
                    str(server.bindir / "pg_ctl"),
                    "-D",
                    str(server.datadir),
                    "-l",
                    str(server.root / "server.log"),
                    "-o",
                    " ".join(options),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            )
            return
        except RuntimeError:
            if attempt == 2:
                raise
            time.sleep(0.2)
            old = server.port
            server.port = _free_port()
            options[:] = [o.replace(f"-p {old}", f"-p {server.port}") for o in options]


def session_server() -> Iterator[PostgresServer]:
    """Session fixture body: a server, else skip (fail when ``SEAWATCH_REQUIRE_POSTGRES=1``)."""
    try:
        cm = postgres_server()
        server = cm.__enter__()
    except PostgresUnavailableError as exc:
        if REQUIRED:
            pytest.fail(f"{REQUIRE_ENV}=1 but {exc}", pytrace=False)
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """The session's throwaway PostgreSQL server (skips without PostgreSQL, see above)."""
    yield from session_server()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> Iterator[str]:
    """URL of a new, empty database on the session's server, dropped after the test."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url.rsplit("/", 1)[1])


if __name__ == "__main__":
    with postgres_server() as srv:
        print(srv.create_database("seawatch"), flush=True)
        print(f"PostgreSQL {srv.version}, PostGIS: {srv.postgis}; Ctrl-C stops it", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
