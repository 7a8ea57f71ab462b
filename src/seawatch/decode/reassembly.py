"""Bounded reassembly of multi-sentence AIS messages, as compiled helpers.

Fragments wait in a fixed table of slots (:class:`Pending`), keyed by the tag-block
group id when the sender gave one, otherwise by (station, channel, sequence id,
fragment count). Fragments of other messages, and other sentences, may arrive in
between, and a message's fragments in reverse order when they arrive within
``REORDER_LINES`` lines (real feeds relay them reversed); a fragment
with an empty payload adds no bits (a real type 8 ended with ``!AIVDM,2,2,0,A,,0*16``).
A slot is dropped as an orphan when its message cannot complete: a fragment whose number
it already holds restarts the message, its time or line distance exceeds the timeout,
the table is full (the oldest slot goes), or the input ends.

The table lives in numpy arrays so it survives from one chunk of input to the next
without a Python object per fragment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

MAX_FRAGMENTS = 9
FRAGMENT_CHARS = 128  # payload characters kept per fragment (a sentence holds ≤ 82 bytes)
RAW_BYTES = 512  # raw sentence bytes kept per fragment, for quarantine and ``raw``
STATION_BYTES = 32
#: A fragment numbered before one its message already holds joins only this many lines
#: after the message's last fragment: reversed relays put fragments side by side, and a
#: wider window (the orphan timeout) joined orphan fragments 2 to the next message's
#: fragment 1 with the same sequence id (121 of AISHub's 82,753 messages lost).
REORDER_LINES = 9

# Columns of Pending.meta
S_GROUP = 0  # tag-block group id, or -1
S_STATION = 1  # hash of the station name, 0 if none
S_CHANNEL = 2
S_SEQ = 3  # sequence id, -1 if empty
S_TOTAL = 4
S_MASK = 5  # bit k set when fragment k+1 arrived
S_FIRST_LINE = 6
S_LAST_LINE = 7
S_TS = 8
S_FILL = 9
S_STATION_LEN = 10
S_TALKER = 11
S_VDO = 12
S_FLAGS = 13  # F_* bits: how the message was put together
S_FILL_FROM = 14  # number of the fragment whose fill bits S_FILL holds (the last non-empty)
N_META = 15

F_REORDERED = 1  # a fragment arrived after a later-numbered one of its message
F_EMPTY = 2  # a fragment had an empty payload (it adds no bits)


@dataclass
class Pending:
    """Fragments waiting for the rest of their message (state carried between chunks)."""

    meta: np.ndarray  # int64[capacity, N_META]
    payload: np.ndarray  # uint8[capacity, MAX_FRAGMENTS, FRAGMENT_CHARS] six-bit values
    payload_len: np.ndarray  # int64[capacity, MAX_FRAGMENTS], -1 = not arrived
    raw: np.ndarray  # uint8[capacity, MAX_FRAGMENTS, RAW_BYTES]
    raw_len: np.ndarray  # int64[capacity, MAX_FRAGMENTS]
    station: np.ndarray  # uint8[capacity, STATION_BYTES]
    used: np.ndarray  # int64[capacity + 1]: used[0] = count, used[1:] = slot ids in use

    @classmethod
    def empty(cls, capacity: int) -> Pending:
        return cls(
            meta=np.zeros((capacity, N_META), np.int64),
            payload=np.zeros((capacity, MAX_FRAGMENTS, FRAGMENT_CHARS), np.uint8),
            payload_len=np.full((capacity, MAX_FRAGMENTS), -1, np.int64),
            raw=np.zeros((capacity, MAX_FRAGMENTS, RAW_BYTES), np.uint8),
            raw_len=np.zeros((capacity, MAX_FRAGMENTS), np.int64),
            station=np.zeros((capacity, STATION_BYTES), np.uint8),
            used=np.zeros(capacity + 1, np.int64),
        )

    @property
    def count(self) -> int:
        return int(self.used[0])

    @property
    def held_bytes(self) -> int:
        """Upper bound of payload plus raw bytes the slots hold."""
        return self.count * MAX_FRAGMENTS * (FRAGMENT_CHARS + RAW_BYTES)


@njit(cache=True, nogil=True)
def find_slot(
    meta: np.ndarray, used: np.ndarray, group: int, station: int, channel: int, seq: int, total: int
) -> int:
    """Index in ``used[1:]`` of the slot with this key, or -1."""
    for k in range(used[0]):
        s = used[1 + k]
        if meta[s, S_TOTAL] != total:
            continue
        if group >= 0:
            if meta[s, S_GROUP] == group:
                return k
            continue
        # a fragment without a station (only the first carried a tag block) matches any
        same_station = station == 0 or meta[s, S_STATION] == 0 or meta[s, S_STATION] == station
        if (
            meta[s, S_GROUP] < 0
            and same_station
            and meta[s, S_CHANNEL] == channel
            and meta[s, S_SEQ] == seq
        ):
            return k
    return -1


@njit(cache=True, nogil=True)
def allocate(meta: np.ndarray, payload_len: np.ndarray, used: np.ndarray) -> int:
    """Take a free slot (the caller has made room); returns its index in ``used[1:]``."""
    capacity = meta.shape[0]
    n = used[0]
    # slots in use are listed in used[1:n+1]; find one not listed
    taken = np.zeros(capacity, np.bool_)
    for k in range(n):
        taken[used[1 + k]] = True
    for s in range(capacity):
        if not taken[s]:
            used[1 + n] = s
            used[0] = n + 1
            for f in range(payload_len.shape[1]):
                payload_len[s, f] = -1
            meta[s, S_MASK] = 0
            meta[s, S_FLAGS] = 0
            meta[s, S_FILL] = 0
            meta[s, S_FILL_FROM] = 0
            return int(n)
    return -1


@njit(cache=True, nogil=True)
def release(used: np.ndarray, k: int) -> None:
    """Remove entry ``k`` of the in-use list (swap with the last)."""
    n = used[0]
    used[1 + k] = used[n]
    used[0] = n - 1


@njit(cache=True, nogil=True)
def oldest(meta: np.ndarray, used: np.ndarray) -> int:
    best = -1
    best_line = np.iinfo(np.int64).max
    for k in range(used[0]):
        s = used[1 + k]
        if meta[s, S_FIRST_LINE] < best_line:
            best_line = meta[s, S_FIRST_LINE]
            best = k
    return best


@njit(cache=True, nogil=True)
def station_hash(buf: np.ndarray, a: int, b: int) -> int:
    """FNV-1a of the station name; 0 when there is none."""
    if b <= a:
        return 0
    h = np.uint64(14695981039346656037)
    for i in range(a, b):
        h = (h ^ np.uint64(buf[i])) * np.uint64(1099511628211)
    v = int(np.int64(h & np.uint64(0x7FFFFFFFFFFFFFFF)))
    return v if v != 0 else 1
