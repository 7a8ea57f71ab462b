"""The stored tables, declared once: columns, Arrow types, keys, and the schema version each
column appeared in.

In: nothing (declarations). Out: :data:`TABLES` (every stored table), its Arrow schema
(:meth:`TableDef.arrow_schema`) and the SQL that creates it in a dialect
(:func:`create_sql`, :func:`migration_sql`). Both backends generate their DDL from these
declarations; only the type names and a few phrases differ (:class:`Dialect`).

Every table that holds records has a ``label_id`` (int32) into ``labels``; queries filter
on it (see :mod:`seawatch.store.query`). Schema changes are new columns or tables with a
higher ``since``; :data:`SCHEMA_VERSION` is the highest, and migrating a database from
version ``v`` adds what appeared after ``v``.

Kept whole: this is the one declaration of every stored table; split, the schema would
be read in pieces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import pyarrow as pa

from seawatch.labels.table import LABELS_SCHEMA

__all__ = [
    "RELAID",
    "SCHEMA_VERSION",
    "SEQ",
    "SEQUENCE",
    "TABLES",
    "TS",
    "Column",
    "Dialect",
    "TableDef",
    "create_sql",
    "migration_sql",
    "tables_markdown",
]

TS: Final = pa.timestamp("us", tz="UTC")
SCHEMA_VERSION: Final = 10
"""Version of the schema this code writes; ``schema_version`` holds a database's."""
SEQUENCE: Final = "write_seq"
SEQ: Final = "seq"
"""Write order (schema 7): the tables federation releases carry a hidden ``seq`` column, a
number drawn from the database sequence ``write_seq`` when the row is written (rows of one
write may share one; a replaced row gets a new one). Not a record column: queries never
return it; a release to a peer reads only rows newer than its cursor (seawatch.share).
Rows stored before version 7 have none (null)."""
_SEQ_SINCE: Final = 7
RELAID: Final[Mapping[int, tuple[str, ...]]] = {
    6: ("positions",),
    9: ("positions",),
    10: ("positions",),
}
"""Tables laid out anew at a version, their columns and rows unchanged; migrating past it,
a backend rewrites them in its layout (``Backend.relayout``; PostgreSQL version 6:
positions partitioned by day; version 9: PostGIS's ``geom`` no longer stored, a view
computes it; version 10: the ``(ts, lat, lon)`` BRIN index with 2 pages per range, not 8;
DuckDB: nothing to do)."""


@dataclass(frozen=True)
class Column:
    """One stored column: name, Arrow type, description, schema version it appeared in."""

    name: str
    type: pa.DataType
    doc: str
    since: int = 1
    nullable: bool = True


@dataclass(frozen=True)
class TableDef:
    """One stored table.

    ``key``: the columns that identify a row; inserting a row whose key is present
    either keeps the stored row (``on_conflict="ignore"``: messages, heard twice stored
    once) or replaces it (``"replace"``: segments and events, which grow as data arrives).
    ``labelled``: rows carry ``label_id`` and are read only through the query layer.
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    doc: str
    on_conflict: Literal["ignore", "replace"] = "ignore"
    since: int = 1
    bulk: bool = False  # millions of rows: a dialect may dedupe by anti-join, not an index
    sequenced: bool = False  # has the hidden write-order column (SEQ)

    @property
    def labelled(self) -> bool:
        return "label_id" in self.names

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def at(self, version: int) -> tuple[Column, ...]:
        """The columns the table had at schema ``version``."""
        return tuple(c for c in self.columns if c.since <= version)

    def arrow_schema(self) -> pa.Schema:
        fields = [
            pa.field(c.name, c.type, nullable=c.nullable, metadata={"doc": c.doc})
            for c in self.columns
        ]
        return pa.schema(fields)

    def conform(self, table: pa.Table) -> pa.Table:
        """``table`` with exactly this table's columns (missing ones null, others cast)."""
        arrays: list[Any] = []
        for c in self.columns:
            if c.name in table.column_names:
                col = table.column(c.name)
                arrays.append(col if col.type == c.type else col.cast(c.type))
            else:
                arrays.append(pa.nulls(table.num_rows, c.type))  # type: ignore[call-overload]
        return pa.Table.from_arrays(arrays, names=list(self.names))


