"""The detector registry: each detector declared once, and its parameters resolved.

In: the detector modules of :mod:`seawatch.events` (a ``detect`` function and a frozen
parameter class declared with :func:`seawatch.events.params.param`); parameter values from
settings (``[detectors.<name>]`` in the settings file, ``SEAWATCH_DETECTORS__<NAME>__<PARAM>``)
and ``--param name.param=value`` strings. Out: :class:`Detector` entries in run order
(:func:`detectors`), the event types and their rank in the situation summary
(:func:`event_types`, :func:`priority`, :func:`routine`), and the parameters in force, a
mapping detector name → parameter instance (:func:`resolve_params`) that
:class:`seawatch.engine.pipeline.Pipeline` takes.

Adding a detector is one module plus one :func:`register` call below (or, at run time,
:func:`registered`); the pipeline, the summary ranking, ``seawatch settings``, ``--param``
and the parameter tables of docs/events.md (:func:`update_events_doc`) follow.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final, Literal

import pyarrow as pa

from seawatch.errors import ConfigError
from seawatch.events import (
    encounter,
    gap,
    identity_change,
    loitering,
    port_visit,
    spoofing,
    suspected_disabling,
    zone_entry,
)
from seawatch.events.params import ParamSpec, param_specs

__all__ = [
    "ENV_PREFIX",
    "REGISTRY",
    "Detector",
    "EventType",
    "detectors",
    "event_types",
    "params_markdown",
    "parse_params",
    "priority",
    "register",
    "registered",
    "resolve_params",
    "routine",
    "split_override",
    "unregister",
    "update_events_doc",
]

ENV_PREFIX: Final = "SEAWATCH_DETECTORS__"
"""``SEAWATCH_DETECTORS__LOITERING__MIN_DISTANCE_TO_SHORE_KM=0`` sets one parameter."""

Detect = Callable[..., tuple[pa.Table, Any]]
"""``detect(table, params, state=None, *, open_events=True, watermark_us=None) -> (events,
state)``; ``watermark_us``: the time up to which the data is complete, from the engine."""


@dataclass(frozen=True)
class EventType:
    """One event type a detector emits, and its place in the situation summary."""

    name: str
    rank: int | None
    """1 is shown first (:mod:`seawatch.serve.situation`); None: routine, counted only."""


@dataclass(frozen=True)
class Detector:
    """One detector: what the pipeline calls, on which table, with which parameters."""

    name: str
    """Its name in settings, ``--param`` and docs (the module name for built-in ones)."""
    detect: Detect
    reads: Literal["positions", "statics"]
    """The decoded table it takes."""
    params: type
    """Its frozen parameter class; ``params()`` gives the defaults."""
    emits: tuple[EventType, ...]
    pairs: bool = False
    """Events concern two vessels (``other_mmsi``); else one vessel each."""

    @cached_property
    def specs(self) -> dict[str, ParamSpec]:
        """Each parameter by name, in declaration order."""
        return param_specs(self.params)


REGISTRY: dict[str, Detector] = {}
"""Every detector by name, in the order the pipeline runs them."""


def register(detector: Detector) -> Detector:
    """Add ``detector`` (last in run order); its name and event types must be new."""
    if detector.name in REGISTRY:
        raise ConfigError(f"detector {detector.name!r} is already registered")
    taken = {e.name for d in REGISTRY.values() for e in d.emits}
    clash = taken & {e.name for e in detector.emits}
    if clash:
        raise ConfigError(f"event type(s) {sorted(clash)} already emitted by another detector")
    REGISTRY[detector.name] = detector
    return detector


def unregister(name: str) -> None:
    """Remove the detector ``name`` (see :func:`registered`)."""
    REGISTRY.pop(name, None)


@contextmanager
def registered(detector: Detector) -> Iterator[Detector]:
    """``detector`` registered for the ``with`` block (tests, plugins trying one out)."""
    register(detector)
    try:
        yield detector
    finally:
        unregister(detector.name)


def _builtin(module: Any, params: type, reads: str = "positions", **emits: int | None) -> None:
    name = module.__name__.rsplit(".", 1)[1]
    types = tuple(EventType(t, rank) for t, rank in (emits or {name: None}).items())
    register(Detector(name, module.detect, reads, params, types, pairs=module is encounter))  # type: ignore[arg-type]


# run order as before the registry; ranks: how much an operator wants to see them first
# (zone_present last: inside a zone at a track's first position, no entry was seen)
_builtin(gap, gap.GapParams, gap=7)
_builtin(suspected_disabling, suspected_disabling.DisablingParams, suspected_disabling=1)
_builtin(loitering, loitering.LoiteringParams, loitering=5)
_builtin(spoofing, spoofing.SpoofingParams, spoofing=3)
_builtin(encounter, encounter.EncounterParams, encounter=2)
_builtin(port_visit, port_visit.PortVisitParams, port_visit=None)
_builtin(zone_entry, zone_entry.ZoneParams, zone_entry=4, zone_present=8, zone_exit=None)
_builtin(identity_change, identity_change.IdentityParams, "statics", identity_change=6)


def detectors() -> tuple[Detector, ...]:
    """The registered detectors in run order."""
    return tuple(REGISTRY.values())


def event_types() -> tuple[str, ...]:
    """Every event type the registered detectors emit."""
    return tuple(e.name for d in REGISTRY.values() for e in d.emits)


def priority() -> tuple[str, ...]:
    """Ranked event types, most wanted first."""
    ranked = [e for d in REGISTRY.values() for e in d.emits if e.rank is not None]
    return tuple(e.name for e in sorted(ranked, key=lambda e: e.rank or 0))


def routine() -> tuple[str, ...]:
    """Event types counted but never ranked notable."""
    return tuple(e.name for d in REGISTRY.values() for e in d.emits if e.rank is None)


def _detector(name: str, where: str) -> Detector:
    if name not in REGISTRY:
        raise ConfigError(f"{where}: unknown detector {name!r} (detectors: {', '.join(REGISTRY)})")
    return REGISTRY[name]


def _spec(detector: Detector, name: str, where: str) -> ParamSpec:
    if name not in detector.specs:
        valid = ", ".join(n for n, s in detector.specs.items() if s.settable)
        raise ConfigError(
            f"{where}: detector {detector.name!r} has no parameter {name!r} (parameters: {valid})"
        )
    return detector.specs[name]


def parse_params(
    values: Mapping[str, Mapping[str, tuple[object, str]]],
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``base`` (name → parameter instance, default: the defaults) with ``values`` applied.

    ``values``: detector → parameter → (raw value, where it came from, for errors), e.g.
    ``{"loitering": {"min_distance_to_shore_km": (0, "settings file 'x.toml'")}}``. Returns
    an instance for every registered detector. Raises :class:`ConfigError` naming the
    valid detectors or parameters, or the bad value.
    """
    out = {d.name: (base or {}).get(d.name) or d.params() for d in REGISTRY.values()}
    for name, given in values.items():
        detector = _detector(name, next((w for _, w in given.values()), "settings"))
        changes = {}
        for key, (raw, where) in given.items():
            changes[key] = _spec(detector, key, where).parse(raw, where)
        out[name] = dataclasses.replace(out[name], **changes)
    return out


