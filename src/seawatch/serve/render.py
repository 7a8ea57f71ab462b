"""Answers of the record routes: JSON by default, any registered export format on request.

In: the rows a route read through :class:`~seawatch.store.query.Query` (with ``label_id``),
the label dictionary the reader may read, the next page's cursor, and the format asked for
(``?f=NAME`` or the ``Accept`` header). Out: a response whose body and
``X-Seawatch-Marking`` header carry the combined marking of the rows (JSON:
``{"marking", "items", "next"}``, each item with its own ``label``; other formats: the
records as ``seawatch export`` holds them (:func:`seawatch.export.records.enriched`:
vessels' identity, events placed) written by the export writer of
:data:`seawatch.export.formats.OUTPUT_FORMATS`, which marks the file), and an audit row
for the request.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import Query, Request, Response

from seawatch.errors import InputError, SeawatchError
from seawatch.export.common import Kind, marking_array, marking_of
from seawatch.export.cot_incidents import incident_lines
from seawatch.export.formats import OUTPUT_FORMATS, OutputFormat, WriteOptions, output_format
from seawatch.export.records import enriched
from seawatch.labels import Label
from seawatch.serve import audit
from seawatch.serve.deps import Principal, ServeState, session
from seawatch.serve.render_json import items_json
from seawatch.store.query import Query as StoreQuery

__all__ = [
    "MARKING_HEADER",
    "FormatParam",
    "StaleFrom",
    "StaleFromParam",
    "incidents_cot_answer",
    "json_answer",
    "jsonable",
    "records_answer",
]

MARKING_HEADER = "X-Seawatch-Marking"
_JSON = "application/json"

FormatParam = Annotated[
    str | None,
    Query(
        alias="f",
        description="Output format: json (default) or " + ", ".join(OUTPUT_FORMATS),
    ),
]


StaleFrom = Literal["data", "export"]
StaleFromParam = Annotated[
    StaleFrom,
    Query(
        description="Cursor-on-Target (f=cot) only: `stale` after the data's time (`data`, "
        "the default), or `time` the time of the answer and `stale` that + the node's "
        "cot_stale_s (`export`: replayed data, which TAK would otherwise drop as stale "
        "on arrival). Other formats ignore it.",
    ),
]
"""``?stale_from=data|export`` of the routes that answer in CoT: declared once here."""


class NotAcceptable(SeawatchError):  # noqa: N818
    """No format the client accepts can hold these records."""

    http_status = 406


def jsonable(value: Any) -> Any:
    """Arrow/Python values as JSON: times ISO 8601 UTC with ``Z``; NaN and infinities as
    null (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _utc_iso(column: Any) -> Any:
    """UTC timestamps as :func:`jsonable` writes them (``...T12:00:05Z``, microseconds only
    when not zero), computed by Arrow for the whole column."""
    text = pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
    return pc.replace_substring_regex(text, pattern=r"\.000000Z$", replacement="Z")


def _plain(t: pa.DataType) -> bool:
    """Whether a column of type ``t`` goes to JSON as ``to_pylist`` gives it (after
    :func:`_utc_iso` for UTC timestamps)."""
    if pa.types.is_timestamp(t):
        return t.tz in ("UTC", "+00:00")
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        v = t.value_type
        return _plain(v) and not (pa.types.is_timestamp(v) or pa.types.is_floating(v))
    return (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_null(t)
    )


def _json_column(column: Any) -> list[Any]:
    """A plain column's values as :func:`jsonable` gives them."""
    if pa.types.is_timestamp(column.type):
        column = _utc_iso(column)
    elif pa.types.is_floating(column.type):  # NaN and infinities: null
        column = pc.if_else(pc.is_finite(column), column, None)
    values: list[Any] = column.to_pylist()
    return values


def items(rows: pa.Table, labels: Mapping[int, Label]) -> list[dict[str, Any]]:
    """Each row as a JSON object with its ``label`` marking (``label_id`` is internal).

    Column by column when every column is plain (times formatted and NaN nulled by Arrow,
    no Python ``datetime`` per value: about 3x less CPU, 76 -> 22 ms for 10,000 positions),
    else row by row through :func:`jsonable`; both give the same objects."""
    marks = marking_array(rows, labels).to_pylist() if rows.num_rows else []
    body = rows.drop_columns(["label_id"])
    if all(_plain(f.type) for f in body.schema):
        names = body.column_names
        columns = [_json_column(c) for c in body.columns]
        out = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    else:
        out = [jsonable(row) for row in body.to_pylist()]
    for row, mark in zip(out, marks, strict=True):
        row["label"] = mark
    return out


def _chosen(request: Request, f: str | None, kind: Kind | None) -> OutputFormat | None:
    """The export format asked for; None: JSON."""
    if f is not None:
        if f == "json":
            return None
        if kind is None:
            raise InputError(f"f={f}: this route answers only in json")
        return output_format(f, kind)
    accept = request.headers.get("accept", "")
    wanted = [part.split(";")[0].strip() for part in accept.split(",") if part.strip()]
    if not wanted:
        return None
    for media in wanted:
        if media in (_JSON, "*/*", "application/*"):
            return None
        for fmt in OUTPUT_FORMATS.values():
            if kind is not None and fmt.media_type == media and kind in fmt.kinds:
                return fmt
    raise NotAcceptable(
        f"Accept {accept!r}: this route answers in {_JSON}"
        + (
            ""
            if kind is None
            else " or "
            + ", ".join(sorted({x.media_type for x in OUTPUT_FORMATS.values() if kind in x.kinds}))
        )
    )


def _next_url(request: Request, cursor: str | None) -> str | None:
    return None if cursor is None else str(request.url.include_query_params(cursor=cursor))


def _as_exported(
    request: Request, who: Principal, kind: Kind, rows: pa.Table, labels: Mapping[int, Label]
) -> tuple[pa.Table, Mapping[int, Label]]:
    """``rows`` as ``seawatch export`` writes them (vessels' identity, events placed), read
    for the same reader in a read session of its own."""
    if kind == "vessels" or not rows.num_rows:
        return rows, labels
    with contextmanager(session)(request) as store:
        return enriched(StoreQuery(store, who.reader), kind, rows, dict(labels))


def records_answer(
    request: Request,
    st: ServeState,
    who: Principal,
    rows: pa.Table,
    labels: Mapping[int, Label],
    *,
    kind: Kind | None,
    cursor: str | None,
    f: str | None,
    item: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    stale_from: StaleFrom = "data",
) -> Response:
    """The page ``rows`` in the format asked for, marked, audited; ``item``: how a JSON
    item is shown (default: the row as stored); ``stale_from``: :data:`StaleFromParam`."""
    fmt = _chosen(request, f, kind)
    if fmt is not None and kind is not None:
        rows, labels = _as_exported(request, who, kind, rows, labels)
    marking = marking_of(rows, labels, st.store.policy).overall.marking
    headers = {MARKING_HEADER: marking}
    nxt = _next_url(request, cursor)
    if nxt is not None:
        headers["Link"] = f'<{nxt}>; rel="next"'
    if fmt is None:
        text = None if item is not None else items_json(rows, labels)
        if text is None:
            shown = items(rows, labels)
            if item is not None:
                shown = [item(x) for x in shown]
            text = json.dumps(shown).encode()
        # the document as json.dumps writes {"marking", "items", "next"}, the items as text
        head = f'{{"marking": {json.dumps(marking)}, "items": '.encode()
        body = b"".join((head, text, f', "next": {json.dumps(nxt)}}}'.encode()))
        response: Response = Response(body, media_type=_JSON, headers=headers)
    else:
        assert kind is not None
        buf = io.BytesIO()
        s = st.settings
        now = datetime.now(UTC) if stale_from == "export" else None
        options = WriteOptions(kind, st.store.policy, s.node_id, s.cot_stale_s, now)
        fmt.write(rows, labels, buf, options)
        headers["Content-Disposition"] = f'inline; filename="{kind}{fmt.suffix}"'
        response = Response(buf.getvalue(), media_type=fmt.media_type, headers=headers)
    audit.record(st, who, request.url.path, request.url.query, rows.num_rows, marking)
    return response


def json_answer(
    request: Request,
    st: ServeState,
    who: Principal,
    body: dict[str, Any],
    marking: str,
    rows: int,
) -> Response:
    """A JSON document (profile, situation, rights) under ``marking``, audited when it
    holds records."""
    headers = {MARKING_HEADER: marking}
    out = Response(
        json.dumps({"marking": marking, **jsonable(body)}), media_type=_JSON, headers=headers
    )
    if rows:
        audit.record(st, who, request.url.path, request.url.query, rows, marking)
    return out


def incidents_cot_answer(
    request: Request,
    st: ServeState,
    who: Principal,
    query: StoreQuery,
    events: pa.Table,
    stale_from: StaleFrom = "data",
) -> Response:
    """A CoT marker per incident of ``events`` (what ``query``, the reader's, returned:
    nothing else goes in), placed and labelled as ``seawatch export events --format cot``
    places and labels them (:mod:`seawatch.export.cot_incidents`), marked and audited."""
    labels = query.labels()
    if events.num_rows:
        events, labels = enriched(query, "events", events, dict(labels))
    s = st.settings
    now = datetime.now(UTC) if stale_from == "export" else None
    lines = list(incident_lines(events, labels, st.store.policy, s.node_id, s.cot_stale_s, now))
    marking = marking_of(events, labels, st.store.policy).overall.marking
    headers = {
        MARKING_HEADER: marking,
        "Content-Disposition": 'inline; filename="incidents.cot"',
    }
    audit.record(st, who, request.url.path, request.url.query, events.num_rows, marking)
    return Response("".join(lines).encode(), media_type="application/xml", headers=headers)
