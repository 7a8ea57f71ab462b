"""Events and segments get the combined label of their vessels' records, one combination per
distinct set of inputs: rows that share inputs share the id, and every row whose inputs no
single nation may all read is left out, counted and logged on its own."""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pytest

from seawatch.labels import LabelRules, combine, parse_label
from seawatch.settings import Settings
from seawatch.store import open_store
from seawatch.store.records import Labeller


def test_derived_rows_share_labels_and_each_refused_row_is_logged(
    tmp_path: Path, node: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with open_store(str(tmp_path / "store.duckdb"), node) as store:
        policy = store.policy
        gbr = store.label_id(parse_label("S//REL TO GBR", policy, originator="USA"))
        jpn = store.label_id(parse_label("S//REL TO JPN", policy, originator="AUS"))
        quad = store.label_id(parse_label("C//REL TO QUAD", policy, originator="JPN"))
        labeller = Labeller(store, LabelRules.from_settings(node, policy))
        labeller.vessels.by_mmsi = {1: {gbr}, 2: {jpn}, 3: {quad}, 4: {gbr, quad}}
        events = pa.table(
            {
                "mmsi": pa.array([1, 3, 1, 2, 4, 3, 5], pa.int64()),
                "other_mmsi": pa.array([None, 4, 2, None, None, None, 1], pa.int64()),
                "event_type": ["gap", "encounter", "encounter", "gap", "gap", "gap", "gap"],
                "lon": [1.0] * 7,
                "lat": [2.0] * 7,
                "n": list(range(7)),
            }
        )
        with caplog.at_level(logging.WARNING, logger="seawatch.store.records"):
            out = labeller.derived(events, kind="events")
        labels = store.labels()
        rule = labeller.rules.rule_for(event_type="gap", lon=1.0, lat=2.0)
        enc = labeller.rules.rule_for(event_type="encounter", lon=1.0, lat=2.0)
        # row 2: GBR and JPN, refused; row 6: MMSI 5 has no records here, 1 is GBR
        want = {
            0: combine([labels[gbr], rule], policy),
            1: combine([labels[min(gbr, quad)], labels[max(gbr, quad)], enc], policy),
            3: combine([labels[jpn], rule], policy),
            4: combine([labels[min(gbr, quad)], labels[max(gbr, quad)], rule], policy),
            5: combine([labels[quad], rule], policy),
            6: combine([labels[gbr], rule], policy),
        }
        assert out.column("n").to_pylist() == sorted(want)  # row 2 left out: GBR ∩ JPN = ∅
        now = store.labels()
        rows = zip(out.column("n").to_pylist(), out.column("label_id").to_pylist(), strict=True)
        ids = dict(rows)
        assert {n: now[i] for n, i in ids.items()} == want
        assert ids[0] == ids[6]  # the same inputs: one id
        assert labeller.unlabelled == 1
        refused = [r.getMessage() for r in caplog.records if "not stored" in r.getMessage()]
        assert len(refused) == 1
        assert refused[0].startswith("events row of MMSI 1 not stored: no nation may read")

        # a second refused row with the same inputs is counted and logged again
        caplog.clear()
        twice = pa.concat_tables([events.slice(2, 1), events.slice(2, 1)])
        with caplog.at_level(logging.WARNING, logger="seawatch.store.records"):
            assert labeller.derived(twice, kind="events").num_rows == 0
        assert labeller.unlabelled == 3
        assert sum("not stored" in r.getMessage() for r in caplog.records) == 2
