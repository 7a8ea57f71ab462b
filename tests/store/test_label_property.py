"""Property (issue 4): for random labels and readers, every query kind returns exactly the
records whose label the reader may read: never one it denies, always those it allows.

Records get random labels (classification, originator, REL TO nations and coalitions,
caveats, derived); the oracle is issue 12's rule stated directly (:func:`rule`), without
:func:`seawatch.labels.may_read`.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from records import Rec, clear, write

from seawatch.labels import Label, Reader
from seawatch.store import Store
from seawatch.store.query import Query

LEVELS = ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET"]
NATIONS = ["AUS", "CAN", "GBR", "IND", "JPN", "USA", "FRA"]
CAVEATS = ["ORCON", "PROPIN", "LIMDIS"]


@st.composite
def labels(draw: st.DrawFn) -> Label:
    rel = draw(st.none() | st.frozensets(st.sampled_from([*NATIONS, "FVEY", "QUAD"]), min_size=1))
    return Label(
        draw(st.sampled_from(LEVELS)),
        draw(st.sampled_from(NATIONS)),
        rel,
        draw(st.frozensets(st.sampled_from(CAVEATS), max_size=2)),
        draw(st.booleans()),
    )


COALITIONS = {"FVEY": {"AUS", "CAN", "GBR", "NZL", "USA"}, "QUAD": {"AUS", "IND", "JPN", "USA"}}


def rule(reader: Reader, label: Label) -> bool:
    """Deny unless permitted: clearance >= classification and every caveat held, for
    everyone; nation in the expanded REL TO (none: any), the originator's nation counting
    as listed unless the label is derived."""
    if LEVELS.index(reader.clearance) < LEVELS.index(label.classification):
        return False
    if not label.caveats <= reader.caveats:
        return False
    if label.releasable_to is None:
        return True
    nations = set().union(*(COALITIONS.get(e, {e}) for e in label.releasable_to))
    return reader.nation in nations or (reader.nation == label.originator and not label.derived)


readers = st.builds(
    Reader,
    st.sampled_from(NATIONS),
    st.sampled_from(LEVELS),
    st.frozensets(st.sampled_from(CAVEATS), max_size=3),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=st.lists(st.tuples(labels(), st.integers(0, 3)), min_size=1, max_size=12),
    reader=readers,
)
def test_reader_gets_exactly_what_labels_allow(
    store: Store, records: list[tuple[Label, int]], reader: Reader
) -> None:
    clear(store)
    recs = [
        Rec(k, 419000000 + vessel, label, minute=k, lat=10 + k / 10, lon=85 + k / 10)
        for k, (label, vessel) in enumerate(records)
    ]
    write(store, recs)
    allowed = {r.key for r in recs if rule(reader, r.label)}
    q = Query(store, reader)

    def keys(table: object) -> set[int]:
        return set(table.column("msg_key").to_pylist())  # type: ignore[attr-defined]

    assert keys(q.positions()) == allowed
    counted = q.count_positions().to_pylist()
    per_label: dict[int, int] = {}
    for row in q.positions().column("label_id").to_pylist():
        per_label[row] = per_label.get(row, 0) + 1
    assert {r["label_id"]: r["positions"] for r in counted} == per_label
    assert sum(r["positions"] for r in counted) == len(allowed)
    assert keys(q.positions(bbox=(80, 0, 100, 20))) == allowed
    for vessel in range(4):
        mine = {r.key for r in recs if r.key in allowed and r.mmsi == 419000000 + vessel}
        assert keys(q.track(419000000 + vessel)) == mine
        # latest: the newest allowed record of the vessel, never a denied newer one
        latest = q.latest(bbox=(80, 0, 100, 20)).to_pylist()
        got = {row["msg_key"] for row in latest if row["mmsi"] == 419000000 + vessel}
        assert got == ({max(mine)} if mine else set())
        found = q.vessels(mmsi=419000000 + vessel).column("label_id").to_pylist()
        assert len(found) == (1 if mine else 0)
        named = q.identities([419000000 + vessel]).column("label_id").to_pylist()
        assert len(named) == (1 if mine else 0)
    events = q.events().column("event_id").to_pylist()
    assert set(events) == {f"ev{k}" for k in allowed}
    ids = store.labels()
    for table in (q.positions(), q.events(), q.vessels(name="SEA"), q.identities()):
        for label_id in table.column("label_id").to_pylist():
            assert rule(reader, ids[label_id])
