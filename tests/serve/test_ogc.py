"""OGC API – Features under /ogc against the live server: httpx reads every collection page by
page and gets what :class:`~seawatch.store.query.Query` gives the same reader; bbox and
datetime filter, bad ones are 400 problems; GDAL's OAPIF driver (inside pyogrio) opens the
node as a real client with the token in an HTTP header."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from apiclient import LABELS, MARKING, READERS, Node

from seawatch.labels import Reader, may_read, parse_label
from seawatch.store.query import Query
from seawatch.store.tables import TABLES

GEOJSON = "application/geo+json"
PROBLEM = "application/problem+json"
CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
T0 = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def _zones_and_events(node: Node) -> None:
    """The simulated feeds give no zones and (in 20 minutes) no events: store a few of each
    under both labels, so every collection has records to show and to deny."""
    a, b = (parse_label(m, node.store.policy) for m in LABELS)
    square = "POLYGON(({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))"
    zones = [
        ("z1", "inside", square.format(88.2, 12.2, 88.8, 12.8), a),
        ("z2", "far", square.format(10, 10, 11, 11), a),
        ("z3", "secret", square.format(88.5, 12.5, 90, 14), b),
    ]
    events = [
        (f"e{i}", T0 + timedelta(minutes=i), T0 + timedelta(minutes=i + 2), 80 + i, (a, b)[i % 2])
        for i in range(12)
    ]
    with node.app.state.seawatch.lock:
        z = [
            {"zone_id": i, "name": n, "kind": "watch", "geometry_wkt": w, "label_id": lb}
            for i, n, w, lb in ((i, n, w, node.store.label_id(lb)) for i, n, w, lb in zones)
        ]
        node.store.write("zones", pa.Table.from_pylist(z, TABLES["zones"].arrow_schema()))
        e = [
            {
                "event_id": i,
                "event_type": "loitering",
                "start_ts": t0,
                "end_ts": t1,
                "mmsi": 100000000 + k,
                "lat": 12.0,
                "lon": float(lon),
                "label_id": node.store.label_id(lb),
            }
            for k, (i, t0, t1, lon, lb) in enumerate(events)
        ]
        node.store.write("events", pa.Table.from_pylist(e, TABLES["events"].arrow_schema()))


def _items(c: httpx.Client, coll: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every feature of ``coll``, following ``next`` links; each page checked; and the
    number of pages."""
    out: list[dict[str, Any]] = []
    r = c.get(f"/ogc/collections/{coll}/items", params=params)
    for pages in range(1, 1000):
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == GEOJSON
        body = r.json()
        assert body["type"] == "FeatureCollection"
        assert r.headers[MARKING] == body["marking"]
        assert body["numberReturned"] == len(body["features"])
        out += body["features"]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            return out, pages
        r = c.get(nxt[0])
    raise AssertionError("more than 1000 pages")


def _expected(node: Node, reader: str, listing: str, **filters: Any) -> list[Any]:
    key = {"latest": "mmsi", "positions": "msg_key", "events": "event_id", "zones": "zone_id"}
    with node.store.read_session() as s:
        rows = getattr(Query(s, Reader.parse(reader, s.policy)), listing)(**filters)
    ids = rows.column(key[listing]).to_pylist()
    return [str(i) for i in ids] if listing == "positions" else ids


def _problem(r: httpx.Response, status: int = 400) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    detail: str = r.json()["detail"]
    return detail


