"""Pin the tabular readers: CSV (NOAA, DMA, Argenni, MarineTraffic-style, VesselsValue),
gpsd/gpsdio JSON, seawatch Parquet.

- golden rows from real files in ``../shared/data/ais`` (skipped when absent), checked
  against an independent reading with :mod:`csv` / :mod:`json`;
- gpsd's scaled and unscaled (``-u``) output of the same sentences read to the same rows;
- malformed input (bad numbers, truncated lines, bad JSON) is counted by reason while the
  good rows around it are kept with their own line numbers;
- every table has exactly its published schema, and chunking does not change the result.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seawatch.decode.schemas import SCHEMAS, conform
from seawatch.decode.tabular import read_tabular, sniff_format, table_name
from seawatch.errors import DecodeError

NOAA_HEADER = (
    "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,"
    "Length,Width,Draft,Cargo,TransceiverClass"
)
DMA_HEADER = (
    "# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,"
    "Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,"
    "Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D"
)
_NO_STATIC = "Unknown,Unknown,,Undefined,,,,Undefined,,Unknown,,AIS,,,,"
# Written for these tests from the documented DMA header (no DMA file is in ../shared);
# the vessels and values are made up in the shapes DMA files use ("Unknown", text status).
DMA_CSV = (
    "\n".join(
        [
            DMA_HEADER,
            "01/01/2023 00:00:00,Base Station,2190064,56.716780,11.519300,Unknown value,,,,,"
            "Unknown,Unknown,,Undefined,,,,GPS,,Unknown,,AIS,,,,",
            "01/01/2023 00:00:00,Class A,219000873,56.990910,10.304543,Under way using engine,"
            f"0.0,0.0,30.6,207,{_NO_STATIC}",
            "01/01/2023 00:00:00,Class A,219027804,55.921637,11.681513,Moored,0.0,0.0,,,"
            "9248801,OXPJ2,SKANDI,Cargo,No additional information,12,82,GPS,4.5,KALUNDBORG,"
            "02/01/2023 08:00:00,AIS,70,12,6,6",
            "01/01/2023 00:00:01,Class B,211529620,54.519358,11.209818,Unknown value,,0.0,224.8,"
            "511,Unknown,DH3071,ALBATROS,Sailing,,4,14,GPS,,Unknown,,AIS,10,4,2,2",
            "01/01/2023 00:00:01,Class A,636091900,57.628417,10.653867,Under way using engine,"
            "-12.9,12.4,355.8,356,9300271,A8MU3,HUGIN,Tanker,Category X,32,183,GPS,11.2,SKAW,"
            "01/01/2023 03:00:00,AIS,150,33,16,16",
            "01/01/2023 00:00:02,AtoN,992191702,55.386417,10.395417,Unknown value,,,,,Unknown,"
            "Unknown,ODENSE FJORD BØJE 7,Undefined,,,,Surveyed,,Unknown,,AIS,,,,",
            "31/02/2023 00:00:02,Class A,219000874,56.990910,10.304543,Under way using engine,"
            f"0.0,0.0,30.6,207,{_NO_STATIC}",
            "01/01/2023 00:00:03,Class A,219000873,91.000000,181.000000,Under way using engine,"
            f"0.0,102.3,360.0,511,{_NO_STATIC}",
            "01/01/2023 00:00:03,Class A,219000873,56.99,10.30,Under way",
        ]
    )
    + "\n"
)
# gpsd's scaled form, written by hand (made-up vessels): nan/fast/fastright strings,
# 91/181/360/511 for "not available", a type 5 with metres and an ETA.
_GPSD = '{"class":"AIS","device":"stdin","scaled":true,'
GPSD_SCALED = (
    "\n".join(
        [
            _GPSD + '"type":1,"mmsi":111000001,"status":0,"turn":"fastright","speed":12.5,'
            '"accuracy":true,"lon":-5.250000,"lat":36.100000,"course":90.5,"heading":91}',
            _GPSD + '"type":1,"mmsi":111000002,"status":1,"turn":"nan","speed":"nan",'
            '"accuracy":false,"lon":181.000000,"lat":91.000000,"course":360.0,"heading":511}',
            _GPSD + '"type":3,"mmsi":111000003,"status":4,"turn":0,"speed":"fast",'
            '"accuracy":false,"lon":121.5,"lat":38.8,"course":182.4,"heading":511}',
            _GPSD + '"type":5,"mmsi":111000001,"imo":9074729,"ais_version":0,"callsign":"EAXY",'
            '"shipname":"MAR AZUL","shiptype":70,"to_bow":100,"to_stern":20,"to_port":10,'
            '"to_starboard":8,"epfd":1,"eta":"07-04T09:30Z","draught":7.2,'
            '"destination":"ALGECIRAS","dte":0}',
            _GPSD + '"type":4,"mmsi":2241076,"timestamp":"2012-03-14T11:30:14Z",'
            '"accuracy":false,"lon":-15.560865,"lat":27.960660,"epfd":7}',
            '{"class":"TPV","device":"/dev/ttyUSB0","mode":3,"lat":36.1,"lon":-5.3}',
        ]
    ).encode()
    + b"\n"
)


def read_all(data: bytes, fmt: str, **kw: Any) -> tuple[dict[str, pa.Table], Counter[str], int]:
    """Every batch of ``data`` joined: tables, reject counts, rows. Checks the schemas."""
    tables: dict[str, list[pa.Table]] = {}
    rejects: Counter[str] = Counter()
    rows = 0
    for batch in read_tabular(io.BytesIO(data), fmt, **kw):
        for name, table in batch.tables.items():
            if name in SCHEMAS:
                assert table.schema.equals(SCHEMAS[name], check_metadata=True), name
            tables.setdefault(name, []).append(table)
        rejects.update(batch.rejects)
        rows += batch.rows
    joined = {k: pa.concat_tables(v) for k, v in tables.items()}
    for name in ("positions", "statics"):
        if fmt != "parquet":
            joined.setdefault(name, SCHEMAS[name].empty_table())
    return joined, rejects, rows


def rows_by(table: pa.Table, key: str = "line_no") -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in table.to_pylist()}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --- sniffing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (NOAA_HEADER.encode() + b"\n367752440,2023-01-11T00:00:00,43.07917", "", "noaa_csv"),
        (b"\xef\xbb\xbfmmsi,basedatetime,lat,lon\n", "AIS_2015.csv", "noaa_csv"),
        (DMA_CSV.encode()[:300], "aisdk-2023-01-01.csv", "dma_csv"),
        (b"Timestamp,Type of mobile,MMSI,Latitude\n", "", "dma_csv"),
        (b'"MMSI","BaseDateTime","LAT"\r\n', "", "noaa_csv"),
        (GPSD_SCALED, "", "gpsd_json"),
        (b'{"ssvid": 263576000, "lat": -23.2, "lon": 97.1}\n', "x.json", "gpsd_json"),
        (b"PAR1\x15\x04", "", "parquet"),
        (b"", "positions.parquet", "parquet"),
        (b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*24\n", "", "nmea"),
        (b"\\s:42809,c:1635731889,t:1635731965*6A\\!AIVDM,1,1,,,B5NG,0*1C\n", "", "nmea"),
        (b"$PGHP,1,2013,1,1,0,0,1,0,219,,,1,27*1A\n!AIVDM,1,1,,A,1,0*00\n", "", "nmea"),
        (b"hello, world\n", "notes.txt", "unknown"),
        (b'{"class":"VERSION","release":"3.22"}\n', "", "unknown"),
    ],
)
def test_sniff_format(head: bytes, name: str, expected: str) -> None:
    assert sniff_format(head, name) == expected


def test_unknown_format_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="not a table format"):
        read_tabular(io.BytesIO(b""), "nmea", name="feed.nmea")


# --- NOAA MarineCadastre ----------------------------------------------------------------


def test_noaa_real_file_matches_an_independent_reading(shared_data: Path) -> None:
    path = shared_data / "ais/aisdb/test_data_noaa_20230101.csv"
    data = path.read_bytes()
    assert sniff_format(data[:65536], path.name) == "noaa_csv"
    tables, rejects, rows = read_all(data, "noaa_csv", chunk_rows=300)
    pos, sta = tables["positions"], tables["statics"]
    assert (rows, dict(rejects), pos.num_rows) == (1000, {}, 1000)

    first = pos.slice(0, 1).to_pylist()[0]
    assert first["mmsi"] == 367752440
    assert (first["lat"], first["lon"]) == (43.07917, -70.75733)
    assert first["ts"] == utc(2023, 1, 11)
    assert (first["speed_kn"], first["course_deg"], first["heading_deg"]) == (0.0, None, 95)
    assert (first["nav_status"], first["msg_type"], first["station"], first["line_no"]) == (
        0, 1, "noaa", 2,
    )  # fmt: skip

    msc = rows_by(sta, "mmsi")[636021061]
    assert (msc["imo"], msc["callsign"]) == (9307839, "5LCB4")
    assert (msc["name"], msc["ship_type"], msc["draught_m"]) == ("MSC NAISHA III", 70, 8.0)
    assert (msc["msg_type"], msc["line_no"]) == (5, 3)

    with path.open(newline="") as f:
        expected = list(csv.DictReader(f))
    got = pos.to_pydict()
    assert got["mmsi"] == [int(r["MMSI"]) for r in expected]
    assert got["lat"] == [float(r["LAT"]) for r in expected]
    assert got["lon"] == [float(r["LON"]) for r in expected]
    assert got["msg_type"] == [{"A": 1, "B": 18}.get(r["TransceiverClass"]) for r in expected]
    headings = [None if float(r["Heading"]) == 511 else int(float(r["Heading"])) for r in expected]
    assert got["heading_deg"] == headings
    assert all(t.date() == datetime(2023, 1, 11).date() for t in got["ts"])  # noqa: DTZ001
    named = {int(r["MMSI"]) for r in expected if r["VesselName"] or r["CallSign"] or r["IMO"]}
    assert set(sta.column("mmsi").to_pylist()) >= named


def noaa_rows(*rows: str, header: str = NOAA_HEADER) -> bytes:
    return ("\n".join((header, *rows)) + "\n").encode()


GOOD = (
    "367752440,2023-01-11T00:00:00,43.07917,-70.75733,0.0,360.0,95.0,SAN JOSE,,WDI9818,31,"
    "0.0,,,,52.0,A"
)


def test_noaa_bad_rows_are_counted_and_neighbours_kept() -> None:
    rest = ",0.0,1.0,95.0,X,,,31,0.0,,,,52.0,A"
    data = noaa_rows(
        GOOD,  # line 2
        "367752441,2023-01-11T00:00:01,abc,-70.7" + rest,  # bad latitude
        "36775x442,2023-01-11T00:00:02,43.0,-70.7" + rest,  # bad MMSI
        "367752443,2023-02-30T00:00:03,43.0,-70.7" + rest,  # no 30 February
        "367752444,2023-01-11T00:00:04,43.0,-70.7,0.0",  # truncated line
        "",  # blank line 7: not a row
        "367752445,2023-01-11T00:00:05,43.0,-70.7,Z" + rest,  # one field too many
        "367752446,2023-01-11T00:00:06,43.1,-70.8,1.5,45.0,511,,,,,,,,,,B",  # line 9: good
    )
    data += b"367752447,2023-01-11T00:00:07,43.2"  # truncated last line, no newline
    tables, rejects, rows = read_all(data, "noaa_csv")
    assert dict(rejects) == {"bad_number": 1, "bad_mmsi": 1, "bad_timestamp": 1, "bad_row": 3}
    assert rows == 8  # lines 2-10 less the blank line
    pos = rows_by(tables["positions"])
    assert sorted(pos) == [2, 9]
    assert (pos[9]["mmsi"], pos[9]["msg_type"]) == (367752446, 18)
    assert (pos[9]["heading_deg"], pos[9]["speed_kn"], pos[9]["course_deg"]) == (None, 1.5, 45.0)
    assert tables["statics"].column("line_no").to_pylist() == [2]  # line 9 has no statics


def test_noaa_older_header_variant() -> None:
    header = (
        "mmsi,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,"
        "Status,TranscieverClass"
    )
    data = noaa_rows(
        "338000001,2015-06-01T12:00:00,47.1,-122.4,102.3,12.0,12,FERRY ONE,IMO0000000,WA1,60,5,A",
        "338000001,2015-06-01T12:01:00,47.2,-122.5,3.0,13.0,13,FERRY ONE,IMO0000000,WA1,60,5,A",
        header=header,
    )
    tables, rejects, rows = read_all(data, "noaa_csv")
    assert (rows, dict(rejects)) == (2, {})
    pos = tables["positions"].to_pydict()
    assert pos["speed_kn"] == [None, 3.0]  # 102.3 = not available
    assert pos["nav_status"] == [5, 5]
    assert pos["ts"] == [utc(2015, 6, 1, 12), utc(2015, 6, 1, 12, 1)]
    sta = tables["statics"].to_pylist()
    assert len(sta) == 1  # identical statics of one vessel are de-duplicated
    assert (sta[0]["imo"], sta[0]["ship_type"], sta[0]["name"]) == (None, 60, "FERRY ONE")


def test_noaa_without_transceiver_class() -> None:
    header = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType"
    data = noaa_rows(
        "366000001,2012-01-01T00:00:00,30.0,-90.0,1.0,2.0,3,LADY B,,WXY1,31", header=header
    )
    tables, rejects, rows = read_all(data, "noaa_csv")
    assert (rows, rejects) == (1, Counter())
    assert tables["positions"].column("msg_type").to_pylist() == [None]
    sta = tables["statics"].to_pylist()
    assert [(r["msg_type"], r["name"], r["callsign"], r["ship_type"]) for r in sta] == [
        (None, "LADY B", "WXY1", 31)
    ]


def test_noaa_statics_change_makes_a_new_row() -> None:
    row = (
        "257000001,2023-01-11T0{}:00:00,60.0,5.0,10.0,10.0,10,NORDLYS,IMO9000001,LAAA,70,0,"
        "{},,{},70,A"
    )
    data = noaa_rows(row.format(0, 100, 5.0), row.format(1, 100, 5.0), row.format(2, 100, 6.5))
    tables, _, _ = read_all(data, "noaa_csv")
    sta = tables["statics"].to_pydict()
    assert (sta["draught_m"], sta["line_no"]) == ([5.0, 6.5], [2, 4])
    assert tables["positions"].num_rows == 3


def test_noaa_from_a_stream_without_readline() -> None:
    import zstandard

    packed = zstandard.ZstdCompressor().compress(noaa_rows(GOOD, GOOD))
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(packed))
    batches = list(read_tabular(reader, "noaa_csv"))
    assert [b.tables["positions"].num_rows for b in batches] == [2]


def test_noaa_without_mmsi_column_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="header has no mmsi column"):
        list(read_tabular(io.BytesIO(b"BaseDateTime,LAT,LON\n"), "noaa_csv", name="a.csv"))


# --- Danish Maritime Authority ----------------------------------------------------------


def test_dma_rows() -> None:
    data = DMA_CSV.encode()
    assert sniff_format(data) == "dma_csv"
    tables, rejects, rows = read_all(data, "dma_csv")
    assert rows == 9
    assert dict(rejects) == {"bad_timestamp": 1, "bad_row": 1}
    pos = rows_by(tables["positions"])
    assert sorted(pos) == [2, 3, 4, 5, 6, 7, 9]

    base = pos[2]
    assert (base["msg_type"], base["is_base_station"], base["nav_status"]) == (4, True, 15)
    a = pos[3]
    assert (a["ts"], a["mmsi"], a["station"]) == (utc(2023, 1, 1), 219000873, "dma")
    assert (a["lat"], a["lon"]) == (56.99091, 10.304543)
    assert (a["course_deg"], a["heading_deg"]) == (30.6, 207)
    assert (a["msg_type"], a["nav_status"], a["rate_of_turn_degpm"]) == (1, 0, 0.0)
    assert pos[4]["nav_status"] == 5  # Moored
    assert (pos[5]["msg_type"], pos[5]["heading_deg"]) == (18, None)  # 511 = not available
    assert pos[6]["rate_of_turn_degpm"] == -12.9
    aton = pos[7]
    assert (aton["msg_type"], aton["is_aton"], aton["name"]) == (21, True, "ODENSE FJORD BØJE 7")
    na = pos[9]
    assert [na[c] for c in ("lat", "lon", "speed_kn", "course_deg", "heading_deg")] == [None] * 5

    sta = rows_by(tables["statics"])
    assert sorted(sta) == [4, 5, 6]  # base station, AtoN and "Unknown" rows carry no statics
    skandi = sta[4]
    assert (skandi["msg_type"], skandi["imo"], skandi["callsign"], skandi["name"]) == (
        5, 9248801, "OXPJ2", "SKANDI",
    )  # fmt: skip
    assert (skandi["ship_type"], skandi["draught_m"]) == (70, 4.5)
    assert skandi["destination"] == "KALUNDBORG"
    dims = ("dim_to_bow_m", "dim_to_stern_m", "dim_to_port_m", "dim_to_starboard_m")
    assert [skandi[d] for d in dims] == [70, 12, 6, 6]
    eta = ("eta_month", "eta_day", "eta_hour", "eta_minute")
    assert [skandi[e] for e in eta] == [1, 2, 8, 0]
    albatros = sta[5]
    assert (albatros["msg_type"], albatros["ship_type"], albatros["imo"]) == (24, 36, None)
    assert (albatros["destination"], albatros["draught_m"]) == (None, None)
    assert sta[6]["ship_type"] == 81  # Tanker, category X


# --- Argenni decoded reports (semicolons, epoch milliseconds, statics on every row) -------

ARGENNI_HEADER = (
    '"timestamp_pretty";"timestamp";"msgid";"targetType";"mmsi";"lat";"long";"posacc";"sog";'
    '"cog";"shipType";"dimBow";"draught";"dimPort";"dimStarboard";"dimStern";"month";"week";'
    '"imo";"country";"name";"callsign"'
)
# Made-up vessels in the file's shapes: quoted text, epoch ms (and one in seconds).
ARGENNI_CSV = "\n".join(
    [
        ARGENNI_HEADER,
        '"01/04/2018 05:19:48";1522559988000;1;"A";205000001;54.536476;10.313084;1;4;159.9;'
        '"TANKER";108;6.2;15;6;34;4;13;9000001;"Belgium";"TEMSE ONE";"ONAA"',  # line 2
        '"01/04/2018 05:20:48";1522560048;3;"A";205000001;54.53;10.31;0;0.5;360;'
        '"TANKER";108;6.4;15;6;34;4;13;9000001;"Belgium";"TEMSE ONE";"ONAA"',  # 3: epoch s
        '"01/04/2018 05:21:00";1522560060000;2;"A";219000002;55.0;12.0;1;12;90;'
        '"LAW_ENFORCEMENT";10;0;4;4;20;4;13;9000002;"Denmark";"VAGT";"OUAB"',  # 4
        '"01/04/2018 05:21:00";1522560060000;1;"A";219000003;91;181;1;102.3;360;'
        '"UNKNOWN";0;0;0;0;0;4;13;0;"Denmark";"";""',  # 5: nothing available
        '"x";notatime;1;"A";219000004;55.0;12.0;1;1;1;"CARGO";1;1;1;1;1;4;13;1;"D";"X";"Y"',
        '"x";1522560060000;1;"A";2190000x4;55.0;12.0;1;1;1;"CARGO";1;1;1;1;1;4;13;1;"D";"X";"Y"',
        '"x";1522560060000;1;"A";219000005;north;12.0;1;1;1;"CARGO";1;1;1;1;1;4;13;1;"D";"X";"Y"',
        '"x";1522560060000;1;"A";219000006;55.0;12.0',  # 9: truncated
        '"01/04/2018 05:22:00";1522560120000;;"B";219000007;55.1;12.1;0;5;45;'
        '"SHIPS_ACCORDING_TO_RR";5;1.5;2;2;5;4;13;;"Denmark";"JOLLE";"OUAC"',  # 10: class B
    ]
).encode()


def test_argenni_rows() -> None:
    assert sniff_format(ARGENNI_CSV, "baltic.csv") == "argenni_csv"
    tables, rejects, rows = read_all(ARGENNI_CSV, "argenni_csv")
    assert rows == 9
    assert dict(rejects) == {"bad_timestamp": 1, "bad_mmsi": 1, "bad_number": 1, "bad_row": 1}
    pos = rows_by(tables["positions"])
    assert sorted(pos) == [2, 3, 4, 5, 10]
    a = pos[2]
    assert (a["ts"], a["mmsi"], a["station"]) == (utc(2018, 4, 1, 5, 19, 48), 205000001, "argenni")
    assert (a["lat"], a["lon"], a["accuracy"]) == (54.536476, 10.313084, True)
    assert (a["speed_kn"], a["course_deg"], a["heading_deg"], a["msg_type"]) == (
        4.0,
        159.9,
        None,
        1,
    )
    assert pos[3]["ts"] == utc(2018, 4, 1, 5, 20, 48)  # seconds are read too
    assert (pos[3]["msg_type"], pos[3]["course_deg"], pos[3]["accuracy"]) == (3, None, False)
    assert pos[4]["msg_type"] == 2
    na = pos[5]
    assert [na[c] for c in ("lat", "lon", "speed_kn", "course_deg")] == [None] * 4
    assert pos[10]["msg_type"] == 18  # no msgid: the class B position report
    assert all(p["name"] is None and p["ship_type"] is None for p in pos.values())

    sta = rows_by(tables["statics"])
    assert sorted(sta) == [2, 3, 4, 5, 10]  # line 3 changes the draught
    nothing = sta[5]  # dimensions 0 are kept (as the NMEA decoder keeps them); the rest is null
    assert [nothing[c] for c in ("imo", "name", "callsign", "ship_type", "draught_m")] == [None] * 5
    temse = sta[2]
    assert (temse["msg_type"], temse["imo"], temse["name"], temse["callsign"]) == (
        5, 9000001, "TEMSE ONE", "ONAA",
    )  # fmt: skip
    assert (temse["ship_type"], temse["draught_m"]) == (80, 6.2)
    dims = ("dim_to_bow_m", "dim_to_stern_m", "dim_to_port_m", "dim_to_starboard_m")
    assert [temse[d] for d in dims] == [108, 34, 15, 6]
    assert sta[3]["draught_m"] == 6.4
    assert (sta[4]["ship_type"], sta[4]["draught_m"]) == (55, None)  # 0 m = not available
    assert (sta[10]["msg_type"], sta[10]["ship_type"], sta[10]["imo"]) == (24, 59, None)


# --- MarineTraffic-style exports (x10 units, "NULL", status 95/98 for stations) -----------

MARINETRAFFIC_HEADER = (
    "MMSI;SHIP_ID;STATUS;SPEED_KNOTSx10;LON;LAT;COURSE;HEADING;TIMESTAMP_UTC;VESSEL_TYPE;"
    "LENGTH;WIDTH;GRT;DWT;DRAUGHT_METERSx10"
)
MARINETRAFFIC_CSV = "\n".join(
    [
        MARINETRAFFIC_HEADER,
        "224000001;100;0;123;-5.35;36.15;262;263;2016-06-01 04:43:48;Bulk Carrier;"
        "180.0;30.0;30000;50000;84",  # line 2
        "224000002;101;99;0;-5.36;36.16;0;511;2016-06-01 04:43:49;Sailing Vessel;"
        "13.0;4.0;NULL;NULL;NULL",  # 3: no status, no draught
        "2240001;102;95;0;-5.6;36.0;0;511;2016-06-01 04:43:50;Manned VTS;0.0;0.0;NULL;NULL;NULL",
        "992240001;103;98;0;-5.4;36.1;0;511;2016-06-01 04:43:51;Navigation Aid;0.0;0.0;"
        "NULL;NULL;NULL",  # 5: aid to navigation
        "224000003;104;15;1023;181;91;360;511;2016-06-01 04:43:52;Fishing;17.0;5.0;NULL;NULL;0",
        "224000004;105;0;abc;-5.3;36.1;0;511;2016-06-01 04:43:53;Tug;30.0;9.0;NULL;NULL;NULL",
        "224000005;106;0;10;-5.3;36.1;0;511;2016-06-01 25:43:53;Tug;30.0;9.0;NULL;NULL;NULL",
        ";107;0;10;-5.3;36.1;0;511;2016-06-01 04:43:54;Tug;30.0;9.0;NULL;NULL;NULL",
    ]
).encode()


def test_marinetraffic_rows() -> None:
    assert sniff_format(MARINETRAFFIC_CSV) == "marinetraffic_csv"
    tables, rejects, rows = read_all(MARINETRAFFIC_CSV, "marinetraffic_csv")
    assert rows == 8
    assert dict(rejects) == {"bad_number": 1, "bad_timestamp": 1, "bad_mmsi": 1}
    pos = rows_by(tables["positions"])
    assert sorted(pos) == [2, 3, 4, 5, 6]
    a = pos[2]
    assert (a["ts"], a["mmsi"], a["station"]) == (
        utc(2016, 6, 1, 4, 43, 48),
        224000001,
        "marinetraffic",
    )
    assert (a["speed_kn"], a["course_deg"], a["heading_deg"], a["nav_status"]) == (
        12.3,
        262.0,
        263,
        0,
    )
    assert (a["lat"], a["lon"], a["msg_type"]) == (36.15, -5.35, None)
    assert (pos[3]["nav_status"], pos[3]["heading_deg"], pos[3]["msg_type"]) == (None, None, None)
    assert (pos[4]["msg_type"], pos[4]["is_base_station"], pos[4]["nav_status"]) == (4, True, None)
    assert (pos[5]["msg_type"], pos[5]["is_aton"]) == (21, True)
    na = pos[6]
    assert [na[c] for c in ("lat", "lon", "speed_kn", "course_deg", "heading_deg")] == [None] * 5
    assert na["nav_status"] == 15
    sta = tables["statics"].to_pylist()
    assert [(s["line_no"], s["mmsi"], s["draught_m"], s["msg_type"]) for s in sta] == [
        (2, 224000001, 8.4, None)
    ]  # only line 2 has a draught (0 = not available)


def test_marinetraffic_layout_with_commas() -> None:
    data = MARINETRAFFIC_CSV.replace(b";", b",")
    assert sniff_format(data) == "marinetraffic_csv"
    commas, rejects, _ = read_all(data, "marinetraffic_csv")
    semis, _, _ = read_all(MARINETRAFFIC_CSV, "marinetraffic_csv")
    assert commas["positions"].equals(semis["positions"])
    assert dict(rejects) == {"bad_number": 1, "bad_timestamp": 1, "bad_mmsi": 1}


# --- VesselsValue positions (ID, dd/mm/YYYY HH:MM) --------------------------------------

VESSELSVALUE_CSV = (
    "\ufeffID,ais_pos_timestamp,longitude,latitude\n"
    "1,20/03/2021 00:22,32.32925,31.4386\n"  # line 2
    "1,20/03/2021 01:25:30,32.3986,31.40955\n"  # 3: with seconds
    "2,31/02/2021 01:25,32.3986,31.40955\n"  # 4: no 31 February
    "3,2021-03-20 01:25,32.3986,31.40955\n"  # 5: not day-first
    "four,20/03/2021 01:25,32.3986,31.40955\n"  # 6
    "5,20/03/2021 01:26,32.5,\n"  # 7: no latitude, still a row
).encode()


def test_vesselsvalue_rows() -> None:
    assert sniff_format(VESSELSVALUE_CSV, "boat-positions.csv") == "vesselsvalue_csv"
    tables, rejects, rows = read_all(VESSELSVALUE_CSV, "vesselsvalue_csv")
    assert (rows, dict(rejects)) == (6, {"bad_timestamp": 2, "bad_mmsi": 1})
    pos = tables["positions"].to_pydict()
    assert pos["line_no"] == [2, 3, 7]
    assert pos["mmsi"] == [1, 1, 5]
    assert pos["ts"] == [
        utc(2021, 3, 20, 0, 22),
        utc(2021, 3, 20, 1, 25, 30),
        utc(2021, 3, 20, 1, 26),
    ]
    assert (pos["lat"], pos["lon"]) == ([31.4386, 31.40955, None], [32.32925, 32.3986, 32.5])
    assert set(pos["station"]) == {"vesselsvalue"}
    assert tables["statics"].num_rows == 0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"MMSI\tTIMESTAMP_UTC\tLAT\tLON\n", "marinetraffic_csv"),
        (b'"timestamp","mmsi","lat","long"\n', "argenni_csv"),
        (b"id;ais_pos_timestamp;latitude;longitude\n", "vesselsvalue_csv"),
        (b"MMSI;BaseDateTime;LAT;LON\n", "noaa_csv"),
        (b"mmsi;timestamp;lat;lon\n", "csv"),  # no dialect has these names: generic
    ],
)
def test_sniff_dialect_by_header_names_any_delimiter(header: bytes, expected: str) -> None:
    assert sniff_format(header) == expected


def test_new_dialects_through_seawatch_decode(tmp_path: Path) -> None:
    """``seawatch decode FILE`` takes each layout as it comes (gzip too), by content."""
    from click.testing import CliRunner

    from seawatch.cli.main import cli

    for name, data, rows in (
        ("argenni.csv", ARGENNI_CSV, 5),
        ("mt.csv.gz", gzip.compress(MARINETRAFFIC_CSV), 5),
        ("boats.txt", VESSELSVALUE_CSV, 3),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        out = tmp_path / f"out-{name}"
        res = CliRunner().invoke(cli, ["decode", str(path), "--out", str(out), "--no-progress"])
        assert res.exit_code == 0, res.output
        assert pq.read_table(out / "positions.parquet").num_rows == rows


def test_epoch_times_outside_1980_2100_are_bad() -> None:
    rows = [
        f'"x";{t};1;"A";205000001;54.5;10.3;1;4;159.9;"TANKER";1;1;1;1;1;4;13;1;"B";"T";"O"'
        for t in ("315532799", "4102444800000", "-5", "1522559988.5")
    ]
    tables, rejects, _ = read_all(
        ("\n".join([ARGENNI_HEADER, *rows]) + "\n").encode(), "argenni_csv"
    )
    assert dict(rejects) == {"bad_timestamp": 3}
    assert tables["positions"]["ts"].to_pylist() == [utc(2018, 4, 1, 5, 19, 48, 500_000)]


def test_a_dialect_without_its_time_column_is_a_decode_error() -> None:
    with pytest.raises(
        DecodeError, match="MarineTraffic-style CSV: the header has no timestamp_utc"
    ):
        list(read_tabular(io.BytesIO(b"MMSI;LAT;LON\n1;2;3\n"), "marinetraffic_csv"))


# --- the real files (../shared/data/ais) --------------------------------------------------

ARGENNI = "ais/argenni_ais_reconstruction"
BALTIC = f"{ARGENNI}/decoded_reports_baltic_all_ships_april_2018_micro_20k_sample_ais_data.csv"
GIBRALTAR = (
    f"{ARGENNI}/decoded_traffic_Gibraltar_Straight_all_ships_2016A_micro_20k_sample_ais_data.csv"
)
EVERGIVEN = "ais/movingpandas_evergiven/boat-positions.csv"


def _csv_rows(path: Path, delimiter: str) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def test_baltic_real_file(shared_data: Path) -> None:
    path = shared_data / BALTIC
    data = path.read_bytes()
    assert sniff_format(data[:65536], path.name) == "argenni_csv"
    tables, rejects, rows = read_all(data, "argenni_csv")
    expected = _csv_rows(path, ";")
    assert len(expected) == 19999
    pos, sta = tables["positions"], tables["statics"]
    assert (rows, dict(rejects), pos.num_rows) == (19999, {}, 19999)  # every row is good
    got = pos.to_pydict()
    assert got["mmsi"] == [int(r["mmsi"]) for r in expected]
    assert got["lat"] == [float(r["lat"]) for r in expected]
    assert got["lon"] == [float(r["long"]) for r in expected]
    assert got["speed_kn"] == [float(r["sog"]) for r in expected]
    assert got["msg_type"] == [int(r["msgid"]) for r in expected]
    # R wrote the 15 times that are whole multiples of 1000 s as "1.522551e+12": exact values
    assert sum("e+" in r["timestamp"] for r in expected) == 15
    millis = [int(t.timestamp() * 1000) for t in got["ts"]]
    assert millis == [int(float(r["timestamp"])) for r in expected]
    pretty = [t.strftime("%d/%m/%Y %H:%M:%S") for t in got["ts"]]
    assert pretty == [r["timestamp_pretty"] for r in expected]  # the file's own UTC rendering
    # statics: one per distinct (vessel, static values) in the file
    static_cols = (
        "name",
        "callsign",
        "imo",
        "draught",
        "shipType",
        "dimBow",
        "dimStern",
        "dimPort",
        "dimStarboard",
    )
    keys = {(r["mmsi"], *(r[c] for c in static_cols)) for r in expected}
    assert sta.num_rows == len(keys)
    assert set(sta.column("msg_type").to_pylist()) == {5}
    temse = rows_by(sta, "mmsi")[205366000]
    assert (temse["name"], temse["callsign"], temse["imo"]) == ("TEMSE", "ONCC", 9045807)
    assert (temse["ship_type"], temse["draught_m"], temse["dim_to_bow_m"]) == (80, 6.2, 108)


def test_gibraltar_real_file(shared_data: Path) -> None:
    path = shared_data / GIBRALTAR
    data = path.read_bytes()
    assert sniff_format(data[:65536], path.name) == "marinetraffic_csv"
    tables, rejects, rows = read_all(data, "marinetraffic_csv")
    expected = _csv_rows(path, ";")
    pos, sta = tables["positions"], tables["statics"]
    assert (rows, dict(rejects), pos.num_rows) == (len(expected), {}, 19999)
    got = pos.to_pydict()
    assert got["mmsi"] == [int(r["MMSI"]) for r in expected]
    assert got["lat"] == [float(r["LAT"]) for r in expected]
    assert got["speed_kn"] == [int(r["SPEED_KNOTSx10"]) / 10 for r in expected]
    headings = [None if r["HEADING"] == "511" else int(r["HEADING"]) for r in expected]
    assert got["heading_deg"] == headings
    stamps = [t.strftime("%Y-%m-%d %H:%M:%S") for t in got["ts"]]
    assert stamps == [r["TIMESTAMP_UTC"] for r in expected]
    status = [int(r["STATUS"]) for r in expected]
    assert got["nav_status"] == [s if s <= 15 else None for s in status]
    assert got["msg_type"] == [{95: 4, 98: 21}.get(s) for s in status]
    draughts = {
        (int(r["MMSI"]), int(r["DRAUGHT_METERSx10"]) / 10)
        for r in expected
        if r["DRAUGHT_METERSx10"] not in ("NULL", "0")
    }
    assert set(zip(sta["mmsi"].to_pylist(), sta["draught_m"].to_pylist(), strict=True)) == draughts
    assert sta.num_rows == len(draughts)


def test_evergiven_real_file(shared_data: Path) -> None:
    path = shared_data / EVERGIVEN
    data = path.read_bytes()
    assert sniff_format(data[:65536], path.name) == "vesselsvalue_csv"
    tables, rejects, rows = read_all(data, "vesselsvalue_csv", chunk_rows=5000)
    expected = _csv_rows(path, ",")
    pos = tables["positions"]
    assert (rows, dict(rejects), pos.num_rows) == (22287, {}, 22287)
    got = pos.to_pydict()
    assert got["mmsi"] == [int(r["ID"]) for r in expected]
    assert got["lon"] == [float(r["longitude"]) for r in expected]
    stamps = [t.strftime("%d/%m/%Y %H:%M") for t in got["ts"]]
    assert stamps == [r["ais_pos_timestamp"] for r in expected]
    assert len(set(got["mmsi"])) == 256
    assert tables["statics"].num_rows == 0


def test_real_csv_layouts_through_decode_stream(shared_data: Path) -> None:
    """``decode_stream`` (and so ``seawatch decode FILE``) takes the files as they are."""
    from seawatch.decode.stream import decode

    for rel, station in (
        (BALTIC, "argenni"),
        (GIBRALTAR, "marinetraffic"),
        (EVERGIVEN, "vesselsvalue"),
    ):
        tables, stats = decode(shared_data / rel)
        assert (stats.lines, stats.rejected) == (tables["positions"].num_rows, 0)
        assert set(tables["positions"]["station"].to_pylist()) == {station}


# --- gpsd / gpsdio JSON -----------------------------------------------------------------


def test_gpsdio_tracks_real_files(shared_data: Path) -> None:
    folder = shared_data / "ais/gfw_gpsdio_segment"
    for name, count in (("263576000.json", 948), ("416000000.json", 1668)):
        data = (folder / name).read_bytes()
        assert sniff_format(data[:65536], name) == "gpsd_json"
        tables, rejects, rows = read_all(data, "gpsd_json", chunk_rows=500)
        pos = tables["positions"]
        assert (rows, dict(rejects), pos.num_rows) == (count, {}, count)
        expected = [json.loads(line) for line in data.splitlines()]
        got = pos.to_pydict()
        assert got["mmsi"] == [r["ssvid"] for r in expected]
        # GFW writes 91 for "no latitude", as AIS does
        assert got["lat"] == [None if r["lat"] == 91 else r["lat"] for r in expected]
        speeds = [
            r["speed"] if r["speed"] is None or r["speed"] < 102.25 else None for r in expected
        ]
        assert got["speed_kn"] == speeds
        assert got["line_no"] == list(range(1, count + 1))
        assert tables["statics"].num_rows == 0
    first = read_all((folder / "263576000.json").read_bytes(), "gpsd_json")[0]["positions"]
    row = first.slice(0, 1).to_pylist()[0]
    assert row["ts"] == utc(2015, 10, 15, 2, 39, 55)
    assert (row["lat"], row["lon"], row["course_deg"]) == (-23.2656002045, 97.1636123657, 267.0)
    assert (row["msg_type"], row["station"]) == (None, "gpsdio")


def test_gpsd_unscaled_real_file(shared_data: Path) -> None:
    path = shared_data / "ais/aishub_gpsd_contrib/ais-nmea-sample.gpsdecode-3.22-u-j.json.gz"
    data = gzip.decompress(path.read_bytes())
    tables, rejects, rows = read_all(data, "gpsd_json")
    assert (rows, dict(rejects)) == (82532, {})
    types = Counter(json.loads(line)["type"] for line in data.splitlines())
    pos, sta = tables["positions"], tables["statics"]
    assert pos.num_rows == sum(types[t] for t in (1, 2, 3, 4, 9, 18, 19, 21, 27))
    assert pos.column("ts").null_count == pos.num_rows  # gpsdecode gives no receive time

    first = pos.slice(0, 1).to_pylist()[0]
    assert (first["mmsi"], first["msg_type"], first["line_no"]) == (227006760, 1, 1)
    assert first["lat"] == pytest.approx(29685346 / 600000)
    assert first["lon"] == pytest.approx(78828 / 600000)
    assert (first["course_deg"], first["speed_kn"]) == (36.7, 0.0)
    assert (first["heading_deg"], first["rate_of_turn_degpm"]) == (None, None)

    falkvik = rows_by(sta)[17]
    assert (falkvik["mmsi"], falkvik["msg_type"], falkvik["imo"]) == (258315000, 5, 6514895)
    assert (falkvik["callsign"], falkvik["name"], falkvik["ship_type"]) == ("LFNA", "FALKVIK", 79)
    dims = ("dim_to_bow_m", "dim_to_stern_m", "dim_to_port_m", "dim_to_starboard_m")
    assert [falkvik[d] for d in dims] == [40, 10, 4, 5]
    assert (falkvik["draught_m"], falkvik["destination"]) == (3.8, "FORUS")
    eta = ("eta_month", "eta_day", "eta_hour", "eta_minute")
    assert [falkvik[e] for e in eta] == [3, 14, 12, 40]
    assert set(sta.column("msg_type").to_pylist()) <= {5, 19, 24}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("gpsdecode") is None, reason="gpsdecode (gpsd-clients) absent")
def test_gpsd_scaled_reads_like_unscaled(shared_data: Path) -> None:
    folder = shared_data / "ais/aishub_gpsd_contrib"
    log = (folder / "ais-nmea-sample.log").read_bytes()
    scaled_json = subprocess.run(
        ["gpsdecode", "-j"], input=log, capture_output=True, check=True
    ).stdout
    raw_json = gzip.decompress((folder / "ais-nmea-sample.gpsdecode-3.22-u-j.json.gz").read_bytes())
    scaled, s_rej, _ = read_all(scaled_json, "gpsd_json")
    raw, r_rej, _ = read_all(raw_json, "gpsd_json")
    assert s_rej == r_rej == Counter()
    assert scaled["statics"].equals(raw["statics"])
    s, r = scaled["positions"], raw["positions"]
    for name in s.column_names:
        a, b = s.column(name).to_pylist(), r.column(name).to_pylist()
        if name in ("lat", "lon"):  # gpsd prints 6 decimals
            assert all(x == y or abs(x - y) < 1e-6 for x, y in zip(a, b, strict=True))
        elif name == "rate_of_turn_degpm":  # scaled gpsd rounds |ROT| and drops its sign
            assert all(
                x is None or y is None or abs(x - y) < 0.5 for x, y in zip(a, b, strict=True)
            )
        else:
            assert a == b, name


def test_gpsd_scaled_tokens_and_conventions() -> None:
    tables, rejects, rows = read_all(GPSD_SCALED, "gpsd_json")
    assert (rows, dict(rejects)) == (6, {})
    pos = rows_by(tables["positions"])
    assert sorted(pos) == [1, 2, 3, 5]  # type 5 is a static, the TPV line is not AIS
    assert pos[1]["rate_of_turn_degpm"] == pytest.approx((127 / 4.733) ** 2)  # fastright
    assert (pos[1]["speed_kn"], pos[1]["course_deg"], pos[1]["heading_deg"]) == (12.5, 90.5, 91)
    na = pos[2]
    assert [na[c] for c in ("lat", "lon", "speed_kn", "course_deg", "heading_deg")] == [None] * 5
    assert pos[3]["speed_kn"] == 102.2  # "fast": 102.2 kn or more
    assert pos[3]["rate_of_turn_degpm"] == 0.0
    assert (pos[5]["is_base_station"], pos[5]["ts"]) == (True, None)  # report time ≠ receive time
    sta = tables["statics"].to_pylist()
    assert len(sta) == 1
    assert (sta[0]["draught_m"], sta[0]["eta_month"], sta[0]["eta_hour"]) == (7.2, 7, 9)


def json_lines(n: int, start: int = 0) -> list[bytes]:
    return [
        json.dumps(
            {"mmsi": 200000000 + i, "type": 1, "lat": 10.0 + i / 1000, "lon": 20.0, "speed": 5.0,
             "timestamp": f"2020-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z"}
        ).encode()
        for i in range(start, start + n)
    ]  # fmt: skip


def test_bad_json_lines_are_isolated() -> None:
    good = json_lines(200)
    bad = {
        10: b'{"mmsi": 200000010, "type": 1, "lat": 1',  # truncated
        50: b"[1, 2, 3]",  # not an object
        51: b'{"mmsi": 1}{"mmsi": 2}',  # two objects on a line
        90: b'{"mmsi": 200000090, "type": 1, "lat": "north"}',  # bad number
        91: b'{"mmsi": "abc", "type": 1}',  # bad MMSI
        92: b'{"mmsi": 200000092, "type": 1, "timestamp": "2020-13-01T00:00:00Z"}',
        150: b"",  # blank
        151: b"   \t",  # blank
        170: b'{"mmsi": "200000170", "type": "1", "lat": "10.17", "lon": 20}',  # text numbers
    }
    lines = [bad.get(i, line) for i, line in enumerate(good)]
    data = b"\n".join(lines) + b"\n"
    for chunk_rows in (1000, 37):
        tables, rejects, rows = read_all(data, "gpsd_json", chunk_rows=chunk_rows)
        assert dict(rejects) == {"bad_json": 3, "bad_number": 1, "bad_mmsi": 1, "bad_timestamp": 1}
        assert rows == 198  # the blank lines are not rows
        pos = tables["positions"].to_pydict()
        kept = [i for i in range(200) if i not in bad or i == 170]
        assert pos["line_no"] == [i + 1 for i in kept]
        assert pos["mmsi"] == [200000000 + i for i in kept]
        assert pos["lat"][kept.index(170)] == 10.17


def test_json_without_trailing_newline_and_empty_input() -> None:
    data = b"\n".join(json_lines(3))
    tables, rejects, rows = read_all(data, "gpsd_json")
    assert (rows, tables["positions"].num_rows, rejects) == (3, 3, Counter())
    assert list(read_tabular(io.BytesIO(b""), "gpsd_json")) == []
    assert list(read_tabular(io.BytesIO(b""), "noaa_csv")) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chunk_rows=st.integers(1, 40),
    fmt=st.sampled_from(
        ["gpsd_json", "dma_csv", "noaa_csv", "argenni_csv", "marinetraffic_csv", "vesselsvalue_csv"]
    ),
)
def test_chunking_does_not_change_positions(chunk_rows: int, fmt: str) -> None:
    data = {
        "gpsd_json": GPSD_SCALED + b"\n".join(json_lines(30)) + b"\n{bad\n",
        "dma_csv": DMA_CSV.encode(),
        "noaa_csv": noaa_rows(GOOD, "x,y", GOOD.replace("SAN JOSE", "SAN JUAN"), GOOD),
        "argenni_csv": ARGENNI_CSV,
        "marinetraffic_csv": MARINETRAFFIC_CSV,
        "vesselsvalue_csv": VESSELSVALUE_CSV,
    }[fmt]
    whole, whole_rej, whole_rows = read_all(data, fmt)
    parts, part_rej, part_rows = read_all(data, fmt, chunk_rows=chunk_rows)
    assert parts["positions"].equals(whole["positions"])
    assert (part_rej, part_rows) == (whole_rej, whole_rows)


# --- Parquet ------------------------------------------------------------------------------


def test_parquet_round_trip_by_metadata_and_by_name() -> None:
    tables, _, _ = read_all(DMA_CSV.encode(), "dma_csv")
    positions = tables["positions"]
    buf = io.BytesIO()
    pq.write_table(positions, buf)
    back, rejects, rows = read_all(buf.getvalue(), "parquet", chunk_rows=4, name="whatever.pq")
    assert list(back) == ["positions"]
    assert back["positions"].equals(positions)
    assert (rows, rejects) == (positions.num_rows, Counter())

    plain = pa.table({"mmsi": pa.array([1, 2], pa.int32()), "name": ["A", "B"]})
    buf = io.BytesIO()
    pq.write_table(plain, buf)
    back, _, _ = read_all(buf.getvalue(), "parquet", name="out/statics.parquet")
    assert back["statics"].schema.equals(SCHEMAS["statics"], check_metadata=True)
    assert back["statics"].column("name").to_pylist() == ["A", "B"]
    assert table_name(None, "run1/positions-0003.parquet") == "positions"
    assert table_name(None, "out/statics/part-0.parquet") == "statics"
    assert table_name(None, "mystery.parquet") == "mystery"


def test_parquet_garbage_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="Parquet"):
        list(read_tabular(io.BytesIO(b"PAR1 not really"), "parquet", name="x.parquet"))


def test_output_conforms_even_when_empty() -> None:
    tables, rejects, rows = read_all(noaa_rows("x,y,z"), "noaa_csv")
    assert (rows, dict(rejects)) == (1, {"bad_row": 1})
    assert tables["positions"].num_rows == 0
    assert conform(tables["positions"], "positions").equals(tables["positions"])


def test_json_line_longer_than_a_parse_block() -> None:
    huge = json.dumps({"mmsi": 200000999, "type": 5, "destination": "X" * 1_500_000}).encode()
    data = b"\n".join([*json_lines(100), huge, *json_lines(100, start=100)]) + b"\n"
    tables, rejects, rows = read_all(data, "gpsd_json")
    assert (rows, rejects, tables["positions"].num_rows) == (201, Counter(), 200)
    assert tables["statics"].column("line_no").to_pylist() == [101]


def test_small_chunks_of_a_real_file(shared_data: Path) -> None:
    data = (shared_data / "ais/gfw_gpsdio_segment/338013000.json").read_bytes()
    batches = list(read_tabular(io.BytesIO(data), "gpsd_json", chunk_rows=50))
    assert [b.rows for b in batches] == [50] * 25 + [3]
    lines = pa.concat_tables(b.tables["positions"] for b in batches).column("line_no")
    assert lines.to_pylist() == list(range(1, 1254))
