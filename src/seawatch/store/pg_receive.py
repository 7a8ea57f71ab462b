"""A ``COPY ... TO STDOUT`` result received by one compiled loop over libpq's messages.

In: a psycopg connection inside ``cursor.copy("COPY (...) TO STDOUT ...")``. Out: the whole
COPY data as one numpy byte array (what iterating the copy and joining the blocks gives).

Why: the server sends a CopyData message per row, and psycopg's ``Copy`` iteration costs
~1 µs of Python per message (a generator, a wait, a memoryview): a viewport's 49,640 rows
took ~52 ms of client CPU to receive, as much as the server's ~62 ms to send them, and
the two share this machine's two cores. Here one numba loop (no GIL) calls libpq's own
``PQgetCopyData`` and ``PQconsumeInput`` through the addresses of the libpq psycopg loaded,
copying each message into one growing buffer; Python only waits for the socket when the
server has sent nothing yet. Measured (bench/RESULTS.md, 2026-12-07 session 4 h-pg).

The end: the loop stops after the binary trailer (a 2-byte message of -1) and psycopg's
own ``Copy.read`` takes the rest (the result, the row count); a COPY that ends without one
(an error mid-way, CSV) has its results read here as psycopg reads them (a failed one
raised as psycopg's error of its SQLSTATE), since psycopg cannot read a finished COPY.
Where psycopg's libpq cannot be told among those loaded (not Linux; two, psycopg not the
binary build) the blocks are read by psycopg's iteration, as before (a warning says so).
"""

from __future__ import annotations

import ctypes
import logging
import re
import select
import sys
from pathlib import Path
from typing import Any

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["receive"]

log = logging.getLogger(__name__)

_LIBPQ = re.compile(r"/libpq[-.][^/]*$")
_FIRST_BYTES = 1 << 20
_WAIT_MS = 1000  # the longest the loop waits for the socket before Python checks signals
_functions: tuple[int, ...] | None = None


def _loaded_libpq() -> str | None:
    """The path of psycopg's libpq among those mapped into this process: the only one, or
    the one psycopg-binary brings when there are more; None when it cannot be told."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    paths = {line.split()[-1] for line in maps.splitlines() if _LIBPQ.search(line)}
    if len(paths) > 1:
        from psycopg import pq

        if pq.__impl__ == "binary":
            paths = {p for p in paths if "/psycopg_binary.libs/" in p}
    return paths.pop() if len(paths) == 1 else None


def _load() -> tuple[int, ...]:
    """Addresses of libpq's PQgetCopyData, PQconsumeInput, PQfreemem and the C library's
    memcpy and poll; () if not found."""
    import psycopg  # noqa: F401  (loads its libpq)

    path = _loaded_libpq()
    if path is None or sys.byteorder != "little":  # struct pollfd as two int32s: little
        return ()
    try:
        pq, libc = ctypes.CDLL(path), ctypes.CDLL(None)
        found = (pq.PQgetCopyData, pq.PQconsumeInput, pq.PQfreemem, libc.memcpy, libc.poll)
    except (OSError, AttributeError):
        return ()
    return tuple(int(ctypes.cast(f, ctypes.c_void_p).value or 0) for f in found)


def functions() -> tuple[int, ...]:
    """The C functions' addresses :func:`receive` calls (loaded once); () where unavailable."""
    global _functions
    if _functions is None:
        _functions = _load()
        if not _functions:
            log.warning("PostgreSQL reads by psycopg's iteration: its libpq not found here")
    return _functions


def _codegen(ret: ir.Type, args: list[ir.Type]) -> Any:
    """The code of a call of the C function at an address (the first value, an int64)
    with int64 values passed as ``args`` (C ``int``: 32 bits; pointers: 64); its result as
    an int64 (0 for ``void``)."""
    fnty = ir.FunctionType(ret, args)

    def codegen(context: Any, builder: Any, sig: Any, values: Any) -> Any:
        f = builder.inttoptr(values[0], fnty.as_pointer())
        given = [
            v if a.width == 64 else builder.trunc(v, a)
            for v, a in zip(values[1:], args, strict=True)
        ]
        out = builder.call(f, given)
        if isinstance(ret, ir.VoidType):
            return ir.Constant(_I64, 0)
        return out if ret.width == 64 else builder.sext(out, _I64)

    return codegen


_I32, _I64 = ir.IntType(32), ir.IntType(64)


def _int_of_ptr_ptr_int(typingctx: Any, fn: Any, a: Any, b: Any, c: Any) -> Any:
    """``int f(void *, void *, int)`` at address ``fn``: PQgetCopyData, poll."""
    return types.int64(fn, a, b, c), _codegen(_I32, [_I64, _I64, _I32])


def _int_of_ptr(typingctx: Any, fn: Any, a: Any) -> Any:
    """``int f(void *)`` at address ``fn``: PQconsumeInput."""
    return types.int64(fn, a), _codegen(_I32, [_I64])


def _void_of_ptr(typingctx: Any, fn: Any, a: Any) -> Any:
    """``void f(void *)`` at address ``fn``: PQfreemem."""
    return types.int64(fn, a), _codegen(ir.VoidType(), [_I64])