def test_landing_conformance_collections(node: Node) -> None:
    with node.client("IND:SECRET") as c:
        links = {link["rel"]: link["href"] for link in c.get("/ogc").json()["links"]}
        assert links["service-desc"].endswith("/openapi.json")
        assert links["conformance"].endswith("/ogc/conformance")
        assert links["data"].endswith("/ogc/collections")
        assert CORE in c.get(links["conformance"]).json()["conformsTo"]
        colls = c.get(links["data"]).json()["collections"]
        assert [x["id"] for x in colls] == ["vessels", "positions", "events", "tracks", "zones"]
        assert {x["id"]: x["itemType"] for x in colls}["tracks"] == "movingfeature"
        one = c.get("/ogc/collections/vessels").json()
        assert any(x["rel"] == "items" and x["type"] == GEOJSON for x in one["links"])
        assert "/ogc/collections/{collection_id}/items" in c.get("/openapi.json").json()["paths"]
    with node.client() as anonymous:
        assert "missing token" in _problem(anonymous.get("/ogc"), 401)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    ("coll", "listing"),
    [
        ("vessels", "latest"),
        ("positions", "positions"),
        ("events", "events"),
        ("tracks", "latest"),
        ("zones", "zones"),
    ],
)
def test_items_page_to_the_end_equal_query(
    node: Node, reader: str, coll: str, listing: str
) -> None:
    limit = 7 if coll != "positions" else 500
    with node.client(reader) as c:
        got, pages = _items(c, coll, limit=limit)
        first = c.get(f"/ogc/collections/{coll}/items", params={"limit": limit}).json()
    want = _expected(node, reader, listing)
    ids = [str(i) for i in want] if coll == "tracks" else want  # a moving feature's id: text
    assert [f["id"] for f in got] == ids
    assert first["numberMatched"] == len(want)  # counted for the reader, on the first page
    assert pages == len(want) // limit + 1
    policy = node.store.policy
    r = Reader.parse(reader, policy)
    for feature in got:
        assert may_read(r, parse_label(feature["properties"]["label"], policy), policy)


def test_denied_records_never_arrive(node: Node) -> None:
    with node.client("IND:SECRET") as c:
        everything, _ = _items(c, "positions", limit=10_000)
    labels = {f["properties"]["label"] for f in everything}
    assert len(labels) == 2  # both feeds
    with node.client("USA:SECRET") as c:
        some, _ = _items(c, "positions", limit=10_000)
    assert 0 < len(some) < len(everything)
    assert {f["properties"]["label"] for f in some} == {"CONFIDENTIAL//REL TO IND, USA"}
    with node.client("USA:UNCLASSIFIED") as c:
        assert _items(c, "vessels")[0] == []
        mmsi = everything[0]["properties"]["mmsi"]
        _problem(c.get(f"/ogc/collections/vessels/items/{mmsi}"), 404)


def test_bbox_and_datetime_filter(node: Node) -> None:
    box, window = "88,12,89,13", "2025-06-01T00:03:00Z/2025-06-01T00:10:00Z"
    start, end = (datetime.fromisoformat(t) for t in window.split("/"))
    with node.client("IND:SECRET") as c:
        got, _ = _items(c, "positions", bbox=box, datetime=window, limit=50)
        got_open, _ = _items(c, "events", datetime="2025-06-01T00:05:00Z/..")
        latest, _ = _items(c, "vessels", bbox="80,5,95,22", datetime="../2025-06-01T00:10:00Z")
    reader = "IND:SECRET"
    bbox = (88.0, 12.0, 89.0, 13.0)
    assert [f["id"] for f in got] == _expected(
        node, reader, "positions", bbox=bbox, start=start, end=end
    )
    for f in got:
        lon, lat = f["geometry"]["coordinates"]
        assert 88 <= lon <= 89
        assert 12 <= lat <= 13
        assert start <= datetime.fromisoformat(f["properties"]["ts"]) <= end
    assert [f["id"] for f in got_open] == _expected(
        node, reader, "events", start=datetime.fromisoformat("2025-06-01T00:05:00Z")
    )
    assert [f["id"] for f in latest] == _expected(
        node, reader, "latest", bbox=(80.0, 5.0, 95.0, 22.0), end=end
    )
    ours = {f["id"] for f in got_open if f["id"].startswith("e")}
    assert ours == {f"e{i}" for i in range(3, 12)}  # e3 ends at 00:05; e0..e2 end before
    with node.client(reader) as c:
        zones, _ = _items(c, "zones", bbox=box, limit=1)
        extent = c.get("/ogc/collections/zones").json()["extent"]["spatial"]["bbox"]
    assert [f["id"] for f in zones] == ["z1", "z3"]
    assert zones[1]["geometry"]["type"] == "Polygon"
    assert extent == [[10.0, 10.0, 90.0, 14.0]]
    with node.client("USA:SECRET") as c:
        assert [f["id"] for f in _items(c, "zones", bbox=box)[0]] == ["z1"]
        extent = c.get("/ogc/collections/zones").json()["extent"]["spatial"]["bbox"]
        assert extent == [[10.0, 10.0, 88.8, 12.8]]
        _problem(c.get("/ogc/collections/zones/items/z3"), 404)
        assert c.get("/ogc/collections/zones/items/z1").json()["id"] == "z1"


