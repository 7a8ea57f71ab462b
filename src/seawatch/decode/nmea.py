"""Compiled scanner: NMEA 0183 text in, assembled six-bit AIS payloads out.

One pass over a chunk of complete lines. For each line it reads any IEC 61162-450 tag
blocks (``c:`` time, ``s:`` source, ``g:`` group), the sentence with its checksum, and
receive times written before or after it (epoch seconds/milliseconds, ISO 8601, the
USCG ``,...,r<station>,<epoch>`` suffix). ``$PGHP`` lines time the sentence after them;
``$xxRMC``/``$xxZDA`` time the AIS sentences that follow when nothing else does.
Multi-sentence messages are reassembled through :mod:`seawatch.decode.reassembly`.

Output is columnar: one row per assembled message in ``msg`` (see ``M_*``), its payload
packed ten six-bit characters to a 64-bit word (left-aligned, 60 bits used) in ``pay``,
and one row per rejected sentence or line in ``rej`` with the offending bytes copied to
``rejbuf`` for the quarantine file.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from seawatch.decode import reassembly as ra
from seawatch.decode.timeparse import NO_TIME, US, civil_us, parse_hhmmss, parse_iso
from seawatch.decode.timeparse import parse_time_token as parse_time

REASONS = (
    "bad_checksum",
    "no_checksum",
    "malformed_sentence",
    "bad_fragment",
    "bad_payload_char",
    "bad_fill_bits",
    "empty_payload",
    "orphan_fragment",
    "unknown_msg_type",
    "short_message",
    "line_too_long",
    "non_ascii",
    "not_nmea",
    "payload_too_long",
    "unknown_subtype",
)
(
    BAD_CHECKSUM,
    NO_CHECKSUM,
    MALFORMED,
    BAD_FRAGMENT,
    BAD_PAYLOAD_CHAR,
    BAD_FILL,
    EMPTY_PAYLOAD,
    ORPHAN,
    UNKNOWN_TYPE,
    SHORT_MESSAGE,
    LINE_TOO_LONG,
    NON_ASCII,
    NOT_NMEA,
    PAYLOAD_TOO_LONG,
    UNKNOWN_SUBTYPE,
) = range(len(REASONS))

# Columns of the message table
M_START = 0  # index in pay of the message's first word (ten six-bit values, left-aligned)
M_NBITS = 1
M_TS = 2
M_LINE = 3  # line number (1-based, whole input) of the first fragment
M_CHANNEL = 4
M_TALKER = 5  # two ASCII bytes, first << 8 | second
M_VDO = 6
M_STATION_START = 7
M_STATION_LEN = 8
M_RAW_START = 9
M_RAW_LEN = 10
M_NFRAG = 11
N_M = 12

# Counters
C_LINES = 0
C_SENTENCES = 1  # AIS sentences (VDM/VDO) seen, good or bad
C_OTHER = 2  # other NMEA sentences ($GPRMC, $PGHP, ...)
C_SKIPPED = 3  # blank lines, comments, lines holding only a time
N_C = 4

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


_SIXBIT = _sixbit_table()
# 1 = field separator, 2 = ends a sentence body ('*', '!', '$', '\\', newline), 0 = other
_CLASS = np.zeros(256, np.uint8)
_CLASS[44] = 1
_CLASS[[42, 33, 36, 92, 10]] = 2
_CLASS[128:] = 3  # not ASCII: the sentence is rejected (its text would not be valid UTF-8)


def new_state() -> np.ndarray:
    return np.full(N_G, NO_TIME, np.int64)


@njit(cache=True, nogil=True)
def _hex(c: int) -> int:
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    return -1


@njit(cache=True, nogil=True)
def _reject(
    rej: np.ndarray,
    rejbuf: np.ndarray,
    nr: int,
    nrb: int,
    line: int,
    reason: int,
    buf: np.ndarray,
    a: int,
    b: int,
) -> tuple[int, int]:
    rej[nr, 0] = line
    if reason != ORPHAN and reason != LINE_TOO_LONG:
        # bytes that are not printable ASCII say more about the line than what they broke
        for i in range(a, b):
            c = buf[i]
            if c > 126 or (c < 32 and c != 9 and c != 13):
                reason = NON_ASCII
                break
    rej[nr, 1] = reason
    rej[nr, 2] = nrb
    n = min(b - a, rejbuf.shape[0] - nrb)
    rejbuf[nrb : nrb + n] = buf[a : a + n]
    rej[nr, 3] = n
    return nr + 1, nrb + n


@njit(cache=True, nogil=True)
def _field_int(buf: np.ndarray, a: int, b: int) -> int:
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
def _gps_time(buf: np.ndarray, a: int, star: int, gs: np.ndarray) -> None:
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
            d = _field_int(buf, da, da + 2)
            m = _field_int(buf, da + 2, da + 4)
            y = _field_int(buf, da + 4, da + 6)
            if d > 0 and m > 0 and y >= 0:
                y += 2000 if y < 80 else 1900
                day = civil_us(y, m, d, 0, 0, 0, 0)
                if day != NO_TIME:
                    gs[G_CARRY_DAY] = day
        if tod >= 0 and gs[G_CARRY_DAY] != NO_TIME:
            gs[G_CARRY_TS] = gs[G_CARRY_DAY] + tod
    elif f3[0] == 90 and f3[1] == 68 and f3[2] == 65 and nc >= 4:  # ZDA
        tod = parse_hhmmss(buf, commas[0] + 1, commas[1])
        d = _field_int(buf, commas[1] + 1, commas[2])
        m = _field_int(buf, commas[2] + 1, commas[3])
        y = _field_int(buf, commas[3] + 1, commas[4] if nc >= 5 else star)
        if d > 0 and m > 0 and y > 0:
            day = civil_us(y, m, d, 0, 0, 0, 0)
            if day != NO_TIME:
                gs[G_CARRY_DAY] = day
        if tod >= 0 and gs[G_CARRY_DAY] != NO_TIME:
            gs[G_CARRY_TS] = gs[G_CARRY_DAY] + tod


@njit(cache=True, nogil=True)
def _pghp_time(buf: np.ndarray, a: int, star: int) -> int:
    """``PGHP,1,<yyyy>,<m>,<d>,<h>,<mi>,<s>,<ms>,...`` (Gatehouse, body after ``PGHP,``)."""
    vals = np.zeros(8, np.int64)
    k = 0
    start = a
    for i in range(a, star + 1):
        if k >= 8:
            break
        if i == star or buf[i] == 44:
            vals[k] = _field_int(buf, start, i)
            k += 1
            start = i + 1
    if k < 8 or vals[0] != 1:
        return NO_TIME
    for j in range(1, 8):
        if vals[j] < 0:
            return NO_TIME
    return civil_us(vals[1], vals[2], vals[3], vals[4], vals[5], vals[6], vals[7] * 1000)


@njit(cache=True, nogil=True, inline="always")
def _sentence(
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
        k = _CLASS[c]
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
def _ascii(buf: np.ndarray, a: int, b: int) -> bool:
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
def scan(
    buf: np.ndarray,
    line_no0: int,
    max_line: int,
    min_bits: np.ndarray,
    timeout_us: int,
    timeout_lines: int,
    keep_raw: bool,
    gs: np.ndarray,
    meta: np.ndarray,
    spay: np.ndarray,
    spay_len: np.ndarray,
    sraw: np.ndarray,
    sraw_len: np.ndarray,
    sstation: np.ndarray,
    used: np.ndarray,
    msg: np.ndarray,
    pay: np.ndarray,
    stbuf: np.ndarray,
    rawbuf: np.ndarray,
    rej: np.ndarray,
    rejbuf: np.ndarray,
    counts: np.ndarray,
) -> tuple[int, int, int, int, int, int]:
    """Scan ``buf`` (complete lines).

    Returns how much of each output was used: (messages, pay, station, raw, rejects, rejbuf).
    """
    n = buf.shape[0]
    nm = 0
    npay = 0
    nst = 0
    nraw = 0
    nr = 0
    nrb = 0
    line = line_no0
    pos = 0
    while pos < n:
        # ---- one line [ls, le)
        ls = pos
        fast = buf[ls] == 33  # the common line: a sentence with no tag block or prefix
        if fast:
            # read the sentence first, then only the few bytes after its checksum
            f_star, f_x, f_nc, f0, f1, f2, f3, f4, f5, f_hi = _sentence(buf, ls + 1, n)
            le = f_star
        else:
            le = ls
        while le < n and buf[le] != 10:
            le += 1
        pos = le + 1
        line += 1
        counts[C_LINES] += 1
        while le > ls and (buf[le - 1] == 13 or buf[le - 1] == 32 or buf[le - 1] == 9):
            le -= 1
        while ls < le and (buf[ls] == 32 or buf[ls] == 9):
            ls += 1
        if le == ls or buf[ls] == 35:  # blank or '#' comment
            counts[C_SKIPPED] += 1
            continue
        if le - ls > max_line:
            nr, nrb = _reject(rej, rejbuf, nr, nrb, line, LINE_TOO_LONG, buf, ls, ls + max_line)
            continue
        # ---- receive time written before the first sentence or tag block
        first = ls
        while first < le and buf[first] != 33 and buf[first] != 36 and buf[first] != 92:
            first += 1
        prefix_ts = NO_TIME
        if first > ls:
            pe = first
            while pe > ls and (buf[pe - 1] == 44 or buf[pe - 1] == 32 or buf[pe - 1] == 59):
                pe -= 1
            prefix_ts = parse_time(buf, ls, pe)
            if prefix_ts == NO_TIME:
                if first == le:
                    # no sentence at all: a line holding only times (",1541030400") is skipped
                    only_time = True
                    a = ls
                    for i in range(ls, le + 1):
                        if i == le or buf[i] == 44:
                            if i > a and parse_time(buf, a, i) == NO_TIME:
                                only_time = False
                            a = i + 1
                    if only_time:
                        counts[C_SKIPPED] += 1
                    else:
                        nr, nrb = _reject(rej, rejbuf, nr, nrb, line, NOT_NMEA, buf, ls, le)
                    continue
                nr, nrb = _reject(rej, rejbuf, nr, nrb, line, NOT_NMEA, buf, ls, le)
                continue
        # ---- records: [tag block] sentence [trailing fields], possibly several per line
        p = first
        while p < le:
            rec_start = p
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
                                            vals[kk] = _field_int(buf, b0, j)
                                        kk += 1
                                        b0 = j + 1
                                if kk == 3 and vals[0] > 0 and vals[1] > 0 and vals[2] >= 0:
                                    gnum = vals[0]
                                    gtot = vals[1]
                                    group = vals[2] * 16 + gtot
                        a = i + 1
                p = te + 1
            if p >= le:
                if p > rec_start:
                    nr, nrb = _reject(rej, rejbuf, nr, nrb, line, MALFORMED, buf, rec_start, le)
                break
            if buf[p] != 33 and buf[p] != 36:  # not '!' or '$'
                nr, nrb = _reject(rej, rejbuf, nr, nrb, line, NOT_NMEA, buf, rec_start, le)
                break
            # ---- sentence [p, star) and checksum
            b0 = p + 1
            if fast and p == ls:
                star, x, nc, c0, c1, c2, c3, c4, c5, hi = (
                    f_star,
                    f_x,
                    f_nc,
                    f0,
                    f1,
                    f2,
                    f3,
                    f4,
                    f5,
                    f_hi,
                )
            else:
                star, x, nc, c0, c1, c2, c3, c4, c5, hi = _sentence(buf, b0, le)
            # trailing fields run to the next record start
            rec_end = star + 3 if star < le and buf[star] == 42 else star
            te = min(rec_end, le)
            while te < le and buf[te] != 92 and buf[te] != 33 and buf[te] != 36:
                te += 1
            is_ais = (
                buf[p] == 33
                and star - b0 >= 5
                and buf[b0 + 2] == 86
                and buf[b0 + 3] == 68
                and (buf[b0 + 4] == 77 or buf[b0 + 4] == 79)
            )
            if is_ais:
                counts[C_SENTENCES] += 1
            if star >= le or buf[star] != 42 or star + 3 > le:
                if is_ais or buf[p] == 33:
                    nr, nrb = _reject(rej, rejbuf, nr, nrb, line, NO_CHECKSUM, buf, rec_start, te)
                else:
                    counts[C_OTHER] += 1
                p = te
                continue
            h1 = _hex(buf[star + 1])
            h2 = _hex(buf[star + 2])
            if h1 < 0 or h2 < 0 or x != h1 * 16 + h2:
                nr, nrb = _reject(rej, rejbuf, nr, nrb, line, BAD_CHECKSUM, buf, rec_start, te)
                p = te
                continue
            # ---- text that is not ASCII (tag blocks and suffixes carry no checksum)
            if hi or not _ascii(buf, rec_start, p) or not _ascii(buf, rec_end, te):
                nr, nrb = _reject(rej, rejbuf, nr, nrb, line, NON_ASCII, buf, rec_start, te)
                p = te
                continue
            # ---- trailing times and station (",1325394060", ",r003669946")
            trail_ts = NO_TIME
            a = rec_end
            for i in range(rec_end, te + 1 if te > rec_end else rec_end):
                if i == te or buf[i] == 44:
                    if i > a:
                        if trail_ts == NO_TIME:
                            trail_ts = parse_time(buf, a, i)
                        if buf[a] == 114 and st_b == st_a and i - a > 1:  # 'r' receiver id
                            st_a = a + 1
                            st_b = min(i, a + 1 + ra.STATION_BYTES)
                    a = i + 1
            if not is_ais:
                counts[C_OTHER] += 1
                if buf[p] == 36 and star - b0 >= 5:
                    pghp = buf[b0] == 80 and buf[b0 + 1] == 71 and buf[b0 + 2] == 72
                    if pghp and buf[b0 + 3] == 80:
                        gs[G_PGHP_TS] = _pghp_time(buf, b0 + 5, star)
                    else:
                        _gps_time(buf, b0, star, gs)
                p = te
                continue
            ts = tag_ts
            if ts == NO_TIME:
                ts = trail_ts
            if ts == NO_TIME:
                ts = prefix_ts
            if ts == NO_TIME:
                ts = tag_t
            if ts == NO_TIME:
                ts = gs[G_PGHP_TS]
            if ts == NO_TIME:
                ts = gs[G_CARRY_TS]
            gs[G_PGHP_TS] = NO_TIME
            # ---- fields: talker+VDM, total, num, seq, channel, payload, fill
            if nc != 6:
                nr, nrb = _reject(rej, rejbuf, nr, nrb, line, MALFORMED, buf, rec_start, te)
                p = te
                continue
            total = _field_int(buf, c0 + 1, c1)
            num = _field_int(buf, c1 + 1, c2)
            seq = _field_int(buf, c2 + 1, c3)
            ca = c3 + 1
            chan = buf[ca] if c4 - ca == 1 else 0
            pa = c4 + 1
            pb = c5
            fill = _field_int(buf, c5 + 1, star)
            if total < 1 or total > ra.MAX_FRAGMENTS or num < 1 or num > total or seq == -2:
                nr, nrb = _reject(rej, rejbuf, nr, nrb, line, BAD_FRAGMENT, buf, rec_start, te)
                p = te
                continue
            if pb == pa:
                nr, nrb = _reject(rej, rejbuf, nr, nrb, line, EMPTY_PAYLOAD, buf, rec_start, te)
                p = te
                continue
            if fill < 0 or fill > 5:
                nr, nrb = _reject(rej, rejbuf, nr, nrb, line, BAD_FILL, buf, rec_start, te)
                p = te
                continue
            talker = np.int64(buf[b0]) * 256 + buf[b0 + 1]
            vdo = 1 if buf[b0 + 4] == 79 else 0
            if total == 1:
                # ---- single-sentence message: pack straight into the output, then decide
                w = npay
                acc = np.uint64(0)
                cnt = 0
                orv = 0
                for i in range(pa, pb):
                    v = _SIXBIT[buf[i]]
                    orv |= v
                    acc = (acc << np.uint64(6)) | np.uint64(v)
                    cnt += 1
                    if cnt == 10:
                        pay[w] = acc << np.uint64(4)
                        w += 1
                        acc = np.uint64(0)
                        cnt = 0
                if cnt:
                    pay[w] = acc << np.uint64(4 + 6 * (10 - cnt))
                    w += 1
                if orv > 63:  # a character outside the six-bit armour
                    nr, nrb = _reject(
                        rej, rejbuf, nr, nrb, line, BAD_PAYLOAD_CHAR, buf, rec_start, te
                    )
                    p = te
                    continue
                nbits = (pb - pa) * 6 - fill
                mt = _SIXBIT[buf[pa]]
                if mt < 1 or mt > 27:
                    nr, nrb = _reject(rej, rejbuf, nr, nrb, line, UNKNOWN_TYPE, buf, rec_start, te)
                    p = te
                    continue
                if nbits < min_bits[mt]:
                    nr, nrb = _reject(rej, rejbuf, nr, nrb, line, SHORT_MESSAGE, buf, rec_start, te)
                    p = te
                    continue
                msg[M_START, nm] = npay
                npay = w
                msg[M_NBITS, nm] = nbits
                msg[M_TS, nm] = ts
                msg[M_LINE, nm] = line
                msg[M_CHANNEL, nm] = chan
                msg[M_TALKER, nm] = talker
                msg[M_VDO, nm] = vdo
                msg[M_STATION_START, nm] = nst
                msg[M_STATION_LEN, nm] = st_b - st_a
                for i in range(st_a, st_b):
                    stbuf[nst] = buf[i]
                    nst += 1
                msg[M_NFRAG, nm] = 1
                msg[M_RAW_START, nm] = nraw
                msg[M_RAW_LEN, nm] = 0
                if keep_raw:
                    rl = te - rec_start
                    rawbuf[nraw : nraw + rl] = buf[rec_start:te]
                    nraw += rl
                    msg[M_RAW_LEN, nm] = rl
                nm += 1
                p = te
                continue
            # ---- fragment of a multi-sentence message
            orv = 0
            for i in range(pa, pb):
                orv |= _SIXBIT[buf[i]]
            if orv > 63:
                nr, nrb = _reject(rej, rejbuf, nr, nrb, line, BAD_PAYLOAD_CHAR, buf, rec_start, te)
                p = te
                continue
            if pb - pa > ra.FRAGMENT_CHARS:
                nr, nrb = _reject(rej, rejbuf, nr, nrb, line, PAYLOAD_TOO_LONG, buf, rec_start, te)
                p = te
                continue
            if group >= 0 and (gtot != total or gnum != num):
                group = -1  # inconsistent tag-block group: fall back to the sentence's own key
            sth = ra.station_hash(buf, st_a, st_b)
            # drop orphans that timed out
            k = 0
            while k < used[0]:
                s = used[1 + k]
                old = False
                if ts != NO_TIME and meta[s, ra.S_TS] != NO_TIME:
                    old = ts - meta[s, ra.S_TS] > timeout_us
                if line - meta[s, ra.S_LAST_LINE] > timeout_lines:
                    old = True
                if old:
                    for f in range(ra.MAX_FRAGMENTS):
                        if spay_len[s, f] >= 0:
                            nr, nrb = _reject(
                                rej,
                                rejbuf,
                                nr,
                                nrb,
                                meta[s, ra.S_FIRST_LINE],
                                ORPHAN,
                                sraw[s, f],
                                0,
                                sraw_len[s, f],
                            )
                    ra.release(used, k)
                else:
                    k += 1
            k = ra.find_slot(meta, used, group, sth, chan, seq, total)
            if k >= 0:
                s = used[1 + k]
                if meta[s, ra.S_MASK] >> (num - 1):
                    # this fragment or a later one already arrived: fragments are sent in
                    # order, so the earlier message can never complete
                    for f in range(ra.MAX_FRAGMENTS):
                        if spay_len[s, f] >= 0:
                            nr, nrb = _reject(
                                rej,
                                rejbuf,
                                nr,
                                nrb,
                                meta[s, ra.S_FIRST_LINE],
                                ORPHAN,
                                sraw[s, f],
                                0,
                                sraw_len[s, f],
                            )
                    ra.release(used, k)
                    k = -1
            if k < 0:
                if used[0] >= meta.shape[0]:
                    ko = ra.oldest(meta, used)
                    so = used[1 + ko]
                    for f in range(ra.MAX_FRAGMENTS):
                        if spay_len[so, f] >= 0:
                            nr, nrb = _reject(
                                rej,
                                rejbuf,
                                nr,
                                nrb,
                                meta[so, ra.S_FIRST_LINE],
                                ORPHAN,
                                sraw[so, f],
                                0,
                                sraw_len[so, f],
                            )
                    ra.release(used, ko)
                k = ra.allocate(meta, spay_len, used)
                s = used[1 + k]
                meta[s, ra.S_GROUP] = group
                meta[s, ra.S_STATION] = sth
                meta[s, ra.S_CHANNEL] = chan
                meta[s, ra.S_SEQ] = seq
                meta[s, ra.S_TOTAL] = total
                meta[s, ra.S_FIRST_LINE] = line
                meta[s, ra.S_TS] = ts
                meta[s, ra.S_STATION_LEN] = 0
                meta[s, ra.S_TALKER] = talker
                meta[s, ra.S_VDO] = vdo
            s = used[1 + k]
            f = num - 1
            meta[s, ra.S_MASK] |= 1 << f
            meta[s, ra.S_LAST_LINE] = line
            if meta[s, ra.S_TS] == NO_TIME:
                meta[s, ra.S_TS] = ts
            if num == total:
                meta[s, ra.S_FILL] = fill
            if meta[s, ra.S_STATION_LEN] == 0 and st_b > st_a:
                sstation[s, : st_b - st_a] = buf[st_a:st_b]
                meta[s, ra.S_STATION_LEN] = st_b - st_a
            for i in range(pa, pb):
                spay[s, f, i - pa] = _SIXBIT[buf[i]]
            spay_len[s, f] = pb - pa
            rl = min(te - rec_start, ra.RAW_BYTES)
            sraw[s, f, :rl] = buf[rec_start : rec_start + rl]
            sraw_len[s, f] = rl
            p = te
            if meta[s, ra.S_MASK] != (1 << total) - 1:
                continue
            # ---- complete: emit
            ra.release(used, k)
            nchar = 0
            for f in range(total):
                nchar += spay_len[s, f]
            nbits = nchar * 6 - meta[s, ra.S_FILL]
            mt = spay[s, 0, 0]
            if mt < 1 or mt > 27 or nbits < min_bits[mt]:
                reason = UNKNOWN_TYPE if (mt < 1 or mt > 27) else SHORT_MESSAGE
                for f in range(total):
                    nr, nrb = _reject(
                        rej,
                        rejbuf,
                        nr,
                        nrb,
                        meta[s, ra.S_FIRST_LINE],
                        reason,
                        sraw[s, f],
                        0,
                        sraw_len[s, f],
                    )
                continue
            msg[M_START, nm] = npay
            acc = np.uint64(0)
            cnt = 0
            for f in range(total):
                for i in range(spay_len[s, f]):
                    acc = (acc << np.uint64(6)) | np.uint64(spay[s, f, i])
                    cnt += 1
                    if cnt == 10:
                        pay[npay] = acc << np.uint64(4)
                        npay += 1
                        acc = np.uint64(0)
                        cnt = 0
            if cnt:
                pay[npay] = acc << np.uint64(4 + 6 * (10 - cnt))
                npay += 1
            msg[M_NBITS, nm] = nbits
            msg[M_TS, nm] = meta[s, ra.S_TS]
            msg[M_LINE, nm] = meta[s, ra.S_FIRST_LINE]
            msg[M_CHANNEL, nm] = chan
            msg[M_TALKER, nm] = meta[s, ra.S_TALKER]
            msg[M_VDO, nm] = meta[s, ra.S_VDO]
            sl = meta[s, ra.S_STATION_LEN]
            msg[M_STATION_START, nm] = nst
            msg[M_STATION_LEN, nm] = sl
            for i in range(sl):
                stbuf[nst] = sstation[s, i]
                nst += 1
            msg[M_NFRAG, nm] = total
            msg[M_RAW_START, nm] = nraw
            msg[M_RAW_LEN, nm] = 0
            if keep_raw:
                r0 = nraw
                for f in range(total):
                    m = sraw_len[s, f]
                    if f > 0:
                        rawbuf[nraw] = 10
                        nraw += 1
                    rawbuf[nraw : nraw + m] = sraw[s, f, :m]
                    nraw += m
                msg[M_RAW_LEN, nm] = nraw - r0
            nm += 1
    return nm, npay, nst, nraw, nr, nrb


@njit(cache=True, nogil=True)
def flush(
    meta: np.ndarray,
    spay_len: np.ndarray,
    sraw: np.ndarray,
    sraw_len: np.ndarray,
    used: np.ndarray,
    rej: np.ndarray,
    rejbuf: np.ndarray,
) -> tuple[int, int]:
    """End of input: every fragment still waiting is an orphan."""
    nr = 0
    nrb = 0
    while used[0] > 0:
        s = used[1]
        for f in range(ra.MAX_FRAGMENTS):
            if spay_len[s, f] >= 0:
                nr, nrb = _reject(
                    rej,
                    rejbuf,
                    nr,
                    nrb,
                    meta[s, ra.S_FIRST_LINE],
                    ORPHAN,
                    sraw[s, f],
                    0,
                    sraw_len[s, f],
                )
        ra.release(used, 0)
    return nr, nrb


__all__ = ["NO_TIME", "REASONS", "US", "flush", "scan"]
