"""KML 2.2 export: valid against the packaged XSD (the OGC subset we write), a Placemark per
position, vessel or event with its label and style, folders per type and per vessel marked
with their contents' combination, vessel tracks, a typed schema, round trip."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pyarrow as pa
import pytest
from exportdata import LABELS, POLICY, events, expected, exported_schema, positions
from lxml import etree

from seawatch.export.kml import KML_NS, read_kml, write_kml

NS = {"k": KML_NS}


def schema() -> etree.XMLSchema:
    path = resources.files("seawatch.export").joinpath("schemas/kml22-seawatch.xsd")
    return etree.XMLSchema(etree.parse(str(path)))


def _write(tmp_path: Path, kind: str) -> tuple[Path, etree._ElementTree]:
    table = events() if kind == "events" else positions()
    out = tmp_path / f"{kind}.kml"
    write_kml(table, LABELS, out, kind=kind, policy=POLICY)  # type: ignore[arg-type]
    return out, etree.parse(str(out))


@pytest.mark.parametrize("kind", ["positions", "latest", "events"])
def test_valid_against_xsd(tmp_path: Path, kind: str) -> None:
    _, doc = _write(tmp_path, kind)
    xsd = schema()
    assert xsd.validate(doc), xsd.error_log


def test_xsd_rejects_what_kml_does_not_allow(tmp_path: Path) -> None:
    out, doc = _write(tmp_path, "latest")
    xsd = schema()
    pm = doc.find(".//k:Placemark", NS)
    assert pm is not None
    pm.insert(0, pm.find("k:ExtendedData", NS))  # ExtendedData before name: wrong order
    assert not xsd.validate(doc)
    bad = etree.fromstring(out.read_bytes().replace(b"72.8,18.9", b"72.8;18.9"))
    assert not xsd.validate(bad)


def test_document_and_placemarks_carry_labels(tmp_path: Path) -> None:
    _, doc = _write(tmp_path, "latest")
    document = doc.find("k:Document", NS)
    assert document is not None
    assert document.findtext("k:description", None, NS) == "TOP SECRET//ORCON//NOFORN"
    marks = doc.findall("k:Document/k:Folder/k:Placemark", NS)
    assert len(marks) == 6
    ordered = positions().sort_by([("mmsi", "ascending"), ("ts", "ascending")])
    assert [m.findtext("k:description", None, NS) for m in marks] == [
        LABELS[i].marking for i in ordered["label_id"].to_pylist()
    ]
    data = {d.get("name"): d.text for d in marks[2].iterfind(".//k:SchemaData/k:SimpleData", NS)}
    assert data["label"] == "UNCLASSIFIED"
    assert data["speed_kn"] == "12.5"
    assert marks[2].findtext("k:name", None, NS) == "EVER GIVEN"
    assert marks[4].findtext("k:name", None, NS) == "419000001"  # empty name: the MMSI
    assert marks[2].findtext("k:Point/k:coordinates", None, NS) == "72.8,18.9"
    assert marks[2].findtext("k:TimeStamp/k:when", None, NS) == "2025-03-01T12:00:00.123456Z"
    assert marks[2].findtext("k:styleUrl", None, NS) == "#vessel-unknown"


def test_a_schema_types_the_columns(tmp_path: Path) -> None:
    _, doc = _write(tmp_path, "latest")
    fields = {
        f.get("name"): f.get("type") for f in doc.iterfind("k:Document/k:Schema/k:SimpleField", NS)
    }
    assert fields["mmsi"] == fields["heading_deg"] == "int"
    assert fields["speed_kn"] == "double"
    assert fields["accuracy"] == "bool"
    assert fields["ts"] == fields["label"] == fields["name"] == "string"
    assert fields["segment_id"] == "string"  # a 64-bit id: text


def test_positions_in_folders_per_vessel_type_and_vessel_with_tracks(tmp_path: Path) -> None:
    _, doc = _write(tmp_path, "positions")
    types = doc.findall("k:Document/k:Folder", NS)
    assert [f.findtext("k:name", None, NS) for f in types] == ["unknown"]  # no ship types
    folders = types[0].findall("k:Folder", NS)
    # vessels by MMSI, named by their name (else MMSI)
    assert [f.findtext("k:name", None, NS) for f in folders] == [
        "NO NAME",
        "EVER GIVEN",
        "419000001",
    ]
    marks = [f.findtext("k:description", None, NS) for f in folders]
    assert marks[1] == "SECRET//REL TO USA, IND"  # U + S//REL TO IND, USA combined
    assert marks[2] == "TOP SECRET//ORCON//NOFORN"
    points = [len(f.findall("k:Placemark/k:Point", NS)) for f in folders]
    assert points == [2, 2, 2]
    times = [w.text for w in folders[0].iterfind(".//k:when", NS)]
    assert times == sorted(times)
    # tracks: a line per vessel; 12345's two positions lie either side of the antimeridian,
    # so its track is two pieces of one point each: no line across the globe
    lines = [f.findtext("k:Placemark/k:LineString/k:coordinates", None, NS) for f in folders]
    assert lines == [None, "72.8,18.9 72.81,18.91", "100.25,-10.5 100.3,-10.6"]
    track = folders[1].find("k:Placemark[k:LineString]", NS)
    assert track is not None
    assert track.findtext("k:name", None, NS) == "EVER GIVEN track"
    assert track.findtext("k:description", None, NS) == marks[1]
    assert track.findtext("k:styleUrl", None, NS) == "#track-unknown"


def test_events_in_a_folder_per_type_with_time_spans_and_styles(tmp_path: Path) -> None:
    _, doc = _write(tmp_path, "events")
    folders = doc.findall("k:Document/k:Folder", NS)
    assert [f.findtext("k:name", None, NS) for f in folders] == ["encounter", "gap", "loitering"]
    marks = doc.findall("k:Document/k:Folder/k:Placemark", NS)
    assert marks[0].findtext("k:name", None, NS) == "encounter: MMSI 366123456"
    assert marks[0].findtext("k:TimeSpan/k:end", None, NS) == "2025-03-01T14:00:00.123456Z"
    assert marks[0].findtext("k:styleUrl", None, NS) == "#event-encounter"
    assert marks[1].find("k:TimeSpan/k:end", NS) is None  # open gap
    assert marks[1].find("k:Point", NS) is None  # no position
    styles = {s.get("id"): s for s in doc.iterfind("k:Document/k:Style", NS)}
    assert set(styles) == {"event-encounter", "event-gap", "event-loitering"}
    colours = {k: s.findtext("k:IconStyle/k:color", None, NS) for k, s in styles.items()}
    assert len(set(colours.values())) == 3


@pytest.mark.parametrize("kind", ["latest", "events"])
def test_round_trip(tmp_path: Path, kind: str) -> None:
    table = events() if kind == "events" else positions()
    out, _ = _write(tmp_path, kind)
    back, members = read_kml(out, exported_schema(table))
    if kind == "events":  # by type; details come back flattened (test_export_styled)
        table = table.sort_by("event_type").drop_columns(["details"])
        back = back.drop_columns(["details"])
    else:
        table = table.sort_by([("mmsi", "ascending"), ("ts", "ascending")])
    assert back.equals(expected(table))
    assert members == {"label": "TOP SECRET//ORCON//NOFORN", "kind": kind}


def test_round_trip_positions_in_vessel_order(tmp_path: Path) -> None:
    table = positions()
    out, _ = _write(tmp_path, "positions")
    back, _ = read_kml(out, exported_schema(table))
    ordered = table.sort_by([("mmsi", "ascending"), ("ts", "ascending")])
    assert back.equals(expected(ordered))


def test_text_is_escaped_and_forbidden_characters_dropped(tmp_path: Path) -> None:
    table = positions().slice(0, 1)
    table = table.set_column(11, "name", pa.array(['A&B <"C">\x01']))
    out = tmp_path / "x.kml"
    write_kml(table, LABELS, out, kind="latest", policy=POLICY)
    doc = etree.parse(str(out))
    assert schema().validate(doc)
    assert doc.findtext("k:Document/k:Folder/k:Placemark/k:name", None, NS) == 'A&B <"C">'
