"""The NMEA decoder on the input forms found in real feeds: times, tag blocks, reassembly,
rejects, sources. Each test pins one behaviour with sentences taken from real files."""

from __future__ import annotations

import bz2
import gzip
import io
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
import zstandard

from seawatch.decode import NmeaDecoder, decode, decode_stream
from seawatch.decode.encode import checksum, encode_payload, to_sentences
from seawatch.decode.layouts import LAYOUTS
from seawatch.decode.schemas import SCHEMAS
from seawatch.errors import InputError
from seawatch.settings import load_settings
from seawatch.sources.files import chunks

# Real sentences (aishub sample, DMA AisLib, AMSA exactEarth, GFW ais-tools, Kystverket).
TYPE1 = "!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23"
TYPE5_1 = "!AIVDM,2,1,9,B,53nFBv01SJ<thHp6220H4heHTf2222222222221?50:454o<`9QSlUDp,0*09"
TYPE5_2 = "!AIVDM,2,2,9,B,888888888888880,2*2E"


def ts(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def rows(data: str | bytes, table: str = "positions", **kw: object) -> list[dict[str, object]]:
    raw = data.encode() if isinstance(data, str) else data
    tables, _ = decode(raw, **kw)  # type: ignore[arg-type]
    return tables[table].to_pylist() if table in tables else []


def test_type1_golden() -> None:
    # expected values: gpsdecode 3.22 on the same sentence (aishub sample, line 6)
    (r,) = rows(TYPE1 + "\n")
    assert r["msg_type"] == 1
    assert r["mmsi"] == 227006760
    assert r["nav_status"] == 0
    assert r["rate_of_turn_degpm"] is None
    assert r["speed_kn"] == 0.0
    assert r["accuracy"] is False
    assert r["lon"] == pytest.approx(0.131380, abs=1e-6)
    assert r["lat"] == pytest.approx(49.475577, abs=1e-6)
    assert r["course_deg"] == pytest.approx(36.7)
    assert r["heading_deg"] is None  # 511 = not available
    assert (r["second"], r["raim"], r["radio"]) == (14, False, 22136)
    assert r["maneuver"] is None  # 0 = not available (gpsd prints 0)
    assert r["channel"] == "A"
    assert r["talker"] == "AI"
    assert r["ts"] is None  # no time in the input: null, never invented


def test_type5_reassembled_golden() -> None:
    (r,) = rows(f"{TYPE5_1}\n{TYPE5_2}\n", "statics")
    assert r["mmsi"] == 258315000
    assert r["imo"] == 6514895
    assert r["callsign"] == "LFNA"
    assert r["name"] == "FALKVIK"
    assert r["ship_type"] == 79
    assert (r["dim_to_bow_m"], r["dim_to_stern_m"]) == (40, 10)
    assert (r["dim_to_port_m"], r["dim_to_starboard_m"]) == (4, 5)
    assert (r["eta_month"], r["eta_day"], r["eta_hour"], r["eta_minute"]) == (3, 14, 12, 40)
    assert r["draught_m"] == pytest.approx(3.8)
    assert r["destination"] == "FORUS"
    assert r["line_no"] == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"\\c:1599239526*00\\{TYPE1}", "2020-09-04T17:12:06"),  # tag block, seconds
        (f"\\s:rORBCOMM,c:1599239526500*00\\{TYPE1}", "2020-09-04T17:12:06.500"),  # ms
        (f"{TYPE1},1541030311,1541030400", "2018-10-31T23:58:31"),  # knapply suffix
        (f"{TYPE1},1328182324603", "2012-02-02T11:32:04.603"),  # exactEarth ms suffix
        (
            f"{TYPE1},d-109,S2105,t050056.00,T56.13718694,r003669946,1325394060,1325394001",
            "2012-01-01T05:01:00",
        ),  # USCG/NAIS
        (f"2021-03-04T05:06:07Z {TYPE1}", "2021-03-04T05:06:07"),  # ISO 8601 prefix
        (f"1614834367.25,{TYPE1}", "2021-03-04T05:06:07.250"),  # epoch prefix
        (f"\\T:2014-12-10 00.00.01*00\\{TYPE1}", "2014-12-10T00:00:01"),  # Orbcomm T:
        (f"$PGHP,1,2013,3,18,9,19,9,499,219,,2190048,1,28*23\n{TYPE1}", "2013-03-18T09:19:09.499"),
        (
            f"$GPRMC,092211.00,A,5759.09700,N,01144.34344,E,5.257,28.27,200715,,,A*58\n{TYPE1}",
            "2015-07-20T09:22:11",
        ),
        (f"$GPZDA,201530.00,04,07,2002,00,00*60\n{TYPE1}", "2002-07-04T20:15:30"),
    ],
)
def test_receive_time_forms(text: str, expected: str) -> None:
    (r,) = rows(text + "\n")
    assert r["ts"] == ts(expected)