def _ptr_of_ptr_ptr_size(typingctx: Any, fn: Any, a: Any, b: Any, c: Any) -> Any:
    """``void *f(void *, const void *, size_t)`` at address ``fn``: memcpy."""
    return types.int64(fn, a, b, c), _codegen(_I64, [_I64, _I64, _I64])


# the calls, in compiled code only (the address first)
_c_int_of_ptr_ptr_int: Any = intrinsic(_int_of_ptr_ptr_int)
_c_int_of_ptr: Any = intrinsic(_int_of_ptr)
_c_void_of_ptr: Any = intrinsic(_void_of_ptr)
_c_ptr_of_ptr_ptr_size: Any = intrinsic(_ptr_of_ptr_ptr_size)


@njit(cache=True, nogil=True)
def _drain(
    fns: Any, conn: int, slot: Any, out: Any, at: int, pollfd: Any
) -> tuple[int, int]:  # pragma: no cover - compiled
    """CopyData messages into ``out[at:]``, reading the socket when libpq's buffer is empty
    and waiting for it (``poll``, at most ``_WAIT_MS``) when it has nothing. Returns (the
    bytes now in ``out``, why it stopped): 0 the wait ended without data (a signal, the
    time: call again), 1 the binary trailer was copied, 2 the next message (``slot[0]``:
    its address, ``slot[1]``: its length) does not fit, 3 reading the socket failed, -1
    the COPY ended, -2 libpq refused (no COPY in progress)."""
    get, consume, free, memcpy, poll = fns[0], fns[1], fns[2], fns[3], fns[4]
    read = False
    while True:
        n = slot[1]
        if n == 0:
            n = _c_int_of_ptr_ptr_int(get, conn, slot.ctypes.data, 1)
            if n == 0:
                # libpq read the socket since its buffer emptied: wait for more
                if read and _c_int_of_ptr_ptr_int(poll, pollfd.ctypes.data, 1, _WAIT_MS) <= 0:
                    return at, 0
                if _c_int_of_ptr(consume, conn) == 0:
                    return at, 3
                read = True
                continue
            if n < 0:
                return at, n
            slot[1] = n
            read = False
        if at + n > out.size:
            return at, 2
        _c_ptr_of_ptr_ptr_size(memcpy, out.ctypes.data + at, slot[0], n)
        _c_void_of_ptr(free, slot[0])
        slot[0] = 0
        slot[1] = 0
        at += n
        if n == 2 and out[at - 1] == 0xFF and out[at - 2] == 0xFF:
            return at, 1
        if n == 21 and at == 21 and out[at - 1] == 0xFF and out[at - 2] == 0xFF:
            return at, 1  # the header and the trailer in one message: no rows


def receive(con: Any, copy: Any) -> Any:
    """All the data of ``copy`` (a psycopg ``Copy`` of ``COPY ... TO STDOUT`` on ``con``,
    not yet read) as a numpy uint8 array."""
    fns = functions()
    conn = con.pgconn.pgconn_ptr
    if not fns or conn is None:
        return np.frombuffer(b"".join(bytes(block) for block in copy), dtype=np.uint8)
    addresses = np.array(fns, dtype=np.int64)
    sock = con.pgconn.socket
    pollfd = np.array([sock, select.POLLIN], dtype=np.int32)  # struct pollfd: fd, events
    out = np.empty(_FIRST_BYTES, dtype=np.uint8)
    slot = np.zeros(2, dtype=np.int64)
    at = 0
    try:
        while True:
            at, why = _drain(addresses, conn, slot, out, at, pollfd)
            if why == 0:
                select.select([sock], [], [], _WAIT_MS / 1000)  # signals; a socket's error
            elif why == 2:
                bigger = np.empty(max(2 * out.size, at + int(slot[1])), dtype=np.uint8)
                bigger[:at] = out[:at]
                out = bigger
            elif why == 3:
                con.pgconn.consume_input()  # raises the connection's error
            else:
                break
    finally:
        if slot[1]:  # a message not copied (an error while growing): libpq's memory back
            ctypes.CDLL(_loaded_libpq()).PQfreemem(ctypes.c_void_p(int(slot[0])))
    if why == 1:  # the trailer: psycopg ends the COPY (its result, the row count)
        while copy.read():
            raise ValueError("data after the binary COPY trailer")
    else:  # the COPY ended (an error, CSV): its results read here, libpq's COPY state gone
        _results(con)
    return out[:at]


def _results(con: Any) -> None:
    """The results after a finished COPY, read as psycopg does; a failed one raised."""
    import psycopg
    from psycopg import pq

    pgconn = con.pgconn
    failed = None
    while True:
        if pgconn.is_busy():
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()
            continue
        result = pgconn.get_result()
        if result is None:
            break
        if result.status == pq.ExecStatus.FATAL_ERROR and failed is None:
            failed = result
    if failed is not None:
        raise psycopg.errors.error_from_result(failed, encoding=con.info.encoding)
