"""Cursor-on-Target markers of incidents: the events a reader may read, grouped as the
situation summary groups them, one marker per incident.

In: events (``events`` rows with ``label_id``, as the store's query layer returns them for
one reader, and only those: what they are computed from is what the reader may read), the
label dictionary, the node's policy, id and stale interval, and ``now`` for replayed data.
Out: one CoT ``<event>`` line per incident that has a place and is not minor
(:func:`seawatch.export.cot_markers.incident_line`), each under the combination
(:func:`seawatch.labels.combine`) of the labels of exactly its events: whoever may read
the events may read the incident, and it says no more than they do. The incidents are
:func:`seawatch.events.incidents.incidents` of those events; which event belongs to which
is :func:`seawatch.events.incidents.members`.

Minor incidents (every event below its noise level, a 0.1 m draught change) are left out:
they are counted in the situation summary, never notable, and would only clutter a map.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import datetime

import pyarrow as pa

from seawatch.events.incidents import incidents, members
from seawatch.events.triage import classify
from seawatch.export.cot_markers import incident_line
from seawatch.labels import Label, Policy, combine

__all__ = ["incident_labels", "incident_lines"]


def incident_labels(
    classified: pa.Table, labels: Mapping[int, Label], policy: Policy
) -> dict[str, Label]:
    """Each incident's label: the combination of the labels of its events (an event whose
    ``label_id`` is not in ``labels`` makes its incident unlabelled: left out, denied)."""
    ids: dict[str, set[int]] = defaultdict(set)
    unknown: set[str] = set()
    for row in members(classified).to_pylist():
        label_id = row.get("label_id")
        if label_id is None or int(label_id) not in labels:
            unknown.add(row["incident_id"])
        else:
            ids[row["incident_id"]].add(int(label_id))
    return {
        incident: combine([labels[i] for i in sorted(found)], policy)
        for incident, found in ids.items()
        if incident not in unknown
    }


def incident_lines(
    events: pa.Table,
    labels: Mapping[int, Label],
    policy: Policy,
    node_id: str,
    stale_s: float,
    now: datetime | None = None,
) -> Iterator[str]:
    """The incident markers of ``events`` (already only what the reader may read), in
    order of each incident's first event."""
    if events.num_rows == 0:
        return
    classified = classify(events)
    found = incidents(events, classified=classified)
    marked = incident_labels(classified, labels, policy)
    for row in found.to_pylist():
        label = marked.get(row["incident_id"])
        if label is None or row["minor"]:
            continue
        line = incident_line(row, label, node_id, stale_s, now=now)
        if line is not None:
            yield line
