"""Property: :mod:`seawatch.store.summary` counts and bounds exactly the rows the reader may
read, on each backend: a count equals the listing's length (per label too), an extent is
the bounds of the listing's rows, and a denied row never counts nor widens an extent.
Random labels and readers as in test_label_property.py (its oracle is the rule itself)."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from records import T0, Rec, clear, write
from test_label_property import labels, readers, rule

from seawatch.labels import Label, Reader
from seawatch.store import Store
from seawatch.store.query import Query
from seawatch.store.summary import count, extent

FILTERS = [
    {},
    {"bbox": (85.0, 10.0, 85.45, 10.45)},
    {"start": T0 + timedelta(minutes=3)},
    {"end": T0 + timedelta(minutes=5), "mmsi": 419000001},
]


def _per_label(rows: pa.Table) -> dict[int, int]:
    out: dict[int, int] = {}
    for i in rows.column("label_id").to_pylist():
        out[i] = out.get(i, 0) + 1
    return out


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=st.lists(st.tuples(labels(), st.integers(0, 3)), min_size=1, max_size=12),
    reader=readers,
)
def test_counts_and_extents_are_of_readable_rows(
    store: Store, records: list[tuple[Label, int]], reader: Reader
) -> None:
    clear(store)
    recs = [
        Rec(k, 419000000 + vessel, label, minute=k, lat=10 + k / 10, lon=85 + k / 10)
        for k, (label, vessel) in enumerate(records)
    ]
    write(store, recs)
    allowed = [r for r in recs if rule(reader, r.label)]
    q = Query(store, reader)
    for filters in FILTERS:
        for listing in ("positions", "latest", "events"):
            want = getattr(q, listing)(**filters)
            got = count(q, listing, **filters)  # type: ignore[arg-type]
            assert got.total == want.num_rows, (listing, filters)
            assert dict(zip(*got.per_label.to_pydict().values(), strict=True)) == _per_label(want)
    pos, ev = extent(q, "positions"), extent(q, "events")
    if not allowed:
        assert pos.bbox is None
        assert pos.start is None
        assert ev.bbox is None
        assert pos.labels.num_rows == 0
        return
    lons, lats = [r.lon for r in allowed], [r.lat for r in allowed]
    box = (min(lons), min(lats), max(lons), max(lats))
    times = [T0 + timedelta(minutes=r.minute) for r in allowed]
    assert pos.bbox == box
    assert (pos.start, pos.end) == (min(times), max(times))
    assert ev.bbox == box
    assert (ev.start, ev.end) == (min(times), max(times) + timedelta(minutes=30))
    ids = store.labels()
    assert {ids[i] for i in pos.labels.column("label_id").to_pylist()} == {r.label for r in allowed}
    one = allowed[0].mmsi
    mine = [r for r in allowed if r.mmsi == one]
    assert extent(q, "positions", mmsi=one).start == T0 + timedelta(minutes=mine[0].minute)


def test_a_reader_of_every_label_gets_the_whole_tables_bounds(store: Store) -> None:
    """The fast path (every stored label readable: the table's own bounds, from DuckDB's
    statistics) gives what the label-filtered path gives."""
    clear(store)
    a = Label("UNCLASSIFIED", "IND", None, frozenset(), False)
    b = Label("SECRET", "IND", frozenset({"IND"}), frozenset(), False)
    recs = [
        Rec(k, 419000000 + k % 2, (a, b)[k % 2], minute=k, lat=10 + k, lon=80 + k) for k in range(6)
    ]
    write(store, recs)
    everyone = Query(store, Reader.node_admin("test: the fast path"))
    assert set(everyone.allowed()) >= set(store.labels())
    fast = extent(everyone, "positions")
    assert fast.bbox == (80.0, 10.0, 85.0, 15.0)
    assert (fast.start, fast.end) == (T0, T0 + timedelta(minutes=5))
    assert sorted(fast.labels.column("label_id").to_pylist()) == sorted(
        {store.label_id(a), store.label_id(b)}
    )
    some = Query(store, Reader("IND", "CONFIDENTIAL"))  # reads a only: the filtered path
    assert extent(some, "positions").bbox == (80.0, 10.0, 84.0, 14.0)
    assert extent(some, "events").end == T0 + timedelta(minutes=34)
