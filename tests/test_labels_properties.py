"""Property tests of labels: the decision agrees with the rule as written in issue 12, the
vectorised mask with the decision, markings round-trip, and a combined label is never less
restrictive than any of its inputs.

The reference decision below is a plain re-statement of the rule with its own tables of
levels and coalitions; it calls nothing of ``seawatch.labels`` but field access.
"""

from __future__ import annotations

import random

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.errors import LabelError
from seawatch.labels import (
    Label,
    Policy,
    Reader,
    allowed_label_ids,
    combine,
    label_mask,
    may_read,
    parse_label,
)

LEVELS = ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET"]
ABBREVIATIONS = {
    "UNCLASSIFIED": "U",
    "RESTRICTED": "R",
    "CONFIDENTIAL": "C",
    "SECRET": "S",
    "TOP SECRET": "TS",
}
COALITIONS = {
    "FVEY": {"AUS", "CAN", "GBR", "NZL", "USA"},
    "QUAD": {"AUS", "IND", "JPN", "USA"},
    "IORA": {"IND", "LKA", "MDV"},
}
NATIONS = ["AUS", "CAN", "FRA", "GBR", "IND", "JPN", "LKA", "MDV", "NZL", "USA"]
CAVEATS = ["ORCON", "PROPIN", "LIMDIS"]
UNKNOWN_COALITION = "ACGU"  # a coalition name the policy does not define


def policy_for(node: str) -> Policy:
    coalitions = {name: frozenset(members) for name, members in COALITIONS.items()}
    return Policy(tuple(LEVELS), coalitions, frozenset(CAVEATS), node)


nations = st.sampled_from(NATIONS)


@st.composite
def labels(draw: st.DrawFn, known_only: bool = False) -> Label:
    """Any label over the test's nations, coalitions and caveats."""
    entries = NATIONS + list(COALITIONS) + ([] if known_only else [UNKNOWN_COALITION])
    derived = draw(st.booleans())
    rel = draw(st.none() | st.frozensets(st.sampled_from(entries), min_size=1, max_size=5))
    return Label(
        classification=draw(st.sampled_from(LEVELS)),
        originator=draw(nations),
        releasable_to=rel,
        caveats=draw(st.frozensets(st.sampled_from(CAVEATS), max_size=3)),
        derived=derived,
    )


@st.composite
def readers(draw: st.DrawFn) -> Reader:
    return Reader(
        nation=draw(nations),
        clearance=draw(st.sampled_from(LEVELS)),
        caveats=draw(st.frozensets(st.sampled_from(CAVEATS), max_size=3)),
    )


def reference_may_read(reader: Reader, label: Label) -> bool:
    """Issue 12's rule, stated directly: for everyone, clearance >= classification and
    every caveat held; the nation in the expanded REL TO (none: any nation), where the
    originator's nation counts as listed unless the label is derived. Deny unless
    permitted."""
    if LEVELS.index(reader.clearance) < LEVELS.index(label.classification):
        return False
    if label.releasable_to is not None:
        expanded: set[str] = set()
        for entry in label.releasable_to:
            if entry in COALITIONS:
                expanded |= COALITIONS[entry]
            elif len(entry) == 3:
                expanded.add(entry)
        own = reader.nation == label.originator and not label.derived
        if reader.nation not in expanded and not own:
            return False
    return all(caveat in reader.caveats for caveat in label.caveats)


@settings(deadline=None)
@given(labels(), readers(), nations)
def test_may_read_agrees_with_the_rule(label: Label, reader: Reader, node: str) -> None:
    assert may_read(reader, label, policy_for(node)) == reference_may_read(reader, label)


