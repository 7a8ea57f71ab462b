"""The ``/ogc`` documents' response models (OGC API – Features Part 1 and Moving Features
Part 1 schemas, with seawatch's ``marking``), so the OpenAPI document describes every answer
and schemathesis checks them.

In: nothing (declarations). Out: :class:`LandingPage`, :class:`Conformance`,
:class:`Collections`, :class:`CollectionInfo`, :class:`FeatureCollection`, :class:`Feature`.
The routes build the JSON themselves (and mark it); these models are their schema.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "CollectionInfo",
    "Collections",
    "Conformance",
    "Feature",
    "FeatureCollection",
    "LandingPage",
    "Link",
]


class Link(BaseModel):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(BaseModel):
    title: str
    description: str
    links: list[Link]


class Conformance(BaseModel):
    conformsTo: list[str]  # noqa: N815 (the standard's names)


class Spatial(BaseModel):
    bbox: list[list[float]] = Field(description="[[min_lon, min_lat, max_lon, max_lat]]")
    crs: str


class Temporal(BaseModel):
    interval: list[list[str | None]] = Field(description="[[start, end]]; null: open")
    trs: str


class Extent(BaseModel):
    """What the reader may read of the collection spans (absent: nothing)."""

    spatial: Spatial | None = None
    temporal: Temporal | None = None


class CollectionInfo(BaseModel):
    id: str
    title: str
    description: str
    itemType: Literal["feature", "movingfeature"]  # noqa: N815
    crs: list[str]
    links: list[Link]
    extent: Extent | None = None


class Collections(BaseModel):
    links: list[Link]
    collections: list[CollectionInfo]


class Feature(BaseModel):
    """A GeoJSON Feature: its record's columns as properties, with ``label`` (its marking)."""

    type: Literal["Feature"]
    id: int | str = Field(description="MMSI, message key (text), event or zone id")
    geometry: dict[str, Any] | None = Field(description="GeoJSON Point or Polygon (CRS84)")
    properties: dict[str, Any]
    links: list[Link] | None = None
    marking: str | None = Field(None, description="One feature's marking (items/{id})")


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    marking: str = Field(description="Combined marking of the features (and the count)")
    timeStamp: str  # noqa: N815
    numberReturned: int = Field(ge=0)  # noqa: N815
    numberMatched: int | None = Field(  # noqa: N815
        None, ge=0, description="Features the filters select for the reader; first page only"
    )
    features: list[Feature]
    links: list[Link]