def _c(name: str, typ: pa.DataType, doc: str, since: int = 1, nullable: bool = True) -> Column:
    return Column(name, typ, doc, since, nullable)


_LABEL = _c("label_id", pa.int32(), "Label of the row: labels.label_id", nullable=False)
_KEY = _c(
    "msg_key",
    pa.int64(),
    "Message key: hash of mmsi, ts, msg_type, lat, lon (positions) or mmsi, ts, "
    "msg_type, part (statics); the same message from two receivers has one key",
    nullable=False,
)

_TABLES = (
    TableDef(
        "schema_version",
        (
            _c("version", pa.int32(), "Schema version applied", nullable=False),
            _c("applied_at", TS, "When it was applied (UTC)"),
            _c("description", pa.string(), "What the version added"),
        ),
        key=("version",),
        doc="Schema versions applied to this database, one row each",
    ),
    TableDef(
        "labels",
        tuple(
            Column(f.name, f.type, (f.metadata or {})[b"doc"].decode(), 1, f.nullable)
            for f in LABELS_SCHEMA
        ),
        key=("label_id",),
        doc="Distinct labels; rows of the other tables point here by label_id",
    ),
    TableDef(
        "positions",
        (
            _KEY,
            _c("ts", TS, "Receive time (UTC)", nullable=False),
            _c("mmsi", pa.int32(), "MMSI", nullable=False),
            _c("msg_type", pa.int8(), "AIS message type"),
            _c("nav_status", pa.int8(), "Navigational status (ITU-R M.1371)"),
            _c("lat", pa.float64(), "Latitude, degrees", nullable=False),
            _c("lon", pa.float64(), "Longitude, degrees", nullable=False),
            _c("speed_kn", pa.float64(), "Speed over ground, knots"),
            _c("course_deg", pa.float64(), "Course over ground, degrees"),
            _c("heading_deg", pa.int16(), "True heading, degrees"),
            _c("accuracy", pa.bool_(), "Position accuracy flag (true: < 10 m)"),
            _c("station", pa.string(), "Receiving station or source"),
            _c("segment_id", pa.int64(), "Segment (seawatch.tracks), null without --detect"),
            _LABEL,
        ),
        key=("msg_key",),
        bulk=True,
        sequenced=True,
        doc="Position reports, stored in (day, 1-degree cell) order per ingest chunk",
    ),
    TableDef(
        "statics",
        (
            _KEY,
            _c("ts", TS, "Receive time (UTC)", nullable=False),
            _c("mmsi", pa.int32(), "MMSI", nullable=False),
            _c("msg_type", pa.int8(), "AIS message type (5, 19, 24)"),
            _c("part_num", pa.int8(), "Part of a type 24 report (0: A, 1: B)"),
            _c("imo", pa.int32(), "IMO number"),
            _c("callsign", pa.string(), "Call sign"),
            _c("name", pa.string(), "Vessel name"),
            _c("ship_type", pa.int16(), "Ship type (ITU-R M.1371 code)"),
            _c("dim_to_bow_m", pa.int16(), "Distance from the antenna to the bow, m"),
            _c("dim_to_stern_m", pa.int16(), "Distance from the antenna to the stern, m"),
            _c("draught_m", pa.float64(), "Draught, m"),
            _c("destination", pa.string(), "Destination as reported"),
            _c("station", pa.string(), "Receiving station or source"),
            _LABEL,
        ),
        key=("msg_key",),
        bulk=True,
        sequenced=True,
        doc="Static and voyage reports: the vessel identity history",
    ),
    TableDef(
        "segments",
        (
            _c("segment_id", pa.int64(), "Segment id (positions.segment_id)", nullable=False),
            _c("mmsi", pa.int32(), "MMSI", nullable=False),
            _c("start_ts", TS, "First position (UTC)"),
            _c("end_ts", TS, "Last position (UTC)"),
            _c("n_positions", pa.int64(), "Positions in the segment"),
            _c("name", pa.string(), "Most often reported name"),
            _c("callsign", pa.string(), "Most often reported call sign"),
            _c("imo", pa.int32(), "Most often reported IMO number"),
            _c("ship_type", pa.int16(), "Most often reported ship type"),
            _c("flag", pa.string(), "Flag from the MMSI's MID, ISO 3166-1 alpha-3", since=2),
            _LABEL,
        ),
        key=("segment_id",),
        on_conflict="replace",
        doc="Segments (plausible single vessels) from seawatch.tracks",
    ),
    TableDef(
        "events",
        (
            _c("event_id", pa.string(), "Stable event id", nullable=False),
            _c("event_type", pa.string(), "gap, loitering, encounter, ...", nullable=False),
            _c("start_ts", TS, "Start (UTC)"),
            _c("end_ts", TS, "End (UTC); null while open"),
            _c("mmsi", pa.int32(), "MMSI"),
            _c("other_mmsi", pa.int32(), "Other vessel's MMSI (encounters)"),
            _c("lat", pa.float64(), "Representative latitude"),
            _c("lon", pa.float64(), "Representative longitude"),
            _c("segment_ids", pa.list_(pa.string()), "Segments involved"),
            _c("confidence", pa.float64(), "Confidence in [0, 1]"),
            _c("details", pa.string(), "Detector details, JSON"),
            _LABEL,
        ),
        key=("event_id",),
        on_conflict="replace",
        sequenced=True,
        doc="Events from seawatch.events; label: combine of the inputs' labels",
    ),
    TableDef(
        "zones",
        (
            _c("zone_id", pa.string(), "Zone id", nullable=False),
            _c("name", pa.string(), "Zone name"),
            _c("kind", pa.string(), "Kind of zone (eez, port, watch, ...)"),
            _c("geometry_wkt", pa.string(), "Polygon, WKT, WGS 84"),
            _LABEL,
        ),
        key=("zone_id",),
        on_conflict="replace",
        doc="Zones of interest",
    ),
    TableDef(
        "ingest_log",
        (
            _c("fingerprint", pa.string(), "SHA-256 of the input file", nullable=False),
            _c("chunk", pa.int32(), "Chunk number (-1: the input is complete)", nullable=False),
            _c("input", pa.string(), "Input path as given"),
            _c("run_id", pa.string(), "Ingest run"),
            _c("rows", pa.int64(), "Records the chunk held"),
            _c("inserted", pa.int64(), "Records stored (not already present)"),
            _c("committed_at", TS, "Commit time (UTC)"),
            _c("label", pa.string(), "Label given with --label for the run", since=2),
        ),
        key=("fingerprint", "chunk"),
        doc="Committed ingest chunks; a chunk's rows and its log row commit together",
    ),
    TableDef(
        "users",
        (
            _c(
                "user_id",
                pa.string(),
                "Token id: the public part of the user's token",
                nullable=False,
            ),
            _c("name", pa.string(), "User name (unique)", nullable=False),
            _c(
                "reader",
                pa.string(),
                "The user's reader: NATION:CLEARANCE[:CAVEATS]",
                nullable=False,
            ),
            _c("token_hash", pa.string(), "scrypt hash of the token's secret, hex", nullable=False),
            _c("salt", pa.string(), "scrypt salt, hex", nullable=False),
            _c("created_at", TS, "When the user was added (UTC)"),
            _c("expires_at", TS, "When the token expires (UTC); null: never"),
            _c("revoked_at", TS, "When the token was revoked (UTC); null: valid"),
        ),
        key=("user_id",),
        on_conflict="replace",
        since=3,
        doc="API users (seawatch users): one token each, stored hashed, never in clear",
    ),
    TableDef(
        "audit",
        (
            _c("audit_id", pa.string(), "Request id", nullable=False),
            _c("ts", TS, "When the request was answered (UTC)", nullable=False),
            _c("user_name", pa.string(), "Who asked (users.name)"),
            _c("route", pa.string(), "Route answered, e.g. /api/v1/positions"),
            _c("query", pa.string(), "Query string as given"),
            _c("rows", pa.int64(), "Records returned"),
            _c("markings", pa.string(), "Combined marking of the records returned"),
        ),
        key=("audit_id",),
        since=3,
        doc="Every API request that returned records: who, what, how many, under which marking",
    ),
    TableDef(
        "alert_rules",
        (
            _c("rule_id", pa.string(), "Rule id", nullable=False),
            _c("name", pa.string(), "Rule name", nullable=False),
            _c("kind", pa.string(), "zone_entry, zone_exit, gap, encounter, ...", nullable=False),
            _c("zone_id", pa.string(), "Zone or area the rule watches (zones.zone_id)"),
            _c("filters", pa.string(), "Filters (flags, ship types, speeds, vessels), JSON"),
            _c("created_by", pa.string(), "Who made the rule (users.name, or cli)"),
            _c("created_at", TS, "When it was made (UTC)"),
            _LABEL,
        ),
        key=("rule_id",),
        on_conflict="replace",
        since=4,
        doc="Alert rules (seawatch.events.alerts), evaluated by the engine as data is stored",
    ),
    TableDef(
        "alerts",
        (
            _c("alert_id", pa.string(), "Alert id (one firing, one id)", nullable=False),
            _c("rule_id", pa.string(), "Rule that fired (alert_rules.rule_id)", nullable=False),
            _c("rule_name", pa.string(), "Its name when it fired"),
            _c("kind", pa.string(), "The rule's kind", nullable=False),
            _c("ts", TS, "Time of the record that fired it (UTC)", nullable=False),
            _c("fired_at", TS, "When the node fired it (UTC)"),
            _c("mmsi", pa.int32(), "Vessel"),
            _c("other_mmsi", pa.int32(), "Other vessel (encounters)"),
            _c("lat", pa.float64(), "Latitude, degrees"),
            _c("lon", pa.float64(), "Longitude, degrees"),
            _c("event_id", pa.string(), "Event that fired it (events.event_id); null: a position"),
            _c("details", pa.string(), "What fired it, JSON"),
            _c("acked_at", TS, "When it was acknowledged (UTC); null: not yet"),
            _c("acked_by", pa.string(), "Who acknowledged it"),
            _LABEL,
        ),
        key=("alert_id",),
        since=4,
        doc="Fired alerts; label: combine of the rule's, the zone's and the record's labels",
    ),
    TableDef(
        "signin_links",
        (
            _c(
                "link_id",
                pa.string(),
                "Link id: the public part of the link's code",
                nullable=False,
            ),
            _c("user_id", pa.string(), "Whom the link signs in (users.user_id)", nullable=False),
            _c("code_hash", pa.string(), "SHA-256 of the code's secret, hex", nullable=False),
            _c("created_at", TS, "When the link was made (UTC)"),
            _c("expires_at", TS, "When the link stops working (UTC)"),
            _c("used_at", TS, "When the link was used (UTC); null: unused (single use)"),
        ),
        key=("link_id",),
        on_conflict="replace",
        since=4,
        doc="One-time sign-in links of the web map (seawatch users link): stored hashed",
    ),
    TableDef(
        "ports",
        (
            _c(
                "port_id",
                pa.string(),
                "UN/LOCODE, SOURCE:id, gfw:S2TOKEN or anchorage:ROW:COLUMN (derived)",
                nullable=False,
            ),
            _c("port_name", pa.string(), "Name as given by the source; derived: nearest port's"),
            _c("country", pa.string(), "Country as given by the source"),
            _c("lat", pa.float64(), "Latitude, degrees WGS84", nullable=False),
            _c("lon", pa.float64(), "Longitude, degrees WGS84", nullable=False),
            _c(
                "source",
                pa.string(),
                "wpi, gfw-FILE, the CSV file's name, or derived",
                nullable=False,
            ),
            _c("n_vessels", pa.int32(), "Derived: distinct vessels stationary in the cell"),
            _c("stationary_s", pa.float64(), "Derived: sum of their stationary periods, s"),
            _c("added_at", TS, "When it was imported or derived (UTC)"),
            _LABEL,
        ),
        key=("port_id",),
        on_conflict="replace",
        since=5,
        doc="Ports and anchorages the detectors use besides the built-in list: imported "
        "(seawatch ports import) and derived from stored positions (seawatch ports derive)",
    ),
    TableDef(
        "archive_days",
        (
            _c("day", TS, "The day archived: its first instant (UTC midnight)", nullable=False),
            _c("folder", pa.string(), "The archive folder (absolute path)", nullable=False),
            _c("file", pa.string(), "Its GeoParquet file, relative to the folder", nullable=False),
            _c("rows", pa.int64(), "Positions in the file"),
            _c("bytes", pa.int64(), "Size of the file"),
            _c("archived_at", TS, "When the day was archived (UTC)"),
        ),
        key=("day",),
        on_conflict="replace",
        since=8,
        doc="Closed days whose positions moved out of the database into GeoParquet files "
        "(seawatch db archive); queries read them with the table. A row commits with the "
        "deletion of its day's positions",
    ),
)

