"""Logging set-up for the command line and the server.

Library modules never configure logging; they only do
``log = logging.getLogger(__name__)``. The entry points call :func:`configure_logging`
once, which sends records to stderr (stdout may carry data, e.g. ``decode --format jsonl``):
``time level logger: message`` lines, except the server's access log (logger
``seawatch.access``, :mod:`seawatch.serve.access_log`), whose lines are its JSON messages
alone, one per request, so that log tools can read them as they are.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

__all__ = ["ACCESS_LOGGER", "configure_logging"]

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_HANDLER_NAME = "seawatch-cli"
ACCESS_LOGGER = "seawatch.access"
"""The server's access log: one JSON object a line (the message alone)."""


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time of each record (tests swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str | int = "INFO", stream: TextIO | None = None) -> None:
    """Log records of ``level`` and above from ``seawatch.*`` to ``stream`` (default stderr).

    Calling it again replaces the handler it installed before, so tests and repeated CLI
    invocations in one process do not stack handlers.
    """
    logger = logging.getLogger("seawatch")
    access = logging.getLogger(ACCESS_LOGGER)
    for lg, fmt in ((logger, _FORMAT), (access, "%(message)s")):
        for old in [h for h in lg.handlers if h.get_name() == _HANDLER_NAME]:
            lg.removeHandler(old)
        handler = _StderrHandler() if stream is None else logging.StreamHandler(stream)
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(logging.Formatter(fmt, datefmt="%Y-%m-%dT%H:%M:%S"))
        lg.addHandler(handler)
    access.propagate = False  # its lines are JSON alone, not also in the format above
    logger.setLevel(level.upper() if isinstance(level, str) else level)