@settings(deadline=None)
@given(labels(), nations)
def test_node_admin_reads_everything(label: Label, node: str) -> None:
    assert may_read(Reader.node_admin("property test"), label, policy_for(node))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(labels(), min_size=1, max_size=8),
    st.lists(readers(), min_size=1, max_size=6),
    st.lists(st.integers(-2, 10) | st.none(), max_size=60),
    st.integers(1, 3),
)
def test_mask_agrees_with_may_read_for_every_record(
    distinct: list[Label], who: list[Reader], draws: list[int | None], chunks: int
) -> None:
    policy = policy_for("USA")
    dictionary = {i * 3: label for i, label in enumerate(distinct)}  # ids with gaps
    ids = [None if d is None else d * 3 if d >= 0 else d for d in draws]
    step = max(1, len(ids) // chunks)
    column = pa.chunked_array(
        [pa.array(ids[k : k + step], pa.int32()) for k in range(0, len(ids), step)] or [[]],
        type=pa.int32(),
    )
    for reader in who:
        allowed = allowed_label_ids(reader, dictionary, policy)
        assert allowed == {i for i, lb in dictionary.items() if reference_may_read(reader, lb)}
        mask = label_mask(column, reader, dictionary, policy).to_pylist()
        expected = [
            i is not None and i in dictionary and may_read(reader, dictionary[i], policy)
            for i in ids
        ]
        assert mask == expected


@settings(deadline=None)
@given(labels(known_only=True), nations)
def test_marking_round_trips(label: Label, node: str) -> None:
    policy = policy_for(node)
    marking = str(label)
    back = parse_label(marking, policy, originator=label.originator, derived=label.derived)
    assert back == label
    assert str(back) == marking


@settings(deadline=None)
@given(labels(known_only=True), st.randoms(use_true_random=False))
def test_any_spelling_of_a_marking_parses_to_the_canonical_one(
    label: Label, rnd: random.Random
) -> None:
    """Shuffled REL TO lists and blocks, abbreviations, any case and spacing: one label."""
    policy = policy_for("USA")
    level = label.classification
    controls = sorted(label.caveats)
    rel = label.releasable_to
    if rel is not None:
        entries = sorted(rel)
        if not label.derived and len(rel) > 1 and rnd.random() < 0.5:
            entries.remove(label.originator)  # the parser adds the originator back
        rnd.shuffle(entries)
        if rel == {label.originator} and rnd.random() < 0.5:
            controls.append("NOFORN")
        else:
            controls.append("rel to " + " ,".join(entries))
    rnd.shuffle(controls)
    cut = rnd.randint(0, len(controls))
    blocks = ["/".join(controls[:cut]), "/".join(controls[cut:])]
    head = ABBREVIATIONS.get(level, level) if rnd.random() < 0.5 else level
    text = "  //  ".join([head] + [b for b in blocks if b])
    text = "".join(c.lower() if rnd.random() < 0.5 else c for c in text)
    back = parse_label(text, policy, originator=label.originator, derived=label.derived)
    assert back == label, text
    assert str(back) == str(label)


@settings(max_examples=300, deadline=None)
@given(st.lists(labels(), min_size=1, max_size=4), st.lists(readers(), max_size=8), nations)
def test_combination_is_never_less_restrictive(
    inputs: list[Label], who: list[Reader], node: str
) -> None:
    policy = policy_for(node)
    try:
        combined = combine(inputs, policy)
    except LabelError:
        # only when no nation is in every input's expanded REL TO list
        common = set(NATIONS)
        for label in inputs:
            if label.releasable_to is not None:
                expanded = set()
                for entry in label.releasable_to:
                    expanded |= COALITIONS.get(entry, {entry} if len(entry) == 3 else set())
                common &= expanded
        assert not common
        return
    assert combined.originator == node
    assert LEVELS.index(combined.classification) == max(
        LEVELS.index(lb.classification) for lb in inputs
    )
    assert combined.caveats == frozenset().union(*(lb.caveats for lb in inputs))
    for reader in [*who, Reader(node, "UNCLASSIFIED"), Reader(node, "TOP SECRET")]:
        if may_read(reader, combined, policy):
            assert all(reference_may_read(reader, lb) for lb in inputs), (reader, combined)


@pytest.mark.parametrize("node", ["USA", "IND"])
def test_combining_a_label_with_itself_loses_nothing_for_its_own_node(node: str) -> None:
    policy = policy_for(node)
    own = parse_label("SECRET//REL TO QUAD", policy)
    assert combine([own, own], policy) == own
