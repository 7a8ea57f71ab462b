"""Compiled helpers for one NMEA line: character tables, checksum scan, tag blocks,
numeric fields and the receive times carried by $PGHP, $xxRMC and $xxZDA sentences.

Used by the scanner in :mod:`seawatch.decode.nmea`; all work on a byte buffer and index
ranges, without creating Python objects.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from seawatch.decode import reassembly as ra
from seawatch.decode.timeparse import NO_TIME, civil_us, parse_hhmmss, parse_iso
from seawatch.decode.timeparse import parse_time_token as parse_time

# Global state carried between chunks
G_CARRY_TS = 0  # time of the last RMC/ZDA, or NO_TIME
G_CARRY_DAY = 1  # midnight of the last known RMC/ZDA date, or NO_TIME
G_PGHP_TS = 2  # time from a $PGHP line, for the next AIS sentence
N_G = 3


def _sixbit_table() -> np.ndarray:
    """Payload character → six-bit value; 255 for characters outside the AIS armour."""
    t = np.full(256, 255, np.uint8)
    for c in range(48, 88):
        t[c] = c - 48
    for c in range(96, 120):
        t[c] = c - 56
    return t


SIXBIT = _sixbit_table()
# 1 = field separator, 2 = ends a sentence body ('*', '!', '$', '\\', newline), 0 = other
CHAR_CLASS = np.zeros(256, np.uint8)
CHAR_CLASS[44] = 1
CHAR_CLASS[[42, 33, 36, 92, 10]] = 2
CHAR_CLASS[128:] = 3  # not ASCII: the sentence is rejected (its text would not be valid UTF-8)


@njit(cache=True, nogil=True)
def hex_digit(c: int) -> int:
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    return -1


@njit(cache=True, nogil=True)
def field_int(buf: np.ndarray, a: int, b: int) -> int:
    """Non-negative decimal in buf[a:b]; -1 if empty, -2 if not a number."""
    if b <= a:
        return -1
    v = 0
    for i in range(a, b):
        c = buf[i]
        if c < 48 or c > 57 or i - a > 9:
            return -2
        v = v * 10 + c - 48
    return v


@njit(cache=True, nogil=True)
def gps_time(buf: np.ndarray, a: int, star: int, gs: np.ndarray) -> None:
    """Update the carry-forward time from an RMC or ZDA sentence body buf[a:star]."""
    commas = np.full(12, star, np.int64)
    nc = 0
    for i in range(a, star):
        if buf[i] == 44 and nc < 12:
            commas[nc] = i
            nc += 1
    f3 = buf[a + 2 : a + 5]
    if f3[0] == 82 and f3[1] == 77 and f3[2] == 67 and nc >= 9:  # RMC
        tod = parse_hhmmss(buf, commas[0] + 1, commas[1])
        da = commas[8] + 1
        db = commas[9] if nc >= 10 else star
        if db - da == 6:
            d = field_int(buf, da, da + 2)
            m = field_int(buf, da + 2, da + 4)
            y = field_int(buf, da + 4, da + 6)
            if d > 0 and m > 0 and y >= 0:
                y += 2000 if y < 80 else 1900
                day = civil_us(y, m, d, 0, 0, 0, 0)
                if day != NO_TIME:
                    gs[G_CARRY_DAY] = day
        if tod >= 0 and gs[G_CARRY_DAY] != NO_TIME:
            gs[G_CARRY_TS] = gs[G_CARRY_DAY] + tod
    elif f3[0] == 90 and f3[1] == 68 and f3[2] == 65 and nc >= 4:  # ZDA
        tod = parse_hhmmss(buf, commas[0] + 1, commas[1])
        d = field_int(buf, commas[1] + 1, commas[2])
        m = field_int(buf, commas[2] + 1, commas[3])
        y = field_int(buf, commas[3] + 1, commas[4] if nc >= 5 else star)
        if d > 0 and m > 0 and y > 0:
            day = civil_us(y, m, d, 0, 0, 0, 0)
            if day != NO_TIME:
                gs[G_CARRY_DAY] = day
        if tod >= 0 and gs[G_CARRY_DAY] != NO_TIME:
            gs[G_CARRY_TS] = gs[G_CARRY_DAY] + tod


@njit(cache=True, nogil=True)
def pghp_time(buf: np.ndarray, a: int, star: int) -> int:
    """``PGHP,1,<yyyy>,<m>,<d>,<h>,<mi>,<s>,<ms>,...`` (Gatehouse, body after ``PGHP,``)."""
    vals = np.zeros(8, np.int64)
    k = 0
    start = a
    for i in range(a, star + 1):
        if k >= 8:
            break
        if i == star or buf[i] == 44:
            vals[k] = field_int(buf, start, i)
            k += 1
            start = i + 1
    if k < 8 or vals[0] != 1:
        return NO_TIME
    for j in range(1, 8):
        if vals[j] < 0:
            return NO_TIME
    return civil_us(vals[1], vals[2], vals[3], vals[4], vals[5], vals[6], vals[7] * 1000)


@njit(cache=True, nogil=True, inline="always")
def sentence_body(
    buf: np.ndarray, b0: int, end: int
) -> tuple[int, int, int, int, int, int, int, int, int, bool]:
    """Scan a sentence body from ``b0``: (end of body, XOR checksum, commas, first 6 commas,
    whether a byte is not ASCII).

    The body ends at ``*``, at the start of another record (``!``, ``$``, ``\\``), at a
    newline or at ``end``.
    """
    star = b0
    x = 0
    nc = 0
    c0 = c1 = c2 = c3 = c4 = c5 = -1
    high = False
    while star < end:
        c = buf[star]
        k = CHAR_CLASS[c]
        if k == 0:
            x ^= c
            star += 1
            continue
        if k == 2:
            break
        x ^= c
        star += 1
        if k == 3:
            high = True
            continue
        if nc == 0:
            c0 = star - 1
        elif nc == 1:
            c1 = star - 1
        elif nc == 2:
            c2 = star - 1
        elif nc == 3:
            c3 = star - 1
        elif nc == 4:
            c4 = star - 1
        elif nc == 5:
            c5 = star - 1
        nc += 1
    return star, x, nc, c0, c1, c2, c3, c4, c5, high


@njit(cache=True, nogil=True)
def is_ascii(buf: np.ndarray, a: int, b: int) -> bool:
    for i in range(a, b):  # noqa: SIM110 (a compiled loop, not a generator)
        if buf[i] > 127:
            return False
    return True


@njit(cache=True, nogil=True)
def census(buf: np.ndarray) -> tuple[int, int, int]:
    """Upper bounds for the scanner's outputs: (lines, sentence starts '!', record starts)."""
    lines = 1
    bang = 0
    other = 0
    for i in range(buf.shape[0]):  # branch-free, so the compiler vectorises it
        c = buf[i]
        lines += c == 10
        bang += c == 33
        other += (c == 36) | (c == 92)
    return lines, bang, bang + other