TABLES: Final[Mapping[str, TableDef]] = {t.name: t for t in _TABLES}


@dataclass(frozen=True)
class Dialect:
    """How one SQL database spells types; everything else in the shared SQL is standard."""

    name: str
    types: Mapping[str, str]
    keys_on_bulk: bool = True  # declare the key of bulk tables (positions, statics)
    arg_max: bool = False  # has arg_max(value, ordering) (DuckDB): faster latest-per-vessel
    sorts_late: bool = False  # a whole listing sorted in Arrow after the read (PostgreSQL)

    def sql_type(self, typ: pa.DataType) -> str:
        if pa.types.is_list(typ):
            return self.sql_type(typ.value_type) + "[]"
        try:
            return self.types[str(typ)]
        except KeyError:
            raise TypeError(f"{self.name}: no SQL type for Arrow {typ}") from None


def create_sql(table: TableDef, dialect: Dialect, version: int = SCHEMA_VERSION) -> str:
    """``CREATE TABLE`` for ``table`` as it was at schema ``version``."""
    cols = [
        f"{c.name} {dialect.sql_type(c.type)}{'' if c.nullable else ' NOT NULL'}"
        for c in table.at(version)
    ]
    if table.sequenced and version >= _SEQ_SINCE:
        cols.append(f"{SEQ} BIGINT DEFAULT nextval('{SEQUENCE}')")
    if not table.bulk or dialect.keys_on_bulk:
        cols.append(f"PRIMARY KEY ({', '.join(table.key)})")
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n  " + ",\n  ".join(cols) + "\n)"


