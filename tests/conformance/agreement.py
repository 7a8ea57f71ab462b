"""Align a reference decoder's records with seawatch's messages and count agreement.

A reference record is a dict of fields (names as the reference writes them, after its
module's ``normalise``). A :class:`Pair` says which seawatch column a field corresponds
to and how the reference's value converts to seawatch's unit. Records and messages are
aligned by their sequence of keys (neither side says which input line a message came
from, and either may drop messages the other keeps), then every paired field is compared.
A disagreement that a :class:`Known` cause explains is counted as explained; the others
fail the test.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from .ours import Decoded, Message

MIN_COMPARED = 20  # a field compared fewer times than this must agree on every value
THRESHOLD = 0.999  # else on this share of them (explained disagreements count as agreeing)
DOCS = "docs/decoding.md"


@dataclass(frozen=True)
class Pair:
    """A reference field and the seawatch column it corresponds to.

    ``ours`` is a column of the message's table, ``table.column`` of an application
    table, or a derived value of :meth:`Decoded.value`. The reference value is divided
    by ``scale``; a value in ``na`` means "not available" and must be null on our side; a
    value in ``absent`` is what the reference writes for a field the message does not
    have (null or equal on our side). ``kind`` converts specially: ``bool``, ``text``
    and ``bits`` ('' = null), ``rot`` (raw rate of turn → degrees per minute).
    ``tol`` is the absolute tolerance for numbers (the reference's float32 rounding).
    """

    theirs: str
    ours: str
    scale: float = 1.0
    na: tuple[float, ...] = ()
    absent: tuple[int, ...] = ()
    kind: str = ""
    tol: float = 0.0

    def convert(self, v: Any) -> Any:
        if v is None or (self.na and v in self.na):
            return None
        if isinstance(v, float) and any(abs(v - n) < 1e-3 for n in self.na):
            return None  # a float32 "not available" value (libais)
        if self.kind == "bool":
            return bool(v)
        if self.kind in ("text", "bits"):
            return v or None
        if self.kind == "rot":
            r = v / 4.733
            return math.copysign(r * r, v)
        if self.scale != 1.0:
            return v / self.scale
        return v

    def agrees(self, ours: Any, theirs: Any) -> bool:
        if ours is None and self.absent and theirs in self.absent:
            return True
        return same(ours, self.convert(theirs), self.tol)


def same(a: Any, b: Any, tol: float = 0.0) -> bool:
    """Equal values: None only with None, bools with bools, numbers within ``tol``."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=max(tol, 1e-9))
    return bool(a == b)


def p(theirs: str, ours: str | None = None, **kw: Any) -> Pair:
    """Shorthand: ``p("speed", "speed_kn", scale=10, na=(1023,))``."""
    return Pair(theirs, ours or theirs, **kw)


@dataclass(frozen=True)
class Case:
    """One disagreement, as a :class:`Known` cause sees it."""

    decoded: Decoded
    msg: Message
    pair: Pair
    ours: Any
    theirs: Any  # as the reference wrote it
    record: Mapping[str, Any]

    @property
    def converted(self) -> Any:
        return self.pair.convert(self.theirs)

    @property
    def column(self) -> str:
        return self.pair.ours


@dataclass(frozen=True)
class Known:
    """A known cause of disagreements: ``applies`` recognises them one by one, and the
    section ``anchor`` of docs/decoding.md says which side is right and why."""

    anchor: str
    applies: Callable[[Case], bool]


# ---- causes both references show (docs/decoding.md says which side is right)


def past_end(c: Case) -> bool:
    """seawatch: null, as the message ends before the field; the reference reads on
    (zeros past the end of the message)."""
    end = c.decoded.field_end(c.msg, c.column)
    return c.ours is None and end is not None and len(c.decoded.bits(c.msg)) < end


def slot_binary_spare(c: Case) -> bool:
    """Types 25/26 addressed: the reference reads on right after the destination MMSI;
    seawatch skips the 2 spare bits ITU-R M.1371-5 puts there (Table 80)."""
    if c.msg.msg_type not in (25, 26) or not c.decoded.value(c.msg, "addressed"):
        return False
    if c.column in ("data", "data_without_radio"):
        return isinstance(c.converted, str) and (c.converted[2:] or None) == c.ours
    bits = c.decoded.bits(c.msg)
    app_id = {"dac": bits[70:80], "fi": bits[80:86]}.get(c.column)
    return app_id is not None and int(app_id, 2) == c.theirs


SHORT_MESSAGES = Known("short-messages", past_end)
SLOT_BINARY = Known("addressed-types-25-and-26", slot_binary_spare)


@dataclass
class FieldCount:
    compared: int = 0
    agreed: int = 0
    explained: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[int, Any, Any]] = field(default_factory=list)

    @property
    def unexplained(self) -> int:
        return self.compared - self.agreed - sum(self.explained.values())

    def add(self, other: FieldCount) -> None:
        self.compared += other.compared
        self.agreed += other.agreed
        self.explained.update(other.explained)
        self.examples += other.examples

    def passes(self) -> bool:
        if not self.unexplained:
            return True
        return self.compared >= MIN_COMPARED and 1 - self.unexplained / self.compared >= THRESHOLD


