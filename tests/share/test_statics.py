"""Static reports (vessel identities) travel in bundles like every record: one part per
label, released only where the label and a rule allow, stored under the originator's
label, kept out by a bbox rule (they have no position), and retracted with their bundle."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa

from seawatch.labels import Reader, default_reader, parse_label
from seawatch.store import TABLES
from seawatch.store.query import Query

from .conftest import NodeDir
from .test_bundles import T0, TS, pair, store_of  # noqa: F401  (pair: the fixture)

STATICS = [  # (msg_key, marking, name)
    (9001, "UNCLASSIFIED", "SEA SPARROW"),
    (9002, "CONFIDENTIAL//REL TO IND, USA", "OCEAN PEARL"),
    (9003, "SECRET//NOFORN", "GREY HERON"),
]


def add_statics(node: NodeDir) -> None:
    with store_of(node) as store, store.transaction():
        for key, marking, name in STATICS:
            lid = store.label_id(parse_label(marking, store.policy, originator="IND"))
            rows = {f.name: [None] for f in TABLES["statics"].arrow_schema()}
            rows |= {"msg_key": [key], "ts": [T0 + dt.timedelta(minutes=key - 9000)],
                     "mmsi": [419000001], "msg_type": [5], "name": [name], "imo": [9100000],
                     "label_id": [lid]}  # fmt: skip
            store.write("statics", TABLES["statics"].conform(pa.Table.from_pylist(
                [{k: v[0] for k, v in rows.items()}]
            )))  # fmt: skip


def statics_held(node: NodeDir) -> dict[str, str]:
    """Name -> marking of the static reports the node's own reader sees."""
    with store_of(node) as store:
        q = Query(store, default_reader(store.policy))
        labels = q.labels()
        rows = q.statics().to_pylist()
        return {r["name"]: labels[r["label_id"]].marking for r in rows}


def test_statics_travel_in_bundles_under_their_labels(
    pair: tuple[NodeDir, NodeDir],  # noqa: F811  (the fixture imported)
    tmp_path: Path,
) -> None:
    ind, usa = pair
    add_statics(ind)
    ind.run("share", "allow", "usa-c2", "--type", "statics")
    courier = tmp_path / "courier"
    ind.run("share", "export", "--to", "usa-c2", str(courier))
    (bundle,) = [p for p in courier.iterdir() if p.is_dir()]
    entry = json.loads(ind.node().log().entries[-1])
    assert {(p["table"], p["marking"], p["rows"]) for p in entry["parts"]} == {
        ("statics", "UNCLASSIFIED", 1), ("statics", "CONFIDENTIAL//REL TO IND, USA", 1)
    }  # fmt: skip
    assert "2 records from ifc-ior" in usa.run("share", "import", str(courier))
    assert statics_held(usa) == {
        "SEA SPARROW": "UNCLASSIFIED", "OCEAN PEARL": "CONFIDENTIAL//REL TO IND, USA"
    }  # fmt: skip
    with store_of(usa) as store:  # stored under IND's labels, untouched
        q = Query(store, Reader.node_admin("test: labels of imported statics"))
        assert {q.labels()[r].originator for r in q.statics().column("label_id").to_pylist()} == {
            "IND"
        }  # fmt: skip
    # the bundle retracted: its statics leave USA and never come back
    ind.run("share", "retract", "--bundle", bundle.name, "--reason", "test")
    again = tmp_path / "again"
    ind.run("share", "export", "--again", "--to", "usa-c2", str(again))
    assert "records removed" in usa.run("share", "import", str(again))
    assert statics_held(usa) == {}


def test_a_bbox_rule_never_releases_statics(
    pair: tuple[NodeDir, NodeDir],  # noqa: F811  (the fixture imported)
    tmp_path: Path,
) -> None:
    ind, _ = pair
    add_statics(ind)
    ind.run("share", "allow", "usa-c2", "--type", "statics", "--bbox", "60,-10,100,25")
    out = ind.run("share", "export", "--to", "usa-c2", str(tmp_path / "c"))
    assert "nothing released" in out