def test_tag_block_time_wins_over_suffix_and_pghp_times_only_the_next_sentence() -> None:
    text = (
        f"\\c:1599239526*00\\{TYPE1},1541030311\n"
        "$PGHP,1,2013,3,18,9,19,9,499,219,,2190048,1,28*23\n"
        f"{TYPE1}\n{TYPE1}\n"
    )
    got = [r["ts"] for r in rows(text)]
    assert got == [ts("2020-09-04T17:12:06"), ts("2013-03-18T09:19:09.499"), None]


def test_rmc_time_carries_forward_until_the_next_fix() -> None:
    text = (
        "$GPRMC,092211.00,A,5759.09700,N,01144.34344,E,5.257,28.27,200715,,,A*58\n"
        f"{TYPE1}\n$IIRMC,092210,A,5759.095,N,01144.342,E,5.5,31.1,,0.0,E,A*30\n{TYPE1}\n"
    )
    got = [r["ts"] for r in rows(text)]
    # the second RMC has no date: the date of the first one still applies
    assert got == [ts("2015-07-20T09:22:11"), ts("2015-07-20T09:22:10")]


def test_station_from_tag_block_and_uscg_receiver() -> None:
    text = (
        f"\\s:rEV02,c:1334337317*58\\{TYPE1}\n"
        f"{TYPE1},d-109,S2105,t050056.00,T56.13,r003669946,1325394060,1325394001\n"
    )
    assert [r["station"] for r in rows(text)] == ["rEV02", "003669946"]


def test_reassembly_survives_interleaving_and_other_sentences() -> None:
    other = TYPE5_1.replace(",9,B,", ",2,B,")
    other = other[: other.rindex("*")]
    other = nmea(other[1:])
    text = "\n".join(
        [TYPE5_1, "$BSALR,,006,V,V,general failure*62", TYPE1, other, TYPE5_2]
    )  # fragment 1 of seq 1, junk, a type 1, fragment 1 of seq 2, fragment 2 of seq 1
    tables, stats = decode((text + "\n").encode())
    assert tables["statics"].column("name").to_pylist() == ["FALKVIK"]
    assert tables["statics"].column("line_no").to_pylist() == [1]
    assert tables["positions"].num_rows == 1
    assert stats.other_sentences == 1
    assert stats.rejects == {"orphan_fragment": 1}  # seq 2 never completed


def test_tag_block_groups_key_fragments_even_without_station() -> None:
    text = (
        "\\g:1-2-1278,s:66,c:1661782369*43\\!AIVDM,2,1,3,A,56=nR7D00003A<I@E=@TmDh637OS60mA:"
        "222220N1@6427?P00888888,0*66\n"
        f"{TYPE1}\n"
        "\\g:2-2-1278*51\\!AIVDM,2,2,3,A,888888888888880,2*27\n"
    )
    (r,) = rows(text, "statics")
    assert (r["mmsi"], r["name"]) == (417178141, "IMULA 1781 MTR")  # as gpsdecode
    assert r["station"] == "66"
    assert r["ts"] == datetime.fromtimestamp(1661782369, UTC)


