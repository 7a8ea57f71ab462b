"""Every query kind, through ``store_url``: filters, order, labels in the SQL."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from records import T0, Rec, write

from seawatch.errors import InputError
from seawatch.labels import Reader, parse_label
from seawatch.store import Store
from seawatch.store.query import Query, to_geopandas, to_pandas


def _q(store: Store, reader: str) -> Query:
    return Query(store, Reader.parse(reader, store.policy))


@pytest.fixture
def filled(store: Store) -> Store:
    p = store.policy
    u = parse_label("UNCLASSIFIED", p)
    sec_ind = parse_label("SECRET//REL TO IND", p, originator="IND")
    quad = parse_label("CONFIDENTIAL//REL TO QUAD", p, originator="IND")
    write(
        store,
        [
            Rec(1, 419000001, u, minute=0, lat=10.0, lon=85.0, name="SEA STAR"),
            Rec(2, 419000001, u, minute=10, lat=10.5, lon=85.5, name="SEA STAR"),
            Rec(3, 419000002, sec_ind, minute=5, lat=12.0, lon=88.0, name="DARK HORSE"),
            Rec(4, 419000003, quad, minute=20, lat=30.0, lon=120.0, name="QUAD SHIP"),
            Rec(5, 419000004, u, minute=2000, lat=10.2, lon=85.2, name="Late_Comer"),
            Rec(6, 419000005, u, minute=1, lat=0.0, lon=179.5, name="DATELINE"),
        ],
    )
    return store


def _keys(table: object) -> list[int]:
    return table.column("msg_key").to_pylist()  # type: ignore[attr-defined, no-any-return]


def test_area_and_time_window(filled: Store) -> None:
    q = _q(filled, "IND:SECRET")
    t = q.positions(bbox=(80, 5, 95, 15), start=T0, end=T0 + timedelta(hours=1))
    assert _keys(t) == [1, 3, 2]  # by time
    assert "label_id" in t.column_names
    assert _keys(q.positions(bbox=(80, 5, 95, 15))) == [1, 3, 2, 5]
    # crossing the antimeridian
    assert _keys(q.positions(bbox=(179, -1, -179, 1))) == [6]
    # USA:SECRET is not in the REL TO of IND's SECRET record
    assert _keys(_q(filled, "USA:SECRET").positions(bbox=(80, 5, 95, 15))) == [1, 2, 5]


def test_track_latest_events_vessels(filled: Store) -> None:
    q = _q(filled, "USA:CONFIDENTIAL")
    assert _keys(q.track(419000001, T0, T0 + timedelta(hours=1))) == [1, 2]
    latest = q.latest(bbox=(80, 5, 95, 15))
    assert latest.select(["mmsi", "msg_key"]).to_pylist() == [
        {"mmsi": 419000001, "msg_key": 2},
        {"mmsi": 419000004, "msg_key": 5},
    ]
    assert _keys(q.latest(bbox=(80, 5, 95, 15), end=T0 + timedelta(hours=1))) == [2]
    ev = q.events(
        types=["loitering"], start=T0 + timedelta(minutes=15), end=T0 + timedelta(hours=2)
    )
    assert ev.column("event_id").to_pylist() == ["ev1", "ev6", "ev2", "ev4"]  # overlap
    assert q.events(types=["gap"]).num_rows == 0
    assert q.events(mmsi=419000003).column("event_id").to_pylist() == ["ev4"]
    assert q.events(bbox=(119, 29, 121, 31)).column("event_id").to_pylist() == ["ev4"]
    assert q.vessels(name="star").column("mmsi").to_pylist() == [419000001]
    assert q.vessels(name="late_").column("name").to_pylist() == ["Late_Comer"]
    assert q.vessels(name="%").num_rows == 0  # wildcards taken literally
    assert q.vessels(imo=9000004).column("mmsi").to_pylist() == [419000003]
    assert q.vessels(callsign="cs6").column("mmsi").to_pylist() == [419000005]
    assert q.vessels(mmsi=419000002).num_rows == 0  # IND's SECRET record
    assert _q(filled, "IND:S").vessels(mmsi=419000002).num_rows == 1
    assert _q(filled, "IND:C").vessels(mmsi=419000002).num_rows == 0  # own, but SECRET


def test_labels_and_conversions(filled: Store) -> None:
    q = _q(filled, "JPN:CONFIDENTIAL")
    t = q.positions()
    labels = q.labels()
    assert set(t.column("label_id").to_pylist()) <= set(labels)
    assert {str(lb) for lb in labels.values()} == {"UNCLASSIFIED", "CONFIDENTIAL//REL TO IND, QUAD"}
    df = to_pandas(t)
    assert len(df) == t.num_rows
    assert str(df["ts"].dt.tz) == "UTC"
    gdf = to_geopandas(t)
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry.iloc[0].x == t.column("lon")[0].as_py()


def test_node_admin_reads_all_and_is_logged(
    filled: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="seawatch"):
        q = Query(filled, Reader.node_admin("test: count everything"))
        assert q.positions().num_rows == 6
    assert "node-admin" in caplog.text
    assert "count everything" in caplog.text


def test_bad_requests(filled: Store) -> None:
    q = _q(filled, "USA:U")
    with pytest.raises(InputError, match="min_lat 50 > max_lat 40"):
        q.positions(bbox=(0, 50, 10, 40))
    with pytest.raises(InputError, match="max_lon nan is not a finite number"):
        q.positions(bbox=(0, 0, float("nan"), 1))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="end before start"):
        q.positions(start=T0, end=T0 - timedelta(seconds=1))
    with pytest.raises(InputError, match="timezone"):
        q.positions(start=T0.replace(tzinfo=None))
    with pytest.raises(InputError, match="give a name"):
        q.vessels()
    with pytest.raises(TypeError, match="Reader"):
        Query(filled, "USA:SECRET")  # type: ignore[arg-type]


def test_latest_breaks_ties_by_the_smallest_key(store: Store) -> None:
    u = parse_label("UNCLASSIFIED", store.policy)
    write(store, [Rec(9, 419000009, u, minute=3), Rec(7, 419000009, u, minute=3)])
    write(store, [Rec(8, 419000009, u, minute=1)])
    assert _keys(_q(store, "USA:U").latest()) == [7]
