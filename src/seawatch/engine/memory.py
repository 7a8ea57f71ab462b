"""Batch processes: keep freed memory for the next chunk instead of handing it back.

Every chunk of a run allocates the same large buffers again (numpy arrays of a million rows,
Arrow columns). By default glibc gives blocks above its mmap threshold back to the kernel
when they are freed and trims the top of its heap, and Arrow's default pool (mimalloc)
purges freed pages after a few milliseconds: so each chunk faults its memory in again, page
by page, zeroed by the kernel. In ``bench/tracks.py`` that was about a quarter of the CPU
time, all of it system time (bench/RESULTS.md, "bench/tracks 2026-12-06 (issue 17 ...)").

:func:`keep_freed_memory` makes glibc keep what is freed (no mmap for large blocks, no
trimming) and Arrow allocate through it (its system pool), so a chunk reuses the pages of
the one before. Resident memory then stays near its peak instead of shrinking between
chunks; the peak itself does not grow. It also stops numpy from advising the kernel to back
its arrays of 4 MiB and more with transparent huge pages (``madvise(MADV_HUGEPAGE)`` per
array): where huge pages are on "madvise" (Debian's default), that advice on the reused
heap cost 0.15–0.3 s of system time per 1 M-row chunk of ``bench/tracks.py`` in the
kernel's huge-page handling, with few page faults (bench/RESULTS.md, "fifth round"). It
changes the process (allocator settings), so entry points call it (``seawatch detect``,
``seawatch ingest``), never a library function.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import pyarrow as pa

M_TRIM_THRESHOLD = -1  # glibc mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
KEEP_BYTES = 1 << 30  # blocks up to 1 GiB from the heap; up to 1 GiB free kept at its top

_done = False


def keep_freed_memory() -> bool:
    """Keep freed memory in the process (see the module doc); idempotent. Returns whether
    glibc's settings took (False off glibc, e.g. macOS: Arrow's pool is left alone too)."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    if not (mallopt(M_MMAP_THRESHOLD, KEEP_BYTES) and mallopt(M_TRIM_THRESHOLD, KEEP_BYTES)):
        return False
    pa.set_memory_pool(pa.system_memory_pool())
    _no_huge_page_advice()
    _done = True
    return True


def _no_huge_page_advice() -> None:
    """numpy's large arrays without ``madvise(MADV_HUGEPAGE)`` (see the module doc)."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2: numpy.core
        from numpy.core import multiarray  # type: ignore[no-redef]
    setter = getattr(multiarray, "_set_madvise_hugepage", None)
    if setter is not None:
        setter(False)
