"""Compiled parsers for the receive-time forms found in AIS feeds.

All times are integer microseconds since the Unix epoch, UTC; :data:`NO_TIME` marks
"unknown". The functions take a byte buffer and a ``[start, end)`` range so the line
scanner can call them without creating Python objects.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NO_TIME = np.iinfo(np.int64).min
US = 1_000_000

# Epoch values outside [1980, 2100) are treated as garbage, not as times.
_MIN_EPOCH_S = 315_532_800
_MAX_EPOCH_S = 4_102_444_800


@njit(cache=True, nogil=True)
def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m + 9 if m <= 2 else m - 3
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, nogil=True)
def civil_us(y: int, mo: int, d: int, h: int, mi: int, s: int, us: int) -> int:
    """Microseconds since the epoch, or NO_TIME if any part is out of range."""
    if y < 1970 or y > 2100 or mo < 1 or mo > 12 or d < 1 or d > 31:
        return NO_TIME
    if h < 0 or h > 23 or mi < 0 or mi > 59 or s < 0 or s > 60 or us < 0 or us >= US:
        return NO_TIME
    days = days_from_civil(y, mo, d)
    return ((days * 24 + h) * 60 + mi) * 60 * US + s * US + us


@njit(cache=True, nogil=True)
def parse_epoch(buf: np.ndarray, a: int, b: int) -> int:
    """``1325394060``, ``1325394060.25`` (seconds) or ``1599239526500`` (milliseconds)."""
    n = 0
    digits = 0
    i = a
    while i < b and 48 <= buf[i] <= 57:
        n = n * 10 + (buf[i] - 48)
        digits += 1
        i += 1
        if digits > 16:
            return NO_TIME
    if digits == 0:
        return NO_TIME
    frac_us = 0
    if i < b and buf[i] == 46:  # '.'
        i += 1
        scale = 100_000
        while i < b and 48 <= buf[i] <= 57:
            frac_us += (buf[i] - 48) * scale
            scale //= 10
            i += 1
    if i != b:
        return NO_TIME
    if _MIN_EPOCH_S <= n < _MAX_EPOCH_S:
        return n * US + frac_us
    if _MIN_EPOCH_S * 1000 <= n < _MAX_EPOCH_S * 1000:
        return n * 1000 + frac_us // 1000
    return NO_TIME


@njit(cache=True, nogil=True)
def _num(buf: np.ndarray, a: int, n: int) -> int:
    v = 0
    for i in range(a, a + n):
        c = buf[i]
        if c < 48 or c > 57:
            return -1
        v = v * 10 + (c - 48)
    return v


@njit(cache=True, nogil=True)
def parse_iso(buf: np.ndarray, a: int, b: int) -> int:
    """``2014-12-10T00:00:01Z``, ``2014-12-10 00:00:01.5``, ``2014-12-10 00.00.01``."""
    if b - a < 19:
        return NO_TIME
    if buf[a + 4] != 45 or buf[a + 7] != 45:  # '-'
        return NO_TIME
    sep = buf[a + 10]
    if sep != 84 and sep != 32 and sep != 116:  # 'T', ' ', 't'
        return NO_TIME
    for k in (13, 16):
        c = buf[a + k]
        if c != 58 and c != 46:  # ':' or '.'
            return NO_TIME
    y = _num(buf, a, 4)
    mo = _num(buf, a + 5, 2)
    d = _num(buf, a + 8, 2)
    h = _num(buf, a + 11, 2)
    mi = _num(buf, a + 14, 2)
    s = _num(buf, a + 17, 2)
    if y < 0 or mo < 0 or d < 0 or h < 0 or mi < 0 or s < 0:
        return NO_TIME
    i = a + 19
    us = 0
    if i < b and buf[i] == 46:
        i += 1
        scale = 100_000
        while i < b and 48 <= buf[i] <= 57:
            us += (buf[i] - 48) * scale
            scale //= 10
            i += 1
    if i < b and (buf[i] == 90 or buf[i] == 122):  # 'Z'
        i += 1
    if i < b and (buf[i] == 43 or buf[i] == 45) and b - i >= 6:  # +hh:mm offset
        sign = 1 if buf[i] == 43 else -1
        oh = _num(buf, i + 1, 2)
        om = _num(buf, i + 4, 2)
        if oh < 0 or om < 0:
            return NO_TIME
        t = civil_us(y, mo, d, h, mi, s, us)
        if t == NO_TIME:
            return t
        return t - sign * (oh * 3600 + om * 60) * US
    if i != b:
        return NO_TIME
    return civil_us(y, mo, d, h, mi, s, us)


@njit(cache=True, nogil=True)
def parse_time_token(buf: np.ndarray, a: int, b: int) -> int:
    """Epoch seconds/milliseconds or ISO 8601, whichever the token is."""
    while a < b and (buf[a] == 32 or buf[a] == 9):
        a += 1
    while b > a and (buf[b - 1] == 32 or buf[b - 1] == 9):
        b -= 1
    if b - a >= 19 and buf[a + 4] == 45:
        return parse_iso(buf, a, b)
    return parse_epoch(buf, a, b)


@njit(cache=True, nogil=True)
def parse_hhmmss(buf: np.ndarray, a: int, b: int) -> int:
    """``092211.00`` → microseconds since midnight, or -1."""
    if b - a < 6:
        return -1
    h = _num(buf, a, 2)
    mi = _num(buf, a + 2, 2)
    s = _num(buf, a + 4, 2)
    if h < 0 or mi < 0 or s < 0 or h > 23 or mi > 59 or s > 60:
        return -1
    us = 0
    i = a + 6
    if i < b and buf[i] == 46:
        i += 1
        scale = 100_000
        while i < b and 48 <= buf[i] <= 57:
            us += (buf[i] - 48) * scale
            scale //= 10
            i += 1
    return ((h * 60 + mi) * 60 + s) * US + us
