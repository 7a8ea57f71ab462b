"""The bit layouts of AIS messages 1-27 (ITU-R M.1371-5) and of common IMO/inland application
messages, declared field by field with :mod:`seawatch.decode.fields`.

``LAYOUTS`` lists every layout: one primary layout per message type (variants of types
22, 24, 25 and 26 selected by their flag bits), plus application layouts for types 6/8
selected by DAC and FI. Which table each goes to:

==================  =========================================================
table               message types
==================  =========================================================
positions           1, 2, 3, 9, 18, 19, 27 (+ projections of 4 and 21)
statics             5, 24 A, 24 B (+ projection of 19)
base_stations       4, 11
aids_to_navigation  21
binary_messages     6, 8, 25, 26
safety_messages     12, 14
acknowledgements    7, 13
interrogations      10, 15
assignments         16, 23
dgnss               17
data_link           20
channel_management  22
met_hydro ...       IMO application messages (see ``imo.py`` and ``apps.py``)
==================  =========================================================
"""

from __future__ import annotations

from seawatch.decode.fields import Layout
from seawatch.decode.layouts import apps, base, binary, imo, link, misc, position, static

LAYOUTS: tuple[Layout, ...] = (
    *position.LAYOUTS,
    *base.LAYOUTS,
    *static.LAYOUTS,
    *binary.LAYOUTS,
    *misc.LAYOUTS,
    *link.LAYOUTS,
    *imo.LAYOUTS,
    *apps.LAYOUTS,
)

#: Layouts by name (``"type1"``, ``"type24b"``, ``"type8_dac1_fi31"``, ...).
BY_NAME: dict[str, Layout] = {lay.name: lay for lay in LAYOUTS}

__all__ = ["BY_NAME", "LAYOUTS"]
