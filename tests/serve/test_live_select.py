"""The rows each live client gets, chosen for all clients at once
(:func:`seawatch.serve.live_select.chosen`), against a row-by-row reading of the labels and
filters: random rows (positions, some without one), labels and readers, bounding boxes
(across the antimeridian too, several per client) and MMSI filters: nothing a reader may not
read is chosen, nothing it may read inside its filters is left out, and clients given the
same rows share one array."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.labels import Policy, Reader, label_mask, may_read, parse_label
from seawatch.serve.live_client import Client
from seawatch.serve.live_render import Rendered
from seawatch.serve.live_select import chosen
from seawatch.serve.subscription import Subscription

POLICY = Policy(node_nation="IND")
LABELS = {
    1: parse_label("SECRET//REL TO IND", POLICY),
    2: parse_label("UNCLASSIFIED", POLICY),
    3: parse_label("CONFIDENTIAL//REL TO IND, USA", POLICY),
}
READERS = [Reader.parse(t, POLICY) for t in ("IND:SECRET", "USA:SECRET", "IND:UNCLASSIFIED")]
MMSIS = (111, 222, 333)

coords = st.one_of(st.floats(-180, 180), st.just(math.nan))
lats = st.one_of(st.floats(-90, 90), st.just(math.nan))
rows = st.lists(
    st.tuples(coords, lats, st.sampled_from(MMSIS), st.sampled_from(sorted(LABELS))),
    min_size=1,
    max_size=40,
)
box = st.tuples(
    st.floats(-180, 180), st.floats(-90, 90), st.floats(-180, 180), st.floats(-90, 90)
).map(lambda b: (b[0], min(b[1], b[3]), b[2], max(b[1], b[3])))  # lon may cross
subs = st.builds(
    lambda boxes, mmsi, reader: (Subscription(bboxes=tuple(boxes), mmsi=frozenset(mmsi)), reader),
    st.lists(box, max_size=3),
    st.one_of(st.just([]), st.lists(st.sampled_from(MMSIS), min_size=1, max_size=2)),
    st.integers(0, len(READERS) - 1),
)


def _in(b: tuple[float, float, float, float], lon: float, lat: float) -> bool:
    in_lon = b[0] <= lon <= b[2] if b[0] <= b[2] else (lon >= b[0] or lon <= b[2])
    return in_lon and b[1] <= lat <= b[3]


def _expected(data: list[Any], sub: Subscription, reader: Reader) -> list[int]:
    return [
        i
        for i, (lon, lat, mmsi, label) in enumerate(data)
        if may_read(reader, LABELS[label], POLICY)
        and (not sub.bboxes or any(_in(b, lon, lat) for b in sub.bboxes))
        and (not sub.mmsi or mmsi in sub.mmsi)
    ]


@settings(max_examples=150, deadline=None)
@given(rows, st.lists(subs, min_size=1, max_size=8))
def test_each_client_gets_what_its_reader_may_read_inside_its_filters(
    data: list[Any], clients_of: list[tuple[Subscription, int]]
) -> None:
    lon, lat, mmsi, label = (list(c) for c in zip(*data, strict=True))
    table = pa.table(
        {"lon": lon, "lat": lat, "mmsi": mmsi, "label_id": pa.array(label, pa.int32())}
    )
    n = len(data)
    r = Rendered(
        "positions", table, np.array(["{}"] * n, object), np.asarray(label, np.int32),
        np.asarray(mmsi, np.int64),
    )  # fmt: skip
    clients = [Client(READERS[k], sub) for sub, k in clients_of]

    def allowed(reader: Reader) -> Any:
        mask: Any = label_mask(pa.array(r.label_ids), reader, LABELS, POLICY)
        return np.asarray(mask.to_numpy(False), bool)

    got = chosen(r, clients, allowed)
    assert len(got) == len(clients)
    for client, idx in zip(clients, got, strict=True):
        assert idx.tolist() == _expected(data, client.sub, client.reader)
    shared: dict[tuple[int, ...], set[int]] = {}
    for client, idx in zip(clients, got, strict=True):
        if not client.sub.mmsi:  # chosen together: the same rows, the same array
            shared.setdefault(tuple(idx.tolist()), set()).add(id(idx))
    assert all(len(ids) == 1 for ids in shared.values())


def test_rows_without_positions_are_inside_no_box() -> None:
    table = pa.table({"mmsi": [111, 222], "label_id": pa.array([2, 2], pa.int32())})
    r = Rendered(
        "events", table, np.array(["{}", "{}"], object), np.asarray([2, 2], np.int32),
        np.asarray([111, 222], np.int64),
    )  # fmt: skip
    boxed = Client(READERS[0], Subscription(bboxes=((-180.0, -90.0, 180.0, 90.0),)))
    every = Client(READERS[0], Subscription())
    got = chosen(r, [boxed, every], lambda reader: np.ones(2, bool))
    assert got[0].tolist() == []
    assert got[1].tolist() == [0, 1]
