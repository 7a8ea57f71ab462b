"""A labelling policy from a SPIF (Security Policy Information File, Open XML SPIF).

In: a SPIF XML file (namespace ``http://www.xmlspif.org/spif`` or none; elements are
matched by local name) and the coalition memberships of the settings. Out: the parts of a
:class:`~seawatch.labels.policy.Policy`: its name, its classifications in order, its
restrictive caveats and the coalitions its Releasable To category names.

Read (everything else is ignored)::

    SPIF/securityPolicyId/@name                           the policy's name
    SPIF/securityClassifications/securityClassification   @name, ordered by @hierarchy
    SPIF/securityCategoryTagSets/securityCategoryTagSet/securityCategoryTag
        @tagType="restrictive": each tagCategory/@name is a caveat
        @tagType="permissive" (or enumerated, @enumType="permissive") named
        "Releasable To": tagCategory/@name of 4+ letters are coalition names, whose
        members come from the ``coalitions`` setting (a SPIF lists names, not members)

Names are upper-cased. A document with a DOCTYPE is refused (no entity expansion).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from seawatch.errors import ConfigError

__all__ = ["SpifPolicy", "read_spif"]


@dataclass(frozen=True)
class SpifPolicy:
    """What seawatch takes from a SPIF."""

    name: str
    levels: tuple[str, ...]
    caveats: frozenset[str]
    coalitions: Mapping[str, frozenset[str]]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(node: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in node if _local(c.tag) == name]


def _name(text: str | None) -> str:
    return " ".join((text or "").upper().split())


def read_spif(path: Path, coalitions: Mapping[str, frozenset[str]]) -> SpifPolicy:
    """The policy of the SPIF at ``path``; :class:`ConfigError` says what is wrong."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"SPIF {path}: cannot read it ({exc.strerror})") from None
    if b"<!DOCTYPE" in raw.upper():
        raise ConfigError(f"SPIF {path}: has a DOCTYPE; remove it (entities are not expanded)")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise ConfigError(f"SPIF {path}: not well-formed XML ({exc})") from None
    if _local(root.tag) != "SPIF":
        raise ConfigError(f"SPIF {path}: the root element is {_local(root.tag)!r}, not SPIF")
    ids = _children(root, "securityPolicyId")
    name = _name(ids[0].get("name")) if ids else ""
    if not name:
        raise ConfigError(f"SPIF {path}: no securityPolicyId with a name")
    ranked: list[tuple[int, str]] = []
    for group in _children(root, "securityClassifications"):
        for cls in _children(group, "securityClassification"):
            try:
                ranked.append((int(cls.get("hierarchy", "")), _name(cls.get("name"))))
            except ValueError:
                raise ConfigError(
                    f"SPIF {path}: securityClassification {cls.get('name')!r} needs an "
                    "integer hierarchy attribute"
                ) from None
    if not ranked:
        raise ConfigError(f"SPIF {path}: no securityClassification")
    if len({h for h, _ in ranked}) != len(ranked):
        raise ConfigError(f"SPIF {path}: two classifications share a hierarchy value")
    caveats: set[str] = set()
    named: dict[str, frozenset[str]] = {}
    for tag_sets in _children(root, "securityCategoryTagSets"):
        for tag_set in _children(tag_sets, "securityCategoryTagSet"):
            for tag in _children(tag_set, "securityCategoryTag"):
                kind = tag.get("tagType", "")
                if kind == "enumerated":
                    kind = tag.get("enumType", "")
                values = [_name(c.get("name")) for c in _children(tag, "tagCategory")]
                if kind == "restrictive":
                    caveats.update(v for v in values if v)
                elif kind == "permissive" and _name(tag.get("name")) == "RELEASABLE TO":
                    for value in (v for v in values if len(v) > 3):
                        if value not in coalitions:
                            raise ConfigError(
                                f"SPIF {path}: coalition {value} in Releasable To has no "
                                "members; add it to the coalitions setting"
                            )
                        named[value] = coalitions[value]
    levels = tuple(level for _, level in sorted(ranked))
    return SpifPolicy(name, levels, frozenset(caveats), named)
