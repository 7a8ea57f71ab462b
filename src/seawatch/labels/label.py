"""A releasability label and its CAPCO-style marking: ``CONFIDENTIAL//REL TO IND, USA``.

In: a marking string (plus its originator, which a marking does not spell) and the
:class:`~seawatch.labels.policy.Policy` that says which classifications, coalitions and
caveats exist. Out: a frozen :class:`Label`, and back to its canonical marking.

Grammar (case and spaces around separators do not matter; docs/labels.md has examples)::

    marking        = classification { "//" block }
    block          = control { "/" control }
    control        = "NOFORN" | "REL TO " entry { "," entry } | caveat
    entry          = nation (ISO 3166-1 alpha-3) | coalition name (4+ letters)

The canonical marking is ``CLASSIFICATION[//CAVEAT/CAVEAT][//REL TO ...|//NOFORN]``:
caveats alphabetical; the REL TO list has the originator first, then the other nations
alphabetically, then coalition names alphabetically (the CAPCO register's order). A non-derived
label's REL TO always includes its originator; a list that is the originator alone is
written ``NOFORN``. A marking without REL TO or NOFORN restricts no nation (STANAG 4774:
an absent permissive category restricts nothing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from seawatch.errors import LabelError
from seawatch.labels.countries import is_nation

if TYPE_CHECKING:
    from seawatch.labels.policy import Policy

__all__ = ["NOFORN", "Label", "is_caveat_name", "is_coalition_name", "parse_label"]

NOFORN: Final = "NOFORN"
_REL_TO = re.compile(r"REL\s+TO\b\s*(.*)", re.S)
_COALITION = re.compile(r"[A-Z][A-Z0-9]{3,}")
_CAVEAT = re.compile(r"[A-Z][A-Z0-9_-]*")


def is_coalition_name(entry: str) -> bool:
    """True for a name shaped like a coalition (``FVEY``, ``QUAD``: 4+ letters/digits)."""
    return _COALITION.fullmatch(entry) is not None


def is_caveat_name(name: str) -> bool:
    """True for a name a caveat may have: a capital letter, then capitals, digits, - or _."""
    return name != NOFORN and _CAVEAT.fullmatch(name) is not None


@dataclass(frozen=True)
class Label:
    """The releasability label of a record.

    - ``classification``: a level of the policy, e.g. ``"SECRET"``.
    - ``originator``: ISO 3166-1 alpha-3 code of the nation that owns the record.
    - ``releasable_to``: nations and coalition names it may be released to; ``None`` means
      no restriction by nation (no REL TO in the marking).
    - ``caveats``: restrictive caveats; a reader must hold each of them.
    - ``derived``: built by this node from records other nations originated
      (:func:`~seawatch.labels.access.combine`); its REL TO list is exactly as given (the
      originator is not added to it nor counted as inside releasability), so a derived
      label is never less restrictive than its inputs.

    A non-derived label's ``releasable_to`` always contains its originator (added if
    missing), so equal meanings compare equal. ``str(label)`` is the canonical marking.
    """

    classification: str
    originator: str
    releasable_to: frozenset[str] | None = None
    caveats: frozenset[str] = field(default_factory=frozenset)
    derived: bool = False

    def __post_init__(self) -> None:
        if not self.classification or self.classification != self.classification.upper():
            raise LabelError(f"bad classification {self.classification!r} (use upper case)")
        if not is_nation(self.originator):
            raise LabelError(
                f"bad originator {self.originator!r}: not an ISO 3166-1 alpha-3 code "
                "(three capital letters such as IND or USA)"
            )
        rel = self.releasable_to
        if rel is not None:
            rel = frozenset(rel)
            for entry in rel:
                if not (is_nation(entry) or is_coalition_name(entry)):
                    raise LabelError(
                        f"bad REL TO entry {entry!r}: neither an ISO 3166-1 alpha-3 code "
                        "nor a coalition name (4+ capital letters)"
                    )
            if not self.derived:
                rel = rel | {self.originator}
            if not rel:
                raise LabelError("empty REL TO: a label must be releasable to someone")
            object.__setattr__(self, "releasable_to", rel)
        caveats = frozenset(self.caveats)
        for caveat in caveats:
            if not is_caveat_name(caveat):
                raise LabelError(
                    f"bad caveat {caveat!r} (a capital letter, then capitals, digits, - or _; "
                    "not NOFORN)"
                )
        object.__setattr__(self, "caveats", caveats)

    @property
    def marking(self) -> str:
        """The canonical CAPCO-style marking, e.g. ``SECRET//ORCON//REL TO USA, GBR``."""
        parts = [self.classification]
        if self.caveats:
            parts.append("/".join(sorted(self.caveats)))
        rel = self.rel_to_list()
        if rel == [self.originator]:
            parts.append(NOFORN)
        elif rel is not None:
            parts.append("REL TO " + ", ".join(rel))
        return "//".join(parts)

    def rel_to_list(self) -> list[str] | None:
        """REL TO entries in CAPCO order: originator, other nations, coalition names."""
        if self.releasable_to is None:
            return None
        return sorted(self.releasable_to, key=lambda e: (e != self.originator, len(e) > 3, e))

    def __str__(self) -> str:
        return self.marking


