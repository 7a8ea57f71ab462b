"""How a setting is declared, converted and validated (used by :mod:`seawatch.settings`).

:func:`setting` declares a field of :class:`seawatch.settings.Settings` with its help line
and constraints; :class:`Setting` is the registry entry derived from that declaration and
knows how to parse a raw value (an environment string or a TOML value) into the declared
type. :class:`Secret` wraps secret strings so they never show in a repr or a log line.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from seawatch.errors import ConfigError

__all__ = ["ENV_PREFIX", "MASK", "Secret", "Setting", "convert_scalar", "markdown_table", "setting"]

ENV_PREFIX: Final = "SEAWATCH_"
MASK: Final = "********"
MiB: Final = 1024 * 1024
_T = TypeVar("_T")


class Secret:
    """A secret string (password, DSN): masked in ``repr``/``str``; ``reveal()`` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value. Pass it straight to the library that needs it; never log it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return f"Secret({MASK!r})" if self._value else "Secret('')"

    def __str__(self) -> str:
        return MASK if self._value else ""


def setting(
    default: _T,
    help: str,
    *,
    choices: tuple[str, ...] = (),
    secret: bool = False,
    minimum: float | None = None,
    pattern: str | None = None,
    unit: str = "",
    factory: Callable[[], _T] | None = None,
    shown: str = "",
) -> _T:
    """Declare one setting: a dataclass field whose metadata carries its documentation.

    ``factory``: compute the default when settings are loaded (it depends on the user or the
    machine: ``default`` is then only its type's example); ``shown``: how the docs show it.
    """
    meta = {
        "help": help,
        "choices": choices,
        "secret": secret,
        "minimum": minimum,
        "pattern": pattern,
        "unit": unit,
        "factory": factory,
        "shown": shown,
    }
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)  # type: ignore[no-any-return]
    return dataclasses.field(default=default, metadata=meta)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Setting:
    """Registry entry for one setting, derived from its declaration on :class:`Settings`."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    secret: bool = False
    minimum: float | None = None
    pattern: str | None = None
    unit: str = ""
    factory: Callable[[], Any] | None = None
    shown: str = ""

    def default_value(self) -> Any:
        """The default in force now (a ``factory`` default is computed on each call)."""
        return self.default if self.factory is None else self.factory()

    @property
    def shown_default(self) -> str:
        """The default as the docs show it (the same on every machine)."""
        return self.shown or self.display(self.default)

    @property
    def env_var(self) -> str:
        """The environment variable that sets it, e.g. ``SEAWATCH_LOG_LEVEL``."""
        return ENV_PREFIX + self.name.upper()

    @property
    def type_name(self) -> str:
        """Short type name for docs: ``int``, ``path``, ``choice``..."""
        if self.choices:
            return "choice"
        return {Path: "path", Secret: "secret str"}.get(self.type, self.type.__name__)

    def display(self, value: Any) -> str:
        """``value`` as a TOML literal, secrets masked: ``"data"``, ``true``, ``4096``."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        return json.dumps(str(value))  # str(Secret) is masked

    def parse(self, raw: object, where: str) -> Any:
        """Convert ``raw`` (an env string or a TOML value) and validate it.

        ``where`` names the origin for the error message, e.g. ``"SEAWATCH_LOG_LEVEL"``.
        """
        try:
            value = _convert(self, raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"{where}: bad value {_shown(self, raw)} for setting {self.name!r}: {exc} "
                f"(expected {self.type_name}{_choices_hint(self)}; see docs/settings.md)"
            ) from None
        problem = _check(self, value)
        if problem:
            raise ConfigError(
                f"{where}: bad value {_shown(self, raw)} for setting {self.name!r}: {problem} "
                "(see docs/settings.md)"
            )
        return value


def _shown(spec: Setting, raw: object) -> str:
    return repr(MASK) if spec.secret else repr(raw)


def _choices_hint(spec: Setting) -> str:
    return f" one of {', '.join(spec.choices)}" if spec.choices else ""


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_SIZE = re.compile(r"\s*(\d[\d_]*)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib)\s*", re.IGNORECASE)
_SIZE_FACTORS = {"": 1, "b": 1, "k": 1024, "m": MiB, "g": 1024 * MiB}


