"""Cursor-on-Target markers of what happened (detected events, fired alerts) for the CoT
feed (:mod:`seawatch.serve.cot_feed`). Declared once in :mod:`seawatch.export.cot_markers`,
which the CoT export of events writes too; the server's names for them."""

from __future__ import annotations

from seawatch.export.cot_markers import (
    ALERT_DEFAULT_TYPE,
    ALERT_TYPES,
    EVENT_HOW,
    EVENT_TYPE,
    SUSPECT_EVENTS,
    SUSPECT_TYPE,
    alert_line,
    alert_uid,
    event_cot_type,
    event_line,
    event_uid,
    mil_attrs,
    times,
)

__all__ = [
    "ALERT_DEFAULT_TYPE",
    "ALERT_TYPES",
    "EVENT_HOW",
    "EVENT_TYPE",
    "SUSPECT_EVENTS",
    "SUSPECT_TYPE",
    "alert_line",
    "alert_uid",
    "event_cot_type",
    "event_line",
    "event_uid",
    "mil_attrs",
    "times",
]
