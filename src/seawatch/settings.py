"""Settings: one typed, frozen object, each setting declared once.

In: the process environment (``SEAWATCH_<NAME>``), an optional TOML settings file and
the defaults declared on :class:`Settings`. Out: a validated, immutable :class:`Settings`.

Precedence, highest first: command-line option (``overrides``) > environment
``SEAWATCH_<NAME>`` > settings file > default. The settings file is the ``path``
argument, else ``$SEAWATCH_SETTINGS_FILE``, else ``./seawatch.toml`` if it exists, else the
per-user file :func:`user_settings_file` if it exists (what ``seawatch node init`` writes);
one file is read, the first found. In the file, ``[decode] chunk_bytes = 1`` is the same
as ``decode_chunk_bytes = 1``.

Nothing depends on the current directory unless asked: ``data_dir`` defaults to the user's
data directory (platformdirs ``user_data_dir("seawatch")``, e.g. ``~/.local/share/seawatch``).

Detector parameters are settings too: ``[detectors.loitering] min_distance_to_shore_km = 0``
in the file, ``SEAWATCH_DETECTORS__LOITERING__MIN_DISTANCE_TO_SHORE_KM=0`` in the
environment; they are declared on the detectors' parameter classes, :attr:`Settings.detectors`
holds them as given, and :func:`seawatch.events.registry.resolve_params` checks them and
makes the parameter instances. ``--param`` wins.

Each field of :class:`Settings` is declared with :func:`setting` (default, help line,
choices, secret flag); :data:`SETTINGS` (the registry), validation, ``docs/settings.md``
(:func:`settings_markdown`) and ``seawatch settings`` are all derived from it.
Secret values are wrapped in :class:`Secret` so they never show in a repr or a log line.

Kept whole: :class:`Settings` is the one declaration of every setting (one settings object);
split, a setting's declaration would sit apart from the loading that validates it.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import platformdirs

from seawatch.errors import ConfigError
from seawatch.settings_spec import ENV_PREFIX, MiB, Secret, Setting, markdown_table, setting

__all__ = [
    "ENV_PREFIX",
    "NATION_UNSET",
    "SETTINGS",
    "Secret",
    "Setting",
    "Settings",
    "load_settings",
    "resolve_settings",
    "settings_file",
    "settings_markdown",
    "user_settings_file",
]

log = logging.getLogger(__name__)

SETTINGS_FILE_ENV: Final = "SEAWATCH_SETTINGS_FILE"
DEFAULT_SETTINGS_FILE: Final = Path("seawatch.toml")
APP_NAME: Final = "seawatch"
NATION_UNSET: Final = "XXX"
"""``node_nation`` before the node is given one (``seawatch node init``)."""
DETECTORS_TABLE: Final = "detectors"
DETECTORS_ENV: Final = ENV_PREFIX + "DETECTORS__"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def default_db_writers(cores: int | None) -> int:
    """The default ``db_writers``: a connection per core, at most 4 (the server's work
    per row is in the writers' server processes; more than the cores only queue)."""
    return max(1, min(4, cores or 1))


def physical_memory() -> int | None:
    """The machine's RAM in bytes (None where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def default_db_memory_limit(ram: int | None) -> int:
    """The default ``db_memory_limit``: a quarter of ``ram``, at least 1 GiB (0, DuckDB's
    own default, where the RAM is not known). The rest is the server's, its streams',
    the OS page cache's (which keeps the database file's pages too) and other work's."""
    if not ram:
        return 0
    return max(1 << 30, ram // 4)


def user_data_dir() -> Path:
    """The user's data directory for seawatch (platformdirs), the default ``data_dir``."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_settings_file() -> Path:
    """The per-user settings file: ``seawatch.toml`` in the user's config directory
    (platformdirs ``user_config_dir("seawatch")``, e.g. ``~/.config/seawatch``)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "seawatch.toml"


@dataclass(frozen=True, repr=False)
class Settings:
    """Every setting of a seawatch node. Build it with :func:`load_settings`."""

    data_dir: Path = setting(
        Path("data"),  # not used: the factory's is
        "Directory of the node's store (`seawatch.duckdb`), zone layers and run outputs; "
        "the default does not depend on the current directory.",
        factory=user_data_dir,
        shown="the user data directory (platformdirs), e.g. ~/.local/share/seawatch",
    )
    log_level: str = setting(
        "INFO", "Lowest level of log messages written to stderr.", choices=_LOG_LEVELS
    )
    decode_chunk_bytes: int = setting(
        4 * MiB,
        "Bytes of input the decoder reads and decodes at a time (accepts KiB/MiB/GiB).",
        minimum=1024,
        unit="bytes",
    )
    decode_range_bytes: int = setting(
        64 * MiB,
        "Bytes of a plain NMEA input file one decode task of `--engine partitioned` or "
        "`dask` reads: a bigger file is cut into ranges of about this size between "
        "messages, decoded side by side (accepts KiB/MiB/GiB).",
        minimum=1024,
        unit="bytes",
    )
    decode_max_line_bytes: int = setting(
        4096,
        "Longest input line accepted, tag block included; longer lines are rejected.",
        minimum=82,
        unit="bytes",
    )
    decode_max_pending_fragments: int = setting(
        1024,
        "Most fragments of multi-sentence messages held while waiting for the rest; "
        "past this the oldest are dropped and counted.",
        minimum=1,
    )
    decode_orphan_timeout_s: float = setting(
        60.0,
        "Seconds a message fragment waits for its other parts before it is dropped "
        "and counted as an orphan.",
        minimum=0,
    )
    decode_keep_raw: bool = setting(
        False, "Keep each message's raw NMEA sentence(s) in a `raw` column."
    )
    reorder_window_s: float = setting(
        600.0,
        "Seconds `seawatch detect` holds positions and statics to put them in time order; "
        "rows older than the newest one seen minus this are quarantined as late.",
        minimum=0,
    )
    live_detect_process: bool = setting(
        True,
        "Run a live ingest's detectors (`seawatch serve --tcp/--udp`, `seawatch run --live`) "
        "in a child process of their own, beside the process that stores and sends the "
        "positions (on another core, outside its GIL); false: in that process, between its "
        "batches. Each event is the same either way.",
    )
    work_compression: str = setting(
        "none",
        "Compression of the partitioned engine's working files (`--engine partitioned` or "
        "`dask`; they live only during a run): none, the least CPU (they are mostly read "
        "back from the page cache); lz4 or zstd, about a half or a third of the bytes for "
        "more CPU, for a cluster whose shared filesystem is slower than its cores.",
        choices=("none", "lz4", "zstd"),
    )
    progress: bool = setting(True, "Show progress bars on long work when stderr is a terminal.")
    db: Secret = setting(
        Secret(""),
        "Store database: a DuckDB file path or a `postgresql://user:pass@host/db` URL; "
        "empty: `<data_dir>/seawatch.duckdb`. Secret (a URL may hold a password): masked.",
        secret=True,
    )
    db_writers: int = setting(
        2,
        "Connections that write one ingest chunk's positions in parallel (PostgreSQL; "
        "needs the server's max_prepared_transactions >= this - 1 per ingest, else one "
        "connection writes: see docs/storage.md). 1: one connection.",
        minimum=1,
        factory=lambda: default_db_writers(os.cpu_count()),
        shown="the number of cores, at most 4",
    )
    db_memory_limit: int = setting(
        0,
        "Memory DuckDB may use for its buffers and indexes (accepts MiB/GiB); beyond it "
        "DuckDB evicts cached blocks and spills. 0: DuckDB's own default, 80 % of the "
        "machine's RAM, which a long-running server fills with cached table blocks.",
        minimum=0,
        unit="bytes",
        factory=lambda: default_db_memory_limit(physical_memory()),
        shown="a quarter of the machine's RAM, at least 1 GiB",
    )
    node_id: str = setting(
        "local",
        "Name of this node among federated partners (letters, digits, '.', '_', '-').",
        pattern=r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}",
    )
    node_nation: str = setting(
        "XXX",
        "ISO 3166-1 alpha-3 code of the nation running this node: originator of its own "
        "labels and of derived records (XXX: not set; commands that label records refuse "
        "to run until it is: `seawatch node init --nation AAA`).",
        pattern=r"[A-Z]{3}",
    )
    classification_levels: str = setting(
        "UNCLASSIFIED, RESTRICTED, CONFIDENTIAL, SECRET, TOP SECRET",
        "Classifications of the labelling policy, lowest first, comma-separated; the "
        "initials of each (U, R, C, S, TS) are accepted as abbreviations.",
    )
    coalitions: str = setting(
        "FVEY=AUS,CAN,GBR,NZL,USA; QUAD=AUS,IND,JPN,USA",
        "Coalition names usable in REL TO and the nations each stands for: "
        "`NAME=AAA,BBB; ...` (names of 4+ letters, ISO 3166-1 alpha-3 members).",
    )
    label_caveats: str = setting(
        "ORCON, PROPIN, LIMDIS",
        "Restrictive caveats a marking may carry (comma-separated); a reader must hold "
        "each caveat of a label to read it.",
    )
    default_label: str = setting(
        "UNCLASSIFIED",
        "CAPCO-style marking given to records no labelling rule matches (originator: "
        "node_nation), e.g. `CONFIDENTIAL//REL TO QUAD`.",
    )
    label_rules: str = setting(
        "",
        "Labelling rules, first match wins, separated by `;`: `feed=ifc-ior -> "
        "IND:CONFIDENTIAL//REL TO QUAD` (keys source, feed, message_type, event_type, "
        "bbox; see docs/labels.md).",
    )
    cot_stale_s: float = setting(
        600.0,
        "Seconds after a vessel's latest position that its Cursor-on-Target event goes "
        "stale (`stale` = `time` + this; see docs/exports.md).",
        minimum=1,
    )
    policy_file: str = setting(
        "",
        "The node's labelling policy as a SPIF XML file (levels, caveats, Releasable To "
        "coalitions), instead of classification_levels and label_caveats; see docs/labels.md.",
    )
    policies_dir: str = setting(
        "",
        "Folder of partner policies, one `<NATION>.spif.xml` per nation with a policy of "
        "its own (others share the node's); see docs/labels.md.",
    )
    policy_equivalence: str = setting(
        "",
        "Levels of different policies declared equivalent, `IND:RESTRICTED=USA:CONFIDENTIAL; "
        "IND:SECRET=USA:SECRET`; a level with none is denied to readers under other policies.",
    )
    csv_columns: str = setting(
        "",
        "Which CSV header holds which column, for files whose header names are not "
        "recognised: `mmsi=MMSI,ts=Time,lat=Latitude,lon=Longitude[,speed_kn=...]` "
        "(`--columns`; see docs/decoding.md).",
    )
    api_rate_per_s: float = setting(
        20.0,
        "Requests per second each API token may make on average (`seawatch serve`); faster "
        "requests get 429 with Retry-After.",
        minimum=0.1,
    )
    api_burst: int = setting(
        60,
        "Requests an API token may make at once before api_rate_per_s applies.",
        minimum=1,
    )
    api_max_window_days: float = setting(
        31.0,
        "Longest closed `datetime=a/b` interval an API query may ask for, in days (longer: "
        "400 with the limit; page through shorter windows).",
        minimum=0.001,
    )
    detectors: Mapping[str, Mapping[str, tuple[Any, str]]] = dataclasses.field(
        default_factory=dict, hash=False
    )
    """Detector parameters given in the file or environment, as given: detector →
    parameter → (raw value, where it was given). The settings do not know the detectors
    (they sit below them); :func:`seawatch.events.registry.resolve_params` checks these
    against the registry and turns them into parameter instances."""

    def __repr__(self) -> str:
        body = ", ".join(f"{s.name}={s.display(getattr(self, s.name))}" for s in SETTINGS.values())
        return f"Settings({body})"

    __str__ = __repr__


