"""This node as federation sees it: nation, name, keys, audit log and pinned peers.

In: the settings (``data_dir``, ``node_nation``, ``node_id``). Out: a :class:`Node` that
signs with the node's key under its name and appends to its log
(origin ``seawatch/<NATION>/<name>``, fixed when the log is made).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seawatch.errors import ConfigError
from seawatch.settings import NATION_UNSET, Settings
from seawatch.share.keys import NodeKeys, Verifier, load_keys
from seawatch.share.log import AuditLog
from seawatch.share.peers import Peers

__all__ = ["Node"]


@dataclass
class Node:
    """The node's identity and the files federation keeps under its data directory."""

    data_dir: Path
    nation: str
    name: str
    keys: NodeKeys

    @classmethod
    def from_settings(cls, settings: Settings) -> Node:
        if settings.node_nation == NATION_UNSET:
            raise ConfigError(
                "node_nation is not set: federation needs the node's nation and keys; run "
                "`seawatch node init --nation AAA [--name NAME]` first"
            )
        keys = load_keys(settings.data_dir)
        return cls(settings.data_dir, settings.node_nation, settings.node_id, keys)

    @property
    def verifier(self) -> Verifier:
        return self.keys.verifier(self.name)

    @property
    def origin(self) -> str:
        return f"seawatch/{self.nation}/{self.name}"

    def log(self) -> AuditLog:
        return AuditLog.open(self.data_dir, self.origin)

    def peers(self) -> Peers:
        return Peers(self.data_dir)

    def record(self, *entries: dict[str, Any]) -> tuple[int, str]:
        """Append ``entries`` to the audit log; ``(index of the first, signed checkpoint)``."""
        return self.log().append(list(entries), self.keys, self.name)
