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

Kept whole: ``scan`` is one compiled state machine over the bytes (a line's tag blocks,
sentence, times and reassembly share its locals), and the ``M_*``/``C_*`` layouts and
reject helpers exist only for it; cutting it into separate numba functions would pass a
dozen locals through each call on the hot path and scatter one loop across files.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from seawatch.decode import reassembly as ra
from seawatch.decode.sentence import (
    G_CARRY_TS,
    G_PGHP_TS,
    N_G,
    SIXBIT,
    field_int,
    gps_time,
    hex_digit,
    is_ascii,
    pghp_time,
    sentence_body,
    tag_blocks,
)
from seawatch.decode.timeparse import NO_TIME, US
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
_CODES: Any = tuple(np.int64(code) for code in range(len(REASONS)))
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
) = _CODES
_ZERO: Any = np.int64(0)
# NumPy integers, and the scanner's counters start at _ZERO: numba types a Python int as a
# literal, and compiles a called function once per literal it is passed (_reject was
# compiled 32 times, once per reason code and counters still at 0; now 3 times).

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
C_EMPTY_FRAGMENTS = 4  # multi-sentence messages assembled with an empty fragment
C_REORDERED = 5  # multi-sentence messages assembled from fragments out of order
N_C = 6


def new_state() -> np.ndarray:
    return np.full(N_G, NO_TIME, np.int64)


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
def _reject_slot(
    rej: np.ndarray,
    rejbuf: np.ndarray,
    nr: int,
    nrb: int,
    meta: np.ndarray,
    spay_len: np.ndarray,
    sraw: np.ndarray,
    sraw_len: np.ndarray,
    s: int,
    reason: int,
) -> tuple[int, int]:
    """Reject every fragment held in slot ``s`` (one reject per fragment, with its bytes)."""
    for f in range(ra.MAX_FRAGMENTS):
        if spay_len[s, f] >= 0:
            nr, nrb = _reject(
                rej,
                rejbuf,
                nr,
                nrb,
                meta[s, ra.S_FIRST_LINE],
                reason,
                sraw[s, f],
                _ZERO,
                sraw_len[s, f],
            )
    return nr, nrb


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
    nr = _ZERO
    nrb = _ZERO
    line = line_no0
    pos = 0
    while pos < n:
        # ---- one line [ls, le)
        ls = pos
        fast = buf[ls] == 33  # the common line: a sentence with no tag block or prefix
        if fast:
            # read the sentence first, then only the few bytes after its checksum
            f_star, f_x, f_nc, f0, f1, f2, f3, f4, f5, f_hi = sentence_body(buf, ls + 1, n)
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
            if buf[p] == 92:  # '\' tag block(s)
                tag_ts, tag_t, st_a, st_b, group, gnum, gtot, p = tag_blocks(buf, p, le)
            else:
                tag_ts = tag_t = NO_TIME
                st_a = st_b = 0
                group = gnum = gtot = -1
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
                star, x, nc, c0, c1, c2, c3, c4, c5, hi = sentence_body(buf, b0, le)
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
            h1 = hex_digit(buf[star + 1])
            h2 = hex_digit(buf[star + 2])
            if h1 < 0 or h2 < 0 or x != h1 * 16 + h2:
                nr, nrb = _reject(rej, rejbuf, nr, nrb, line, BAD_CHECKSUM, buf, rec_start, te)
                p = te
                continue
            # ---- text that is not ASCII (tag blocks and suffixes carry no checksum)
            if hi or not is_ascii(buf, rec_start, p) or not is_ascii(buf, rec_end, te):
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
                        gs[G_PGHP_TS] = pghp_time(buf, b0 + 5, star)
                    else:
                        gps_time(buf, b0, star, gs)
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
            total = field_int(buf, c0 + 1, c1)
            num = field_int(buf, c1 + 1, c2)
            seq = field_int(buf, c2 + 1, c3)
            ca = c3 + 1
            chan = buf[ca] if c4 - ca == 1 else 0
            pa = c4 + 1
            pb = c5
            fill = field_int(buf, c5 + 1, star)
            if total < 1 or total > ra.MAX_FRAGMENTS or num < 1 or num > total or seq == -2:
                nr, nrb = _reject(rej, rejbuf, nr, nrb, line, BAD_FRAGMENT, buf, rec_start, te)
                p = te
                continue
            if pb == pa and total == 1:  # an empty fragment of several adds no bits
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
                    v = SIXBIT[buf[i]]
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
                mt = SIXBIT[buf[pa]]
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
                orv |= SIXBIT[buf[i]]
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
                    nr, nrb = _reject_slot(
                        rej, rejbuf, nr, nrb, meta, spay_len, sraw, sraw_len, s, ORPHAN
                    )
                    ra.release(used, k)
                else:
                    k += 1
            k = ra.find_slot(meta, used, group, sth, chan, seq, total)
            if k >= 0:
                s = used[1 + k]
                late = line - meta[s, ra.S_LAST_LINE] > ra.REORDER_LINES
                if (meta[s, ra.S_MASK] >> (num - 1)) & 1 or (meta[s, ra.S_MASK] >> num and late):
                    # this fragment already arrived, or it comes before a fragment that did
                    # and not right after it: a new message with the same key, so the
                    # earlier one can never complete (fragments reversed side by side join)
                    nr, nrb = _reject_slot(
                        rej, rejbuf, nr, nrb, meta, spay_len, sraw, sraw_len, s, ORPHAN
                    )
                    ra.release(used, k)
                    k = -1
            if k < 0:
                if used[0] >= meta.shape[0]:
                    ko = ra.oldest(meta, used)
                    so = used[1 + ko]
                    nr, nrb = _reject_slot(
                        rej, rejbuf, nr, nrb, meta, spay_len, sraw, sraw_len, so, ORPHAN
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
            if meta[s, ra.S_MASK] >> num:
                meta[s, ra.S_FLAGS] |= ra.F_REORDERED
            meta[s, ra.S_MASK] |= 1 << f
            meta[s, ra.S_LAST_LINE] = line
            if meta[s, ra.S_TS] == NO_TIME:
                meta[s, ra.S_TS] = ts
            if pb == pa:
                meta[s, ra.S_FLAGS] |= ra.F_EMPTY
            elif num >= meta[s, ra.S_FILL_FROM]:  # the fill bits end the last bits sent
                meta[s, ra.S_FILL] = fill
                meta[s, ra.S_FILL_FROM] = num
            if meta[s, ra.S_STATION_LEN] == 0 and st_b > st_a:
                sstation[s, : st_b - st_a] = buf[st_a:st_b]
                meta[s, ra.S_STATION_LEN] = st_b - st_a
            for i in range(pa, pb):
                spay[s, f, i - pa] = SIXBIT[buf[i]]
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
            if nchar == 0:
                nr, nrb = _reject_slot(
                    rej, rejbuf, nr, nrb, meta, spay_len, sraw, sraw_len, s, EMPTY_PAYLOAD
                )
                continue
            nbits = nchar * 6 - meta[s, ra.S_FILL]
            f0 = 0
            while spay_len[s, f0] == 0:
                f0 += 1
            mt = spay[s, f0, 0]
            if mt < 1 or mt > 27 or nbits < min_bits[mt]:
                reason = UNKNOWN_TYPE if (mt < 1 or mt > 27) else SHORT_MESSAGE
                nr, nrb = _reject_slot(
                    rej, rejbuf, nr, nrb, meta, spay_len, sraw, sraw_len, s, reason
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
            if meta[s, ra.S_FLAGS] & ra.F_EMPTY:
                counts[C_EMPTY_FRAGMENTS] += 1
            if meta[s, ra.S_FLAGS] & ra.F_REORDERED:
                counts[C_REORDERED] += 1
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
    nr = _ZERO
    nrb = _ZERO
    while used[0] > 0:
        s = used[1]
        nr, nrb = _reject_slot(rej, rejbuf, nr, nrb, meta, spay_len, sraw, sraw_len, s, ORPHAN)
        ra.release(used, 0)
    return nr, nrb


__all__ = ["NO_TIME", "REASONS", "US", "flush", "scan"]