def _bounds(rows: pa.Table, t0: str, t1: str) -> tuple[list[float], list[datetime]]:
    box = [
        pc.min(rows.column("lon")).as_py(),
        pc.min(rows.column("lat")).as_py(),
        pc.max(rows.column("lon")).as_py(),
        pc.max(rows.column("lat")).as_py(),
    ]
    return box, [pc.min(rows.column(t0)).as_py(), pc.max(rows.column(t1)).as_py()]


@pytest.mark.parametrize("reader", READERS)
def test_extent_is_of_what_the_reader_may_read(node: Node, reader: str) -> None:
    with node.store.read_session() as s:
        q = Query(s, Reader.parse(reader, s.policy))
        positions, events, labels = q.positions(), q.events(), q.labels()
        marks = {
            lb.marking for i, lb in labels.items() if i in set(positions["label_id"].to_pylist())
        }
    with node.client(reader) as c:
        r = c.get("/ogc/collections")
        colls = {x["id"]: x for x in r.json()["collections"]}
        one = c.get("/ogc/collections/positions")
    for cid in ("vessels", "positions", "tracks"):
        if not positions.num_rows:
            assert "extent" not in colls[cid]
            continue
        box, interval = _bounds(positions, "ts", "ts")
        assert colls[cid]["extent"]["spatial"]["bbox"] == [box]
        got = [datetime.fromisoformat(t) for t in colls[cid]["extent"]["temporal"]["interval"][0]]
        assert got == interval
    assert one.json().get("extent") == colls["positions"].get("extent")
    if events.num_rows:
        box, interval = _bounds(events, "start_ts", "end_ts")
        assert colls["events"]["extent"]["spatial"]["bbox"] == [box]
    else:
        assert "extent" not in colls["events"]
    if reader == "USA:SECRET":  # reads feed A only: the extent and its marking are A's
        assert marks == {LABELS[0]}
        assert one.headers[MARKING] == LABELS[0]
    if reader == "USA:UNCLASSIFIED":
        assert all("extent" not in x for x in colls.values())


@pytest.mark.parametrize("reader", ["IND:SECRET", "USA:SECRET"])
def test_number_matched_counts_the_filtered_features(node: Node, reader: str) -> None:
    box, window = "88,12,89,13", "2025-06-01T00:03:00Z/2025-06-01T00:10:00Z"
    start, end = (datetime.fromisoformat(t) for t in window.split("/"))
    bbox = (88.0, 12.0, 89.0, 13.0)
    cases = [
        (
            "positions",
            "positions",
            {"bbox": box, "datetime": window},
            {"bbox": bbox, "start": start, "end": end},
        ),
        ("vessels", "latest", {"bbox": box}, {"bbox": bbox}),
        ("tracks", "latest", {"datetime": window}, {"start": start, "end": end}),
        ("events", "events", {"datetime": window}, {"start": start, "end": end}),
    ]
    with node.client(reader) as c:
        for coll, listing, params, filters in cases:
            first = c.get(f"/ogc/collections/{coll}/items", params={**params, "limit": 3}).json()
            want = _expected(node, reader, listing, **filters)
            assert first["numberMatched"] == len(want), coll
            if first["numberReturned"] == 3:
                nxt = next(x["href"] for x in first["links"] if x["rel"] == "next")
                assert "numberMatched" not in c.get(nxt).json()  # first page only
        zones = c.get("/ogc/collections/zones/items", params={"bbox": box, "limit": 1}).json()
    assert zones["numberMatched"] == (2 if reader == "IND:SECRET" else 1)


