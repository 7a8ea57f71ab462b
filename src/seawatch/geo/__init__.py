"""Reference geography: land, shore, ports and zones, from packages users can install.

In: positions (degrees WGS84) and, for zones, polygon files users import. Out: per-position
``on_land``, ``distance_to_shore_km``, nearest port (``distance_to_port_km``, ``port_id``,
``port_name``) and zone membership, added to Arrow tables by :func:`seawatch.geo.enrich.enrich`
for the events stage. Nothing here reads ../shared: the land mask comes from
``global-land-mask`` (MIT), the ports from ``searoute`` (Apache-2.0), polygons through
``pyogrio`` (MIT) and ``shapely`` (BSD-3-Clause). See docs/geography.md.
"""

from __future__ import annotations

from seawatch.geo.enrich import ENRICH_SCHEMA, enrich
from seawatch.geo.land import on_land
from seawatch.geo.ports import PortTable, default_ports, load_ports_csv, nearest_port
from seawatch.geo.shore import distance_to_shore_km
from seawatch.geo.zones import ZoneLayer, import_zones, load_zone_layer

__all__ = [
    "ENRICH_SCHEMA",
    "PortTable",
    "ZoneLayer",
    "default_ports",
    "distance_to_shore_km",
    "enrich",
    "import_zones",
    "load_ports_csv",
    "load_zone_layer",
    "nearest_port",
    "on_land",
]
