"""Where records came from: the originating nation of each label a set of records uses, and
the nodes of that nation this node knows, for the vessel panel of the web map.

In: the ``label_id`` column of the records used, the reader's readable labels, the settings
(this node's ``node_id`` and ``node_nation``) and the pinned peers (``<data_dir>/peers.json``).
Out: one :func:`origins` entry per label: its marking, originator, the records under it, and
``nodes``: this node when the originator is this node's nation, and the pinned peers of that
nation (records received from a partner keep its label, so its nation names the sender; a
store does not record which node of a nation sent a record).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from seawatch.labels import Label
from seawatch.settings import Settings
from seawatch.share.errors import ShareError
from seawatch.share.peers import Peers

__all__ = ["origins"]

log = logging.getLogger(__name__)


def _peers_by_nation(settings: Settings) -> dict[str, list[str]]:
    try:
        peers = Peers(settings.data_dir).peers.values()
    except (ShareError, OSError, ValueError) as err:  # the panel still shows this node's
        log.warning("peers file unreadable, no peer named as an origin: %s", err)
        return {}
    out: dict[str, list[str]] = {}
    for p in peers:
        out.setdefault(p.nation, []).append(p.name)
    return {k: sorted(v) for k, v in out.items()}


def origins(
    label_ids: pa.ChunkedArray[Any], labels: Mapping[int, Label], settings: Settings
) -> list[dict[str, Any]]:
    """Per label of ``label_ids`` (most records first): marking, originator, derived,
    records and the known ``nodes`` of the originating nation."""
    counts = Counter(int(i) for i in label_ids.to_pylist() if i is not None)
    peers = _peers_by_nation(settings)
    out = []
    for label_id, n in counts.most_common():
        label = labels.get(label_id)
        if label is None:
            continue
        own = [settings.node_id] if label.originator == settings.node_nation else []
        out.append(
            {
                "marking": label.marking,
                "originator": label.originator,
                "derived": label.derived,
                "records": n,
                "nodes": own + peers.get(label.originator, []),
            }
        )
    return out
