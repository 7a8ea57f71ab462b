"""The live stream's JSON, built column by column in Arrow, parses to what the REST routes'
:func:`~seawatch.serve.render.items` gives for the same rows: positions and events as a
live Ingest session tells them (with its pipeline's columns), and edge values (NaN,
infinity, nulls, strings that need escaping, times on a whole second)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from seawatch.engine.ingest import Ingest
from seawatch.engine.sinks import Subscribers
from seawatch.labels import Policy, parse_label
from seawatch.serve.live_render import Rendered, json_texts
from seawatch.serve.render import items
from seawatch.settings import load_settings
from seawatch.sim.synth import write_sample
from seawatch.store import open_store

# the demo sample's vessels transmit for minutes: events are its 5-minute gaps
SHORT_GAPS = {"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_DETECTORS__GAP__MIN_GAP_S": "300"}


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # the stream writes null (json.dumps would write NaN: not JSON)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def test_live_texts_parse_to_the_rest_items(tmp_path: Path) -> None:
    settings = load_settings(env=SHORT_GAPS)
    told = Subscribers()
    got: dict[str, list[pa.Table]] = {"positions": [], "events": []}
    told.positions.append(got["positions"].append)
    told.events.append(got["events"].append)
    feed = tmp_path / "feed.nmea"
    write_sample(feed, vessels=30, minutes=60)
    with open_store(tmp_path / "node.duckdb", settings) as store:
        session = Ingest(store, settings, detect=True, sinks=[told])
        session.add([feed])
        session.finish()
        labels = store.labels()
    for kind, tables in got.items():
        rows = pa.concat_tables(tables)
        assert rows.num_rows, kind
        r = Rendered.of(kind, rows, labels)
        shown = r.rows.drop_columns([c for c in ("msg_key",) if c in r.rows.column_names])
        want = [_plain(i) for i in items(shown, labels)]
        assert [json.loads(t) for t in r.texts] == want
        assert "msg_key" not in json.loads(r.texts[0])


def test_edge_values() -> None:
    policy = Policy.from_settings(load_settings(env={"SEAWATCH_NODE_NATION": "IND"}))
    labels = {1: parse_label("SECRET//REL TO IND", policy)}
    rows = pa.table(
        {
            "ts": pa.array(
                [
                    datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC),
                    datetime(2026, 1, 1, 0, 0, 1, 5, tzinfo=UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "speed_kn": [float("nan"), float("inf")],
            "n": pa.array([None, 2**62], pa.int64()),
            "name": ['a "quoted" \\ name\n', None],
            "ok": [True, None],
            "details": [{"x": 1.5}, None],
            "label_id": pa.array([1, 1], pa.int32()),
        }
    )
    texts = json_texts(rows, labels).to_pylist()
    assert [json.loads(t) for t in texts] == [_plain(i) for i in items(rows, labels)]
    assert texts[0].startswith('{"ts": "2026-01-01T00:00:01Z", "speed_kn": null, "n": null')


def test_rows_the_hub_could_not_keep_up_with_are_told_as_missed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When ingest tells faster than the hub fans out, the oldest waiting tables are
    dropped and every client is told (never a silent gap)."""
    import asyncio

    from seawatch.labels import Reader
    from seawatch.serve import live as live_module
    from seawatch.serve.app import create_app
    from seawatch.serve.live_client import Client
    from seawatch.serve.subscription import Subscription

    monkeypatch.setattr(live_module, "MAX_INBOX_ROWS", 5)
    settings = load_settings(env={"SEAWATCH_NODE_NATION": "IND"})
    with open_store(tmp_path / "node.duckdb", settings) as store:
        with store.transaction():
            label_id = store.label_id(parse_label("SECRET//REL TO IND", store.policy))
        hub = create_app(store, settings).state.live
        rows = pa.table(
            {
                "ts": pa.array([datetime(2026, 1, 1, tzinfo=UTC)] * 4, pa.timestamp("us", "UTC")),
                "mmsi": pa.array([1, 2, 3, 4], pa.int32()),
                "lat": [1.0] * 4,
                "lon": [2.0] * 4,
                "label_id": pa.array([label_id] * 4, pa.int32()),
            }
        )

        async def run() -> Client:
            client = Client(Reader.parse("IND:SECRET", store.policy), Subscription())
            hub.add(client)
            for _ in range(3):
                hub.offer("positions", rows)
            await asyncio.sleep(0.5)
            hub.remove(client)
            return client

        client = asyncio.run(run())
    assert hub.dropped == 8
    assert client.missed == {"positions": 8}
    assert len(client.queues["positions"]) == 4
