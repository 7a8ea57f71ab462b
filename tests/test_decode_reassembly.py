"""Reassembly of what real feeds send (issue 16): an empty last fragment, fragments in
reverse order. No file under ../shared/data/ais (pyais, gfw ais-tools, knapply) holds either
case, so the inputs are built from real sentences: the gfw ais-tools type 8
(``type8.nmea``) and the AISHub type 5 of test_decode_nmea.py."""

from __future__ import annotations

import pyarrow as pa

from seawatch.decode import decode
from seawatch.decode.encode import checksum
from seawatch.decode.reassembly import REORDER_LINES

# gfw ais-tools type8.nmea, a one-sentence type 8 (binary broadcast)
TYPE8_PAYLOAD, TYPE8_FILL = "8Nj<9D0000ttt0<D04@<tt<8`H0H@@l44L`<40<@tT`<4T0`=h0", 2
TYPE5_1 = "!AIVDM,2,1,9,B,53nFBv01SJ<thHp6220H4heHTf2222222222221?50:454o<`9QSlUDp,0*09"
TYPE5_2 = "!AIVDM,2,2,9,B,888888888888880,2*2E"
EMPTY_2 = "!AIVDM,2,2,0,A,,0*16"  # as a real feed sent it (issue 16)
SKIP = ("line_no", "nfrag", "raw", "channel")


def _nmea(body: str) -> str:
    return f"!{body}*{checksum(body)}"


def _tag(c_s: int, sentence: str) -> str:
    body = f"c:{c_s}"
    return f"\\{body}*{checksum(body)}\\{sentence}"


def _table(tables: dict[str, pa.Table], name: str) -> list[dict[str, object]]:
    return tables[name].to_pylist() if name in tables else []


def _rows(text: str, table: str) -> list[dict[str, object]]:
    tables, _ = decode((text + "\n").encode())
    return [{k: v for k, v in r.items() if k not in SKIP} for r in _table(tables, table)]


def test_an_empty_last_fragment_adds_no_bits() -> None:
    single = _nmea(f"AIVDM,1,1,,A,{TYPE8_PAYLOAD},{TYPE8_FILL}")
    first = _nmea(f"AIVDM,2,1,0,A,{TYPE8_PAYLOAD},{TYPE8_FILL}")
    assert checksum(EMPTY_2[1:-3]) == "16"
    (want,) = _rows(single, "binary_messages")
    tables, stats = decode(f"{first}\n{EMPTY_2}\n".encode())
    got = [{k: v for k, v in r.items() if k not in SKIP} for r in _table(tables, "binary_messages")]
    assert got == [want]
    assert stats.rejects == {}
    assert (stats.empty_fragments, stats.reordered) == (1, 0)


def test_an_empty_fragment_alone_is_still_rejected() -> None:
    _, stats = decode(f"{_nmea('AIVDM,2,1,0,A,,0')}\n{EMPTY_2}\n".encode())
    assert stats.messages == 0
    assert stats.rejects == {"empty_payload": 2}
    _, stats = decode(b"!AIVDM,1,1,,B,,0*25\n")  # pyais nmea_data_sample.txt: one sentence
    assert stats.rejects == {"empty_payload": 1}


def test_fragments_in_reverse_order() -> None:
    want = _rows(f"{TYPE5_1}\n{TYPE5_2}", "statics")
    assert want[0]["name"] == "FALKVIK"
    tables, stats = decode(f"{TYPE5_2}\n{TYPE5_1}\n".encode())
    got = [{k: v for k, v in r.items() if k not in SKIP} for r in _table(tables, "statics")]
    assert got == want
    assert stats.rejects == {}
    assert (stats.empty_fragments, stats.reordered) == (0, 1)


def test_reverse_order_only_within_the_orphan_timeout() -> None:
    t0 = 1_700_000_000
    late = f"{_tag(t0, TYPE5_2)}\n{_tag(t0 + 61, TYPE5_1)}\n"  # default timeout: 60 s
    _, stats = decode(late.encode())
    assert stats.messages == 0
    assert stats.rejects == {"orphan_fragment": 2}
    soon = f"{_tag(t0, TYPE5_2)}\n{_tag(t0 + 59, TYPE5_1)}\n"
    tables, stats = decode(soon.encode())
    assert tables["statics"]["name"].to_pylist() == ["FALKVIK"]
    assert stats.reordered == 1


def test_a_repeated_fragment_still_starts_a_new_message() -> None:
    tables, stats = decode(f"{TYPE5_1}\n{TYPE5_1}\n{TYPE5_2}\n".encode())
    assert tables["statics"]["name"].to_pylist() == ["FALKVIK"]
    assert stats.rejects == {"orphan_fragment": 1}
    assert stats.reordered == 0


def test_reverse_order_only_side_by_side() -> None:
    """A fragment 1 more than REORDER_LINES lines after the fragment 2 it would complete
    starts a new message: in a real feed that fragment 2 is an orphan whose fragment 1 was
    lost, and joining it to the next message with the same sequence id loses that message."""
    type1 = "!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23"
    for between, n in ((REORDER_LINES - 1, 1), (REORDER_LINES, 0)):
        text = "\n".join([TYPE5_2, *[type1] * between, TYPE5_1]) + "\n"
        tables, stats = decode(text.encode())
        assert len(_table(tables, "statics")) == n
        assert stats.reordered == n