_ASSIGN = re.compile(r"\s*([A-Za-z_][\w]*)\.([A-Za-z_]\w*)\s*=(.*)", re.S)


def split_override(text: str) -> tuple[str, str, str]:
    """``"loitering.min_distance_to_shore_km=0"`` → (detector, parameter, raw value)."""
    m = _ASSIGN.fullmatch(text)
    if not m:
        raise ConfigError(
            f"--param {text!r}: expected DETECTOR.PARAMETER=VALUE, e.g. "
            f"loitering.min_distance_to_shore_km=0 (detectors: {', '.join(REGISTRY)})"
        )
    return m.group(1).lower(), m.group(2).lower(), m.group(3).strip()


def resolve_params(settings: object, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The parameters in force: detector name → parameter instance, every detector.

    ``settings``: a :class:`seawatch.settings.Settings` (its ``detectors``, as given in the
    file and the environment) or None for the defaults; ``overrides``: ``--param`` strings
    (``"loitering.min_distance_to_shore_km=0"``), which win. Raises :class:`ConfigError`
    naming the valid detectors or parameters, or the bad value and where it was given.
    """
    return parse_params(given_params(settings, overrides))


def given_params(
    settings: object, overrides: Sequence[str] = ()
) -> dict[str, dict[str, tuple[object, str]]]:
    """The settings' detector parameters as given (file, environment) with ``overrides``
    (``--param`` strings) on top: detector → parameter → (raw value, where), unchecked."""
    values: dict[str, dict[str, tuple[object, str]]] = {
        det: dict(keys) for det, keys in (getattr(settings, "detectors", None) or {}).items()
    }
    for text in overrides:
        det, key, raw = split_override(text)
        values.setdefault(det, {})[key] = (raw, f"--param {text}")
    return values


def _default(spec: ParamSpec) -> str:
    value = spec.default
    if isinstance(value, tuple):
        shown = [f"{type(v).__name__}()" if dataclasses.is_dataclass(v) else v for v in value]
        return ", ".join(f"`{v}`" for v in shown) if value else "()"
    text = f"{value:g}" if isinstance(value, float) else str(value)
    if spec.unit == "s" and isinstance(value, int | float) and value >= 60:
        h = value / 3600
        text += f" ({h:g} h)" if value >= 3600 else f" ({value / 60:g} min)"
    return text


def params_markdown(detector: Detector) -> str:
    """The parameter table of ``detector`` for docs/events.md."""
    lines = ["| parameter | default | unit | meaning |", "|---|---|---|---|"]
    for s in detector.specs.values():
        help = s.help if s.settable else f"{s.help} (not settable from settings or `--param`)"
        lines.append(f"| `{s.name}` | {_default(s)} | {s.unit or '–'} | {help} |")
    return "\n".join(lines) + "\n"


_REGION = re.compile(r"(<!-- params:(\w+) -->\n).*?(<!-- /params -->)", re.S)


def update_events_doc(text: str) -> str:
    """docs/events.md with each marked parameter table regenerated from its class.

    A region is ``<!-- params:NAME -->`` ... ``<!-- /params -->``; an unknown NAME is an error.
    """

    def table(m: re.Match[str]) -> str:
        return m.group(1) + params_markdown(_detector(m.group(2), "docs/events.md")) + m.group(3)

    return _REGION.sub(table, text)


if __name__ == "__main__":  # python -m seawatch.events.registry docs/events.md
    import sys
    from pathlib import Path

    for name in sys.argv[1:]:
        doc = Path(name)
        doc.write_text(update_events_doc(doc.read_text(encoding="utf-8")), encoding="utf-8")
