"""Events: positions (and statics) → the events an analyst acts on, one module per detector.

In: decoded ``positions`` (``ts``, ``mmsi``, ``lat``, ``lon``; optional ``segment_id`` from the
tracks stage and ``distance_to_shore_km``, ``distance_to_port_km``, ``on_land`` from
geography enrichment) or ``statics``. Out: tables with :data:`schema.EVENTS_SCHEMA`.
Each detector is ``detect(table, params, state, *, open_events, watermark_us) -> (events,
state)``: pure, columnar and incremental (see :func:`schema.combine`); ``watermark_us`` is
the engine's "now" (the time up to which the data is complete). Each is declared once in
:mod:`registry`. Definitions and sources: docs/events.md.
"""

from seawatch.events.schema import EVENTS_SCHEMA, build_events, combine

__all__ = ["EVENTS_SCHEMA", "build_events", "combine"]
