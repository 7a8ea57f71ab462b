"""Opening a store: a database URL or path in, a migrated :class:`~seawatch.store.base.Store` out.

The factory is its own module so that ``base`` (the interface) and the backends
(``duck``, ``postgres``), which import ``base``, are never imported by it in turn.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from seawatch.errors import ConfigError, StoreError
from seawatch.labels import Policy
from seawatch.store.base import Backend, Store, redact_url

if TYPE_CHECKING:
    from seawatch.settings import Settings

__all__ = ["db_location", "no_store", "open_store"]


def db_location(settings: Settings, db: str | None = None) -> str:
    """The database to open: ``db`` if given, else the ``db`` setting, else
    ``<data_dir>/seawatch.duckdb``."""
    if db:
        return db
    configured = settings.db.reveal()
    return configured or str(Path(settings.data_dir) / "seawatch.duckdb")


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def no_store(where: str) -> StoreError:
    """The error of reading a store that does not exist (yet)."""
    return StoreError(
        f"no store at {where} (nothing ingested yet?): run `seawatch ingest ...` or give --db"
    )


def open_store(
    url_or_path: str | Path | None,
    settings: Settings,
    *,
    migrate: bool = True,
    create: bool = True,
) -> Store:
    """Open the store at ``url_or_path`` (``None``: from the settings, see
    :func:`db_location`): a ``postgresql://`` URL or a DuckDB file path.

    ``migrate``: create the schema of a new database, bring an old one up to date.
    ``create=False`` (for reading): the store must exist, a DuckDB file (none is created)
    or a PostgreSQL database with seawatch's schema; else :class:`StoreError` ("no store
    at ..."), so a command reading the wrong store fails instead of reading an empty one.
    Raises :class:`ConfigError` for an unknown URL scheme and :class:`StoreError` when
    the database cannot be opened.
    """
    where = db_location(settings, None if url_or_path is None else str(url_or_path))
    policy = Policy.from_settings(settings)
    m = _SCHEME.match(where)
    backend: Backend
    if m and m.group(1).lower() in ("postgresql", "postgres"):
        from seawatch.store.postgres import PostgresBackend  # type: ignore[import-not-found,unused-ignore]

        backend = PostgresBackend(where, writers=settings.db_writers)
    elif m:
        raise ConfigError(
            f"db {redact_url(where)!r}: unknown scheme {m.group(1)!r} "
            "(give a DuckDB file path or a postgresql:// URL)"
        )
    else:
        from seawatch.store.duck import DuckBackend

        if not create and not Path(where).exists():  # (a directory: DuckDB says why)
            raise no_store(where)
        backend = DuckBackend(Path(where), memory_limit=settings.db_memory_limit)
    store = Store(backend, policy)
    try:
        if not create and store.version() is None:
            raise no_store(backend.display)
        if migrate:
            store.migrate()
    except BaseException:
        store.close()
        raise
    return store
