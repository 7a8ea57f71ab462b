"""``--bbox`` / ``bbox=``: an invalid box names the one rule it breaks, and an empty answer
whose box has longitude and latitude swapped says so (issue 12).

In: boxes breaking each rule; a store holding positions in the Bay of Bengal (lon 85-88,
lat 10-12) under several labels. Out: one precise message per rule (from the query layer
and from ``seawatch query``/``export``, exit 1), and on stderr a warning naming the swapped
box and how many positions it holds for this reader (only those it may read).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from records import Rec, write

from seawatch.cli.main import cli
from seawatch.errors import InputError
from seawatch.labels import Reader, parse_label
from seawatch.settings import load_settings
from seawatch.store import open_store
from seawatch.store.query import Query, check_bbox, swapped_box

ENV = {"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_LOG_LEVEL": "WARNING"}
ANTIMERIDIAN = "a box crossing the antimeridian"


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        ((0, 95, 10, 96), "bbox: min_lat 95 is above 90"),
        ((0, -95, 10, 0), "bbox: min_lat -95 is below -90"),
        ((0, 0, 10, 91.5), "bbox: max_lat 91.5 is above 90"),
        ((0, -10, 10, -90.5), "bbox: max_lat -90.5 is below -90"),
        ((181, 0, 10, 1), "bbox: min_lon 181 is above 180"),
        ((0, 0, -200, 1), "bbox: max_lon -200 is below -180"),
        ((0, 20, 10, 10), "bbox: min_lat 20 > max_lat 10 (give min_lon,min_lat,max_lon,max_lat)"),
        (
            (20, 0, 10, 1),
            f"bbox: min_lon 20 > max_lon 10 (give min_lon,min_lat,max_lon,max_lat; "
            f"{ANTIMERIDIAN} runs east from a positive min_lon to a negative max_lon, "
            "e.g. 170,-10,-170,10)",
        ),
        ((-10, 0, -20, 1), "bbox: min_lon -10 > max_lon -20"),
        ((0, 0, float("nan"), 1), "bbox: max_lon nan is not a finite number"),
        ((0, 0, 1), "bbox: give four numbers min_lon,min_lat,max_lon,max_lat, not 3"),
    ],
)
def test_each_rule_has_its_own_message(bbox: tuple[float, ...], message: str) -> None:
    with pytest.raises(InputError) as err:
        check_bbox(bbox)  # type: ignore[arg-type]
    assert str(err.value).startswith(message), str(err.value)
    assert "latitudes in [-90, 90]" not in str(err.value)  # one rule, not all of them


def test_a_latitude_out_of_range_that_swapped_would_fit_says_so() -> None:
    with pytest.raises(InputError) as err:
        check_bbox((10, 80, 20, 100))
    assert str(err.value) == (
        "bbox: max_lat 100 is above 90; did you swap longitude and latitude? "
        "The box would be 80,10,100,20 (min_lon,min_lat,max_lon,max_lat)"
    )


def test_valid_boxes() -> None:
    assert check_bbox((80, 5, 95, 22)) == (80.0, 5.0, 95.0, 22.0)
    assert check_bbox((170, -10, -170, 10)) == (170.0, -10.0, -170.0, 10.0)
    assert check_bbox((-180, -90, 180, 90)) == (-180.0, -90.0, 180.0, 90.0)
    assert swapped_box((10, 80, 20, 90)) == (80.0, 10.0, 90.0, 20.0)
    assert swapped_box((80, 10, 100, 20)) is None  # latitude 100: no box
    assert swapped_box((5, 5, 6, 6)) is None  # the same box


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "store.duckdb")
    with open_store(path, load_settings(env=ENV)) as store:
        p = store.policy
        u = parse_label("UNCLASSIFIED", p)
        secret = parse_label("SECRET//REL TO IND", p, originator="IND")
        write(
            store,
            [
                Rec(1, 419000001, u, minute=0, lat=10.0, lon=85.0),
                Rec(2, 419000001, u, minute=10, lat=10.5, lon=85.5),
                Rec(3, 419000002, secret, minute=5, lat=12.0, lon=88.0),
            ],
        )
    return path


def _query(db: str, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["query", *args, "--db", db], env=ENV)
    return res.exit_code, res.stderr


SWAPPED = "10,80,20,90"  # lat 10..20, lon 80..90 given the wrong way round
HINT = (
    "warning: no rows in bbox 10,80,20,90 (min_lon,min_lat,max_lon,max_lat); the swapped box "
    "80,10,90,20 holds {} — did you swap longitude and latitude?"
)


@pytest.mark.parametrize("listing", ["area", "latest", "events"])
def test_swapped_box_warns_with_what_the_reader_may_read(db: str, listing: str) -> None:
    code, err = _query(db, listing, "--bbox", SWAPPED, "--reader", "IND:SECRET")
    assert code == 0
    assert err.strip().splitlines() == [HINT.format("3 positions")]
    code, err = _query(db, listing, "--bbox", SWAPPED, "--reader", "USA:SECRET")
    assert err.strip().splitlines() == [HINT.format("2 positions")]  # not IND's SECRET one


def test_no_warning_when_the_box_has_rows_or_the_swapped_box_none(db: str) -> None:
    code, err = _query(db, "area", "--bbox", "80,10,90,20", "--reader", "USA:U")
    assert (code, err) == (0, "")
    code, err = _query(db, "area", "--bbox", "0,0,1,1", "--reader", "USA:U")
    assert (code, err) == (0, "")  # nothing anywhere near: nothing to suggest
    code, err = _query(db, "area", "--bbox", "11,87,13,89", "--reader", "USA:U")
    assert (code, err) == (0, "")  # the swapped box holds only what USA:U may not read


def test_export_warns_too(db: str, tmp_path: Path) -> None:
    out = tmp_path / "x.geojson"
    res = CliRunner().invoke(
        cli,
        [
            "export",
            "positions",
            "--format",
            "geojson",
            "--reader",
            "USA:U",
            "--bbox",
            SWAPPED,
            "--out",
            str(out),
            "--db",
            db,
        ],
        env=ENV,
    )
    assert res.exit_code == 0, res.output
    assert res.stderr.strip().splitlines() == [HINT.format("2 positions")]


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        ("100,95,110,96", "error: bbox: min_lat 95 is above 90\n"),
        ("20,0,10,1", "error: bbox: min_lon 20 > max_lon 10 (give min_lon,min_lat,"),
        ("1,2,x,4", "error: --bbox '1,2,x,4': 'x' is not a number (give min_lon,min_lat,"),
        ("1,2,3", "error: --bbox '1,2,3': give four numbers min_lon,min_lat,max_lon,max_lat"),
    ],
)
def test_cli_messages_and_exit_code(db: str, bbox: str, message: str) -> None:
    code, err = _query(db, "area", "--bbox", bbox, "--reader", "USA:U")
    assert code == 1
    assert err.startswith(message), err
    assert err.count("\n") == 1
    res = CliRunner().invoke(
        cli,
        [
            "export",
            "positions",
            "--format",
            "csv",
            "--reader",
            "USA:U",
            "--bbox",
            bbox,
            "--out",
            "x.csv",
            "--db",
            db,
        ],
        env=ENV,
    )
    assert (res.exit_code, res.stderr) == (1, err)


def test_query_layer_checks_too(db: str) -> None:
    with open_store(db, load_settings(env=ENV)) as store:
        q = Query(store, Reader.parse("USA:U", store.policy))
        with pytest.raises(InputError, match=r"^bbox: min_lat 20 > max_lat 10"):
            q.positions(bbox=(0, 20, 10, 10))
