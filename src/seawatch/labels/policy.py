"""The labelling policy of a node: classifications in order, coalitions, caveats, defaults.

In: the node's :class:`~seawatch.settings.Settings` (``classification_levels``,
``coalitions``, ``label_caveats``, ``node_nation``, ``default_label``). Out: a frozen
:class:`Policy` that ranks classifications, resolves abbreviations and expands coalition
names (``QUAD`` -> AUS, IND, JPN, USA) for the access decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from seawatch.errors import ConfigError, LabelError
from seawatch.labels.countries import is_nation
from seawatch.labels.label import Label, is_caveat_name, is_coalition_name, parse_label

if TYPE_CHECKING:
    from seawatch.labels.policies import Policies
    from seawatch.settings import Settings

__all__ = ["DEFAULT_COALITIONS", "DEFAULT_LEVELS", "Policy"]

DEFAULT_LEVELS: Final = ("UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET")
DEFAULT_COALITIONS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "FVEY": frozenset({"AUS", "CAN", "GBR", "NZL", "USA"}),
        "QUAD": frozenset({"AUS", "IND", "JPN", "USA"}),
    }
)


@dataclass(frozen=True)
class Policy:
    """Which classifications (lowest first), coalitions and caveats exist on this node.

    ``default_label`` is ``default_marking`` parsed with ``node_nation`` as originator.
    ``name`` identifies the policy (a SPIF's securityPolicyId name); ``policies`` holds the
    policies of nations that have their own and the declared equivalences (None: every
    nation is under this one). Build it from settings with :meth:`from_settings`.
    """

    levels: tuple[str, ...] = DEFAULT_LEVELS
    coalitions: Mapping[str, frozenset[str]] = field(default_factory=lambda: DEFAULT_COALITIONS)
    caveats: frozenset[str] = frozenset({"ORCON", "PROPIN", "LIMDIS"})
    node_nation: str = "XXX"
    default_marking: str = "UNCLASSIFIED"
    name: str = "NODE"
    policies: Policies | None = None
    default_label: Label = field(init=False, repr=False, compare=False)
    _ranks: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        levels = tuple(self.levels)
        if not levels:
            raise LabelError("a policy needs at least one classification level")
        for level in levels:
            if not level or level != " ".join(level.upper().split()) or "/" in level:
                raise LabelError(f"bad classification level {level!r} (capitals, no '/')")
        if len(set(levels)) != len(levels):
            raise LabelError(f"classification levels repeat: {', '.join(levels)}")
        ranks = {level: i for i, level in enumerate(levels)}
        initials: dict[str, list[str]] = {}
        for level in levels:
            initials.setdefault("".join(w[0] for w in level.split()), []).append(level)
        for abbrev, named in initials.items():  # ambiguous initials are not accepted
            if len(named) == 1 and abbrev not in ranks:
                ranks[abbrev] = ranks[named[0]]
        coalitions = {}
        for name, members in self.coalitions.items():
            if not is_coalition_name(name):
                raise LabelError(f"bad coalition name {name!r} (4+ capital letters or digits)")
            bad = sorted(m for m in members if not is_nation(m))
            if bad or not members:
                raise LabelError(
                    f"coalition {name}: members must be ISO 3166-1 alpha-3 codes "
                    f"(bad: {', '.join(bad) or 'none given'})"
                )
            coalitions[name] = frozenset(members)
        for caveat in self.caveats:
            if not is_caveat_name(caveat):
                raise LabelError(f"bad caveat name {caveat!r} (capitals, digits, - or _)")
        if not is_nation(self.node_nation):
            raise LabelError(f"bad node nation {self.node_nation!r} (ISO 3166-1 alpha-3)")
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "coalitions", MappingProxyType(coalitions))
        object.__setattr__(self, "caveats", frozenset(self.caveats))
        object.__setattr__(self, "_ranks", MappingProxyType(ranks))
        object.__setattr__(self, "default_label", parse_label(self.default_marking, self))

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """The policy the settings declare; :class:`ConfigError` names a bad setting.

        With ``policy_file`` or ``policies_dir`` set, policies come from SPIF files (see
        :func:`seawatch.labels.policies_from.load_policies`); otherwise from the settings.
        """
        if settings.policy_file or settings.policies_dir or settings.policy_equivalence:
            from seawatch.labels.policies_from import load_policies

            return load_policies(settings)
        parts: dict[str, object] = {
            "levels": tuple(_items(settings.classification_levels)),
            "coalitions": _coalitions(settings.coalitions),
            "caveats": frozenset(_items(settings.label_caveats)),
            "node_nation": settings.node_nation,
            "default_marking": settings.default_label,
        }
        try:
            return cls(**parts)  # type: ignore[arg-type]
        except LabelError as exc:
            raise ConfigError(f"labelling settings: {exc} (see docs/labels.md)") from None

    def for_nation(self, nation: str) -> Policy:
        """The policy ``nation``'s records and readers are under (this one by default)."""
        if self.policies is None or nation == self.node_nation:
            return self
        return self.policies.by_nation.get(nation, self)

    def of(self, label: Label) -> Policy:
        """The policy ``label`` was written under: its originator's (derived: this one)."""
        return self if label.derived else self.for_nation(label.originator)

    def translate(self, level: str, source: Policy, target: Policy) -> str | None:
        """``level`` of ``source`` in ``target``'s terms; None when no equivalence is declared."""
        if self.policies is None or source.name == target.name:
            rank = source.rank(level)
            return None if rank is None or source.name != target.name else source.levels[rank]
        return self.policies.translate(level, source, target)

    def rank(self, level: str) -> int | None:
        """Position of a classification (or its abbreviation) in the order, lowest 0."""
        return self._ranks.get(level)

    def level(self, text: str) -> str | None:
        """The full name of a classification given by name or abbreviation, else None."""
        rank = self._ranks.get(" ".join(text.upper().split()))
        return None if rank is None else self.levels[rank]

    def levels_hint(self) -> str:
        """``UNCLASSIFIED (U), ..., TOP SECRET (TS)`` for error messages."""
        abbrevs = {r: a for a, r in self._ranks.items() if a not in self.levels}
        return ", ".join(
            f"{lv} ({abbrevs[r]})" if r in abbrevs else lv for r, lv in enumerate(self.levels)
        )

    def expand(self, releasable_to: Iterable[str] | None) -> frozenset[str] | None:
        """Nations a REL TO list stands for, coalition names expanded; ``None`` stays ``None``.

        A coalition name the policy does not know stands for no nation (deny unless
        permitted); :func:`parse_label` rejects such names in markings.
        """
        if releasable_to is None:
            return None
        nations: set[str] = set()
        for entry in releasable_to:
            if len(entry) == 3:
                nations.add(entry)
            else:
                nations |= self.coalitions.get(entry, frozenset())
        return frozenset(nations)


def _items(text: str) -> list[str]:
    return [" ".join(item.upper().split()) for item in text.split(",") if item.strip()]


def _coalitions(text: str) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, eq, members = part.partition("=")
        if not eq:
            raise ConfigError(
                f"setting coalitions: {part.strip()!r} is not NAME=AAA,BBB "
                "(e.g. 'QUAD=AUS,IND,JPN,USA; FVEY=AUS,CAN,GBR,NZL,USA')"
            )
        out[name.strip().upper()] = frozenset(_items(members))
    return out
