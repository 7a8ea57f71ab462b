"""``GET /api/v1/identities``: each vessel's naming report and, when it gives no ship type,
its latest typed report, every page, as the reader may read them (the map's names and
colours)."""

from __future__ import annotations

from typing import Any

from apiclient import Node

from seawatch.labels import Reader
from seawatch.store.query import Query


def _all(node: Node, reader: str, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    with node.client(reader) as c:
        url: str | None = f"/api/v1/identities?limit={limit}"
        while url:
            page = c.get(url)
            assert page.status_code == 200, page.text
            items += page.json()["items"]
            url = page.json()["next"]
    return items


def test_identities_name_and_type_every_vessel_the_reader_may_read(node: Node) -> None:
    for reader in ("IND:SECRET", "USA:SECRET"):
        whole = _all(node, reader, 10_000)
        paged = _all(node, reader, 7)
        assert paged == whole
        q = Query(node.store, Reader.parse(reader, node.store.policy))
        named = q.identities()
        assert sorted({i["mmsi"] for i in whole}) == sorted(named.column("mmsi").to_pylist())
        readable = {lb.marking for lb in q.labels().values()}
        assert {i["label"] for i in whole} <= readable
        by_vessel: dict[int, list[dict[str, Any]]] = {}
        for i in whole:
            by_vessel.setdefault(i["mmsi"], []).append(i)
        for mmsi, rows in by_vessel.items():
            assert 1 <= len(rows) <= 2
            assert rows[0]["name"] or rows[0]["callsign"] or rows[1]["name"]
            typed = [r["ship_type"] for r in rows if r["ship_type"] is not None]
            want = q.identities([mmsi], typed=True).column("ship_type").to_pylist()
            assert typed[:1] == want, mmsi
        assert any(len(rows) == 2 for rows in by_vessel.values())  # Class B: two reports
    with node.client("USA:UNCLASSIFIED") as c:
        assert c.get("/api/v1/identities").json()["items"] == []


def test_a_profile_says_where_its_records_came_from(node: Node) -> None:
    with node.client("IND:SECRET") as c:
        mmsi = c.get("/api/v1/latest", params={"limit": 1}).json()["items"][0]["mmsi"]
        profile = c.get(f"/api/v1/vessels/{mmsi}").json()
    used = len(profile["events"]) + (profile["latest"] is not None)
    origins = profile["origins"]
    assert origins
    assert sum(o["records"] for o in origins) >= used
    for o in origins:
        assert o["originator"] == "IND"  # the node's own nation: its own records
        assert o["nodes"] == ["local"]  # node_id (no peer of IND pinned)
        assert o["derived"] is False
    with node.client("IND:SECRET") as c:
        assert {o["marking"] for o in origins} <= set(c.get("/api/v1/me").json()["labels"])


def test_identities_of_listed_vessels_only(node: Node) -> None:
    whole = _all(node, "IND:SECRET", 10_000)
    mmsis = sorted({i["mmsi"] for i in whole})[:3]
    with node.client("IND:SECRET") as c:
        one = c.get("/api/v1/identities", params={"mmsi": ",".join(map(str, mmsis))})
        repeated = c.get("/api/v1/identities", params=[("mmsi", str(m)) for m in mmsis])
        assert one.status_code == 200, one.text
        assert one.json()["items"] == repeated.json()["items"]
        assert one.json()["items"] == [i for i in whole if i["mmsi"] in mmsis]
        unknown = c.get("/api/v1/identities", params={"mmsi": "999999999"})
        assert unknown.json()["items"] == []
        for bad in ("abc", "1,x", "²", "1000000000", ",".join(["1"] * 1001)):
            r = c.get("/api/v1/identities", params={"mmsi": bad})
            assert r.status_code == 400, (bad, r.text)
            assert "mmsi" in r.json()["detail"]