def _registry() -> dict[str, Setting]:
    hints = typing.get_type_hints(Settings)
    out = {}
    for f in dataclasses.fields(Settings):
        if "help" not in f.metadata:  # detectors: declared on the detectors' classes
            continue
        meta = dict(f.metadata)
        # a computed default (data_dir) as it is when imported; default_value() recomputes it
        default = meta["factory"]() if meta["factory"] else f.default
        out[f.name] = Setting(name=f.name, type=hints[f.name], default=default, **meta)
    return out


SETTINGS: Final[Mapping[str, Setting]] = _registry()
"""Every setting by name, in declaration order."""


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"decode": {"chunk_bytes": 1}}`` -> ``{"decode_chunk_bytes": 1}``."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and name not in SETTINGS:
            out.update(_flatten(value, name + "_"))
        else:
            out[name] = value
    return out


def _unknown(name: str, where: str) -> ConfigError:
    close = difflib.get_close_matches(name, SETTINGS, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "run `seawatch settings` to list them"
    return ConfigError(f"{where}: unknown setting {name!r} ({hint})")


def settings_file(path: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The settings file that is read (see the module docstring), or, when none exists, the
    one to write: the per-user file. A file given (``path``, ``$SEAWATCH_SETTINGS_FILE``)
    is returned whether it exists or not."""
    env = os.environ if env is None else env
    if path is not None:
        return Path(path)
    if env.get(SETTINGS_FILE_ENV):
        return Path(env[SETTINGS_FILE_ENV])
    return DEFAULT_SETTINGS_FILE if DEFAULT_SETTINGS_FILE.is_file() else user_settings_file()


def _settings_file(path: Path | None, env: Mapping[str, str]) -> Path | None:
    if path is not None:
        chosen, origin = Path(path), "settings file"
    elif env.get(SETTINGS_FILE_ENV):
        chosen, origin = Path(env[SETTINGS_FILE_ENV]), SETTINGS_FILE_ENV
    else:
        found = settings_file(None, env)
        return found if found.is_file() else None
    if not chosen.is_file():
        raise ConfigError(
            f"{origin}: cannot read settings file '{chosen}': no such file "
            "(check the path, or leave it unset to use defaults)"
        )
    return chosen


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
            detectors = data.pop(DETECTORS_TABLE, None)
            flat = _flatten(data)
            if detectors is not None:
                flat[DETECTORS_TABLE] = detectors
            return flat
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"settings file '{path}': not valid TOML: {exc} (fix the file)") from None
    except OSError as exc:
        raise ConfigError(f"settings file '{path}': cannot read: {exc.strerror}") from None


def resolve_settings(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> tuple[Settings, dict[str, str]]:
    """Like :func:`load_settings`, also returning where each value came from.

    The second item maps each setting name to ``"default"``, ``"file <path>"``,
    ``"env SEAWATCH_<NAME>"`` or ``"option"``.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {name: spec.default_value() for name, spec in SETTINGS.items()}
    sources = dict.fromkeys(SETTINGS, "default")
    file = _settings_file(path, env)
    given: dict[str, dict[str, tuple[object, str]]] = {}  # detector parameters
    if file is not None:
        for name, raw in _read_toml(file).items():
            if name == DETECTORS_TABLE:
                _file_params(raw, f"settings file '{file}'", given)
                continue
            if name not in SETTINGS:
                raise _unknown(name, f"settings file '{file}'")
            values[name] = SETTINGS[name].parse(raw, f"settings file '{file}'")
            sources[name] = f"file {file}"
    for var, raw in env.items():
        if not var.startswith(ENV_PREFIX) or var == SETTINGS_FILE_ENV:
            continue
        if var.startswith(DETECTORS_ENV):
            parts = var[len(DETECTORS_ENV) :].lower().split("__")
            if len(parts) != 2 or not all(parts):
                raise ConfigError(
                    f"{var}: expected {DETECTORS_ENV}<DETECTOR>__<PARAMETER>, e.g. "
                    f"{DETECTORS_ENV}LOITERING__MIN_DISTANCE_TO_SHORE_KM"
                )
            given.setdefault(parts[0], {})[parts[1]] = (raw, var)
            continue
        name = var[len(ENV_PREFIX) :].lower()
        if name not in SETTINGS:
            log.warning("ignoring unknown environment variable %s", var)
            continue
        values[name] = SETTINGS[name].parse(raw, var)
        sources[name] = f"env {var}"
    for name, raw in (overrides or {}).items():
        if raw is None:
            continue
        if name not in SETTINGS:
            raise _unknown(name, "option")
        values[name] = SETTINGS[name].parse(raw, f"option --{name.replace('_', '-')}")
        sources[name] = "option"
    if given:  # checked where they are used: seawatch.events.registry.resolve_params
        values[DETECTORS_TABLE] = given
        for det, keys in given.items():
            for key, (_, where) in keys.items():
                kind = "env" if where.startswith(ENV_PREFIX) else "file"
                origin = where if kind == "env" else str(file)
                sources[f"{DETECTORS_TABLE}.{det}.{key}"] = f"{kind} {origin}"
    return Settings(**values), sources


def _file_params(table: object, where: str, into: dict[str, dict[str, tuple[object, str]]]) -> None:
    """``[detectors.<name>]`` tables of the settings file into ``into``."""
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise ConfigError(
            f"{where}: [{DETECTORS_TABLE}] must hold one table per detector, e.g. "
            f"[{DETECTORS_TABLE}.loitering] min_distance_to_shore_km = 0"
        )
    for det, keys in table.items():
        for key, raw in keys.items():
            into.setdefault(det, {})[key] = (raw, where)


def load_settings(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Settings:
    """Build the effective :class:`Settings` (see the module docstring for precedence).

    ``env`` defaults to ``os.environ``; ``overrides`` (command-line options, ``None``
    values ignored) win over everything. Raises :class:`ConfigError` naming the
    variable or file and the bad value.
    """
    return resolve_settings(path, env, overrides)[0]


def settings_markdown() -> str:
    """``docs/settings.md``: every setting with its variable, type, default and help."""
    return markdown_table(SETTINGS)
