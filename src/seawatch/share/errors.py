"""The typed failures of federation: bad keys, unknown peers, a log that does not verify.

Each names the check that failed and the input it failed on, never a private key.
"""

from __future__ import annotations

from typing import ClassVar

from seawatch.errors import SeawatchError

__all__ = [
    "BundleRejected",
    "KeyFormatError",
    "LogError",
    "PeerError",
    "ShareError",
    "SyncError",
    "VerifyError",
]


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


class BundleRejected(ShareError):  # noqa: N818  (reads as `raise BundleRejected(...)`)
    """A bundle failed a check on import and was rejected whole (nothing stored).

    ``check`` names the check (manifest, originator, signature, audience, proof, digest,
    decrypt, label, schema), ``part`` the file it failed on (the manifest, or a part).
    """

    http_status: ClassVar[int] = 422

    def __init__(self, check: str, part: str, message: str) -> None:
        super().__init__(f"bundle rejected: {check} check failed on {part}: {message}")
        self.check = check
        self.part = part


class SyncError(ShareError):
    """A peer could not be reached over HTTP, refused a request, or answered with something
    that is not a signed answer of the expected form."""

    http_status: ClassVar[int] = 424  # Failed Dependency: the detail reaches the caller
