"""The human-readable summary ``seawatch decode --summary`` prints.

In: decoder counters (anything shaped like :class:`seawatch.decode.DecodeStats`), the
elapsed time and the rows written per table. Out: a plain-text report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

__all__ = ["MESSAGE_TYPES", "StatsLike", "format_summary"]

MESSAGE_TYPES: Mapping[int, str] = {
    1: "Class A position (scheduled)",
    2: "Class A position (assigned)",
    3: "Class A position (interrogated)",
    4: "Base station report",
    5: "Class A static and voyage",
    6: "Binary addressed",
    7: "Binary acknowledge",
    8: "Binary broadcast",
    9: "SAR aircraft position",
    10: "UTC/date inquiry",
    11: "UTC/date response",
    12: "Addressed safety message",
    13: "Safety acknowledge",
    14: "Safety broadcast",
    15: "Interrogation",
    16: "Assignment mode command",
    17: "DGNSS broadcast",
    18: "Class B position",
    19: "Class B extended position",
    20: "Data link management",
    21: "Aid to navigation report",
    22: "Channel management",
    23: "Group assignment",
    24: "Class B static (parts A/B)",
    25: "Single-slot binary",
    26: "Multi-slot binary",
    27: "Long-range position (satellite)",
}
"""ITU-R M.1371-5 message type names, for display."""


class StatsLike(Protocol):
    """The decoder counters the summary reads."""

    @property
    def lines(self) -> int: ...
    @property
    def sentences(self) -> int: ...
    @property
    def messages(self) -> int: ...
    @property
    def other_sentences(self) -> int: ...
    @property
    def by_type(self) -> Mapping[int, int]: ...
    @property
    def rejects(self) -> Mapping[str, int]: ...


def _table(title: tuple[str, str, str], rows: list[tuple[str, int, str]]) -> list[str]:
    w0 = max(len(title[0]), *(len(r[0]) for r in rows))
    w1 = max(len(title[1]), *(len(f"{r[1]:,}") for r in rows))
    out = [f"  {title[0]:<{w0}}  {title[1]:>{w1}}  {title[2]}".rstrip()]
    out += [f"  {a:<{w0}}  {b:>{w1},}  {c}".rstrip() for a, b, c in rows]
    return out


def format_summary(
    stats: StatsLike, elapsed_s: float, rows_by_table: Mapping[str, int] | None = None
) -> str:
    """Counts per message type and per rejection reason, totals and throughput."""
    rate = stats.messages / elapsed_s if elapsed_s > 0 else 0.0
    total_rejects = sum(stats.rejects.values())
    lines = [
        "decode summary",
        f"  lines            {stats.lines:>12,}",
        f"  AIS sentences    {stats.sentences:>12,}",
        f"  other sentences  {stats.other_sentences:>12,}",
        f"  messages         {stats.messages:>12,}",
        f"  rejected         {total_rejects:>12,}",
        f"  elapsed          {elapsed_s:>12.2f} s   ({rate:,.0f} msg/s)",
    ]
    if stats.by_type:
        lines += ["", "messages by type"]
        rows = [
            (str(t), n, MESSAGE_TYPES.get(t, "unknown type"))
            for t, n in sorted(stats.by_type.items())
        ]
        lines += _table(("type", "count", "name"), rows)
    if stats.rejects:
        lines += ["", "rejected by reason"]
        ranked = sorted(stats.rejects.items(), key=lambda kv: (-kv[1], kv[0]))
        lines += _table(("reason", "count", ""), [(r, n, "") for r, n in ranked])
    if rows_by_table:
        lines += ["", "rows by table"]
        lines += _table(
            ("table", "rows", ""), [(t, n, "") for t, n in sorted(rows_by_table.items())]
        )
    return "\n".join(lines) + "\n"
