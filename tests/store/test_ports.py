"""The ``ports`` table in each backend: imported lists (bad rows counted, not raised),
anchorages derived from stored positions under the combined label of their inputs, and the
node's port list (built-in + stored) that ingest measures distance to port against."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
from records import T0, TS

from seawatch.engine.ports import derive_ports, import_ports, node_ports, stored_ports
from seawatch.geo.anchorages import AnchorageParams
from seawatch.geo.ports import default_ports
from seawatch.labels import Reader, parse_label
from seawatch.settings import Settings
from seawatch.store import Store, open_store
from seawatch.store.query import Query

BERTH = (17.6868, 83.2900)  # a quay at Visakhapatnam, India


def test_import_counts_bad_rows_and_replaces(
    store_url: str, node: Settings, tmp_path: Path
) -> None:
    csv = tmp_path / "my_quays.csv"
    csv.write_text(
        "id,name,country,lat,lon\n"
        "1,Quay A,IND,17.70,83.30\n"
        "2,No latitude,IND,,83.30\n"
        "3,Not a number,IND,north,83.30\n"
        "4,Out of range,IND,17.7,830.0\n"
        ",No id,IND,17.7,83.3\n"
        "QB,Quay B,IND,17.71,83.31\n"
    )
    with open_store(store_url, node) as store:
        r = import_ports(store, csv, node)
        assert (r.rows, r.stored, r.kind) == (6, 2, "generic")
        assert r.bad == {"no valid latitude/longitude": 3, "no id": 1}
        assert stored_ports(store).table.column("port_id").to_pylist() == ["QB", "my_quays:1"]
        again = import_ports(store, csv, node)
        assert again.stored == 2
        assert len(stored_ports(store)) == 2  # replaced, not doubled
        ports = node_ports(store)
        assert ports is not None
        assert len(ports) == len(default_ports()) + 2


def _stationary(store: Store, vessels: list[tuple[int, object]]) -> None:
    """Each vessel lies at the berth for 3 h (a report every 10 min), under its label."""
    with store.transaction():
        rows = []
        for v, (mmsi, label) in enumerate(vessels):
            lid = store.label_id(label)  # type: ignore[arg-type]
            for k in range(19):
                rows.append(
                    {
                        "msg_key": mmsi * 100 + k,
                        "ts": T0 + timedelta(minutes=10 * k + v),
                        "mmsi": mmsi,
                        "msg_type": 1,
                        "lat": BERTH[0] + 0.0002 * v,
                        "lon": BERTH[1],
                        "speed_kn": 0.0,
                        "label_id": lid,
                    }
                )
        table = pa.Table.from_pylist(rows).cast(
            pa.schema(
                [
                    ("msg_key", pa.int64()),
                    ("ts", TS),
                    ("mmsi", pa.int32()),
                    ("msg_type", pa.int8()),
                    ("lat", pa.float64()),
                    ("lon", pa.float64()),
                    ("speed_kn", pa.float64()),
                    ("label_id", pa.int32()),
                ]
            )
        )
        store.write("positions", table)


def test_derived_anchorage_is_labelled_by_its_inputs(store: Store) -> None:
    secret = parse_label("CONFIDENTIAL//REL TO IND", store.policy, originator="IND")
    open_ = store.policy.default_label
    _stationary(store, [(419000001, open_), (419000002, open_), (419000003, secret)])
    few = AnchorageParams(min_vessels=3, min_stationary_s=2 * 3600.0)
    assert derive_ports(store, AnchorageParams()).anchorages == 0  # GFW: 20 vessels, 12 h
    r = derive_ports(store, few)
    assert (r.positions, r.periods, r.anchorages, r.stored) == (57, 3, 1, 1)
    usa = Query(store, Reader.parse("USA:SECRET", store.policy)).ports()
    assert usa.num_rows == 0  # one input is NOFORN: so is the anchorage
    ind = Query(store, Reader.parse("IND:SECRET", store.policy)).ports()
    row = ind.to_pylist()[0]
    assert row["port_id"].startswith("anchorage:")
    assert (row["source"], row["n_vessels"]) == ("derived", 3)
    assert abs(row["lat"] - BERTH[0]) < 0.001
    assert abs(row["lon"] - BERTH[1]) < 0.001
    assert row["port_name"] is not None  # named after the nearby built-in port
    two = derive_ports(store, few)  # derived again: the cell is replaced
    assert two.stored == 1
    assert len(stored_ports(store)) == 1
    assert derive_ports(store, AnchorageParams(min_vessels=4, min_stationary_s=3600)).stored == 0
