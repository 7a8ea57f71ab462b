"""The real NMEA files under ``../shared/data/ais`` (beside the checkout)."""

from __future__ import annotations

import bz2
import gzip
import re
from functools import cache
from pathlib import Path

#: ``../shared/data/ais`` beside the repository root; absent on users' machines.
SHARED_AIS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ais"

# Descriptions of the data, not input: they quote sentences but are not NMEA files.
_DOC_SUFFIXES = {".md", ".json", ".jsonl"}
_AIS_SENTENCE = re.compile(rb"![A-Z]{2}VD[MO],")


def read_bytes(path: Path) -> bytes:
    """The file's content, decompressed when it is gzip or bzip2 (by magic bytes)."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:3] == b"BZh":
        return bz2.decompress(data)
    return data


@cache
def nmea_files() -> tuple[Path, ...]:
    """Every file under :data:`SHARED_AIS` that holds AIVDM/AIVDO sentences, sorted."""
    if not SHARED_AIS.is_dir():
        return ()
    out = []
    for p in sorted(SHARED_AIS.rglob("*")):
        if not p.is_file() or p.suffix in _DOC_SUFFIXES or p.suffix == ".zip":
            continue
        if _AIS_SENTENCE.search(read_bytes(p)):
            out.append(p)
    return tuple(out)


def label(path: Path) -> str:
    """``folder/file`` relative to :data:`SHARED_AIS`, for tables and test ids."""
    return path.relative_to(SHARED_AIS).as_posix()