def test_one_vessel_by_mmsi(node: Node) -> None:
    with node.client("IND:SECRET") as c:
        first = c.get("/ogc/collections/vessels/items", params={"limit": 1}).json()["features"][0]
        r = c.get(f"/ogc/collections/vessels/items/{first['id']}")
        assert r.status_code == 200
        assert r.headers["content-type"] == GEOJSON
        assert r.json()["properties"] == first["properties"]
        assert r.headers[MARKING] == first["properties"]["label"]
        _problem(c.get("/ogc/collections/vessels/items/123456789"), 404)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"bbox": "80,5,95"}, "give four numbers"),
        ({"bbox": "80,22,95,5"}, "min_lat 22 > max_lat 5"),
        ({"bbox": "80,95,95,99"}, "min_lat 95 is above 90"),
        ({"bbox": "a,b,c,d"}, "give four numbers"),
        ({"datetime": "yesterday"}, "ISO 8601"),
        ({"datetime": "2025-06-02T00:00:00Z/2025-06-01T00:00:00Z"}, "end is before the start"),
        ({"datetime": "2025-06-01T00:00:00"}, "time zone"),
        ({"bobx": "1"}, "unknown query parameter bobx"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "nonsense"}, "cursor"),
    ],
)
def test_bad_parameters_are_400_problems(node: Node, params: dict[str, str], words: str) -> None:
    with node.client("IND:SECRET") as c:
        assert words in _problem(c.get("/ogc/collections/positions/items", params=params))


def test_unknown_collection_and_datetime_on_zones(node: Node) -> None:
    with node.client("IND:SECRET") as c:
        assert "no collection 'ships'" in _problem(c.get("/ogc/collections/ships/items"), 404)
        assert "no collection" in _problem(c.get("/ogc/collections/ships"), 404)
        r = c.get("/ogc/collections/zones/items", params={"datetime": "2025-06-01T00:00:00Z"})
        assert "has no time" in _problem(r)


def test_limit_over_the_maximum_is_clamped(node: Node) -> None:
    with node.client("IND:SECRET") as c:
        r = c.get("/ogc/collections/positions/items", params={"limit": 10**6})
        assert r.status_code == 200
        assert r.json()["numberReturned"] <= 10_000


_GDAL_CLIENT = """
import json, sys
import pyogrio
url = sys.argv[1]
out = {"layers": [str(name) for name, _ in pyogrio.list_layers(url)]}
for layer in ("vessels", "positions", "zones"):
    df = pyogrio.read_dataframe(url, layer=layer)
    out[layer] = {c: [str(v) for v in df[c]] for c in ("mmsi", "zone_id", "label") if c in df}
    out[layer]["geometry"] = sorted({g.geom_type for g in df.geometry})
    info = pyogrio.read_info(url, layer=layer, force_total_bounds=True)
    out[layer]["count"] = info["features"]
    out[layer]["bounds"] = [float(v) for v in info["total_bounds"]]  # the collection's extent
print(json.dumps(out))
"""


