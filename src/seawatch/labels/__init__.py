"""Releasability labels: every stored record's label, and who may read it.

In: CAPCO-style markings (``CONFIDENTIAL//REL TO IND, USA``), labelling rules and the
labelling policy from the settings, readers (``USA:SECRET``). Out: frozen
:class:`Label` values, the access decision (:func:`may_read`, and per label id for the
store's queries: :func:`allowed_label_ids`, :func:`label_mask`), the label of derived
records (:func:`combine`) and the Arrow ``labels`` table (:data:`LABELS_SCHEMA`).
Policies may come from SPIF files (:func:`read_spif`), one per nation, with levels
of different policies compared through declared equivalences (:class:`Policies`).
The store, the API and federation apply these; nothing here touches a database.
See docs/labels.md.
"""

from __future__ import annotations

from seawatch.labels.access import (
    Reader,
    allowed_label_ids,
    combine,
    default_reader,
    label_mask,
    may_read,
)
from seawatch.labels.label import NOFORN, Label, parse_label
from seawatch.labels.policies import Policies
from seawatch.labels.policy import DEFAULT_COALITIONS, DEFAULT_LEVELS, Policy
from seawatch.labels.rules import LabelRule, LabelRules
from seawatch.labels.spif import read_spif
from seawatch.labels.table import LABELS_SCHEMA, labels_from_table, labels_table

__all__ = [
    "DEFAULT_COALITIONS",
    "DEFAULT_LEVELS",
    "LABELS_SCHEMA",
    "NOFORN",
    "Label",
    "LabelRule",
    "LabelRules",
    "Policies",
    "Policy",
    "Reader",
    "allowed_label_ids",
    "combine",
    "default_reader",
    "label_mask",
    "labels_from_table",
    "labels_table",
    "may_read",
    "parse_label",
    "read_spif",
]
