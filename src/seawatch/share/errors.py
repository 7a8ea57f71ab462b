"""The typed failures of federation: bad keys, unknown peers, a log that does not verify.

Each names the check that failed and the input it failed on, never a private key.
"""

from __future__ import annotations

from typing import ClassVar

from seawatch.errors import SeawatchError

__all__ = ["KeyFormatError", "LogError", "PeerError", "ShareError", "VerifyError"]


class ShareError(SeawatchError):
    """Root of the federation errors."""

    http_status: ClassVar[int] = 400


class KeyFormatError(ShareError):
    """A verifier key, encryption key or key file is malformed."""


class PeerError(ShareError):
    """A peer is unknown, already known, or its entry is malformed."""


class LogError(ShareError):
    """The audit log on disk cannot be read or appended to."""

    http_status: ClassVar[int] = 500


class VerifyError(ShareError):
    """A signature, checkpoint or proof does not verify. ``check`` names which check."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check
