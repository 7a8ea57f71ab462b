"""The binary form of a pull or push answer: the bundles' files as they are, not base64.

In: an answer of :func:`~seawatch.share.sync.answer_pull` built with ``raw=True`` (each
bundle's files as bytes by name). Out: one body (:func:`encode_answer`), and back
(:func:`decode_answer`: the same answer, files as bytes), or :class:`WireError` for
anything but a well-formed body. The JSON form (``seawatch-pull/1``: the files in base64, a third
larger, encoded and decoded at both ends) stays what is sent unless the other side says
it reads this one (negotiated: a pull request's ``formats``, a ``/seen`` answer's).

Layout: the line ``seawatch-pull/2`` and a newline; the header's length (8 bytes, big
endian); the header, the answer as JSON with ``bundles`` as lists of ``[file name, bytes]``
pairs; then every file's bytes, in that order, nothing after. Nothing here is trusted:
the answer is checked as the JSON one is (:func:`~seawatch.share.sync.check_answer`:
signature and proofs of the checkpoint; each bundle as a courier bundle).
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = ["BINARY_FORMAT", "MEDIA_TYPE", "WireError", "decode_answer", "encode_answer"]

BINARY_FORMAT: Final = "seawatch-pull/2"
MEDIA_TYPE: Final = "application/vnd.seawatch.pull.v2"
_MAGIC: Final = BINARY_FORMAT.encode() + b"\n"
_LEN: Final = 8


class WireError(ValueError):
    """A body that is not one well-formed binary answer."""


def encode_answer(answer: dict[str, Any]) -> bytes:
    """``answer`` (bundles as ``{file name: bytes}``) as one binary body."""
    files: list[bytes] = []
    listed = []
    for bundle in answer["bundles"]:
        listed.append([[name, len(data)] for name, data in bundle.items()])
        files.extend(bundle.values())
    header = json.dumps({**answer, "bundles": listed}, separators=(",", ":")).encode()
    return b"".join([_MAGIC, len(header).to_bytes(_LEN, "big"), header, *files])


def decode_answer(body: bytes) -> dict[str, Any]:
    """The answer in ``body`` (bundles as ``{file name: bytes}``); :class:`WireError` (a
    ValueError) if the body is not exactly one well-formed answer."""
    view = memoryview(body)
    if bytes(view[: len(_MAGIC)]) != _MAGIC:
        raise WireError(f"not a {BINARY_FORMAT} body")
    at = len(_MAGIC) + _LEN
    if len(body) < at:
        raise WireError("cut short")
    size = int.from_bytes(view[len(_MAGIC) : at], "big")
    if size > len(body) - at:
        raise WireError("the header is cut short")
    try:
        answer = json.loads(bytes(view[at : at + size]))
    except ValueError:
        raise WireError("the header is not JSON") from None
    at += size
    if not isinstance(answer, dict) or not isinstance(answer.get("bundles"), list):
        raise WireError("the header is not an answer")
    bundles = []
    for listed in answer["bundles"]:
        if not isinstance(listed, list):
            raise WireError("a bundle is not a list of files")
        files: dict[str, bytes] = {}
        for item in listed:
            if not (isinstance(item, list) and len(item) == 2):
                raise WireError("a file is not [name, bytes]")
            name, n = item
            if not isinstance(name, str) or name in files:
                raise WireError("a file name is not a string, or twice in a bundle")
            if not isinstance(n, int) or isinstance(n, bool) or n < 0 or n > len(body) - at:
                raise WireError(f"{name}: its size is not within the body")
            files[name] = bytes(view[at : at + n])
            at += n
        bundles.append(files)
    if at != len(body):
        raise WireError("bytes after the last file")
    answer["bundles"] = bundles
    return answer
