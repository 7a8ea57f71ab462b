"""The node's ports: the built-in list plus the ports stored in its ``ports`` table.

In: an open :class:`~seawatch.store.base.Store` and, to fill it, a port list file
(:func:`seawatch.geo.ports.read_ports_csv`: World Port Index, GFW pipe-anchorages lists,
generic CSV) or the store's own positions (:func:`seawatch.geo.anchorages.
derive_anchorages`). Out: rows of the ``ports`` table (:func:`import_ports`,
:func:`derive_ports`, each with a report) and the :class:`~seawatch.geo.ports.PortTable`
the pipeline measures ``distance_to_port_km`` against (:func:`node_ports`): built-in +
imported + derived, so port visits and the encounter and loitering port filters use all
three. Reads go through :class:`~seawatch.store.query.Query` with the node's own reader
(:func:`seawatch.labels.default_reader`): derivation sees what the node may read, and
only those stored ports are used.

Labels: an imported list gets the label given (default: the node's default label); a
derived anchorage gets :func:`seawatch.labels.combine` of the labels of the positions of
the vessels stationary in its cell (every label those vessels' positions carry), so whoever
may read the anchorage may read what it was derived from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from seawatch.errors import ConfigError, LabelError
from seawatch.geo.anchorages import (
    AnchorageParams,
    anchorages_from_periods,
    cell_id_text,
    stationary_periods,
)
from seawatch.geo.ports import PORTS_SCHEMA, PortTable, default_ports, read_ports_csv
from seawatch.labels import Label, LabelRules, Reader, combine, default_reader
from seawatch.settings import Settings
from seawatch.store.base import Store
from seawatch.store.query import Query
from seawatch.store.tables import TABLES, TS

__all__ = [
    "NAME_WITHIN_KM",
    "DeriveReport",
    "ImportReport",
    "derive_ports",
    "import_ports",
    "node_ports",
    "stored_ports",
]

log = logging.getLogger(__name__)

NAME_WITHIN_KM = 10.0
"""A derived anchorage takes the name and country of the nearest built-in or imported port
at most this far away (GFW names its anchorages after nearby ports too); else none."""


@dataclass
class ImportReport:
    """What ``seawatch ports import`` did."""

    path: str
    kind: str
    rows: int
    stored: int
    bad: dict[str, int] = field(default_factory=dict)


@dataclass
class DeriveReport:
    """What ``seawatch ports derive`` did."""

    positions: int
    periods: int
    anchorages: int
    stored: int
    unlabelled: int = 0
    params: AnchorageParams = field(default_factory=AnchorageParams)


def _reader(store: Store) -> Reader:
    return default_reader(store.policy)


def stored_ports(store: Store, reader: Reader | None = None) -> PortTable:
    """The stored ports ``reader`` (default: the node's own reader) may read."""
    if "ports" not in store.backend.table_names():
        return PortTable(PORTS_SCHEMA.empty_table())
    rows = Query(store, reader or _reader(store)).ports()
    return PortTable(rows.select(PORTS_SCHEMA.names).cast(PORTS_SCHEMA))


def node_ports(store: Store) -> PortTable | None:
    """Built-in + stored ports, or None when nothing is stored (the built-in list alone)."""
    stored = stored_ports(store)
    if not len(stored):
        return None
    try:
        return default_ports().extend(stored)
    except ConfigError as exc:  # no searoute: geography is skipped anyway
        log.warning("built-in ports unavailable (%s): the stored ports alone are used", exc)
        return stored


def _rows(ports: pa.Table, label_id: int, extra: dict[str, Any] | None = None) -> pa.Table:
    n = ports.num_rows
    cols: dict[str, Any] = {name: ports.column(name) for name in PORTS_SCHEMA.names}
    cols.update(extra or {})
    cols["added_at"] = pa.array([datetime.now(UTC)] * n, TS)
    cols["label_id"] = pa.array([label_id] * n, pa.int32())
    return TABLES["ports"].conform(pa.table(cols))


def import_ports(
    store: Store,
    path: str | Path,
    settings: Settings,
    *,
    label: Label | None = None,
    source: str | None = None,
) -> ImportReport:
    """Store the ports of a CSV list (rows without a valid position or id counted in
    ``bad``, not stored) under ``label`` (default: the node's default label)."""
    store.require_current()
    found = read_ports_csv(path, source=source)
    rules = LabelRules.from_settings(settings, store.policy)
    with store.transaction():
        lid = store.label_id(label if label is not None else rules.default)
        stored = store.write("ports", _rows(found.ports.table, lid))
    return ImportReport(str(path), found.kind, found.rows, stored, dict(found.bad))


def derive_ports(
    store: Store,
    params: AnchorageParams | None = None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> DeriveReport:
    """Derive anchorages from the stored positions (of ``[start, end]`` when given) and
    store them (``source`` = ``derived``) in place of the previous derivation's, in one
    transaction: the stored anchorages are always those of the last derivation."""
    store.require_current()
    params = params or AnchorageParams()
    q = Query(store, _reader(store))
    positions = q.positions(start=start, end=end)
    periods = stationary_periods(positions, params)
    found = anchorages_from_periods(periods, params)
    report = DeriveReport(positions.num_rows, periods.num_rows, found.num_rows, 0, params=params)
    if found.num_rows == 0:
        with store.transaction():
            store.backend.execute("DELETE FROM ports WHERE source = ?", ("derived",))
        return report
    known = default_ports().extend(stored_ports(store).without_source("derived"))
    idx, km = known.nearest(found.column("lat").to_numpy(), found.column("lon").to_numpy())
    near = (idx >= 0) & (km <= NAME_WITHIN_KM)
    take = pa.array(np.where(near, idx, 0), pa.int64(), mask=~near)
    table = found.append_column(
        "port_name", known.table.column("port_name").combine_chunks().take(take)
    )
    table = table.append_column(
        "country", known.table.column("country").combine_chunks().take(take)
    )
    table = table.append_column("source", pa.array(["derived"] * table.num_rows, pa.string()))
    label_ids, report.unlabelled = _derived_labels(store, positions, periods, found)
    keep = label_ids >= 0
    rows = _rows(
        table,
        0,
        {"n_vessels": table.column("n_vessels"), "stationary_s": table.column("stationary_s")},
    )
    rows = rows.set_column(
        rows.schema.get_field_index("label_id"), "label_id", pa.array(label_ids, pa.int32())
    ).filter(pa.array(keep))
    with store.transaction():
        store.backend.execute("DELETE FROM ports WHERE source = ?", ("derived",))
        report.stored = store.write("ports", rows)
    return report


def _derived_labels(
    store: Store, positions: pa.Table, periods: pa.Table, found: pa.Table
) -> tuple[np.ndarray[Any, np.dtype[np.int32]], int]:
    """Per anchorage: the label id of combine(labels of its vessels' positions); -1 where
    no single nation may read them all (left out, counted)."""
    pairs = positions.select(["mmsi", "label_id"]).group_by(["mmsi", "label_id"]).aggregate([])
    by_mmsi: dict[int, set[int]] = {}
    mmsis: list[Any] = pairs["mmsi"].to_pylist()
    lids: list[Any] = pairs["label_id"].to_pylist()
    for m, lid in zip(mmsis, lids, strict=True):
        by_mmsi.setdefault(int(m), set()).add(int(lid))
    cell_ids = cell_id_text(periods.column("cell").to_numpy())
    vessels: dict[str, set[int]] = {}
    period_mmsi: list[Any] = periods.column("mmsi").to_pylist()
    for cid, m in zip(cell_ids, period_mmsi, strict=True):
        vessels.setdefault(cid, set()).add(int(m))
    labels = store.labels()
    out = np.full(found.num_rows, -1, np.int32)
    bad = 0
    with store.transaction():
        port_ids: list[Any] = found.column("port_id").to_pylist()
        for j, pid in enumerate(port_ids):
            ids = sorted({i for m in vessels.get(pid, ()) for i in by_mmsi.get(m, ())})
            try:
                out[j] = store.label_id(combine([labels[i] for i in ids], store.policy))
            except LabelError as exc:
                log.warning("anchorage %s not stored: %s", pid, exc)
                bad += 1
    return out, bad
