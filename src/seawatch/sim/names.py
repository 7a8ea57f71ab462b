"""The simulator's truth names are the detectors' event types.

In: names the simulator keys by event type (behaviour rates, scoring tolerances). Out: a
:class:`~seawatch.errors.ConfigError` naming any that
:func:`seawatch.events.registry.event_types` does not know, raised when the naming module is
imported, so a renamed or removed detector cannot leave the simulator's truth unmatched.
"""

from __future__ import annotations

from collections.abc import Iterable

from seawatch.errors import ConfigError
from seawatch.events import registry

__all__ = ["SPOOFING_RULES", "check_event_types"]

#: Spoofing behaviours are named by the rule the detector reports (``details.rule``).
SPOOFING_RULES = ("jump", "on_land", "two_places")


def check_event_types(names: Iterable[str], where: str) -> None:
    """Raise :class:`ConfigError` if a name in ``where`` is not a registered event type.

    A spoofing rule (:data:`SPOOFING_RULES`) stands for ``spoofing``. Truth records are named
    like the detectors' events so that :mod:`.score` can match them; this keeps the
    simulator's literal names from drifting from :func:`seawatch.events.registry.event_types`.
    """
    known = set(registry.event_types())
    unknown = sorted({n for n in names if ("spoofing" if n in SPOOFING_RULES else n) not in known})
    if unknown:
        raise ConfigError(
            f"{where}: {', '.join(map(repr, unknown))} not a registered event type "
            f"(registered: {', '.join(sorted(known))}); rename it or register its detector"
        )