def test_two_records_on_one_line() -> None:
    # gfw ais-tools bad-type5.nmea: both fragments of a type 5 on one line
    line = (
        "\\s:rMT2083,t:marinetraffic,c:1698785948*44\\!ABVDM,2,1,8,A,53l3sj42A590=5Q2220UHE:"
        "04=@Ttr222222221@9HH>46ii0=D532Dp?`1D,0*28\\s:rMT2083,t:marinetraffic,c:1698785947*4B"
        "\\!AIVDM,2,2,8,A,888888888888880,2*2C"
    )
    tables, stats = decode((line + "\n").encode())
    assert stats.sentences == 2
    assert tables["statics"].num_rows == 1


def test_orphans_time_out_and_buffer_is_bounded() -> None:
    settings = load_settings(env={"SEAWATCH_DECODE_MAX_PENDING_FRAGMENTS": "4"})
    firsts = [TYPE5_1.replace(",9,B,", f",{i},B,") for i in range(9)]
    firsts = [nmea(s[1 : s.rindex("*")]) for s in firsts]
    dec = NmeaDecoder(settings)
    b1 = dec.feed(("\n".join(firsts) + "\n").encode())
    assert dec.pending.count == 4  # bounded: the oldest were dropped as orphans
    assert b1.stats.rejects == {"orphan_fragment": 5}
    b2 = dec.finish()
    assert b2.stats.rejects == {"orphan_fragment": 4}


def test_orphan_timeout_by_time() -> None:
    settings = load_settings(env={"SEAWATCH_DECODE_ORPHAN_TIMEOUT_S": "10"})
    text = f"\\c:1000000000*00\\{TYPE5_1}\n\\c:1000000100*00\\{TYPE1}\n" + (
        f"\\c:1000000200*00\\{TYPE5_1}\n\\c:1000000201*00\\{TYPE5_2}\n"
    )
    tables, stats = decode(text.encode(), settings=settings)
    assert tables["statics"].num_rows == 1
    assert stats.rejects == {"orphan_fragment": 1}


def nmea(body: str) -> str:
    """``!body*hh`` with a correct checksum."""
    return f"!{body}*{checksum(body)}"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*24", "bad_checksum"),
        ("!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0", "no_checksum"),
        ("!AIVDM,1,1,,B,,0*25", "empty_payload"),
        ("!AIVDM,1,1,,2,601uEP19bi7P04810,6*5D", "bad_fill_bits"),
        (nmea("AIVDM,3,4,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0"), "bad_fragment"),
        (nmea("AIVDM,1,1,,A,13HOI:~P0000VOHLCnHQKwvL05Ip,0"), "bad_payload_char"),
        (nmea("AIVDM,1,1,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0"), "malformed_sentence"),
        (nmea("AIVDM,1,1,,A,w3HOI:0P0000VOHLCnHQKwvL05Ip,0"), "unknown_msg_type"),
        (nmea("AIVDM,1,1,,A,13HOI:0P0000VOHL,0"), "short_message"),
        ("IamNotAnAisMessage1111", "not_nmea"),
        ("!AIVDM,1,1,,A,13HOI:\xff\xfeP0000VOHLCnHQKwvL05Ip,0*23", "non_ascii"),
        ("!AIVDM,1,1,,A," + "1" * 5000 + ",0*00", "line_too_long"),
    ],
)
def test_bad_lines_are_counted_by_reason_and_good_neighbours_kept(line: str, reason: str) -> None:
    data = f"{TYPE1}\n{line}\n{TYPE1}\n".encode("latin-1")
    quarantine = io.BytesIO()
    tables, stats = decode(data, quarantine=quarantine)
    assert tables["positions"].num_rows == 2
    assert stats.rejects == {reason: 1}
    (q,) = quarantine.getvalue().splitlines()
    assert q.startswith(f"2\t{reason}\t".encode())


