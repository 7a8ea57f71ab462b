"""``seawatch node``: who this node is (its nation and name) and where that is kept.

In: ``--nation`` (ISO 3166-1 alpha-3) and ``--name`` for ``node init``. Out: the settings
file (:func:`seawatch.settings.settings_file`: ``--settings``, ``$SEAWATCH_SETTINGS_FILE``,
``./seawatch.toml`` if present, else the per-user file) holding ``node_nation`` and
``node_id``, the rest of the file kept, and the node's keys under the data directory
(:mod:`seawatch.share.keys`: an Ed25519 signing key and an X25519 encryption key, owner-only
files, made once and kept when ``init`` runs again); ``node show [--json]`` prints the
nation, name and the public keys partners pin (``vkey``, ``enc_key``).

The nation is the originator of every label the node gives: until it is set (the
placeholder ``XXX``), the commands that would label records refuse with
:func:`require_nation`'s advice.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import click

from seawatch.cli.common import settings_of
from seawatch.errors import ConfigError
from seawatch.settings import NATION_UNSET, SETTINGS, Settings, settings_file
from seawatch.share.keys import enc_key_text, init_keys, keys_exist, load_keys
from seawatch.store import db_location

__all__ = ["identity", "node_command", "require_nation"]

INIT_HINT = "seawatch node init --nation AAA [--name NAME]"
_KEYS = {"node_nation": "nation", "node_id": "id"}  # setting -> key in a [node] table
_HEADER = re.compile(r"^\s*\[")


def require_nation(settings: Settings) -> None:
    """Raise unless ``node_nation`` is set: no label is ever given the placeholder ``XXX``."""
    if settings.node_nation == NATION_UNSET:
        raise ConfigError(
            f"node_nation is not set ({NATION_UNSET}): the records this node labels (the "
            "default label, --label without --originator, derived segments and events) need "
            f"its nation as originator; set it once with `{INIT_HINT}` "
            "(or SEAWATCH_NODE_NATION)"
        )


def identity(settings: Settings, name: str | None = None) -> dict[str, Any]:
    """What the node says about itself (``node show --json``): its public keys are null
    until ``node init`` has made them."""
    nation = None if settings.node_nation == NATION_UNSET else settings.node_nation
    name = name or settings.node_id
    vkey = enc_key = None
    if keys_exist(settings.data_dir):
        keys = load_keys(settings.data_dir)
        vkey, enc_key = keys.verifier(name).vkey, enc_key_text(keys.enc_public)
    return {"nation": nation, "name": name, "vkey": vkey, "enc_key": enc_key}


@click.group("node")
def node_command() -> None:
    """Who this node is: its nation (the originator of its labels) and name.

    \b
    Examples:
      seawatch node init --nation IND --name ifc-ior
      seawatch node show --json
    """


@node_command.command("init")
@click.option("--nation", required=True, metavar="AAA", help="ISO 3166-1 alpha-3, e.g. IND.")
@click.option("--name", metavar="NAME", help="Name among partners (node_id) [default: kept].")
@click.option("--force", is_flag=True, help="Change a nation already set.")
@click.pass_context
def init_command(ctx: click.Context, nation: str, name: str | None, force: bool) -> None:
    """Set this node's nation (and name) in its settings file; make its keys.

    The keys (Ed25519 for signing, X25519 for encryption) are made once under the data
    directory (<data_dir>/node, owner-only files) and kept when init runs again; the
    public halves are printed for partners to pin (`seawatch peers add` on their node).
    The file is the one seawatch reads (--settings, $SEAWATCH_SETTINGS_FILE, ./seawatch.toml),
    else the per-user file (`seawatch node show` prints it); other settings in it are kept.
    Several nodes on one machine: give each its own SEAWATCH_SETTINGS_FILE and
    SEAWATCH_DATA_DIR.

    \b
    Examples:
      seawatch node init --nation IND --name ifc-ior
      SEAWATCH_SETTINGS_FILE=usa.toml seawatch node init --nation USA
    """
    values = {"node_nation": SETTINGS["node_nation"].parse(nation.strip().upper(), "--nation")}
    if values["node_nation"] == NATION_UNSET:
        raise ConfigError(f"--nation {NATION_UNSET} is the placeholder for 'not set'")
    if name is not None:
        values["node_id"] = SETTINGS["node_id"].parse(name, "--name")
    path = settings_file(ctx.meta.get("seawatch.settings_file"))
    current = _read(path).get("node_nation", NATION_UNSET)
    if current not in (NATION_UNSET, values["node_nation"]) and not force:
        raise ConfigError(
            f"node_nation is already {current} in {path}: give --force to change it (records "
            f"already labelled keep {current} as their originator)"
        )
    _write(path, values)
    click.echo(f"settings file: {path}")
    for var in ("SEAWATCH_NODE_NATION", "SEAWATCH_NODE_ID"):
        if os.environ.get(var):
            click.echo(f"note: {var} is set in the environment and wins over the file")
    settings = settings_of(ctx)
    _, created = init_keys(settings.data_dir)
    click.echo(f"keys: {'made' if created else 'kept'} in {settings.data_dir / 'node'}")
    shown = identity(settings, values.get("node_id")) | {"nation": values["node_nation"]}
    _echo_identity(shown)


@node_command.command("show")
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object: nation, name, vkey, enc_key."
)
@click.pass_context
def show_command(ctx: click.Context, as_json: bool) -> None:
    """Print this node's nation, name and public keys, its settings file, data directory
    and store.

    \b
    Examples:
      seawatch node show
      seawatch node show --json
    """
    settings = settings_of(ctx)
    if as_json:
        click.echo(json.dumps(identity(settings)))
        return
    _echo_identity(identity(settings))
    path = settings_file(ctx.meta.get("seawatch.settings_file"))
    click.echo(f"settings file: {path}" + ("" if path.is_file() else " (not written yet)"))
    click.echo(f"data directory: {settings.data_dir}")
    click.echo(f"store: {db_location(settings)}")


def _echo_identity(shown: dict[str, Any]) -> None:
    nation = shown["nation"] or f"not set (set it: {INIT_HINT})"
    click.echo(f"nation: {nation}")
    click.echo(f"name: {shown['name']}")
    click.echo(f"vkey: {shown['vkey'] or f'none yet (make the keys: {INIT_HINT})'}")
    click.echo(f"enc_key: {shown['enc_key'] or 'none yet'}")


def _read(path: Path) -> dict[str, Any]:
    """The node settings in ``path`` (either spelling: ``node_nation`` or ``[node] nation``)."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"settings file '{path}': cannot read: {exc} (fix the file)") from None
    table = data.get("node", {})
    out = {k: data[k] for k in _KEYS if k in data}
    if isinstance(table, dict):
        out |= {k: table[short] for k, short in _KEYS.items() if short in table}
    return out


def _write(path: Path, values: dict[str, str]) -> None:
    """Set ``values`` in the settings file ``path``, keeping its other lines (an edit of the
    text, not a rewrite: comments stay). Their earlier definitions are removed first."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    _read(path)  # a broken file is reported, not edited
    if not lines:
        lines = ["# seawatch settings (docs/settings.md); `seawatch node init` wrote the node's"]
        lines += ["# nation and name."]
    kept: list[str] = []
    table, first_header = "", None
    for line in lines:
        if _HEADER.match(line):
            table = line.strip().strip("[]").strip()
            if first_header is None:
                first_header = len(kept)
        key = line.split("=", 1)[0].strip() if "=" in line else ""
        top = not table and key in values
        in_node = table == "node" and any(key == _KEYS[k] for k in values)
        if not (top or in_node):
            kept.append(line)
    at = len(kept) if first_header is None else first_header
    new = [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    text = "\n".join([*kept[:at], *new, *kept[at:]]) + "\n"
    try:
        written = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        written = {}
    if any(written.get(k) != v for k, v in values.items()):
        setting = ", ".join(f"{k} = {json.dumps(v)}" for k, v in values.items())
        raise ConfigError(f"cannot update settings file '{path}': set {setting} in it by hand")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