def convert_scalar(t: type, raw: object, *, size: bool = False) -> Any:
    """``raw`` (a TOML value or a string) as ``t``: bool, int, float or str. ``size``: an int
    may be written with a byte unit (``256KiB``). Raises ValueError/TypeError with the reason.
    Detector parameters (:mod:`seawatch.events.params`) convert with this too."""
    if t is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise ValueError("not a boolean (use true/false, 1/0, yes/no, on/off)")
    if t is int:
        if isinstance(raw, bool):
            raise TypeError("not an integer")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str):
            m = _SIZE.fullmatch(raw) if size else None
            if m:
                return int(m.group(1)) * _SIZE_FACTORS[m.group(2)[:1].lower()]
            try:
                return int(raw.strip())
            except ValueError:
                raise ValueError("not an integer") from None
        raise TypeError("not an integer")
    if t is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise TypeError("not a number")
        try:
            return float(raw)
        except ValueError:
            raise ValueError("not a number") from None
    if not isinstance(raw, str):
        raise TypeError("not a string")
    return raw


def _convert(spec: Setting, raw: object) -> Any:
    """Turn ``raw`` into ``spec.type``; raises ValueError/TypeError with the reason."""
    t = spec.type
    if t in (bool, int, float):
        return convert_scalar(t, raw, size=spec.unit == "bytes")
    if not isinstance(raw, str):
        raise TypeError("not a string")
    if t is Path:
        if not raw.strip():
            raise ValueError("empty path")
        return Path(raw).expanduser()
    if t is Secret:
        return Secret(raw)
    if spec.choices:  # case-insensitive; the declared spelling is kept
        folded = {c.lower(): c for c in spec.choices}
        return folded.get(raw.strip().lower(), raw)
    return raw


def _check(spec: Setting, value: Any) -> str | None:
    """Why ``value`` is out of range for ``spec``, or None when it is fine."""
    if spec.choices and value not in spec.choices:
        return f"must be one of {', '.join(spec.choices)}"
    if spec.minimum is not None and value < spec.minimum:
        return f"must be at least {spec.minimum:g}"
    if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
        return f"must match {spec.pattern}"
    return None


def markdown_table(settings: Mapping[str, Setting]) -> str:
    """``docs/settings.md`` for ``settings`` (the registry): every setting with its variable,
    type, default and help."""
    lines = [
        "# Settings",
        "",
        "<!-- Generated by `seawatch settings --markdown`; do not edit by hand. -->",
        "",
        "Each setting can be given, highest precedence first, as a command-line option (where",
        "one exists), as an environment variable `SEAWATCH_<NAME>`, or in a TOML settings file",
        "(`--settings FILE`, else `$SEAWATCH_SETTINGS_FILE`, else `./seawatch.toml` if present,",
        "else the per-user file `seawatch.toml` in the user config directory if present, e.g.",
        '`~/.config/seawatch/seawatch.toml`: platformdirs `user_config_dir("seawatch")`; one',
        "file is read, the first found). `seawatch node init` writes the node's nation and name",
        "to that file (the per-user one when none exists).",
        "In the file, `[decode]` + `chunk_bytes = 1` is the same as `decode_chunk_bytes = 1`;",
        '`[node]` + `nation = "IND"` is `node_nation`.',
        "Booleans accept true/false, 1/0, yes/no, on/off; byte sizes accept KiB, MiB, GiB.",
        "`seawatch settings` prints the effective values and where each came from.",
        "",
        "Detector parameters (docs/events.md lists them) are set the same way:",
        "`[detectors.loitering]` + `min_distance_to_shore_km = 0` in the file,",
        "`SEAWATCH_DETECTORS__LOITERING__MIN_DISTANCE_TO_SHORE_KM=0` in the environment, or",
        "`--param loitering.min_distance_to_shore_km=0` on `seawatch detect`, `ingest` and `run`.",
        "",
        "| setting | environment variable | type | default | description |",
        "|---|---|---|---|---|",
    ]
    for s in settings.values():
        kind = s.type_name + (f" ({', '.join(s.choices)})" if s.choices else "")
        default = s.shown_default.replace("|", "\\|")
        cell = default if s.shown else f"`{default}`"  # `shown`: words, not a value
        lines.append(f"| `{s.name}` | `{s.env_var}` | {kind} | {cell} | {s.help} |")
    return "\n".join(lines) + "\n"
