"""Events: positions (and statics) → the events an analyst acts on, one module per detector.

In: decoded ``positions`` (``ts``, ``mmsi``, ``lat``, ``lon``; optional ``segment_id`` from the
tracks stage and ``distance_to_shore_km``, ``distance_to_port_km``, ``on_land`` from
geography enrichment) or ``statics``. Out: tables with :data:`schema.EVENTS_SCHEMA`.
Each detector is ``detect(table, params, state) -> (events, state)``: pure, columnar and
incremental (see :func:`schema.combine`). Definitions and sources: docs/events.md.
"""

from seawatch.events.schema import EVENTS_SCHEMA, build_events, combine

__all__ = ["EVENTS_SCHEMA", "build_events", "combine"]
