"""Multi-sentence messages kept whole across a live feed's batches.

In: a batch of whole NMEA lines (each ending with a newline, tag blocks allowed) and how
many of its leading bytes were already held back once. Out: :func:`unfinished_tail`, the
byte offset where the batch's tail of unfinished multi-sentence messages begins.

A live batch is decoded alone (each is kept as its own file, so that it can be read again
on its own), and a message of two or more sentences (a static and voyage report, type 5, is
two) whose first sentence ends one batch and whose last begins the next would be two
orphan fragments, and the message lost. So a batch's tail from the first sentence of the
earliest message still waiting for its next fragment goes with the next batch. Only the last
:data:`TAIL_LINES` lines are looked at, and bytes held once are never held again: a
fragment whose partner never comes waits one batch, then is decoded (and counted as an
orphan) as it would be from a file. :func:`fragment_of` is also how a big file's byte
ranges find where no message is cut (:mod:`seawatch.sources.ranges`).
"""

from __future__ import annotations

__all__ = ["TAIL_LINES", "fragment_of", "unfinished_tail"]

TAIL_LINES = 64
"""Lines at the end of a batch looked at for messages still waiting for a fragment (the
fragments of one message come within a few lines of each other in practice)."""


def fragment_of(line: bytes) -> tuple[int, int, bytes] | None:
    """(fragment count, fragment number, key) of an AIVDM/AIVDO sentence of two or more
    fragments (keyed by the receiving station, talker, sequence id and channel), or of a
    line of a tag-block group (``g:2-3-1234``) of two or more lines; None for anything else."""
    station = b""
    if line.startswith(b"\\"):  # an IEC 61162-450 tag block first
        end = line.find(b"\\", 1)
        if end < 0:
            return None
        for tag in line[1:end].split(b"*", 1)[0].split(b","):
            if tag.startswith(b"g:"):
                group = _group(tag)
                if group is not None:
                    return group
            elif tag.startswith(b"s:"):
                station = tag
        line = line[end + 1 :]
    fields = line.split(b",", 5)
    if len(fields) < 6 or fields[0][-3:] not in (b"VDM", b"VDO"):
        return None
    count, number = fields[1], fields[2]
    if not (count.isdigit() and number.isdigit()) or count == b"1":
        return None
    star = fields[5].find(b"*")
    for trail in fields[5][star + 3 :].split(b",") if star >= 0 else ():
        if trail.startswith(b"r"):  # a receiver's id after the sentence (",r003669946")
            station = trail
    return int(count), int(number), b",".join((station, fields[0][-5:], fields[3], fields[4]))


def _group(tag: bytes) -> tuple[int, int, bytes] | None:
    """(lines, line number, key) of a tag block's ``g:number-count-id`` of two or more
    lines; None otherwise."""
    parts = tag[2:].split(b"-")
    if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit() and int(parts[1]) > 1:
        return int(parts[1]), int(parts[0]), b"g:" + parts[2]
    return None


def unfinished_tail(batch: bytes, held: int = 0) -> int:
    """The offset in ``batch`` of the first line of the earliest multi-sentence message in
    its last :data:`TAIL_LINES` lines that has not had its last fragment yet, at or after
    ``held`` (the bytes held back once already); ``len(batch)`` when there is none."""
    start = len(batch)
    for _ in range(TAIL_LINES):  # the start of the last TAIL_LINES lines
        k = batch.rfind(b"\n", 0, max(start - 1, 0))
        if k < 0:
            start = 0
            break
        start = k + 1
    if held > start:  # from the first line that begins at or after ``held``
        start = (
            held if batch[held - 1 : held] == b"\n" else (batch.find(b"\n", held) + 1 or len(batch))
        )
    waiting: dict[bytes, tuple[int, int, int]] = {}  # key → (first line's offset, next, count)
    at = start
    while at < len(batch):
        end = batch.find(b"\n", at)
        end = len(batch) if end < 0 else end + 1
        frag = fragment_of(batch[at:end].rstrip(b"\r\n"))
        if frag is not None:
            count, number, key = frag
            if number == 1:
                waiting[key] = (at, 2, count)
            elif key in waiting and waiting[key][1] == number:
                first, _, count = waiting[key]
                if number >= count:
                    del waiting[key]
                else:
                    waiting[key] = (first, number + 1, count)
        at = end
    return min((first for first, _, _ in waiting.values()), default=len(batch))
