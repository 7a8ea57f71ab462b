"""What a decode saw (:class:`DecodeStats`): totals, messages per type, rejects per reason.

One per batch (:func:`seawatch.decode.stream.decode_stream`), merged over a run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["DecodeStats"]


@dataclass(frozen=True)
class DecodeStats:
    """What a decode saw: totals, messages per type, rejects per reason."""

    bytes: int = 0
    lines: int = 0
    sentences: int = 0  # AIS sentences (VDM/VDO), good or bad; for tables: rows read
    messages: int = 0  # messages decoded into tables
    other_sentences: int = 0
    skipped_lines: int = 0
    untimed: int = 0  # messages with no receive time of their own (stamped or left null)
    assumed: int = 0  # of those, stamped with an assumed time (``untimed``)
    empty_fragments: int = 0  # multi-sentence messages assembled with an empty fragment
    reordered: int = 0  # multi-sentence messages assembled from fragments out of order
    by_type: Mapping[int, int] = field(default_factory=dict)
    rejects: Mapping[str, int] = field(default_factory=dict)

    def merge(self, other: DecodeStats) -> DecodeStats:
        return DecodeStats(
            bytes=self.bytes + other.bytes,
            lines=self.lines + other.lines,
            sentences=self.sentences + other.sentences,
            messages=self.messages + other.messages,
            other_sentences=self.other_sentences + other.other_sentences,
            skipped_lines=self.skipped_lines + other.skipped_lines,
            untimed=self.untimed + other.untimed,
            assumed=self.assumed + other.assumed,
            empty_fragments=self.empty_fragments + other.empty_fragments,
            reordered=self.reordered + other.reordered,
            by_type=dict(Counter(self.by_type) + Counter(other.by_type)),
            rejects=dict(Counter(self.rejects) + Counter(other.rejects)),
        )

    @property
    def rejected(self) -> int:
        return sum(self.rejects.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "bytes": self.bytes,
            "lines": self.lines,
            "sentences": self.sentences,
            "messages": self.messages,
            "other_sentences": self.other_sentences,
            "skipped_lines": self.skipped_lines,
            "untimed": self.untimed,
            "assumed": self.assumed,
            "empty_fragments": self.empty_fragments,
            "reordered": self.reordered,
            "by_type": {str(k): v for k, v in sorted(self.by_type.items())},
            "rejects": dict(sorted(self.rejects.items())),
        }
