"""How a KML export looks: a style per event type and per vessel type, a typed schema of
the records' columns.

In: the event types and vessel types (:data:`~seawatch.export.identity.VESSEL_TYPES`) a
file holds, the Arrow schema of its records. Out: KML 2.2 ``<Style>`` elements (icon colour
per event type and vessel type, a line colour per vessel type for tracks), the
``styleUrl`` of a record, and the ``<Schema>`` that types its ``ExtendedData/SchemaData``
(GDAL's LIBKML driver and Google Earth read ``int``, ``double``, ``bool`` and ``string``
fields from it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from seawatch.export.common import xml_attr, xml_text

__all__ = [
    "EVENT_COLOURS",
    "VESSEL_COLOURS",
    "field_types",
    "schema_element",
    "style_elements",
    "style_id",
]

EVENT_COLOURS: Final[Mapping[str, str]] = {
    "suspected_disabling": "ff0000ff",  # red (KML colours are aabbggrr)
    "spoofing": "ffff00ff",  # magenta
    "encounter": "ff0080ff",  # orange
    "loitering": "ff00ffff",  # yellow
    "identity_change": "ffffff00",  # cyan
    "gap": "ff909090",  # grey
    "port_visit": "ff00c000",  # green
    "zone_entry": "ffff8000",  # blue
    "zone_present": "ffc08040",
    "zone_exit": "ffffc080",
}
"""Icon colour of each event type (others: white)."""
VESSEL_COLOURS: Final[Mapping[str, str]] = {
    "cargo": "ff00c000",  # green
    "tanker": "ff0000c0",  # dark red
    "passenger": "ffff6000",  # blue
    "fishing": "ff0080ff",  # orange
    "high_speed": "ff00ffff",  # yellow
    "pleasure": "ffff00c0",  # purple
    "sailing": "ffff00c0",
    "tug": "ffffff00",  # cyan
    "towing": "ffffff00",
    "pilot": "ffffff00",
    "search_and_rescue": "ff0000ff",  # red
    "law_enforcement": "ff800000",  # navy
    "military": "ff606060",  # dark grey
}
"""Icon and track colour of each vessel type (others, ``unknown`` included: white)."""
_WHITE: Final = "ffffffff"


def style_id(group: str, name: str | None) -> str:
    """The id of the style of ``name`` (an event type or vessel type) in ``group``
    (``event``, ``vessel``, ``track``), an XML NCName."""
    clean = "".join(c if c.isalnum() or c in "-_" else "_" for c in (name or "unknown"))
    return f"{group}-{clean or 'unknown'}"


def style_elements(event_types: Iterable[str], vessel_types: Iterable[str]) -> str:
    """``<Style>`` elements: an icon per event type and per vessel type, a line per vessel
    type (its track)."""
    parts = []
    for name in sorted(set(event_types)):
        colour = EVENT_COLOURS.get(name, _WHITE)
        parts.append(
            f"<Style id={xml_attr(style_id('event', name))}><IconStyle><color>{colour}</color>"
            "<scale>1.1</scale></IconStyle></Style>"
        )
    for name in sorted(set(vessel_types)):
        colour = VESSEL_COLOURS.get(name, _WHITE)
        parts.append(
            f"<Style id={xml_attr(style_id('vessel', name))}><IconStyle><color>{colour}</color>"
            "<scale>0.8</scale></IconStyle></Style>"
        )
        parts.append(
            f"<Style id={xml_attr(style_id('track', name))}><LineStyle><color>{colour}</color>"
            "<width>2</width></LineStyle></Style>"
        )
    return "".join(parts)


def _kml_type(column: pa.ChunkedArray[Any]) -> str:
    typ = column.type
    if pa.types.is_boolean(typ):
        return "bool"
    if pa.types.is_floating(typ):
        return "double"
    if pa.types.is_integer(typ):
        if typ.bit_width <= 16 or (typ.bit_width == 32 and pa.types.is_signed_integer(typ)):
            return "int"
        fn: Any = pc  # the stubs reject min_max on a chunked array
        found = fn.min_max(column).as_py()
        low, high = found["min"], found["max"]
        fits = low is None or (low >= -(2**31) and high < 2**31)
        return "int" if fits else "double"
    return "string"


def field_types(table: pa.Table, names: Iterable[str]) -> dict[str, str]:
    """The KML ``SimpleField`` type of each column ``names`` of ``table``: ``bool``,
    ``int`` (integers that fit 32 bits), ``double`` (numbers, larger integers) or
    ``string`` (text, times, lists as JSON)."""
    return {n: _kml_type(table.column(n)) if n in table.column_names else "string" for n in names}


def schema_element(schema_id: str, types: Mapping[str, str]) -> str:
    """The ``<Schema>`` of the records' ``SchemaData``."""
    fields = "".join(
        f"<SimpleField type={xml_attr(t)} name={xml_attr(n)}>"
        f"<displayName>{xml_text(n)}</displayName></SimpleField>"
        for n, t in types.items()
    )
    return f"<Schema name={xml_attr(schema_id)} id={xml_attr(schema_id)}>{fields}</Schema>\n"
