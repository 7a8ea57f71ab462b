"""Detector parameters: each field declared once, with its help line and its valid range.

In: a detector's frozen parameter dataclass whose fields are declared with :func:`param`,
and raw values for them (a TOML value, an environment or ``--param`` string). Out: the
field's :class:`ParamSpec` (name, type, default, unit from the name's suffix, help, whether
it can be set from text) and the value parsed and checked (:meth:`ParamSpec.parse`), or a
:class:`~seawatch.errors.ConfigError` naming the parameter, the value and what is valid.
Pure Python: detectors import it, the registry (:mod:`seawatch.events.registry`) derives
settings, ``--param`` and the tables of docs/events.md from it.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from seawatch.errors import ConfigError
from seawatch.settings_spec import convert_scalar

__all__ = ["UNITS", "ParamSpec", "param", "param_specs"]

_T = TypeVar("_T")

UNITS: Final = {"_s": "s", "_h": "h", "_m": "m", "_km": "km", "_kn": "kn", "_deg": "°"}
"""Unit of a parameter, from the suffix of its name (units in names: ``min_gap_s``)."""

_SCALARS: Final = (bool, int, float, str)


def param(
    default: _T, help: str, *, minimum: float | None = 0.0, maximum: float | None = None
) -> _T:
    """Declare one detector parameter: a dataclass field carrying its help line and range.

    Numbers are checked against ``minimum`` (default 0: durations, distances and speeds are
    never negative; ``None``: no bound) and ``maximum``.
    """
    meta = {"help": help, "minimum": minimum, "maximum": maximum}
    return dataclasses.field(default=default, metadata=meta)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ParamSpec:
    """One field of a parameter class, as the registry, settings and docs see it."""

    name: str
    type: Any
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None

    @property
    def unit(self) -> str:
        """``s``, ``km``, ... from the name's suffix; empty when it has none."""
        return next((u for suffix, u in UNITS.items() if self.name.endswith(suffix)), "")

    @property
    def item(self) -> type | None:
        """The scalar type of a settable field (the item type of a tuple); None: not settable."""
        t = self.type
        if t in _SCALARS:
            return t  # type: ignore[no-any-return]
        args = typing.get_args(t)
        if typing.get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis:
            return args[0] if args[0] in _SCALARS else None
        return None

    @property
    def settable(self) -> bool:
        return self.item is not None

    @property
    def type_name(self) -> str:
        item = self.item
        if item is None:
            return "not settable"
        return item.__name__ if item is self.type else f"list of {item.__name__}"

    def display(self, value: Any) -> str:
        """``value`` as a TOML literal: ``2.0``, ``true``, ``"name"``, ``["a", "b"]``."""
        if isinstance(value, tuple):
            return "[" + ", ".join(self.display(v) for v in value) + "]"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, str):
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return repr(value)

    def parse(self, raw: object, where: str) -> Any:
        """``raw`` (a TOML value or a string) as this field's type, range-checked."""
        item = self.item
        if item is None:
            raise ConfigError(
                f"{where}: parameter {self.name!r} ({self.type}) cannot be set from a settings "
                "file, the environment or --param; build the parameter class in Python instead"
            )
        try:
            if item is self.type:
                value = convert_scalar(item, raw)
            else:
                items = raw if isinstance(raw, list | tuple) else _split(raw)
                value = tuple(convert_scalar(item, v) for v in items)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"{where}: bad value {raw!r} for parameter {self.name!r}: {exc} "
                f"(expected {self.type_name}; see docs/events.md)"
            ) from None
        for v in value if isinstance(value, tuple) else (value,):
            problem = self._check(v)
            if problem:
                raise ConfigError(
                    f"{where}: bad value {raw!r} for parameter {self.name!r}: {problem} "
                    "(see docs/events.md)"
                )
        return value

    def _check(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if value != value:  # NaN
            return "not a number"
        if self.minimum is not None and value < self.minimum:
            return f"must be at least {self.minimum:g}"
        if self.maximum is not None and value > self.maximum:
            return f"must be at most {self.maximum:g}"
        return None


def _split(raw: object) -> list[str]:
    """A comma-separated string as its items (``""``: none)."""
    if not isinstance(raw, str):
        raise TypeError("not a list")
    return [part.strip() for part in raw.split(",") if part.strip()]


def param_specs(params: type) -> dict[str, ParamSpec]:
    """Every field of the parameter class ``params`` by name, in declaration order."""
    hints = typing.get_type_hints(params)
    out = {}
    for f in dataclasses.fields(params):
        meta = dict(f.metadata)
        out[f.name] = ParamSpec(
            name=f.name,
            type=hints[f.name],
            default=f.default,
            help=meta.get("help", ""),
            minimum=meta.get("minimum"),
            maximum=meta.get("maximum"),
        )
    return out
