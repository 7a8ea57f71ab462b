"""Labels under several nations' policies (issue 12): SPIF files, declared equivalences,
the decision through them, combination, and a property test against the rule restated."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.errors import ConfigError, LabelError
from seawatch.labels import (
    Label,
    Policies,
    Policy,
    Reader,
    combine,
    labels_from_table,
    labels_table,
    may_read,
    parse_label,
    read_spif,
)
from seawatch.labels.policy import DEFAULT_COALITIONS
from seawatch.settings import load_settings

FIXTURES = Path(__file__).parent / "fixtures" / "policies"
EQUIVALENCE = "IND:R=USA:C; IND:CONFIDENTIAL=USA:CONFIDENTIAL; IND:SECRET=USA:SECRET"


def two_policies(equivalence: str = EQUIVALENCE, node: str = "USA") -> Policy:
    return Policy.from_settings(
        load_settings(
            env={
                "SEAWATCH_NODE_NATION": node,
                "SEAWATCH_POLICIES_DIR": str(FIXTURES),
                "SEAWATCH_POLICY_EQUIVALENCE": equivalence,
            }
        )
    )


POLICY = two_policies()


def rd(text: str) -> Reader:
    return Reader.parse(text, POLICY)


def test_spif_elements_read() -> None:
    usa = read_spif(FIXTURES / "USA.spif.xml", DEFAULT_COALITIONS)
    assert usa.name == "US-TEST"
    assert usa.levels == ("UNCLASSIFIED", "CONFIDENTIAL", "SECRET", "TOP SECRET")
    assert usa.caveats == {"ORCON", "PROPIN"}
    assert set(usa.coalitions) == {"FVEY", "QUAD"}
    ind = read_spif(FIXTURES / "IND.spif.xml", DEFAULT_COALITIONS)
    assert ind.name == "IN-TEST"
    assert ind.levels == ("UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET")
    assert ind.caveats == {"ORCON"}  # an enumerated restrictive tag
    assert set(ind.coalitions) == {"QUAD"}


def test_policies_from_the_settings() -> None:
    assert POLICY.name == "US-TEST"
    assert POLICY.node_nation == "USA"
    assert POLICY.for_nation("IND").name == "IN-TEST"
    assert POLICY.for_nation("GBR") is POLICY  # no file: the node's policy
    only = Policy.from_settings(
        load_settings(env={"SEAWATCH_POLICY_FILE": str(FIXTURES / "IND.spif.xml")})
    )
    assert only.name == "IN-TEST"
    assert only.policies is not None
    assert not only.policies.by_nation
    assert Policy.from_settings(load_settings(env={})).policies is None  # as before


def test_levels_and_caveats_are_the_originators() -> None:
    assert str(parse_label("R//REL TO USA", POLICY, originator="IND")) == (
        "RESTRICTED//REL TO IND, USA"
    )
    with pytest.raises(LabelError, match="unknown classification 'RESTRICTED'"):
        parse_label("RESTRICTED", POLICY, originator="USA")
    with pytest.raises(LabelError, match="unknown control 'PROPIN'"):
        parse_label("SECRET//PROPIN", POLICY, originator="IND")
    assert rd("IND:R").clearance == "RESTRICTED"
    with pytest.raises(LabelError, match="unknown clearance 'R'"):
        rd("USA:R")
    labels = {0: parse_label("R//ORCON", POLICY, originator="IND"), 1: POLICY.default_label}
    assert labels_from_table(labels_table(labels, POLICY), POLICY) == labels


def test_mapped_levels_allow_and_deny() -> None:
    secret = parse_label("SECRET//REL TO USA", POLICY, originator="IND")
    assert may_read(rd("USA:S"), secret, POLICY)
    assert not may_read(rd("USA:C"), secret, POLICY)
    restricted = parse_label("RESTRICTED//REL TO USA", POLICY, originator="IND")
    assert may_read(rd("USA:C"), restricted, POLICY)  # IND:R = USA:C
    assert not may_read(rd("USA:U"), restricted, POLICY)
    usa_c = parse_label("CONFIDENTIAL//REL TO IND", POLICY, originator="USA")
    assert may_read(rd("IND:C"), usa_c, POLICY)  # USA:C = IND:R and IND:C: the higher
    assert not may_read(rd("IND:R"), usa_c, POLICY)
    gbr = Reader.parse("GBR:S", POLICY)  # GBR shares the node's (USA's) policy
    assert may_read(gbr, parse_label("SECRET//REL TO GBR", POLICY, originator="USA"), POLICY)


def test_unmapped_levels_are_denied() -> None:
    top = parse_label("TOP SECRET//REL TO USA", POLICY, originator="IND")
    assert not may_read(rd("USA:TS:ORCON,PROPIN"), top, POLICY)
    assert may_read(rd("IND:TS"), top, POLICY)  # its own policy: no mapping needed
    unclassified = parse_label("U", POLICY, originator="IND")
    assert not may_read(rd("USA:TS"), unclassified, POLICY)  # declared, never assumed
    usa_u = parse_label("U", POLICY, originator="USA")
    assert not may_read(rd("IND:TS"), usa_u, POLICY)


@pytest.mark.parametrize(
    ("equivalence", "message"),
    [
        ("IND:R", "is not NATION:LEVEL=NATION:LEVEL"),
        ("IND:R=USA:RESTRICTED", "'RESTRICTED' is not a level of USA's policy 'US-TEST'"),
        ("USA:C=GBR:C", "both sides are under policy"),  # GBR: the node's policy
        ("IND:S=USA:C; IND:R=USA:S", "reverse the order of levels"),
        ("IN:S=USA:S", "is not NATION:LEVEL"),
    ],
)
def test_bad_equivalence(equivalence: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        two_policies(equivalence)


def test_bad_spif(tmp_path: Path) -> None:
    bad = tmp_path / "FRA.spif.xml"
    bad.write_text('<!DOCTYPE x [<!ENTITY a "b">]><SPIF/>')
    with pytest.raises(ConfigError, match="DOCTYPE"):
        read_spif(bad, DEFAULT_COALITIONS)
    bad.write_text('<SPIF><securityPolicyId name="X"/></SPIF>')
    with pytest.raises(ConfigError, match="no securityClassification"):
        read_spif(bad, DEFAULT_COALITIONS)
    bad.write_text((FIXTURES / "USA.spif.xml").read_text().replace("QUAD", "ACGU"))
    with pytest.raises(ConfigError, match="coalition ACGU in Releasable To has no members"):
        read_spif(bad, DEFAULT_COALITIONS)
    (tmp_path / "Nowhere.spif.xml").write_text("<SPIF/>")
    with pytest.raises(ConfigError, match=r"policies_dir: Nowhere\.spif\.xml"):
        Policy.from_settings(load_settings(env={"SEAWATCH_POLICIES_DIR": str(tmp_path)}))


def test_combine_across_policies() -> None:
    a = parse_label("SECRET//ORCON//REL TO USA", POLICY, originator="IND")
    b = parse_label("CONFIDENTIAL//REL TO IND", POLICY, originator="USA")
    out = combine([a, b], POLICY)
    assert str(out) == "SECRET//ORCON//REL TO USA, IND"
    assert out.derived
    assert may_read(rd("USA:S:ORCON"), out, POLICY)
    assert may_read(rd("IND:S:ORCON"), out, POLICY)
    with pytest.raises(LabelError, match="'TOP SECRET' has no declared equivalent"):
        combine([parse_label("TS//REL TO USA", POLICY, originator="IND")], POLICY)
    with pytest.raises(LabelError, match="no declared equivalent"):
        combine([parse_label("U", POLICY, originator="IND"), b], POLICY)


def test_combine_refuses_what_a_third_policy_could_not_read() -> None:
    # GBR under its own policy: USA:S=GBR:S declared, IND and GBR never mapped
    gbr = Policy(
        ("OFFICIAL", "SECRET"), DEFAULT_COALITIONS, frozenset(), "GBR", "OFFICIAL", "UK-TEST"
    )
    assert POLICY.policies is not None
    pairs = dict(POLICY.policies.equivalence)
    pairs[("US-TEST", "SECRET")] = pairs[("US-TEST", "SECRET")] | {("UK-TEST", "SECRET")}
    pairs[("UK-TEST", "SECRET")] = frozenset({("US-TEST", "SECRET")})
    node = Policy(
        POLICY.levels, POLICY.coalitions, POLICY.caveats, "USA", name="US-TEST",
        policies=Policies({**POLICY.policies.by_nation, "GBR": gbr}, pairs),
    )  # fmt: skip
    ind = parse_label("SECRET//REL TO USA, GBR", node, originator="IND")
    usa = parse_label("SECRET//REL TO GBR", node, originator="USA")
    assert not may_read(Reader.parse("GBR:S", node), ind, node)
    assert may_read(Reader.parse("GBR:S", node), usa, node)
    with pytest.raises(LabelError, match="policy 'UK-TEST' cleared for SECRET could read"):
        combine([ind, usa], node)


# --- property: random labels and readers under the two policies --------------------------

US = ["UNCLASSIFIED", "CONFIDENTIAL", "SECRET", "TOP SECRET"]
IN = ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET"]
IN_TO_US = {"RESTRICTED": "CONFIDENTIAL", "CONFIDENTIAL": "CONFIDENTIAL", "SECRET": "SECRET"}
US_TO_IN = {"CONFIDENTIAL": "CONFIDENTIAL", "SECRET": "SECRET"}  # C = IND:R and C: the higher
NATIONS = ["USA", "IND", "GBR", "JPN"]
CAVEATS = {"USA": ["ORCON", "PROPIN"], "IND": ["ORCON"]}


def levels_of(nation: str) -> list[str]:
    return IN if nation == "IND" else US


@st.composite
def labels(draw: st.DrawFn) -> Label:
    owner = draw(st.sampled_from(NATIONS))
    caveats = CAVEATS.get(owner, CAVEATS["USA"])
    rel = draw(st.none() | st.frozensets(st.sampled_from([*NATIONS, "QUAD"]), min_size=1))
    return Label(
        draw(st.sampled_from(levels_of(owner))),
        owner,
        rel,
        draw(st.frozensets(st.sampled_from(caveats), max_size=2)),
    )


@st.composite
def readers(draw: st.DrawFn) -> Reader:
    nation = draw(st.sampled_from(NATIONS))
    caveats = CAVEATS.get(nation, CAVEATS["USA"])
    return Reader(
        nation,
        draw(st.sampled_from(levels_of(nation))),
        draw(st.frozensets(st.sampled_from(caveats), max_size=2)),
    )


def rule(reader: Reader, label: Label) -> bool:
    """The rule restated with its own tables: the record's level in the reader's policy
    (same policy: itself; else the declared equivalent, none: deny), clearance >= it, every
    caveat held, nation in the expanded REL TO (originator's nation always inside)."""
    same = (reader.nation == "IND") == (label.originator == "IND")
    if same:
        level: str | None = label.classification
    elif label.originator == "IND":
        level = IN_TO_US.get(label.classification)
    else:
        level = US_TO_IN.get(label.classification)
    order = levels_of(reader.nation)
    if level is None or order.index(reader.clearance) < order.index(level):
        return False
    if not label.caveats <= reader.caveats:
        return False
    if label.releasable_to is None or reader.nation == label.originator:
        return True
    quad = {"AUS", "IND", "JPN", "USA"} if "QUAD" in label.releasable_to else set()
    return reader.nation in label.releasable_to | quad


@settings(deadline=None, max_examples=300)
@given(labels(), readers())
def test_two_policies_never_grant_beyond_the_rule(label: Label, reader: Reader) -> None:
    assert may_read(reader, label, POLICY) == rule(reader, label)


@settings(deadline=None, max_examples=200)
@given(st.lists(labels(), min_size=1, max_size=4), st.lists(readers(), min_size=1, max_size=5))
def test_combined_readers_read_every_input(inputs: list[Label], who: list[Reader]) -> None:
    try:
        out = combine(inputs, POLICY)
    except LabelError:
        return
    for reader in who:
        if may_read(reader, out, POLICY):
            assert all(may_read(reader, label, POLICY) for label in inputs)