def parse_label(
    marking: str,
    policy: Policy,
    *,
    originator: str | None = None,
    derived: bool = False,
) -> Label:
    """Parse a CAPCO-style ``marking`` under ``policy``.

    ``originator`` defaults to the policy's node nation. Raises :class:`LabelError` saying
    which part of the marking is wrong and what is accepted there.
    """
    text = " ".join(marking.split()).upper()
    if not text:
        raise LabelError("empty marking: give at least a classification such as UNCLASSIFIED")
    blocks = [b.strip() for b in text.split("//")]
    owner = policy.node_nation if originator is None else originator.strip().upper()
    if not is_nation(owner):
        raise LabelError(f"bad originator {owner!r}: not an ISO 3166-1 alpha-3 code")
    policy = policy if derived else policy.for_nation(owner)  # written under the owner's
    classification = policy.level(blocks[0])
    if classification is None:
        raise LabelError(
            f"marking {marking!r}: unknown classification {blocks[0]!r} "
            f"(known: {policy.levels_hint()})"
        )
    rel: set[str] | None = None
    noforn = False
    caveats: set[str] = set()
    for block in blocks[1:]:
        if not block:
            raise LabelError(f"marking {marking!r}: empty block between '//' separators")
        for raw in block.split("/"):
            control = raw.strip()
            if not control:
                raise LabelError(f"marking {marking!r}: empty control between '/' separators")
            m = _REL_TO.fullmatch(control)
            if control == NOFORN:
                noforn = True
            elif m:
                if rel is not None:
                    raise LabelError(f"marking {marking!r}: REL TO given twice (merge the lists)")
                rel = _rel_entries(marking, m.group(1), policy)
            elif control in policy.caveats:
                caveats.add(control)
            else:
                raise LabelError(
                    f"marking {marking!r}: unknown control {control!r} "
                    f"(expected REL TO, NOFORN or a caveat: {', '.join(sorted(policy.caveats))})"
                )
    if noforn:
        if rel is not None:
            raise LabelError(
                f"marking {marking!r}: NOFORN and REL TO together (NOFORN means REL TO "
                "the originator alone; keep one)"
            )
        rel = {owner}
    return Label(
        classification,
        owner,
        None if rel is None else frozenset(rel),
        frozenset(caveats),
        derived,
    )


def _rel_entries(marking: str, listing: str, policy: Policy) -> set[str]:
    entries = [e.strip() for e in listing.split(",")]
    if not listing.strip() or any(not e for e in entries):
        raise LabelError(
            f"marking {marking!r}: REL TO needs a comma-separated list of nations or "
            "coalitions, e.g. 'REL TO IND, USA'"
        )
    for entry in entries:
        if len(entry) == 3:
            if not is_nation(entry):
                raise LabelError(
                    f"marking {marking!r}: {entry!r} in REL TO is not an ISO 3166-1 alpha-3 "
                    "country code"
                )
        elif entry not in policy.coalitions:
            known = ", ".join(sorted(policy.coalitions)) or "none"
            raise LabelError(
                f"marking {marking!r}: {entry!r} in REL TO is neither a three-letter country "
                f"code nor a known coalition (known: {known}; see the coalitions setting)"
            )
    return set(entries)
