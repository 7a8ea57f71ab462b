"""The exceptions seawatch raises on purpose.

Every deliberate failure is a :class:`SeawatchError`, so callers (the CLI, the HTTP
server) can catch one root and turn it into an exit code or an HTTP response.
Each subclass names one kind of failure and carries the HTTP status an API would
answer with. Messages say what was wrong with which input and what to do about it,
e.g. ``"cannot read 'feed.nmea': no such file (check the path)"``.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ConfigError",
    "DecodeError",
    "InputError",
    "LabelError",
    "NotFound",
    "PolicyError",
    "RateLimited",
    "SchemaError",
    "SeawatchError",
    "StoreError",
    "Unauthorized",
]


class SeawatchError(Exception):
    """Root of every error seawatch raises deliberately.

    ``http_status`` is the status an HTTP API answers with when the error reaches it;
    500 means "our fault", 4xx "the caller's input".
    """

    http_status: ClassVar[int] = 500


class ConfigError(SeawatchError):
    """A setting (environment variable, settings file or option) has a bad value."""

    http_status: ClassVar[int] = 400


class InputError(SeawatchError):
    """An input cannot be used: unreadable or missing file, bad argument."""

    http_status: ClassVar[int] = 400


class DecodeError(InputError):
    """Input was read but cannot be decoded as a whole (e.g. unknown format)."""


class SchemaError(SeawatchError):
    """Data does not match the schema declared for its table."""


class StoreError(SeawatchError):
    """The store (DuckDB, Parquet files, PostgreSQL) failed to read or write."""


class LabelError(SeawatchError):
    """A releasability label, reader or labelling rule is malformed (e.g. an unknown
    classification or country code in a marking)."""

    http_status: ClassVar[int] = 400


class PolicyError(SeawatchError):
    """A releasability label or sharing policy forbids the requested access."""

    http_status: ClassVar[int] = 403


class NotFound(SeawatchError):  # noqa: N818  (reads better as `raise NotFound(...)`)
    """The requested object (vessel, track, event, file) does not exist."""

    http_status: ClassVar[int] = 404


class Unauthorized(SeawatchError):  # noqa: N818  (the HTTP name: 401)
    """A request's credentials are missing, unknown, revoked or expired; the message says
    which (never the token itself)."""

    http_status: ClassVar[int] = 401


class RateLimited(SeawatchError):  # noqa: N818  (the HTTP name: 429)
    """A token asked faster than its rate allows; ``retry_after_s`` says when to try again."""

    http_status: ClassVar[int] = 429

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
