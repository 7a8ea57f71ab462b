"""The node's policy and its partners' from the settings: SPIF files and equivalences.

In: the settings ``policy_file`` (the node's own SPIF), ``policies_dir`` (one
``<NATION>.spif.xml`` per nation with a policy of its own; the node nation's file, when
there, is the node's policy unless ``policy_file`` is set), ``policy_equivalence``
(``IND:RESTRICTED=USA:CONFIDENTIAL; ...``) and ``coalitions`` (members of the coalitions
the SPIFs name). Out: the node's :class:`~seawatch.labels.policy.Policy` carrying a
:class:`~seawatch.labels.policies.Policies` registry. Nations without a file share the
node's policy. Errors are :class:`ConfigError` naming the setting or file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from seawatch.errors import ConfigError, LabelError
from seawatch.labels.countries import is_nation
from seawatch.labels.policies import Policies, parse_equivalence
from seawatch.labels.policy import Policy, _coalitions
from seawatch.labels.spif import read_spif

if TYPE_CHECKING:
    from seawatch.settings import Settings

__all__ = ["SPIF_SUFFIX", "load_policies"]

SPIF_SUFFIX = ".spif.xml"


def load_policies(settings: Settings) -> Policy:
    """The node's policy with its partners' policies and the declared equivalences."""
    coalitions = _coalitions(settings.coalitions)
    files = _nation_files(settings.policies_dir)
    own = Path(settings.policy_file) if settings.policy_file else files.get(settings.node_nation)
    files.pop(settings.node_nation, None)
    if own is None:
        plain = dataclasses.replace(
            settings, policy_file="", policies_dir="", policy_equivalence=""
        )
        node = Policy.from_settings(plain)
    else:
        spif = read_spif(own, coalitions)
        node = _policy(
            own,
            spif.levels,
            spif.coalitions,
            spif.caveats,
            settings.node_nation,
            settings.default_label,
            spif.name,
        )
    others: dict[str, Policy] = {}
    for nation, path in files.items():
        spif = read_spif(path, coalitions)
        other = _policy(
            path, spif.levels, spif.coalitions, spif.caveats, nation, spif.levels[0], spif.name
        )
        if other.name == node.name and other.levels != node.levels:
            raise ConfigError(
                f"SPIF {path}: policy {other.name!r} differs from the node's policy of that "
                "name; give each policy its own securityPolicyId name"
            )
        others[nation] = other
    try:
        equivalence = parse_equivalence(settings.policy_equivalence, others, node)
    except LabelError as exc:
        raise ConfigError(f"setting policy_equivalence: {exc} (see docs/labels.md)") from None
    return dataclasses.replace(node, policies=Policies(others, equivalence))


def _nation_files(folder: str) -> dict[str, Path]:
    if not folder:
        return {}
    path = Path(folder)
    if not path.is_dir():
        raise ConfigError(f"setting policies_dir: {folder} is not a directory")
    out: dict[str, Path] = {}
    for file in sorted(path.glob(f"*{SPIF_SUFFIX}")):
        nation = file.name[: -len(SPIF_SUFFIX)].upper()
        if not is_nation(nation):
            raise ConfigError(
                f"setting policies_dir: {file.name} is not <NATION>{SPIF_SUFFIX} with an "
                "ISO 3166-1 alpha-3 code (e.g. IND.spif.xml)"
            )
        out[nation] = file
    return out


def _policy(path: Path, *parts: object) -> Policy:
    try:
        return Policy(*parts)  # type: ignore[arg-type]
    except LabelError as exc:
        raise ConfigError(f"SPIF {path}: {exc}") from None
