"""The documents the API composes answer as their response models say (the models are the
OpenAPI document's schemas): a vessel's profile, the situation, the caller's rights, the
``/ogc`` documents and a track's temporal geometry sequence, read from the live server and
checked strictly (no coercion: an MMSI sent as text fails)."""

from __future__ import annotations

import pytest
from apiclient import READERS, Node

from seawatch.labels import Reader
from seawatch.serve.ogc.models import (
    CollectionInfo,
    Collections,
    Conformance,
    Feature,
    FeatureCollection,
    LandingPage,
)
from seawatch.serve.ogc.moving import TemporalGeometrySequence
from seawatch.serve.ogc.properties import TemporalProperties, TemporalProperty
from seawatch.serve.routes.models import (
    AlertPage,
    AlertRuleItem,
    AlertRulePage,
    Me,
    Profile,
    SituationSummary,
    ZonePage,
)
from seawatch.store.query import Query


@pytest.mark.parametrize("reader", READERS)
def test_composed_documents_match_their_models(node: Node, reader: str) -> None:
    with node.store.read_session() as s:
        admin = Query(s, Reader.node_admin("test: vessels to ask for"))
        mmsis = sorted(set(admin.latest().column("mmsi").to_pylist()))[::3]
    profiles = 0
    with node.client(reader) as c:
        me = Me.model_validate_json(c.get("/api/v1/me").text, strict=True)
        assert me.reader == reader
        situation = c.get("/api/v1/situation")
        assert situation.status_code == 200, situation.text
        SituationSummary.model_validate_json(situation.text, strict=True)
        for mmsi in mmsis:
            r = c.get(f"/api/v1/vessels/{mmsi}")
            if r.status_code == 404:
                continue
            profile = Profile.model_validate_json(r.text, strict=True)
            assert profile.mmsi == mmsi
            assert profile.identities
            profiles += 1
            seq = c.get(f"/ogc/collections/tracks/items/{mmsi}/tgsequence", params={"limit": 20})
            TemporalGeometrySequence.model_validate_json(seq.text, strict=True)
            props = f"/ogc/collections/tracks/items/{mmsi}/tproperties"
            TemporalProperties.model_validate_json(c.get(props).text, strict=True)
            speed = c.get(f"{props}/speed_kn", params={"limit": 20}).text
            TemporalProperty.model_validate_json(speed, strict=True)
    assert profiles > 0 or reader == "USA:UNCLASSIFIED"


@pytest.mark.parametrize("reader", ["IND:SECRET", "USA:UNCLASSIFIED"])
def test_ogc_documents_match_their_models(node: Node, reader: str) -> None:
    with node.client(reader) as c:
        LandingPage.model_validate_json(c.get("/ogc").text, strict=True)
        Conformance.model_validate_json(c.get("/ogc/conformance").text, strict=True)
        colls = Collections.model_validate_json(c.get("/ogc/collections").text, strict=True)
        for coll in colls.collections:
            one = c.get(f"/ogc/collections/{coll.id}")
            assert CollectionInfo.model_validate_json(one.text, strict=True) == coll
            page = c.get(f"/ogc/collections/{coll.id}/items", params={"limit": 5})
            items = FeatureCollection.model_validate_json(page.text, strict=True)
            assert items.numberMatched is not None
            for feature in items.features[:1] if coll.id != "positions" else []:
                r = c.get(f"/ogc/collections/{coll.id}/items/{feature.id}")
                Feature.model_validate_json(r.text, strict=True)


def test_alert_documents_match_their_models(node: Node) -> None:
    """Areas, alert rules (filters as an object) and alerts answer as their models say."""
    square = [[88.0, 12.0], [89.0, 12.0], [89.0, 13.0], [88.0, 13.0], [88.0, 12.0]]
    with node.client("IND:SECRET") as c:
        made = c.post(
            "/api/v1/areas",
            json={"name": "models box", "geometry": {"type": "Polygon", "coordinates": [square]}},
        )
        assert made.status_code == 201, made.text
        zone = made.json()["item"]["zone_id"]
        rule = {"name": "models rule", "kind": "zone_entry", "zone_id": zone, "flags": ["IND"]}
        made = c.post("/api/v1/alert-rules", json=rule)
        assert made.status_code == 201, made.text
        rule_id = made.json()["item"]["rule_id"]
        areas = ZonePage.model_validate_json(c.get("/api/v1/areas").text, strict=True)
        assert zone in [a.zone_id for a in areas.items]  # type: ignore[attr-defined]
        rules = AlertRulePage.model_validate_json(c.get("/api/v1/alert-rules").text, strict=True)
        assert rule_id in [r.rule_id for r in rules.items]  # type: ignore[attr-defined]
        one = c.get(f"/api/v1/alert-rules/{rule_id}").text
        assert AlertRuleItem.model_validate_json(one, strict=True).item.filters == {  # type: ignore[attr-defined]
            "flags": ["IND"]
        }
        AlertPage.model_validate_json(c.get("/api/v1/alerts").text, strict=True)
        assert c.delete(f"/api/v1/alert-rules/{rule_id}").status_code == 204
        assert c.delete(f"/api/v1/areas/{zone}").status_code == 204
