"""Labels: markings parsed and written, the access decision at every edge, combination,
the labels table, labelling rules and settings, and docs/labels.md's examples."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seawatch.errors import ConfigError, LabelError, SchemaError, SeawatchError
from seawatch.labels import (
    LABELS_SCHEMA,
    Label,
    LabelRules,
    Policy,
    Reader,
    allowed_label_ids,
    combine,
    label_mask,
    labels_from_table,
    labels_table,
    may_read,
    parse_label,
)
from seawatch.settings import SETTINGS, load_settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "labels.md"
POLICY = Policy(node_nation="USA")
LABEL_SETTINGS = (
    "node_nation",
    "classification_levels",
    "coalitions",
    "label_caveats",
    "default_label",
    "label_rules",
)


def lab(marking: str, originator: str | None = None) -> Label:
    return parse_label(marking, POLICY, originator=originator)


def rd(text: str) -> Reader:
    return Reader.parse(text, POLICY)


# --- markings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marking", "originator", "canonical"),
    [
        ("UNCLASSIFIED", None, "UNCLASSIFIED"),
        ("U", "IND", "UNCLASSIFIED"),
        ("r", None, "RESTRICTED"),
        ("C//REL TO IND, USA", "IND", "CONFIDENTIAL//REL TO IND, USA"),
        ("CONFIDENTIAL//REL TO USA, IND", "IND", "CONFIDENTIAL//REL TO IND, USA"),
        ("confidential // rel to  usa ,ind", "IND", "CONFIDENTIAL//REL TO IND, USA"),
        ("S//REL TO GBR, AUS", "USA", "SECRET//REL TO USA, AUS, GBR"),  # owner added, first
        ("S//REL TO QUAD, FVEY, JPN", "USA", "SECRET//REL TO USA, JPN, FVEY, QUAD"),
        ("SECRET//NOFORN", None, "SECRET//NOFORN"),
        ("SECRET//REL TO USA", "USA", "SECRET//NOFORN"),
        ("TS//REL TO IND//ORCON/LIMDIS", "IND", "TOP SECRET//LIMDIS/ORCON//NOFORN"),
        ("top   secret//propin", None, "TOP SECRET//PROPIN"),
        ("S//ORCON/REL TO GBR", None, "SECRET//ORCON//REL TO USA, GBR"),
    ],
)
def test_parse_gives_the_canonical_marking(
    marking: str, originator: str | None, canonical: str
) -> None:
    label = lab(marking, originator)
    assert str(label) == canonical
    assert label.marking == canonical
    assert lab(canonical, label.originator) == label
    assert label.originator == (originator or "USA")


def test_label_fields() -> None:
    label = lab("S//ORCON//REL TO GBR, QUAD", "IND")
    assert label == Label(
        "SECRET", "IND", frozenset({"IND", "GBR", "QUAD"}), frozenset({"ORCON"}), False
    )
    assert lab("U").releasable_to is None
    assert lab("S//NOFORN", "JPN").releasable_to == {"JPN"}
    # the constructor adds the originator to a REL TO list (not to a derived label's)
    assert Label("SECRET", "IND", frozenset({"USA"})).releasable_to == {"IND", "USA"}
    assert Label("SECRET", "IND", frozenset({"USA"}), derived=True).releasable_to == {"USA"}
    assert str(Label("SECRET", "IND", frozenset({"USA"}), derived=True)) == "SECRET//REL TO USA"


@pytest.mark.parametrize(
    ("marking", "message"),
    [
        ("", "empty marking"),
        ("   ", "empty marking"),
        ("SECERT", "unknown classification 'SECERT' (known: UNCLASSIFIED (U)"),
        ("T", "unknown classification 'T'"),
        ("SECRET//", "empty block between '//'"),
        ("SECRET//NOFORN//", "empty block between '//'"),
        ("SECRET///NOFORN", "empty control between '/'"),
        ("SECRET//REL TO", "REL TO needs a comma-separated list"),
        ("SECRET//REL TO USA,", "REL TO needs a comma-separated list"),
        ("SECRET//REL TO US", "'US' in REL TO is neither a three-letter country code nor a"),
        ("SECRET//REL TO UAS", "'UAS' in REL TO is not an ISO 3166-1 alpha-3 country code"),
        ("SECRET//REL TO QAUD", "'QAUD' in REL TO is neither"),
        ("SECRET//NOFORN/REL TO GBR", "NOFORN and REL TO together"),
        ("SECRET//REL TO GBR//REL TO IND", "REL TO given twice"),
        ("SECRET//ORCN", "unknown control 'ORCN' (expected REL TO, NOFORN or a caveat: LIMDIS"),
        ("SECRET//RELTO GBR", "unknown control 'RELTO GBR'"),
    ],
)
def test_bad_markings_say_what_is_wrong(marking: str, message: str) -> None:
    with pytest.raises(LabelError, match=re.escape(message)):
        lab(marking)


def test_label_error_is_a_400_seawatch_error() -> None:
    assert issubclass(LabelError, SeawatchError)
    assert LabelError.http_status == 400


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"originator": "US"}, "bad originator 'US'"),
        ({"originator": "UAS"}, "bad originator 'UAS'"),
        ({"releasable_to": frozenset({"usa"})}, "bad REL TO entry 'usa'"),
        ({"caveats": frozenset({"NOFORN"})}, "bad caveat 'NOFORN'"),
        ({"caveats": frozenset({"A/B"})}, "bad caveat 'A/B'"),
        ({"classification": "secret"}, "bad classification 'secret'"),
        ({"releasable_to": frozenset(), "derived": True}, "empty REL TO"),
    ],
)
def test_label_constructor_checks_its_fields(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"classification": "SECRET", "originator": "IND"} | kwargs
    with pytest.raises(LabelError, match=re.escape(message)):
        Label(**fields)  # type: ignore[arg-type]


def test_bad_originator_given_to_parse() -> None:
    with pytest.raises(LabelError, match="bad originator 'XY'"):
        lab("SECRET", "XY")
    assert lab("SECRET", " ind ").originator == "IND"


# --- policy and coalitions ------------------------------------------------------------------


def test_coalitions_expand() -> None:
    assert POLICY.expand(None) is None
    assert POLICY.expand({"QUAD"}) == {"AUS", "IND", "JPN", "USA"}
    assert POLICY.expand({"FVEY", "IND"}) == {"AUS", "CAN", "GBR", "NZL", "USA", "IND"}
    assert POLICY.expand({"ACGU"}) == frozenset()  # unknown to the policy: no nation


def test_policy_from_default_settings() -> None:
    policy = Policy.from_settings(load_settings(env={}))
    assert policy.levels == ("UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET")
    assert policy.coalitions == {
        "FVEY": {"AUS", "CAN", "GBR", "NZL", "USA"},
        "QUAD": {"AUS", "IND", "JPN", "USA"},
    }
    assert policy.caveats == {"ORCON", "PROPIN", "LIMDIS"}
    assert policy.node_nation == "XXX"
    assert policy.default_label == Label("UNCLASSIFIED", "XXX")
    assert policy == Policy()
    for name in LABEL_SETTINGS:
        assert name in SETTINGS


def test_policy_from_custom_settings() -> None:
    env = {
        "SEAWATCH_NODE_NATION": "IND",
        "SEAWATCH_CLASSIFICATION_LEVELS": "public, internal, secret, super secret",
        "SEAWATCH_COALITIONS": "IORA2=ind, mdv,lka ;",
        "SEAWATCH_LABEL_CAVEATS": "FISHERIES",
        "SEAWATCH_DEFAULT_LABEL": "internal//REL TO IORA2",
    }
    policy = Policy.from_settings(load_settings(env=env))
    assert policy.levels == ("PUBLIC", "INTERNAL", "SECRET", "SUPER SECRET")
    assert policy.coalitions == {"IORA2": {"IND", "MDV", "LKA"}}
    assert str(policy.default_label) == "INTERNAL//REL TO IND, IORA2"
    assert policy.level("ss") == "SUPER SECRET"
    assert policy.level("p") == "PUBLIC"
    assert policy.level("s") == "SECRET"
    assert str(parse_label("ss//fisheries", policy)) == "SUPER SECRET//FISHERIES"


def test_ambiguous_initials_are_not_abbreviations() -> None:
    policy = Policy(levels=("OPEN", "SENSITIVE", "SECRET"), default_marking="O")
    assert policy.level("O") == "OPEN"
    assert policy.level("S") is None
    assert "SECRET" in policy.levels_hint()
    assert "(S)" not in policy.levels_hint()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SEAWATCH_COALITIONS": "QUAD AUS IND"}, "setting coalitions: 'QUAD AUS IND' is not"),
        ({"SEAWATCH_COALITIONS": "QUAD=AUS,XY"}, "coalition QUAD: members must be ISO"),
        ({"SEAWATCH_COALITIONS": "EU=FRA,DEU"}, "bad coalition name 'EU'"),
        ({"SEAWATCH_CLASSIFICATION_LEVELS": "U, S, U"}, "classification levels repeat"),
        ({"SEAWATCH_CLASSIFICATION_LEVELS": ","}, "at least one classification"),
        ({"SEAWATCH_LABEL_CAVEATS": "ORCON, HANDLE VIA"}, "bad caveat name 'HANDLE VIA'"),
        ({"SEAWATCH_DEFAULT_LABEL": "SECRET//REL TO QAUD"}, "'QAUD' in REL TO"),
        ({"SEAWATCH_NODE_NATION": "UAS"}, "bad node nation 'UAS'"),
    ],
)
def test_bad_label_settings_raise_config_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Policy.from_settings(load_settings(env=env))


def test_node_nation_setting_is_three_capitals() -> None:
    with pytest.raises(ConfigError, match="node_nation"):
        load_settings(env={"SEAWATCH_NODE_NATION": "usa"})


# --- readers --------------------------------------------------------------------------------


def test_reader_parse() -> None:
    assert rd("USA:SECRET") == Reader("USA", "SECRET")
    assert rd("ind:c:orcon, propin") == Reader(
        "IND", "CONFIDENTIAL", frozenset({"ORCON", "PROPIN"})
    )
    assert rd("GBR:top secret:") == Reader("GBR", "TOP SECRET")
    assert str(rd("ind:c:propin,orcon")) == "IND:CONFIDENTIAL:ORCON,PROPIN"
    assert not rd("USA:S").is_node_admin
    assert repr(rd("USA:S:ORCON")) == "Reader('USA', 'SECRET', {'ORCON'})"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("USA", "expected NATION:CLEARANCE[:CAVEAT,...]"),
        ("USA:S:ORCON:X", "expected NATION:CLEARANCE"),
        ("USA:SECERT", "unknown clearance 'SECERT'"),
        ("US:SECRET", "reader nation 'US' is not an ISO 3166-1 alpha-3 code"),
        ("QUAD:SECRET", "reader nation 'QUAD'"),
        ("USA:S:ORCN", "unknown caveat(s) ORCN (known: LIMDIS, ORCON, PROPIN)"),
    ],
)
def test_bad_readers(text: str, message: str) -> None:
    with pytest.raises(LabelError, match=re.escape(message)):
        rd(text)


def test_node_admin_reads_everything_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="seawatch.labels.access")
    admin = Reader.node_admin("schema migration 3")
    assert admin.is_node_admin
    assert str(admin) == "node-admin"
    assert repr(admin) == "Reader.node_admin('schema migration 3')"
    created = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in created] == ["node-admin reader created: schema migration 3"]
    caplog.clear()
    top = Label("TOP SECRET", "IND", frozenset({"IND"}), frozenset({"ORCON"}), derived=True)
    assert may_read(admin, top, POLICY)
    assert "schema migration 3" in caplog.text
    caplog.clear()
    assert allowed_label_ids(admin, {3: top, 5: lab("U")}, POLICY) == {3, 5}
    assert "schema migration 3" in caplog.text
    with pytest.raises(LabelError, match="without a reason"):
        Reader.node_admin("  ")


# --- the decision at every edge -------------------------------------------------------------


def test_originator_nation_is_inside_releasability_only() -> None:
    secret = lab("SECRET//ORCON//NOFORN", "IND")
    assert may_read(rd("IND:SECRET:ORCON"), secret, POLICY)
    assert not may_read(rd("IND:UNCLASSIFIED:ORCON"), secret, POLICY)  # clearance too low
    assert not may_read(rd("IND:TOP SECRET"), secret, POLICY)  # lacks ORCON
    assert not may_read(rd("USA:TOP SECRET:ORCON"), secret, POLICY)  # not releasable


def test_issue_12_originator_needs_clearance() -> None:
    # issue 12: SECRET//REL TO USA from USA went to a USA:CONFIDENTIAL reader
    label = lab("SECRET//REL TO USA", "USA")
    assert not may_read(rd("USA:CONFIDENTIAL"), label, POLICY)
    assert may_read(rd("USA:SECRET"), label, POLICY)
    # the originator is inside releasability even when a label object omits it
    written = Label("CONFIDENTIAL", "IND", frozenset({"GBR"}))
    assert may_read(rd("IND:C"), written, POLICY)
    # not for a derived label: its REL TO list is exactly what combine computed
    derived = Label("SECRET", "USA", frozenset({"IND"}), derived=True)
    assert not may_read(rd("USA:TS:ORCON,PROPIN,LIMDIS"), derived, POLICY)
    assert may_read(rd("IND:S"), derived, POLICY)


def test_clearance_one_below_is_denied_equal_allowed() -> None:
    label = lab("SECRET//REL TO USA, GBR", "IND")
    assert may_read(rd("GBR:SECRET"), label, POLICY)
    assert may_read(rd("GBR:TOP SECRET"), label, POLICY)
    assert not may_read(rd("GBR:CONFIDENTIAL"), label, POLICY)


def test_nation_missing_from_rel_to_is_denied() -> None:
    label = lab("CONFIDENTIAL//REL TO USA, GBR", "IND")
    assert may_read(rd("USA:C"), label, POLICY)
    assert not may_read(rd("JPN:TS"), label, POLICY)
    quad = lab("CONFIDENTIAL//REL TO QUAD", "USA")
    assert may_read(rd("JPN:C"), quad, POLICY)
    assert not may_read(rd("GBR:TS"), quad, POLICY)


def test_missing_caveat_is_denied() -> None:
    label = lab("RESTRICTED//ORCON/PROPIN", "IND")
    assert may_read(rd("USA:R:ORCON,PROPIN"), label, POLICY)
    assert may_read(rd("USA:R:ORCON,PROPIN,LIMDIS"), label, POLICY)
    assert not may_read(rd("USA:TS:ORCON"), label, POLICY)


def test_no_rel_to_restricts_no_nation() -> None:
    label = lab("CONFIDENTIAL", "IND")
    assert may_read(rd("FRA:C"), label, POLICY)
    assert not may_read(rd("FRA:R"), label, POLICY)


def test_derived_labels_give_no_own_nation_right() -> None:
    derived = Label("SECRET", "USA", frozenset({"USA", "IND"}), derived=True)
    assert not may_read(rd("USA:C"), derived, POLICY)
    assert may_read(rd("USA:S"), derived, POLICY)
    assert may_read(rd("IND:S"), derived, POLICY)


def test_what_the_policy_does_not_know_grants_nothing() -> None:
    odd = Label("COSMIC", "IND")
    assert not may_read(rd("USA:TS"), odd, POLICY)
    assert not may_read(rd("IND:TS"), odd, POLICY)  # not even the owner's readers
    assert not may_read(Reader("USA", "ULTRA"), lab("U", "IND"), POLICY)
    unknown_coalition = Label("UNCLASSIFIED", "IND", frozenset({"ACGU"}))
    assert not may_read(rd("CAN:TS"), unknown_coalition, POLICY)


# --- combination ----------------------------------------------------------------------------


def test_combine_takes_the_most_restrictive() -> None:
    a = lab("SECRET//ORCON//REL TO USA, GBR, JPN", "IND")
    b = lab("CONFIDENTIAL//PROPIN//REL TO QUAD", "JPN")
    c = lab("UNCLASSIFIED", "USA")
    out = combine([a, b, c], POLICY)
    # REL TO {IND, USA, GBR, JPN} ∩ QUAD + JPN = {AUS, IND, JPN, USA}; c restricts nothing
    assert out == Label(
        "SECRET", "USA", frozenset({"USA", "IND", "JPN"}), frozenset({"ORCON", "PROPIN"}), True
    )
    assert str(out) == "SECRET//ORCON/PROPIN//REL TO USA, IND, JPN"
    assert combine([c], POLICY) == c
    assert combine([c, c], POLICY) == c


def test_combine_of_own_records_keeps_the_own_nation_right() -> None:
    own = [lab("SECRET//REL TO GBR"), lab("C//REL TO FVEY")]
    out = combine(own, POLICY)
    assert not out.derived
    assert out.originator == "USA"
    assert str(out) == "SECRET//REL TO USA, GBR"
    assert not may_read(rd("USA:C"), out, POLICY)  # the owner's readers need clearance too
    assert may_read(rd("USA:S"), out, POLICY)
    # one foreign (or derived) input and the right is gone
    assert combine([*own, lab("U", "IND")], POLICY).derived
    assert combine([own[0], Label("U", "USA", derived=True)], POLICY).derived


def test_combine_errors() -> None:
    with pytest.raises(LabelError, match="at least one label"):
        combine([], POLICY)
    with pytest.raises(LabelError, match="no nation may read every input"):
        combine([lab("S//REL TO GBR", "IND"), lab("S//REL TO JPN", "AUS")], POLICY)
    with pytest.raises(LabelError, match="'COSMIC' is not in the policy"):
        combine([Label("COSMIC", "IND")], POLICY)


# --- vectorised form and the labels table ---------------------------------------------------


LABELS = {
    0: lab("UNCLASSIFIED"),
    1: lab("SECRET//REL TO IND, USA", "IND"),
    2: lab("CONFIDENTIAL//ORCON//REL TO QUAD", "JPN"),
    7: Label("TOP SECRET", "USA", frozenset({"USA"}), derived=True),
}


def test_allowed_label_ids() -> None:
    assert allowed_label_ids(rd("USA:S"), LABELS, POLICY) == {0, 1}
    assert allowed_label_ids(rd("USA:TS:ORCON"), LABELS, POLICY) == {0, 1, 2, 7}
    assert allowed_label_ids(rd("JPN:U"), LABELS, POLICY) == {0}  # its own, but C//ORCON
    assert allowed_label_ids(rd("JPN:C:ORCON"), LABELS, POLICY) == {0, 2}
    assert allowed_label_ids(rd("GBR:TS:ORCON"), LABELS, POLICY) == {0}


def test_label_mask_over_arrays_and_chunks() -> None:
    ids = pa.array([0, 1, 2, 7, None, 3, 1], pa.int32())
    mask = label_mask(ids, rd("USA:S"), LABELS, POLICY)
    assert mask.type == pa.bool_()
    assert mask.to_pylist() == [True, True, False, False, False, False, True]
    chunked = pa.chunked_array([ids.slice(0, 3), ids.slice(3)])
    assert label_mask(chunked, rd("USA:S"), LABELS, POLICY).to_pylist() == mask.to_pylist()
    assert label_mask(pa.array([], pa.int32()), rd("USA:S"), LABELS, POLICY).to_pylist() == []
    admin = label_mask(ids, Reader.node_admin("test"), LABELS, POLICY)
    assert admin.to_pylist() == [True, True, True, True, False, False, True]


def test_labels_table_round_trip() -> None:
    table = labels_table(LABELS, POLICY)
    assert table.schema == LABELS_SCHEMA
    assert table.column("label_id").to_pylist() == [0, 1, 2, 7]
    assert table.column("marking").to_pylist() == [
        "UNCLASSIFIED",
        "SECRET//REL TO IND, USA",
        "CONFIDENTIAL//ORCON//REL TO JPN, QUAD",
        "TOP SECRET//NOFORN",
    ]
    assert table.column("classification_rank").to_pylist() == [0, 3, 2, 4]
    assert table.column("releasable_to").to_pylist() == [
        None,
        ["IND", "USA"],
        ["JPN", "QUAD"],
        ["USA"],
    ]
    assert table.column("derived").to_pylist() == [False, False, False, True]
    assert labels_from_table(table, POLICY) == LABELS
    for f in LABELS_SCHEMA:
        assert f.metadata is not None, f.name
        assert f.metadata[b"doc"], f.name


def test_labels_table_survives_parquet(tmp_path: Path) -> None:
    pq.write_table(labels_table(LABELS, POLICY), tmp_path / "labels.parquet")
    assert labels_from_table(pq.read_table(tmp_path / "labels.parquet"), POLICY) == LABELS


def test_labels_table_refuses_what_it_cannot_trust() -> None:
    with pytest.raises(SchemaError, match="not a labels table"):
        labels_from_table(pa.table({"label_id": pa.array([1], pa.int32())}), POLICY)
    table = labels_table(LABELS, POLICY)
    forged = table.set_column(
        4, LABELS_SCHEMA.field("releasable_to"), pa.nulls(4, pa.list_(pa.string()))
    )
    with pytest.raises(SchemaError, match="marking and columns differ"):
        labels_from_table(forged, POLICY)
    with pytest.raises(SchemaError, match="not in the policy"):
        labels_table({1: Label("COSMIC", "USA")}, POLICY)


# --- labelling rules ------------------------------------------------------------------------


RULES = LabelRules.parse(
    """
    feed=ifc-ior,IFC-SG -> IND:CONFIDENTIAL//REL TO QUAD
    source=satellite message_type=5 -> C//PROPIN//REL TO FVEY
    event_type=encounter bbox=170,-20,-170,20 -> SECRET//REL TO FVEY;
    event_type=encounter -> R//REL TO QUAD
    """,
    POLICY,
)


def test_rules_first_match_wins_else_default() -> None:
    assert len(RULES.rules) == 4
    assert str(RULES.rule_for(feed="IFC-IOR")) == "CONFIDENTIAL//REL TO IND, QUAD"
    assert RULES.rule_for(feed="ifc-sg").originator == "IND"
    assert str(RULES.rule_for(source="satellite", message_type=5)) == (
        "CONFIDENTIAL//PROPIN//REL TO USA, FVEY"
    )
    assert RULES.rule_for(source="satellite", message_type="1") == POLICY.default_label
    assert RULES.rule_for(source="satellite") == POLICY.default_label  # key not given
    assert RULES.rule_for() == POLICY.default_label
    # bbox across the antimeridian; without a position the bbox rule does not match
    assert str(RULES.rule_for(event_type="encounter", lon=179.5, lat=0)) == (
        "SECRET//REL TO USA, FVEY"
    )
    assert str(RULES.rule_for(event_type="encounter", lon=-175, lat=10)).startswith("SECRET")
    assert str(RULES.rule_for(event_type="encounter", lon=0, lat=0)).startswith("RESTRICTED")
    assert str(RULES.rule_for(event_type="encounter")).startswith("RESTRICTED")


def test_labels_for_points_agrees_with_rule_for() -> None:
    rng = np.random.default_rng(4)
    lon, lat = rng.uniform(-180, 180, 500), rng.uniform(-40, 40, 500)
    for kw in ({"event_type": "encounter"}, {"feed": "ifc-ior"}, {"event_type": "gap"}):
        codes, labels = RULES.labels_for_points(lon, lat, **kw)
        assert codes.dtype == np.int32
        assert len(codes) == 500
        for x, y, code in zip(lon, lat, codes, strict=True):
            assert labels[code] == RULES.rule_for(lon=float(x), lat=float(y), **kw)
    codes, labels = RULES.labels_for_points([], [], event_type="encounter")
    assert len(codes) == 0
    assert labels == []


def test_a_rule_with_no_conditions_matches_everything() -> None:
    rules = LabelRules.parse("-> R", POLICY)
    assert str(rules.rule_for(feed="x")) == "RESTRICTED"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("feed=a CONFIDENTIAL", "expected 'CONDITIONS -> [ORIGINATOR:]MARKING'"),
        ("feed=a ->", "expected 'CONDITIONS -> [ORIGINATOR:]MARKING'"),
        ("area=x -> C", "unknown key 'area'"),
        ("feed -> C", "condition 'feed' is not key=value"),
        ("bbox=1,2,3 -> C", "bbox=1,2,3 is not min_lon,min_lat,max_lon,max_lat"),
        ("bbox=0,10,5,-10 -> C", "out of range"),
        ("feed=a -> SECERT", "unknown classification 'SECERT'"),
        ("feed=a -> US:SECRET", "bad originator 'US'"),
    ],
)
def test_bad_rules(text: str, message: str) -> None:
    with pytest.raises(LabelError, match=re.escape(message)):
        LabelRules.parse(text, POLICY)


def test_rules_from_settings() -> None:
    settings = load_settings(
        env={"SEAWATCH_NODE_NATION": "IND", "SEAWATCH_LABEL_RULES": "feed=x -> S//NOFORN"}
    )
    rules = LabelRules.from_settings(settings)
    assert rules.rule_for(feed="x") == Label("SECRET", "IND", frozenset({"IND"}))
    assert rules.default == Label("UNCLASSIFIED", "IND")
    assert LabelRules.from_settings(load_settings(env={})).rules == ()
    bad = load_settings(env={"SEAWATCH_LABEL_RULES": "feed=x -> SECERT"})
    with pytest.raises(ConfigError, match=r"setting label_rules: .*unknown classification"):
        LabelRules.from_settings(bad)


# --- the docs cannot drift ------------------------------------------------------------------


def test_doc_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 5
    scope: dict[str, object] = {}
    for block in blocks:
        exec(block, scope)


@pytest.mark.parametrize("name", LABEL_SETTINGS)
def test_doc_names_every_label_setting(name: str) -> None:
    assert f"`{name}`" in DOC.read_text(encoding="utf-8")


def test_default_reader_is_the_node_at_its_highest_clearance_with_every_caveat() -> None:
    from seawatch.labels import default_reader

    policy = Policy(node_nation="IND")
    reader = default_reader(policy)
    assert reader == Reader("IND", policy.levels[-1], frozenset(policy.caveats))
    caveats = ",".join(sorted(policy.caveats))
    assert reader == Reader.parse(f"IND:{policy.levels[-1]}:{caveats}", policy)
