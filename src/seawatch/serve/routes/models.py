"""Response models of the documents the API composes (profile, situation, rights), which are
the OpenAPI document's schemas and what schemathesis checks answers against.

In: the stored tables' declarations (:data:`seawatch.store.tables.TABLES`) and the situation
summary's dataclasses (:mod:`seawatch.serve.situation`). Out: :func:`record_model` (a stored
row as the API sends it: every column but ``label_id``, typed and described as declared,
plus its ``label``), :class:`Position`, :class:`Event`, :class:`Profile`,
:class:`SituationSummary`, :class:`Me` and the JSON pages of each listing
(:func:`page_model`: :class:`PositionPage`, :class:`EventPage`, :class:`ZonePage`,
:class:`VesselPage`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, Field, create_model

from seawatch.serve.situation import Count, Notable
from seawatch.store.tables import TABLES

__all__ = [
    "Alert",
    "AlertItem",
    "AlertPage",
    "AlertRule",
    "AlertRuleItem",
    "AlertRulePage",
    "Event",
    "EventPage",
    "Identity",
    "IdentityPage",
    "Me",
    "Origin",
    "Position",
    "PositionPage",
    "Profile",
    "SituationSummary",
    "VesselMatch",
    "VesselPage",
    "Zone",
    "ZonePage",
    "page_model",
    "record_model",
]


def _python(t: pa.DataType) -> Any:
    if pa.types.is_integer(t):
        return int
    if pa.types.is_floating(t):
        return float
    if pa.types.is_boolean(t):
        return bool
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return str
    if pa.types.is_timestamp(t):
        return datetime
    if pa.types.is_list(t):
        return list[_python(t.value_type)]  # type: ignore[misc]
    return Any


def record_model(
    table: str,
    name: str,
    columns: tuple[str, ...] | None = None,
    shown_as: dict[str, Any] | None = None,
) -> type[BaseModel]:
    """A row of ``table`` (its ``columns``, all but ``label_id`` when None) as the API sends
    it (times RFC 3339 UTC), with its ``label``; ``shown_as``: columns the API sends as
    another type (a JSON text column sent as an object)."""
    fields: dict[str, Any] = {}
    for col in TABLES[table].columns:
        if col.name == "label_id" or (columns is not None and col.name not in columns):
            continue
        kind = (shown_as or {}).get(col.name, _python(col.type))
        if col.nullable:
            fields[col.name] = (kind | None, Field(description=col.doc))
        else:
            fields[col.name] = (kind, Field(description=col.doc))
    fields["label"] = (str, Field(description="The record's marking"))
    model: type[BaseModel] = create_model(name, __doc__=TABLES[table].doc, **fields)
    return model


def page_model(record: type[BaseModel], name: str) -> type[BaseModel]:
    """A JSON page of ``record`` rows: their combined marking, the rows and the next URL."""
    model: type[BaseModel] = create_model(
        name,
        __doc__="A page of records: their combined marking, the records (each with its "
        "label) and the URL of the next page (null on the last).",
        marking=(str, Field(description="Combined marking of every record in the page")),
        items=(list[record], ...),  # type: ignore[valid-type]
        next=(str | None, Field(description="URL of the next page; null when this is the last")),
    )
    return model


Position = record_model("positions", "Position")
Event = record_model("events", "Event")
Zone = record_model("zones", "Zone")
VesselMatch = record_model(
    "statics",
    "VesselMatch",
    ("mmsi", "ts", "msg_type", "imo", "callsign", "name", "ship_type"),
)
VesselIdentity = record_model(
    "statics", "VesselIdentity", ("mmsi", "ts", "name", "callsign", "ship_type")
)
Alert = record_model("alerts", "Alert")
AlertRule = record_model("alert_rules", "AlertRule", shown_as={"filters": dict[str, Any]})
PositionPage = page_model(Position, "PositionPage")
AlertPage = page_model(Alert, "AlertPage")
AlertRulePage = page_model(AlertRule, "AlertRulePage")


class AlertItem(BaseModel):
    """One alert, under its marking."""

    marking: str
    item: Alert  # type: ignore[valid-type]


class AlertRuleItem(BaseModel):
    """One alert rule, under its marking."""

    marking: str
    item: AlertRule  # type: ignore[valid-type]


EventPage = page_model(Event, "EventPage")
ZonePage = page_model(Zone, "ZonePage")
VesselPage = page_model(VesselMatch, "VesselPage")
IdentityPage = page_model(VesselIdentity, "IdentityPage")


class Identity(BaseModel):
    """One identity a vessel reported (name, call sign, IMO, ship type), over a period."""

    name: str | None
    callsign: str | None
    imo: int | None
    ship_type: int | None
    label: str = Field(description="The marking of the reports")
    first_seen: datetime
    last_seen: datetime


class Origin(BaseModel):
    """Where some of the records used came from: one label, its originating nation and the
    nodes of that nation this node knows."""

    marking: str = Field(description="The label's marking")
    originator: str = Field(description="ISO 3166-1 alpha-3 nation that owns the records")
    derived: bool = Field(description="Built by this node from records of other nations")
    records: int = Field(description="Records of the answer under this label")
    nodes: list[str] = Field(
        description="This node (node_id) when the originator is its nation, and the pinned "
        "peers of that nation"
    )


class Profile(BaseModel):
    """A vessel's profile, as far as the reader may read it."""

    marking: str = Field(description="Combined marking of every record used")
    mmsi: int
    flag: str | None = Field(description="Flag from the MMSI's MID; null: unknown MID")
    identities: list[Identity] = Field(description="Identity changes, newest first")
    latest: Position | None = Field(description="The latest position; null: none readable")  # type: ignore[valid-type]
    events: list[Event] = Field(description="Its events (at most 100, the latest)")  # type: ignore[valid-type]
    origins: list[Origin] = Field(description="Where the records used came from, per label")


class SituationSummary(BaseModel):
    """Events counted per type beside the incidents they make, and the notable incidents
    ranked, each with its confidence (docs/events.md, "Incidents"; docs/run.md)."""

    marking: str = Field(description="Combined marking of every record used")
    total: int = Field(description="Events in all")
    incidents: int = Field(description="Incidents in all, minor ones included")
    minor: int = Field(description="Incidents below the noise levels: counted, never ranked")
    routine: int = Field(description="Events that are routine, not incidents")
    open_at_end: int = Field(
        description="Gaps still open at the end of the data: events, not incidents"
    )
    counts: list[Count]
    notable: list[Notable]


class Me(BaseModel):
    """The caller's user, the reader it reads as, and the stored labels it may read."""

    marking: str = Field(description="The marking of an answer holding no records")
    user: str
    reader: str = Field(description="NATION:CLEARANCE[:CAVEATS]")
    nation: str
    clearance: str
    caveats: list[str]
    expires_at: datetime | None = Field(description="When the token expires; null: never")
    labels: list[str] = Field(description="Markings of the stored labels it may read")