@njit(cache=True, nogil=True)
def tag_blocks(buf: np.ndarray, p: int, le: int) -> tuple[int, int, int, int, int, int, int, int]:
    """IEC 61162-450 tag blocks from ``p``: (c: time, T: time, station start, station end,
    group key, fragment number, fragment count, position after the blocks).

    Tag-block checksums are not checked (feeds often write ``*00``); ``g:`` gives the group
    key (id and count) that fragments of one message share.
    """
    tag_ts = NO_TIME
    tag_t = NO_TIME
    st_a = 0
    st_b = 0
    group = -1
    gnum = -1
    gtot = -1
    while p < le and buf[p] == 92:  # '\' tag block
        q = p + 1
        te = q
        while te < le and buf[te] != 92:
            te += 1
        ve = te
        for i in range(q, te):
            if buf[i] == 42:  # '*' checksum of the tag block: not checked
                ve = i
                break
        a = q
        for i in range(q, ve + 1):
            if i == ve or buf[i] == 44:
                if i - a >= 2 and buf[a + 1] == 58:  # 'k:'
                    k = buf[a]
                    if k == 99:  # c
                        tag_ts = parse_time(buf, a + 2, i)
                    elif k == 115:  # s
                        st_a = a + 2
                        st_b = min(i, a + 2 + ra.STATION_BYTES)
                    elif k == 84:  # T
                        tag_t = parse_iso(buf, a + 2, i)
                    elif k == 103:  # g: num-total-id
                        vals = np.full(3, -1, np.int64)
                        kk = 0
                        b0 = a + 2
                        for j in range(a + 2, i + 1):
                            if j == i or buf[j] == 45:
                                if kk < 3:
                                    vals[kk] = field_int(buf, b0, j)
                                kk += 1
                                b0 = j + 1
                        if kk == 3 and vals[0] > 0 and vals[1] > 0 and vals[2] >= 0:
                            gnum = vals[0]
                            gtot = vals[1]
                            group = vals[2] * 16 + gtot
                a = i + 1
        p = te + 1
    return tag_ts, tag_t, st_a, st_b, group, gnum, gtot, p
