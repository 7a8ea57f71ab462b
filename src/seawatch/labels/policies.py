"""Several nations' labelling policies on one node, and the levels declared equivalent.

In: per-nation :class:`~seawatch.labels.policy.Policy` objects (from SPIF files, see
:mod:`seawatch.labels.spif`) and the ``policy_equivalence`` setting, e.g.
``IND:RESTRICTED=USA:CONFIDENTIAL; IND:SECRET=USA:SECRET``. Out: a frozen
:class:`Policies` registry that says which policy a nation's records and readers are
under (:meth:`Policies.for_nation`) and what a level of one policy is in another
(:meth:`Policies.translate`).

Equivalence is declared, never assumed: a level with no declared counterpart in the
reader's policy grants nothing there, and pairs are not chained (A=B and B=C do not make
A=C). Nations without a policy of their own share the node's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from seawatch.errors import LabelError

if TYPE_CHECKING:
    from seawatch.labels.policy import Policy

__all__ = ["Policies", "parse_equivalence"]

Level = tuple[str, str]
"""A level of a named policy: ``(policy name, classification)``."""


@dataclass(frozen=True)
class Policies:
    """Policies of nations that have their own, and the declared equivalences.

    ``by_nation`` maps a nation to its policy; ``equivalence`` maps a ``(policy name,
    level)`` to the levels of other policies declared equivalent to it (symmetric).
    """

    by_nation: Mapping[str, Policy] = field(default_factory=dict)
    equivalence: Mapping[Level, frozenset[Level]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_nation", MappingProxyType(dict(self.by_nation)))
        object.__setattr__(self, "equivalence", MappingProxyType(dict(self.equivalence)))

    def translate(self, level: str, source: Policy, target: Policy) -> str | None:
        """``level`` of ``source`` expressed in ``target``; None when not declared.

        Same policy (same name): the level itself, when the policy knows it. Otherwise the
        highest level of ``target`` declared equivalent (the most restrictive reading).
        """
        rank = source.rank(level)
        if rank is None:
            return None
        full = source.levels[rank]
        if source.name == target.name:
            return full
        ranks = [
            r
            for name, other in self.equivalence.get((source.name, full), frozenset())
            if name == target.name and (r := target.rank(other)) is not None
        ]
        return target.levels[max(ranks)] if ranks else None


def parse_equivalence(
    text: str, policy_of: Mapping[str, Policy], default: Policy
) -> dict[Level, frozenset[Level]]:
    """``NATION:LEVEL=NATION:LEVEL; ...`` as equivalences between the nations' policies.

    Each side names a nation (its policy: ``policy_of`` or ``default``) and a level of that
    policy (abbreviations accepted). Raises :class:`LabelError` for a bad pair, an unknown
    level, two sides under one policy, or a mapping that does not keep the order of levels.
    """
    pairs: dict[Level, set[Level]] = {}
    for part in (p.strip() for p in text.replace("\n", ";").split(";")):
        if not part:
            continue
        left, eq, right = part.partition("=")
        if not eq:
            raise LabelError(f"{part!r} is not NATION:LEVEL=NATION:LEVEL (e.g. IND:S=USA:S)")
        a, b = (_side(part, s, policy_of, default) for s in (left, right))
        if a[0] == b[0]:
            raise LabelError(f"{part!r}: both sides are under policy {a[0]!r}")
        pairs.setdefault(a, set()).add(b)
        pairs.setdefault(b, set()).add(a)
    _check_order(pairs, {p.name: p for p in [default, *policy_of.values()]})
    return {k: frozenset(v) for k, v in pairs.items()}


def _side(part: str, text: str, policy_of: Mapping[str, Policy], default: Policy) -> Level:
    nation, colon, level = text.strip().partition(":")
    nation = nation.strip().upper()
    if not colon or len(nation) != 3:
        raise LabelError(f"{part!r}: {text.strip()!r} is not NATION:LEVEL (e.g. IND:SECRET)")
    policy = policy_of.get(nation, default)
    full = policy.level(level)
    if full is None:
        raise LabelError(
            f"{part!r}: {level.strip()!r} is not a level of {nation}'s policy "
            f"{policy.name!r} ({policy.levels_hint()})"
        )
    return (policy.name, full)


def _check_order(pairs: Mapping[Level, set[Level]], named: Mapping[str, Policy]) -> None:
    """Higher on one side is never lower on the other."""
    edges = [(a, b) for a, bs in pairs.items() for b in bs]
    for a, b in edges:
        for c, d in edges:
            if a[0] != c[0] or b[0] != d[0]:
                continue
            pa_, pb = named[a[0]], named[b[0]]
            up = (pa_.rank(a[1]) or 0) - (pa_.rank(c[1]) or 0)
            across = (pb.rank(b[1]) or 0) - (pb.rank(d[1]) or 0)
            if up > 0 > across:
                raise LabelError(
                    f"{a[0]}:{a[1]}={b[0]}:{b[1]} and {c[0]}:{c[1]}={d[0]}:{d[1]} reverse "
                    "the order of levels"
                )
