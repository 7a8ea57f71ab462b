"""Keyset pages: for every listing, in each backend, the pages concatenated are the listing
unpaged (same rows, same order), for random labels, readers, ties and page sizes; and the
label filter holds on every page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from records import T0, TS, Rec, clear, write
from test_label_property import labels, readers

from seawatch.errors import InputError
from seawatch.labels import Label, Reader, may_read
from seawatch.store import Store
from seawatch.store.query import ORDERS, Query

LISTINGS: dict[str, dict[str, Any]] = {
    "positions": {},
    "track": {"mmsi": 419000001},
    "latest": {"bbox": (80, 0, 100, 20)},
    "events": {"types": ["loitering"]},
    "vessels": {"name": "sea", "limit": None},
    "zones": {},
    "ports": {},
    "identities": {},
    "alerts": {"acked": False},
    "alert_rules": {},
}


def _zones(store: Store, recs: list[Rec]) -> None:
    with store.transaction():
        ids = [store.label_id(r.label) for r in recs]
        store.write(
            "zones",
            pa.table(
                {
                    "zone_id": [f"z:{r.key:03d}" for r in recs],
                    "name": [f"zone {r.key}" for r in recs],
                    "kind": ["watch"] * len(recs),
                    "geometry_wkt": ["POLYGON((0 0,1 0,1 1,0 0))"] * len(recs),
                    "label_id": pa.array(ids, pa.int32()),
                }
            ),
        )


def _ports(store: Store, recs: list[Rec]) -> None:
    with store.transaction():
        ids = [store.label_id(r.label) for r in recs]
        store.write(
            "ports",
            pa.table(
                {
                    "port_id": [f"p:{r.key:03d}" for r in recs],
                    "lat": [r.lat for r in recs],
                    "lon": [r.lon for r in recs],
                    "source": ["derived"] * len(recs),
                    "label_id": pa.array(ids, pa.int32()),
                }
            ),
        )


def _alerts(store: Store, recs: list[Rec]) -> None:
    """A rule and an alert per record, under its label (alert times tie as positions do)."""
    with store.transaction():
        ids = pa.array([store.label_id(r.label) for r in recs], pa.int32())
        keys = [f"{r.key:03d}" for r in recs]
        store.write(
            "alert_rules",
            pa.table(
                {
                    "rule_id": [f"r:{k}" for k in keys],
                    "name": keys,
                    "kind": ["gap"] * len(recs),
                    "label_id": ids,
                }
            ),
        )
        ts = [T0 + timedelta(minutes=r.minute) for r in recs]
        store.write(
            "alerts",
            pa.table(
                {
                    "alert_id": [f"a:{k}" for k in keys],
                    "rule_id": [f"r:{k}" for k in keys],
                    "kind": ["gap"] * len(recs),
                    "ts": pa.array(ts, TS),
                    "mmsi": pa.array([r.mmsi for r in recs], pa.int32()),
                    "label_id": ids,
                }
            ),
        )


def _all_pages(q: Query, listing: str, limit: int, filters: dict[str, Any]) -> pa.Table:
    pages, after = [], None
    filters = {k: v for k, v in filters.items() if k != "limit"}
    for _ in range(1000):
        page = q.page(listing, limit=limit, after=after, **filters)
        assert page.rows.num_rows <= limit
        pages.append(page.rows)
        if page.next is None:
            break
        assert page.rows.num_rows == limit
        after = page.next
    return pa.concat_tables(pages)


def test_every_listing_has_a_page_test() -> None:
    assert set(LISTINGS) == set(ORDERS)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=st.lists(
        st.tuples(labels(), st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=14
    ),
    reader=readers,
    limit=st.integers(1, 5),
)
def test_pages_concatenated_are_the_listing(
    store: Store, records: list[tuple[Label, int, int]], reader: Reader, limit: int
) -> None:
    clear(store)
    with store.transaction():
        store.backend.execute("DELETE FROM zones")
        store.backend.execute("DELETE FROM ports")
    # few minutes and vessels: ties on time and MMSI, which the order's last key breaks
    recs = [
        Rec(k + 1, 419000000 + vessel, label, minute=minute, lat=10 + k / 10, lon=85 + k / 10)
        for k, (label, vessel, minute) in enumerate(records)
    ]
    write(store, recs)
    _zones(store, recs)
    _ports(store, recs)
    _alerts(store, recs)
    q = Query(store, reader)
    allowed = set(q.allowed())
    for listing, filters in LISTINGS.items():
        whole = getattr(q, listing)(**filters)
        paged = _all_pages(q, listing, limit, filters)
        assert paged.to_pylist() == whole.to_pylist(), listing
        assert set(paged.column("label_id").to_pylist()) <= allowed, listing
    denied = {r.key for r in recs if not may_read(reader, r.label, store.policy)}
    got = set(_all_pages(q, "positions", limit, {}).column("msg_key").to_pylist())
    assert not got & denied


def test_bad_cursors_are_refused(store: Store) -> None:
    q = Query(store, Reader.parse("IND:SECRET", store.policy))
    recs = [Rec(k, 419000000 + k, store.policy.default_label, minute=k) for k in range(1, 4)]
    write(store, recs)
    first = q.page("positions", limit=1)
    assert first.next is not None
    with pytest.raises(InputError, match="not a cursor of events"):
        q.page("events", limit=1, after=first.next)
    assert q.page("track", mmsi=419000002, limit=1, after=first.next).rows.num_rows == 1
    for junk in ("", "xyz", "e30", first.next[:-3]):
        with pytest.raises(InputError, match="cursor"):
            q.page("positions", limit=1, after=junk)
    with pytest.raises(InputError, match="no listing"):
        q.page("tracks", limit=1)
    with pytest.raises(InputError, match="at least 1"):
        q.page("positions", limit=0)