@dataclass
class FileResult:
    """Agreement of one file with one reference: per (message type, seawatch column)."""

    label: str
    reference: str
    theirs_records: int = 0
    our_messages: int = 0
    matched: int = 0
    fields: dict[tuple[int, str], FieldCount] = field(default_factory=dict)
    unmatched_theirs: list[tuple[Any, ...]] = field(default_factory=list)
    unmatched_ours: list[Message] = field(default_factory=list)

    def count(self, msg_type: int, column: str) -> FieldCount:
        return self.fields.setdefault((msg_type, column), FieldCount())

    def failures(self) -> list[str]:
        """Fields whose unexplained disagreements break the threshold, with examples."""
        out = []
        for (mt, col), fc in sorted(self.fields.items()):
            if fc.passes():
                continue
            ex = "; ".join(
                f"line {ln}: ours {o!r}, {self.reference} {t!r}" for ln, o, t in fc.examples
            )
            out.append(
                f"{self.label}: type {mt} {col}: {fc.unexplained} of {fc.compared} values "
                f"disagree without a known cause, e.g. {ex}"
            )
        return out


Key = tuple[Any, ...]
PairsFor = Callable[[int, Any, Any], Iterable[Pair]]


def align(
    ours: Sequence[Key], theirs: Sequence[Key], ours_fine: Sequence[Key], theirs_fine: Sequence[Key]
) -> list[tuple[int, int]]:
    """Index pairs (ours, theirs) of the same messages, in order.

    Two passes of a longest-common-subsequence diff: first on ``*_fine`` keys (type, MMSI
    and a few identifying field values: nearly unique, so the diff is fast and cannot pair
    two reports of a vessel the wrong way round), then, between the pairs found, on the
    plain keys (type, MMSI, part) to pair the messages whose identifying fields disagree.
    """
    pairs: list[tuple[int, int]] = []
    a0 = b0 = 0
    anchors = SequenceMatcher(None, ours_fine, theirs_fine, autojunk=False).get_matching_blocks()
    for a, b, n in anchors:  # the last block is (len, len, 0): it closes the final gap
        if a > a0 and b > b0:
            gap = SequenceMatcher(None, ours[a0:a], theirs[b0:b], autojunk=False)
            pairs += [
                (a0 + x + k, b0 + y + k) for x, y, m in gap.get_matching_blocks() for k in range(m)
            ]
        pairs += [(a + k, b + k) for k in range(n)]
        a0, b0 = a + n, b + n
    return pairs


#: Reference fields that identify a message well enough to align on (with type and MMSI).
FINGERPRINT = frozenset({"lon", "lat", "second", "minute", "data", "shipname", "text"})


def _app_id(decoded: Decoded, msg: Message) -> tuple[Any, Any]:
    if msg.msg_type in (6, 8):
        return decoded.value(msg, "dac"), decoded.value(msg, "fi")
    return None, None


def compare(
    result: FileResult,
    decoded: Decoded,
    records: list[Mapping[str, Any]],
    *,
    our_key: Callable[[Decoded, Message], Key],
    their_key: Callable[[Mapping[str, Any]], Key],
    pairs_for: PairsFor,
    known: Sequence[Known] = (),
    max_examples: int = 3,
) -> FileResult:
    """Align ``records`` with ``decoded.messages`` and count every paired field.

    ``pairs_for(type, dac, fi)`` gives the fields to compare for a message; a record
    without one of them does not produce it and is not compared on it.
    """
    msgs = decoded.messages
    our_ids = [(m.msg_type, *_app_id(decoded, m)) for m in msgs]
    their_ids = [(r["type"], r.get("dac"), r.get("fid")) for r in records]
    fingerprint = _cached(lambda i: tuple(q for q in pairs_for(*i) if q.theirs in FINGERPRINT))
    a = [our_key(decoded, m) for m in msgs]
    b = [their_key(r) for r in records]
    a_fine = [
        (*k, *(decoded.value(m, q.ours) for q in fingerprint(i)))
        for k, m, i in zip(a, msgs, our_ids, strict=True)
    ]
    b_fine = [
        (*k, *(q.convert(r.get(q.theirs)) for q in fingerprint(i)))
        for k, r, i in zip(b, records, their_ids, strict=True)
    ]
    pairs = align(a, b, a_fine, b_fine)
    result.theirs_records = len(records)
    result.our_messages = len(msgs)
    result.matched = len(pairs)
    used_a = {i for i, _ in pairs}
    used_b = {j for _, j in pairs}
    result.unmatched_ours = [m for i, m in enumerate(msgs) if i not in used_a]
    result.unmatched_theirs = [b[j] for j in range(len(b)) if j not in used_b]
    groups: dict[tuple[Any, ...], list[tuple[Message, Mapping[str, Any]]]] = {}
    for i, j in pairs:
        groups.setdefault(our_ids[i], []).append((msgs[i], records[j]))
    for ident, items in groups.items():
        for pair in pairs_for(*ident):
            fc = result.count(ident[0], pair.ours)
            ours_values = decoded.values([m for m, _ in items], pair.ours)
            for (msg, rec), ours in zip(items, ours_values, strict=True):
                if pair.theirs not in rec:
                    continue
                theirs = rec[pair.theirs]
                fc.compared += 1
                t = pair.convert(theirs)
                if (ours == t and type(ours) is type(t)) or pair.agrees(ours, theirs):
                    fc.agreed += 1
                    continue
                case = Case(decoded, msg, pair, ours, theirs, rec)
                cause = next((k for k in known if k.applies(case)), None)
                if cause is not None:
                    fc.explained[cause.anchor] += 1
                elif len(fc.examples) < max_examples:
                    fc.examples.append((msg.line_no, ours, theirs))
    return result


def _cached(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    memo: dict[Any, Any] = {}

    def get(key: Any) -> Any:
        if key not in memo:
            memo[key] = f(key)
        return memo[key]

    return get