def test_comments_blank_lines_and_time_only_lines_are_skipped() -> None:
    tables, stats = decode(f"# a comment\n\n{TYPE1}\n,1541030400\n\r\n".encode())
    assert tables["positions"].num_rows == 1
    assert stats.skipped_lines == 4
    assert stats.rejects == {}


def test_keep_raw_joins_fragments() -> None:
    (r,) = rows(f"{TYPE5_1}\n{TYPE5_2}\n", "statics", keep_raw=True)
    assert r["raw"] == f"{TYPE5_1}\n{TYPE5_2}"
    (p,) = rows(TYPE1 + "\n", keep_raw=False)
    assert p["raw"] is None


@pytest.mark.parametrize("kind", ["plain", "gz", "bz2", "zst", "lines", "fileobj"])
def test_sources(kind: str, tmp_path: Path) -> None:
    data = f"{TYPE5_1}\n{TYPE5_2}\n{TYPE1}".encode()  # no final newline
    src: object
    if kind == "lines":
        src = data.decode().splitlines()
    elif kind == "fileobj":
        src = io.BytesIO(data)
    else:
        pack = {
            "plain": lambda b: b,
            "gz": gzip.compress,
            "bz2": bz2.compress,
            "zst": zstandard.ZstdCompressor().compress,
        }[kind]
        src = tmp_path / f"in.{kind}"
        src.write_bytes(pack(data))
    tables, stats = decode(src)  # type: ignore[arg-type]
    assert stats.by_type == {1: 1, 5: 1}
    assert tables["statics"].column("name").to_pylist() == ["FALKVIK"]


def test_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(decode_stream(tmp_path / "missing.nmea"))


def test_every_layout_lands_in_its_table_with_the_published_schema() -> None:
    lines: list[str] = []
    for lay in LAYOUTS:
        nbits = max(lay.min_bits, lay.nominal_bits)
        payload, fill = encode_payload(lay, {"mmsi": 366000001}, nbits=nbits)
        lines += to_sentences(payload, fill, seq_id=len(lines) % 10)
    tables, stats = decode(("\n".join(lines) + "\n").encode())
    assert stats.rejects == {}
    expected = {lay.table for lay in LAYOUTS} | {t for lay in LAYOUTS for t in lay.also}
    assert set(tables) == expected
    for name, table in tables.items():
        assert table.schema.equals(SCHEMAS[name], check_metadata=True), name
    primary = sum(1 for _ in LAYOUTS)
    assert stats.messages == primary


def test_each_schema_column_is_documented() -> None:
    for name, schema in SCHEMAS.items():
        for f in schema:
            assert f.metadata, f"{name}.{f.name} has no doc"
            assert f.metadata.get(b"doc"), f"{name}.{f.name} has no doc"
        assert schema.field("ts").type == pa.timestamp("us", tz="UTC")


def test_memory_stays_bounded_without_newlines(tmp_path: Path) -> None:
    # 3 MiB of payload characters with no newline, then a good line: the long line is one
    # line_too_long reject, cut to the chunk size, the good line still decodes, and the
    # byte count still adds up to the file size
    path = tmp_path / "long.nmea"
    path.write_bytes(b"1" * (3 << 20) + b"\n" + TYPE1.encode() + b"\n")
    settings = load_settings(env={"SEAWATCH_DECODE_CHUNK_BYTES": "65536"})
    with path.open("rb") as f:
        pieces = [len(c) for c in chunks(f, 65536) if isinstance(c, bytes)]
    assert max(pieces) <= 65536 + 1
    tables, stats = decode(path, settings=settings)
    assert stats.rejects == {"line_too_long": 1}
    assert stats.lines == 2
    assert stats.bytes == path.stat().st_size
    assert tables["positions"].num_rows == 1
