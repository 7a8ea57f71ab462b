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
from seawatch.serve.routes.models import Me, Profile, SituationSummary
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