def _gdal(node: Node, reader: str, auth: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """pyogrio (GDAL's OAPIF driver) reading the node in a process of its own (it holds the
    GIL while it reads, which would stall the server's thread here), the token passed as
    GDAL configuration in the environment."""
    env = {**os.environ, **{k: v.replace("TOKEN", node.tokens[reader]) for k, v in auth.items()}}
    return subprocess.run(
        [sys.executable, "-c", _GDAL_CLIENT, f"OAPIF:{node.url}/ogc"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_gdal_oapif_reads_the_node_with_a_bearer_token(node: Node) -> None:
    reader = "USA:SECRET"
    done = _gdal(node, reader, {"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": "TOKEN"})
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["layers"] == ["vessels", "positions", "events", "tracks", "zones"]
    assert sorted(int(m) for m in got["vessels"]["mmsi"]) == _expected(node, reader, "latest")
    positions = _expected(node, reader, "positions")
    assert len(got["positions"]["mmsi"]) == len(positions) > 0
    assert set(got["positions"]["label"]) == {"CONFIDENTIAL//REL TO IND, USA"}
    assert got["zones"]["zone_id"] == _expected(node, reader, "zones") == ["z1", "z2"]
    assert got["zones"]["geometry"] == ["Polygon"]
    for layer, listing in (("vessels", "latest"), ("positions", "positions"), ("zones", "zones")):
        assert got[layer]["count"] == len(_expected(node, reader, listing)), layer
    with node.store.read_session() as s:  # GDAL's layer extent: this reader's, not the node's
        mine = Query(s, Reader.parse(reader, s.policy)).positions()
        every = Query(s, Reader.parse("IND:SECRET", s.policy)).positions()
    assert got["positions"]["bounds"] == pytest.approx(_bounds(mine, "ts", "ts")[0])
    assert _bounds(mine, "ts", "ts")[0] != _bounds(every, "ts", "ts")[0]
    assert got["zones"]["bounds"] == [10.0, 10.0, 88.8, 12.8]  # z3 (SECRET) not in it


def test_gdal_without_the_token_gets_the_401(node: Node) -> None:
    # GDAL_HTTP_HEADERS does not reach the OAPIF driver's requests in this GDAL (3.12):
    # the driver sends its own Accept header, which replaces it; GDAL_HTTP_AUTH=BEARER does
    done = _gdal(node, "USA:SECRET", {"GDAL_HTTP_HEADERS": "Authorization: Bearer TOKEN"})
    assert done.returncode != 0
    assert "401" in done.stderr
    assert "missing token" in done.stderr


def test_owslib_reads_every_collection(node: Node) -> None:
    from owslib.ogcapi import features  # BSD-3-Clause, in the test extra

    reader = "USA:SECRET"
    api = features.Features(
        f"{node.url}/ogc", headers={"Authorization": f"Bearer {node.tokens[reader]}"}
    )
    assert CORE in api.conformance()["conformsTo"]
    ids = [c["id"] for c in api.collections()["collections"]]
    assert ids == ["vessels", "positions", "events", "tracks", "zones"]
    listings = {"vessels": "latest", "positions": "positions", "events": "events"}
    listings["tracks"] = "latest"
    for coll in ids:
        got: list[Any] = []
        page = api.collection_items(coll, limit=50)
        while True:
            got += [f["id"] for f in page["features"]]
            nxt = [x["href"] for x in page["links"] if x["rel"] == "next"]
            if not nxt:
                break
            cursor = httpx.URL(nxt[0]).params["cursor"]
            page = api.collection_items(coll, limit=50, cursor=cursor)
        want = _expected(node, reader, listings.get(coll, coll))
        assert got == ([str(i) for i in want] if coll == "tracks" else want), coll
    first = api.collection_items("vessels", limit=1)["features"][0]
    assert api.collection_item("vessels", str(first["id"]))["properties"] == first["properties"]


# --- OGC API - Moving Features: tracks/items/{mmsi}/tgsequence ------------------------------

MF = "http://www.opengis.net/spec/ogcapi-movingfeatures-1/1.0/conf/"


def _sequence(c: httpx.Client, mmsi: int, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every MovingPoint of a vessel's tgsequence, following ``next`` links; each page
    checked; and the number of pages."""
    out: list[dict[str, Any]] = []
    r = c.get(f"/ogc/collections/tracks/items/{mmsi}/tgsequence", params=params)
    for pages in range(1, 1000):
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["type"] == "TemporalGeometrySequence"
        assert r.headers[MARKING] == body["marking"]
        assert body["numberReturned"] == len(body["geometrySequence"])
        out += body["geometrySequence"]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            return out, pages
        r = c.get(nxt[0])
    raise AssertionError("more than 1000 pages")


def _mmsis(node: Node) -> list[int]:
    with node.store.read_session() as s:
        admin = Query(s, Reader.node_admin("test: vessels to ask for"))
        return sorted(set(admin.latest().column("mmsi").to_pylist()))


@pytest.mark.parametrize("reader", READERS)
def test_tgsequence_is_the_track_query_gives(node: Node, reader: str) -> None:
    policy = node.store.policy
    mmsis = _mmsis(node)[::4]
    with node.store.read_session() as s, node.client(reader) as c:
        q = Query(s, Reader.parse(reader, policy))
        declared = c.get("/ogc/conformance").json()["conformsTo"]
        assert MF + "common" in declared
        assert MF + "movingfeatures" not in declared  # it needs writes a node does not offer
        for mmsi in mmsis:
            track = q.track(mmsi)
            if not track.num_rows:  # denied (or never seen): 404, not told apart
                r = c.get(f"/ogc/collections/tracks/items/{mmsi}/tgsequence")
                assert "no feature" in _problem(r, 404)
                _problem(c.get(f"/ogc/collections/tracks/items/{mmsi}"), 404)
                continue
            got, pages = _sequence(c, mmsi, limit=40)
            assert pages == track.num_rows // 40 + 1
            times = [datetime.fromisoformat(t) for g in got for t in g["datetimes"]]
            assert times == track.column("ts").to_pylist()
            coords = [tuple(p) for g in got for p in g["coordinates"]]
            assert coords == list(
                zip(track.column("lon").to_pylist(), track.column("lat").to_pylist(), strict=True)
            )
            for g in got:
                assert g["type"] == "MovingPoint"
                assert g["interpolation"] == "Linear"
                assert len(g["datetimes"]) == len(g["coordinates"]) > 0
                assert may_read(
                    Reader.parse(reader, policy), parse_label(g["label"], policy), policy
                )
            feature = c.get(f"/ogc/collections/tracks/items/{mmsi}").json()
            assert any(x["href"].endswith(f"/{mmsi}/tgsequence") for x in feature["links"])


def test_tgsequence_datetime_and_leaf(node: Node) -> None:
    reader = "IND:SECRET"
    with node.store.read_session() as s:
        q = Query(s, Reader.parse(reader, s.policy))
        mmsi = _mmsis(node)[0]
        track = q.track(mmsi)
    rows = track.to_pylist()
    window = "2025-06-01T00:03:00Z/2025-06-01T00:10:00Z"
    start, end = (datetime.fromisoformat(t) for t in window.split("/"))
    # a leaf between two positions of one segment, one on a position, one far from any
    a, b = next((x, y) for x, y in itertools.pairwise(rows) if x["segment_id"] == y["segment_id"])
    mid = a["ts"] + (b["ts"] - a["ts"]) / 4
    exact = rows[-1]["ts"]
    leaf = ",".join(t.isoformat().replace("+00:00", "Z") for t in (mid, exact))
    with node.client(reader) as c:
        got, _ = _sequence(c, mmsi, datetime=window, limit=10_000)
        times = [datetime.fromisoformat(t) for g in got for t in g["datetimes"]]
        assert times == q_track_times(node, reader, mmsi, start, end)
        lon, lat = rows[len(rows) // 2]["lon"], rows[len(rows) // 2]["lat"]
        box = (lon - 0.002, lat - 0.002, lon + 0.002, lat + 0.002)
        boxed, _ = _sequence(c, mmsi, bbox=",".join(map(str, box)), limit=7)
        with node.store.read_session() as s:
            want = Query(s, Reader.parse(reader, s.policy)).positions(mmsi=mmsi, bbox=box)
        assert 0 < want.num_rows < len(rows)
        assert [datetime.fromisoformat(t) for g in boxed for t in g["datetimes"]] == want.column(
            "ts"
        ).to_pylist()
        at, _ = _sequence(c, mmsi, leaf=leaf)
        far, _ = _sequence(c, mmsi, leaf="2030-01-01T00:00:00Z")
        assert far == []
        base = f"/ogc/collections/tracks/items/{mmsi}/tgsequence"
        assert "increasing" in _problem(
            c.get(base, params={"leaf": f"{leaf.split(',')[1]},{leaf.split(',')[0]}"})
        )
        assert "leave limit" in _problem(c.get(base, params={"leaf": leaf, "limit": 5}))
        assert "ISO 8601" in _problem(c.get(base, params={"leaf": "noon"}))
        assert "unknown query parameter" in _problem(c.get(base, params={"subTrajectory": "true"}))
        for write in (c.post(base, json={}), c.delete(f"/ogc/collections/tracks/items/{mmsi}")):
            assert write.status_code == 405, write.text  # a node is written by its ingest only
            assert "GET" in write.headers["allow"]
        assert "no moving features" in _problem(
            c.get(f"/ogc/collections/vessels/items/{mmsi}/tgsequence"), 404
        )
    assert [g["interpolation"] for g in at] == ["Discrete"] * len(at)
    points = [
        (datetime.fromisoformat(t), p)
        for g in at
        for t, p in zip(g["datetimes"], g["coordinates"], strict=True)
    ]
    assert [t for t, _ in points] == [mid, exact]
    lon, lat = points[0][1]
    assert lon == pytest.approx(a["lon"] + (b["lon"] - a["lon"]) / 4)
    assert lat == pytest.approx(a["lat"] + (b["lat"] - a["lat"]) / 4)
    assert points[1][1] == [rows[-1]["lon"], rows[-1]["lat"]]


def q_track_times(node: Node, reader: str, mmsi: int, start: datetime, end: datetime) -> list[Any]:
    with node.store.read_session() as s:
        q = Query(s, Reader.parse(reader, s.policy))
        return q.track(mmsi, start, end).column("ts").to_pylist()


@pytest.mark.parametrize("reader", ["IND:SECRET", "USA:SECRET", "USA:UNCLASSIFIED"])
def test_tproperties_are_the_tracks_speed_and_course(node: Node, reader: str) -> None:
    policy = node.store.policy
    mmsis = _mmsis(node)[::5]
    with node.store.read_session() as s, node.client(reader) as c:
        q = Query(s, Reader.parse(reader, policy))
        for mmsi in mmsis:
            base = f"/ogc/collections/tracks/items/{mmsi}/tproperties"
            track = q.track(mmsi)
            if not track.num_rows:  # denied (or never seen): 404, not told apart
                assert "no feature" in _problem(c.get(base), 404)
                _problem(c.get(f"{base}/speed_kn"), 404)
                continue
            listed = c.get(base).json()
            assert [p["name"] for p in listed["temporalProperties"]] == ["speed_kn", "course_deg"]
            for name in ("speed_kn", "course_deg"):
                pages, r = [], c.get(f"{base}/{name}", params={"limit": 30})
                while True:
                    assert r.status_code == 200, r.text
                    assert r.headers[MARKING] == r.json()["marking"]
                    pages += r.json()["valueSequence"]
                    nxt = [x["href"] for x in r.json()["links"] if x["rel"] == "next"]
                    if not nxt:
                        break
                    r = c.get(nxt[0])
                want = track.filter(pc.is_valid(track.column(name)))
                got_t = [datetime.fromisoformat(t) for v in pages for t in v["datetimes"]]
                assert got_t == want.column("ts").to_pylist()
                assert [x for v in pages for x in v["values"]] == want.column(name).to_pylist()
                for v in pages:
                    assert may_read(
                        Reader.parse(reader, policy), parse_label(v["label"], policy), policy
                    )
            assert "no temporal property" in _problem(c.get(f"{base}/draught_m"), 404)
