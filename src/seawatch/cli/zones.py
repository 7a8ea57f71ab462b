"""``seawatch zones``: import polygon layers (EEZ, territorial seas, areas) and list them.

In: a GeoJSON, GeoPackage or Shapefile in WGS84. Out: ``<data_dir>/zones/<name>.parquet``
(see :mod:`seawatch.geo.zones`) and a one-line summary per layer on stdout.
"""

from __future__ import annotations

from pathlib import Path

import click

from seawatch.cli.common import settings_of

__all__ = ["zones_command"]


@click.group(
    "zones",
    epilog="\b\nExamples:\n  seawatch zones import eez_v11.gpkg --name eez\n  seawatch zones list",
)
def zones_command() -> None:
    """Polygon layers that positions are located in (zone_<name> columns, zone events)."""


@zones_command.command(
    "import",
    epilog="\b\nExamples:\n  seawatch zones import World_EEZ_v12.shp --name eez\n"
    "  seawatch zones import World_EEZ_v12.shp --name eez --name-field TERRITORY1",
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Layer name (letters, digits, '_', '-', '.').")
@click.option(
    "--name-field",
    metavar="FIELD",
    help="Attribute that names each polygon (Marine Regions: GEONAME or TERRITORY1); "
    "default: the first common name field (name, NAME, ..., GEONAME, ...) naming the most.",
)
@click.pass_context
def import_command(ctx: click.Context, file: Path, name: str, name_field: str | None) -> None:
    """Import FILE (GeoJSON, GeoPackage, Shapefile; WGS84) as zone layer NAME.

    The layer is stored under <data_dir>/zones/NAME.parquet, replacing one of the same name,
    with the field that names its polygons in events and summaries.
    """
    from seawatch.geo.zones import (  # GDAL loads slowly
        ZONE_NAME_FIELDS,
        import_zones,
        zone_layer_path,
    )

    data_dir = settings_of(ctx).data_dir
    layer = import_zones(file, name, data_dir, name_field=name_field)
    columns = ", ".join(c for c in layer.table.column_names if c != "geometry")
    click.echo(
        f"zone layer {name!r}: {len(layer)} polygons from {file} (attributes: {columns}); "
        f"stored in {zone_layer_path(name, data_dir)}"
    )
    common = ", ".join(ZONE_NAME_FIELDS)
    if layer.name_field is None:
        click.echo(
            f"polygons unnamed: none of {common} is present and non-empty; "
            f"use --name-field to choose (fields: {columns})"
        )
        return
    named = len(layer) - layer.names().null_count
    how = "--name-field" if name_field else f"the first of {common} naming the most"
    more = "" if name_field else "; use --name-field to choose"
    click.echo(f"named {named} of {len(layer)} polygons by {layer.name_field} ({how}){more}")


@zones_command.command("list", epilog="\b\nExample:\n  seawatch zones list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """List the zone layers stored under <data_dir>/zones."""
    import pyarrow.parquet as pq

    folder = Path(settings_of(ctx).data_dir) / "zones"
    paths = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not paths:
        click.echo(f"no zone layers in {folder} (seawatch zones import FILE --name NAME)")
    for path in paths:
        meta = pq.read_metadata(path)
        source = (meta.schema.to_arrow_schema().metadata or {}).get(b"source", b"?").decode()
        click.echo(f"{path.stem}: {meta.num_rows} polygons (from {source})")
