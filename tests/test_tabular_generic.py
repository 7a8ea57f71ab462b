"""CSV files in no known dialect: header synonyms, ``--columns`` and the error when neither
maps the header (issue 12).

- a header of common names (``MMSI,Latitude,Longitude,Time``; ``UserID;LAT;LON;# Timestamp``
  ...) is read whatever the case, spaces, underscores or dashes;
- the real NOAA sample with every header renamed reads to the same positions as the original;
- ``--columns mmsi=...,ts=...`` (or ``SEAWATCH_CSV_COLUMNS``) maps any header, on ``decode``,
  ``detect``, ``ingest`` and ``run``;
- a CSV that still cannot be mapped is an error (exit 1) listing the headers found and the
  columns needed.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from seawatch.cli.main import cli
from seawatch.decode.tabular import read_tabular, sniff_format
from seawatch.decode.tabular_columns import parse_columns
from seawatch.errors import ConfigError, DecodeError

NOAA_SAMPLE = "ais/aisdb/test_data_noaa_20230101.csv"
ROWS = [
    "366000001,2023-01-11T00:00:00,43.5,-70.25,12.5,90.0,91,SEA ONE,9000001,WXY1",
    "366000002,2023-01-11T00:01:00,43.6,-70.5,0.0,,511,,,",
]


def _read(data: bytes, columns: str = "") -> dict[str, list[object]]:
    fmt = sniff_format(data[:65536])
    out: dict[str, list[object]] = {}
    for batch in read_tabular(io.BytesIO(data), fmt, columns=columns, name="x.csv"):
        for k, v in batch.tables["positions"].to_pydict().items():
            out.setdefault(k, []).extend(v)
    return out


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    "header",
    [
        "MMSI,Latitude,Longitude,Time,Speed,Course,Heading,VesselName,IMO,CallSign",
        "mmsi,lat,lon,timestamp,sog,cog,heading,name,imo,callsign",
        "UserID;LAT;LON;# Timestamp;SOG;COG;Heading;ShipName;IMO;Call Sign",
        "User_ID\ty\tx\tdatetime\tspeed_kn\tcourse\ttrue heading\tship name\timo\tcall-sign",
        '"MMSI","Lat","Long","Time_UTC","Speed (kn)","Course","HDG","Vessel Name","IMO","Callsign"',
        "mmsi,latitude,longitude,ts,speed,course_deg,heading_deg,vessel_name,imo_number,call_sign",
    ],
)
def test_header_synonyms(header: str) -> None:
    names = [h.strip('"') for h in header.replace(";", ",").replace("\t", ",").split(",")]
    sep = ";" if ";" in header else "\t" if "\t" in header else ","
    # the columns in the header's order: mmsi, lat, lon, time, speed, course, heading, ...
    lines = []
    for row in ROWS:
        f = row.split(",")
        lines.append(sep.join([f[0], f[2], f[3], f[1], *f[4:]]))
    data = ("\n".join([header, *lines]) + "\n").encode()
    assert sniff_format(data) == "csv", names
    pos = _read(data)
    assert pos["mmsi"] == [366000001, 366000002]
    assert pos["ts"] == [_utc(2023, 1, 11), _utc(2023, 1, 11, 0, 1)]
    assert (pos["lat"], pos["lon"]) == ([43.5, 43.6], [-70.25, -70.5])
    assert pos["speed_kn"] == [12.5, 0.0]
    assert (pos["course_deg"], pos["heading_deg"]) == ([90.0, None], [91, None])
    assert pos["station"] == ["csv", "csv"]


def test_statics_and_epoch_times() -> None:
    data = (
        b"mmsi,time,lat,lon,name,imo,callsign\n"
        b"366000001,1673395200,43.5,-70.25,SEA ONE,9000001,WXY1\n"
    )
    fmt = sniff_format(data)
    batch = next(iter(read_tabular(io.BytesIO(data), fmt)))
    assert batch.tables["positions"]["ts"].to_pylist() == [_utc(2023, 1, 11)]
    static = batch.tables["statics"].to_pylist()[0]
    assert (static["name"], static["imo"], static["callsign"]) == ("SEA ONE", 9000001, "WXY1")


def test_known_dialects_are_still_told_apart() -> None:
    assert sniff_format(b"MMSI,BaseDateTime,LAT,LON\n") == "noaa_csv"
    assert sniff_format(b"hello, world\n", "notes.txt") == "unknown"
    assert sniff_format(b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24\n") == "nmea"


def _renamed_noaa(shared: Path, tmp: Path) -> tuple[Path, Path]:
    """The real NOAA sample, and a copy whose header uses other common names."""
    original = shared / NOAA_SAMPLE
    rename = {
        "MMSI": "UserID", "BaseDateTime": "# Timestamp", "LAT": "Latitude",
        "LON": "Longitude", "SOG": "Speed", "COG": "Course", "Heading": "True_Heading",
        "VesselName": "Ship Name", "CallSign": "Call-Sign",
    }  # fmt: skip
    with original.open(newline="") as f:
        rows = list(csv.reader(f))
    rows[0] = [rename.get(h, h) for h in rows[0]]
    copy = tmp / "renamed.csv"
    with copy.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return original, copy


def test_real_noaa_file_with_other_header_names(shared_data: Path, tmp_path: Path) -> None:
    from seawatch.decode.stream import decode

    original, copy = _renamed_noaa(shared_data, tmp_path)
    assert sniff_format(copy.read_bytes()[:65536]) == "csv"
    want, _ = decode(original)
    got, stats = decode(copy)
    assert (stats.lines, stats.rejected, got["positions"].num_rows) == (1000, 0, 1000)
    cols = ["mmsi", "ts", "lat", "lon", "speed_kn", "course_deg", "heading_deg", "line_no"]
    assert got["positions"].select(cols).equals(want["positions"].select(cols))
    assert got["statics"].column("name").to_pylist() == want["statics"].column("name").to_pylist()


def test_unmapped_header_is_an_error_naming_headers_and_needs(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("Vessel,When,North,East,Knots\n366000001,2023-01-11T00:00:00,43.5,-70.2,1\n")
    with pytest.raises(DecodeError) as err:
        _read(path.read_bytes())
    msg = str(err.value)
    assert "x.csv: cannot tell which columns hold mmsi, ts, lat, lon" in msg
    assert "found: Vessel, When, North, East, Knots" in msg
    assert "--columns mmsi=Vessel,ts=When" in msg  # the suggestion uses the file's own names
    res = CliRunner().invoke(cli, ["decode", str(path), "--out", str(tmp_path / "o")], env={})
    assert res.exit_code == 1
    errors = [ln for ln in res.output.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, res.output  # one line for the file, no traceback
    assert errors[0].startswith(f"error: {path}: cannot tell which columns hold mmsi, ts")
    assert "Traceback" not in res.output


def test_partly_mapped_header_names_what_is_missing() -> None:
    with pytest.raises(DecodeError, match=r"no column for ts \(found: MMSI, Lat, Lon, When\)"):
        _read(b"MMSI,Lat,Lon,When\n1,2,3,4\n")


ODD = b"Vessel;When;North;East;Knots\n366000001;2023-01-11T00:00:00;43.5;-70.25;12.5\n"
ODD_COLUMNS = "mmsi=Vessel,ts=When,lat=North,lon=East,speed_kn=Knots"


def test_columns_mapping() -> None:
    pos = _read(ODD, ODD_COLUMNS)
    assert (pos["mmsi"], pos["lat"], pos["lon"], pos["speed_kn"]) == (
        [366000001], [43.5], [-70.25], [12.5],
    )  # fmt: skip
    # case and spacing of the header names do not matter; a mapping wins over a synonym
    pos = _read(b"mmsi,lat,lon,t1,t2\n1,2,3,2023-01-11T00:00:00,2024-01-11T00:00:00\n", "ts=T2")
    assert pos["ts"] == [_utc(2024, 1, 11)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mmsi=A,when=B", "--columns: unknown column 'when' (use mmsi, ts, lat, lon,"),
        ("mmsi", "--columns: 'mmsi' is not COLUMN=HEADER"),
        ("mmsi=A,mmsi=B", "--columns: mmsi given twice"),
        ("mmsi=", "--columns: 'mmsi=' is not COLUMN=HEADER"),
    ],
)
def test_bad_columns_mapping(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_columns(text)


def test_columns_naming_a_missing_header() -> None:
    with pytest.raises(DecodeError, match=r"--columns ts=Zeit: the header has no column 'Zeit'"):
        _read(ODD, "mmsi=Vessel,ts=Zeit,lat=North,lon=East")


def test_columns_on_decode_and_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(ODD)
    runner = CliRunner()
    for args, env in (
        (["--columns", ODD_COLUMNS], {}),
        ([], {"SEAWATCH_CSV_COLUMNS": ODD_COLUMNS}),
    ):
        out = tmp_path / f"o{len(args)}"
        res = runner.invoke(cli, ["decode", str(path), "--out", str(out), *args], env=env)
        assert res.exit_code == 0, res.output
        assert pq.read_table(out / "positions.parquet")["speed_kn"].to_pylist() == [12.5]
    res = runner.invoke(cli, ["decode", str(path), "--columns", "mmsi=Vessel,when=x"], env={})
    assert res.exit_code == 2
    assert "--columns: unknown column 'when'" in res.output


def test_columns_on_ingest(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(ODD)
    db = str(tmp_path / "s.duckdb")
    res = CliRunner().invoke(
        cli,
        ["ingest", str(path), "--columns", ODD_COLUMNS, "--db", db],
        env={"SEAWATCH_NODE_NATION": "IND"},
    )
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(
        cli, ["query", "latest", "--reader", "USA:U", "--format", "csv", "--db", db], env={}
    )
    assert res.exit_code == 0, res.output
    assert "366000001" in res.stdout


@pytest.mark.parametrize("command", ["decode", "detect", "ingest", "run"])
def test_every_reading_command_takes_columns(command: str) -> None:
    res = CliRunner().invoke(cli, [command, "--help"], env={})
    assert res.exit_code == 0
    assert "--columns" in res.output
    assert "SEAWATCH_CSV_COLUMNS" in res.output


def test_synonyms_are_documented() -> None:
    from seawatch.decode.tabular_columns import SYNONYMS, user_name

    doc = (Path(__file__).resolve().parents[1] / "docs" / "decoding.md").read_text()
    for ours, names in SYNONYMS.items():
        row = f"| `{user_name(ours)}` | {', '.join(f'`{n}`' for n in names)} |"
        assert row in doc, f"docs/decoding.md: the synonyms of {ours} are not listed as {row}"
