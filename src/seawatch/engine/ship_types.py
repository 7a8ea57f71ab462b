"""Each vessel's last reported ship type, for the detectors that filter by it.

In: the statics the pipeline releases, chunk by chunk. Out: positions with ``ship_type``
(the row's own, else the MMSI's last reported) for the zone rules' ``ship_types``; one
entry per vessel, carried between runs with the pipeline's state.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["ShipTypes"]


class ShipTypes:
    """Each MMSI's last reported ship type (statics), for the detectors that filter by it
    (zone rules: ``ship_types``): one entry per vessel, not per message."""

    def __init__(self) -> None:
        self.mmsi = np.empty(0, dtype=np.int64)
        self.code = np.empty(0, dtype=np.int64)

    def add(self, statics: pa.Table) -> None:
        if statics.num_rows == 0 or "ship_type" not in statics.column_names:
            return
        known = statics.filter(
            pc.and_(pc.is_valid(statics.column("ship_type")), pc.is_valid(statics.column("mmsi")))
        )
        if known.num_rows == 0:
            return
        known = known.sort_by([("ts", "ascending")])
        mmsi = np.concatenate([self.mmsi, known.column("mmsi").to_numpy().astype(np.int64)])
        code = np.concatenate([self.code, known.column("ship_type").to_numpy().astype(np.int64)])
        # the last report of each MMSI wins: unique over the reversed order keeps the last
        last, idx = np.unique(mmsi[::-1], return_index=True)
        self.mmsi, self.code = last, code[::-1][idx]

    def attach(self, positions: pa.Table) -> pa.Table:
        """``positions`` with ``ship_type``: the row's own (class B type 19 reports carry
        one), else the MMSI's last reported, else null."""
        if positions.num_rows == 0 or len(self.mmsi) == 0:
            return positions
        col: Any = positions.column("mmsi")
        filled: Any = pc.fill_null(col, 0)
        mmsi = np.asarray(filled.to_numpy(), dtype=np.int64)
        at = np.clip(np.searchsorted(self.mmsi, mmsi), 0, max(len(self.mmsi) - 1, 0))
        looked_up = pa.array(self.code[at], pa.int16(), mask=self.mmsi[at] != mmsi)
        if "ship_type" not in positions.column_names:
            return positions.append_column("ship_type", looked_up)
        i = positions.schema.get_field_index("ship_type")
        own: Any = positions.column(i)
        merged = pc.coalesce(own, looked_up.cast(own.type))
        return positions.set_column(i, positions.schema.field(i), merged)
