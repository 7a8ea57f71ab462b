"""Who may read what: readers, the access decision, and the label of derived records.

In: a :class:`Reader` (nation, clearance, caveats held), a record's
:class:`~seawatch.labels.label.Label` and the node's :class:`~seawatch.labels.policy.Policy`.
Out: allow or deny (:func:`may_read`), the set of label ids a reader may see
(:func:`allowed_label_ids`) and an Arrow boolean mask over a ``label_id`` column
(:func:`label_mask`) for the store's queries, which never build a Python object per record.

Decision (deny unless permitted): the node-admin reader reads everything (and is logged);
every other reader, the originator's own people included, needs clearance >=
classification and every caveat of the label, and a nation inside releasability: in the
expanded REL TO list (when there is one), where the originator's nation always counts as
listed unless the label is derived (issue 12: the originator's exemption covers
releasability only). With several policies (:class:`~seawatch.labels.policies.Policies`),
the record's classification is first expressed in the reader's policy through the declared
equivalences; a level with no equivalent there grants nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc

from seawatch.errors import LabelError
from seawatch.labels.countries import is_nation
from seawatch.labels.label import Label, is_caveat_name
from seawatch.labels.policy import Policy

__all__ = ["Reader", "allowed_label_ids", "combine", "default_reader", "label_mask", "may_read"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reader:
    """Someone asking for records: a nation, a clearance and the caveats they hold.

    Parse one from ``USA:SECRET`` or ``IND:C:ORCON,PROPIN`` with :meth:`parse`. The
    node-admin reader (:meth:`node_admin`) is for maintenance only: it reads everything,
    and making or using it is logged with its reason.
    """

    nation: str
    clearance: str
    caveats: frozenset[str] = field(default_factory=frozenset)
    admin_reason: str | None = None

    def __post_init__(self) -> None:
        if self.admin_reason is not None:
            if not self.admin_reason.strip():
                raise LabelError("node-admin reader without a reason: say why it is needed")
            log.warning("node-admin reader created: %s", self.admin_reason)
            return
        if not is_nation(self.nation):
            raise LabelError(
                f"reader nation {self.nation!r} is not an ISO 3166-1 alpha-3 code (e.g. USA, IND)"
            )
        bad = sorted(c for c in self.caveats if not is_caveat_name(c))
        if bad:
            raise LabelError(f"reader caveats {', '.join(bad)} are not caveat names")
        object.__setattr__(self, "caveats", frozenset(self.caveats))

    @property
    def is_node_admin(self) -> bool:
        """True for the maintenance reader made by :meth:`node_admin`."""
        return self.admin_reason is not None

    @classmethod
    def node_admin(cls, reason: str) -> Reader:
        """The maintenance reader that reads every record; ``reason`` goes to the log."""
        return cls(nation="", clearance="", admin_reason=reason)

    @classmethod
    def parse(cls, text: str, policy: Policy) -> Reader:
        """``NATION:CLEARANCE[:CAVEAT,CAVEAT]``, e.g. ``USA:SECRET`` or ``IND:C:ORCON``."""
        parts = [p.strip() for p in text.split(":")]
        if len(parts) not in (2, 3):
            raise LabelError(
                f"reader {text!r}: expected NATION:CLEARANCE[:CAVEAT,...], e.g. USA:SECRET"
            )
        nation = parts[0].upper()
        policy = policy.for_nation(nation)
        clearance = policy.level(parts[1])
        if clearance is None:
            raise LabelError(
                f"reader {text!r}: unknown clearance {parts[1]!r} (known: {policy.levels_hint()})"
            )
        caveats = frozenset(c.strip().upper() for c in (parts[2:] or [""])[0].split(",") if c)
        unknown = sorted(caveats - policy.caveats)
        if unknown:
            raise LabelError(
                f"reader {text!r}: unknown caveat(s) {', '.join(unknown)} "
                f"(known: {', '.join(sorted(policy.caveats))})"
            )
        return cls(nation, clearance, caveats)

    def __repr__(self) -> str:
        if self.is_node_admin:
            return f"Reader.node_admin({self.admin_reason!r})"
        return f"Reader({self.nation!r}, {self.clearance!r}, {set(self.caveats) or 'set()'})"

    def __str__(self) -> str:
        if self.is_node_admin:
            return "node-admin"
        tail = ":" + ",".join(sorted(self.caveats)) if self.caveats else ""
        return f"{self.nation}:{self.clearance}{tail}"


def default_reader(policy: Policy) -> Reader:
    """The node's own reader: the node's nation at the policy's highest clearance, holding
    every caveat. It reads all the node owns and all that partners released to it, as
    any reader with that clearance and those caveats would (not what the node holds for
    others only, nor derived records whose REL TO leaves the node's nation out: that
    takes the node-admin reader)."""
    return Reader(policy.node_nation, policy.levels[-1], frozenset(policy.caveats))


def may_read(reader: Reader, label: Label, policy: Policy) -> bool:
    """May ``reader`` receive a record labelled ``label``? Deny unless permitted.

    Clearance (under the reader's nation's policy) >= the record's classification expressed
    in that policy (under another policy than the record's: its declared equivalent, none:
    deny), every caveat held, and the nation inside releasability (:func:`_releasable`).
    """
    if reader.is_node_admin:
        log.info("node-admin reader reads %s (%s)", label, reader.admin_reason)
        return True
    own, mine = policy.of(label), policy.for_nation(reader.nation)
    level = policy.translate(label.classification, own, mine)  # None: no equivalent declared
    have = mine.rank(reader.clearance)
    need = None if level is None else mine.rank(level)
    if have is None or need is None or have < need:
        return False
    if not label.caveats <= reader.caveats:
        return False
    return _releasable(reader, label, policy)


def _releasable(reader: Reader, label: Label, policy: Policy) -> bool:
    """Is the reader's nation inside the label's releasability? No REL TO: every nation.
    The originator's nation is always inside, unless the label is derived (its REL TO is
    exactly the intersection :func:`combine` computed)."""
    if reader.nation == label.originator and not label.derived:
        return True
    nations = policy.of(label).expand(label.releasable_to)
    return nations is None or reader.nation in nations


def combine(labels: Iterable[Label], policy: Policy) -> Label:
    """The label of a record derived from records labelled ``labels``.

    Highest classification, REL TO the intersection of the inputs' expanded lists (no
    list: every nation; an input's list as written when it expands to the intersection),
    union of caveats. The originator is the node's nation, the one
    that derived the record; the result is ``derived`` (its REL TO list is exactly the
    intersection: the node's nation is not added to it) unless every input is the node
    nation's own, non-derived record, so that whoever may read the result may read every
    input. Raises :class:`LabelError` for no input, an unknown
    classification, or inputs that no single nation may all read.
    """
    inputs = list(labels)
    if not inputs:
        raise LabelError("combine needs at least one label")
    node = policy.node_nation
    top = -1
    rel: frozenset[str] | None = None
    caveats: set[str] = set()
    for label in inputs:
        source = policy.of(label)
        level = policy.translate(label.classification, source, policy)
        rank = None if level is None else policy.rank(level)
        if rank is None:
            raise LabelError(_untranslatable(label, source, policy))
        top = max(top, rank)
        unknown = sorted(label.caveats - policy.caveats)
        if unknown:
            raise LabelError(
                f"label {label} ({label.originator}): caveat(s) {', '.join(unknown)} are not "
                f"in the node's policy {policy.name!r}"
            )
        nations = source.expand(label.releasable_to)
        if nations is not None:
            rel = nations if rel is None else rel & nations
        caveats |= label.caveats
    derived = any(label.derived or label.originator != node for label in inputs)
    if rel is not None and not rel:
        raise LabelError(
            "no nation may read every input (their REL TO lists do not intersect): "
            f"{'; '.join(sorted({str(lb) for lb in inputs}))}"
        )
    # keep an input's list as written (coalition names) when it is the intersection
    written = (lb.releasable_to for lb in inputs if lb.releasable_to is not None)
    rel = next((w for w in written if policy.expand(w) == rel), rel)
    result = Label(policy.levels[top], node, rel, frozenset(caveats), derived)
    _check_every_policy(result, inputs, policy)
    return result


def _untranslatable(label: Label, source: Policy, target: Policy) -> str:
    if source.rank(label.classification) is None:
        return (
            f"label {label}: classification {label.classification!r} is not in the "
            f"policy {source.name!r} ({source.levels_hint()})"
        )
    return (
        f"label {label} ({label.originator}, policy {source.name!r}): classification "
        f"{label.classification!r} has no declared equivalent in policy {target.name!r} "
        f"({target.levels_hint()}); declare one in the policy_equivalence setting"
    )


def _check_every_policy(result: Label, inputs: list[Label], policy: Policy) -> None:
    """Under each policy on the node, whoever is cleared for the result must be cleared
    for every input; equivalences are not chained, so a missing one refuses the result."""
    if policy.policies is None:
        return
    for target in {p.name: p for p in policy.policies.by_nation.values()}.values():
        over = policy.translate(result.classification, policy, target)
        if over is None:
            continue  # nobody under that policy reads the result
        for label in inputs:
            level = policy.translate(label.classification, policy.of(label), target)
            if level is None or (target.rank(level) or 0) > (target.rank(over) or 0):
                raise LabelError(
                    "cannot combine: a reader under policy "
                    f"{target.name!r} cleared for {over} could read the result but not "
                    f"the input {label} ({label.originator}): "
                    + _untranslatable(label, policy.of(label), target)
                )


def allowed_label_ids(reader: Reader, labels: Mapping[int, Label], policy: Policy) -> set[int]:
    """Ids of the labels in ``labels`` (the store's label dictionary) ``reader`` may read."""
    if reader.is_node_admin:
        log.info("node-admin reader reads all %d labels (%s)", len(labels), reader.admin_reason)
        return set(labels)
    return {label_id for label_id, label in labels.items() if may_read(reader, label, policy)}


def label_mask(
    label_ids: pa.Array[Any] | pa.ChunkedArray[Any],
    reader: Reader,
    labels: Mapping[int, Label],
    policy: Policy,
) -> pa.BooleanArray | pa.ChunkedArray[Any]:
    """True where ``reader`` may read the record whose ``label_id`` is at that position.

    Work is per distinct label, not per record: one :func:`pyarrow.compute.is_in`. A null
    or unknown ``label_id`` is denied (False, never null).
    """
    allowed = pa.array(sorted(allowed_label_ids(reader, labels, policy)), type=pa.int32())
    mask: Any = pc.is_in(label_ids.cast(pa.int32()), value_set=allowed, skip_nulls=True)
    return cast("pa.BooleanArray | pa.ChunkedArray[Any]", pc.fill_null(mask, False))