def migration_sql(dialect: Dialect, from_version: int, to_version: int) -> list[str]:
    """Statements taking a database from ``from_version`` to ``to_version``."""
    out: list[str] = []
    if from_version < _SEQ_SINCE <= to_version:
        out.append(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}")
    for table in TABLES.values():
        if table.since > from_version:
            if table.since <= to_version:
                out.append(create_sql(table, dialect, to_version))
            continue
        for c in table.columns:
            if from_version < c.since <= to_version:
                out.append(
                    f"ALTER TABLE {table.name} ADD COLUMN {c.name} {dialect.sql_type(c.type)}"
                )
        if table.sequenced and from_version < _SEQ_SINCE <= to_version:  # old rows: null
            out.append(f"ALTER TABLE {table.name} ADD COLUMN IF NOT EXISTS {SEQ} BIGINT")
            out.append(
                f"ALTER TABLE {table.name} ALTER COLUMN {SEQ} SET DEFAULT nextval('{SEQUENCE}')"
            )
    return out


def tables_markdown() -> str:
    """The stored tables as Markdown (the reference section of docs/storage.md)."""
    lines: list[str] = []
    for t in TABLES.values():
        conflict = "kept" if t.on_conflict == "ignore" else "replaced"
        lines += [
            f"### `{t.name}`",
            "",
            f"{t.doc}. Key: `{', '.join(t.key)}` (a row with a stored key is {conflict}).",
            "",
            "| column | type | since | description |",
            "|---|---|---:|---|",
        ]
        for c in t.columns:
            null = "" if c.nullable else ", not null"
            lines.append(f"| `{c.name}` | {c.type}{null} | {c.since} | {c.doc} |")
        if t.sequenced:
            lines.append(
                f"| `{SEQ}` (hidden) | int64 | {_SEQ_SINCE} | Write order, from the sequence "
                f"`{SEQUENCE}`; never returned by queries (federation's release cursor) |"
            )
        lines.append("")
    return "\n".join(lines)
