"""What a partitioned daily run keeps to be run again, and how the files of runs run again
replace the old ones.

In: a run's partitions, the outputs of its (day, bucket) tasks and of the stage across
vessels, its :class:`~seawatch.engine.partition_state.Carry`. Out: beside each bucket's
state its *journal* (:func:`journal`): ``<stamp>.positions-d<day>.arrow`` and
``<stamp>.statics-d<day>.arrow`` (its partitions) and ``<stamp>.released-d<day>.arrow`` (the
positions it released), and the ids each bucket and the stage wrote (the run's record's
``wrote``); the rows of past days taken out of a run's partitions (:func:`split_past`); the
files of runs run again (:mod:`seawatch.engine.partition_late`, written in a directory of
their own) moved in place (:func:`commit`, :func:`roll_forward`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from seawatch.durable import fsync_dir
from seawatch.engine import arrowfile
from seawatch.engine.late import wrote
from seawatch.engine.late_store import named
from seawatch.engine.partition_state import Carry, _iso, bucket_name, record_name
from seawatch.engine.partitions import Manifest
from seawatch.engine.pipeline import ts_us
from seawatch.engine.state import StateStore
from seawatch.errors import InputError

if TYPE_CHECKING:
    from seawatch.engine.partition_tasks import VesselOut

__all__ = ["NO_IDS", "commit", "journal", "journal_path", "journals", "keep_file", "released",
           "roll_forward", "split_past", "unit_wrote"]  # fmt: skip

log = logging.getLogger(__name__)
_RECORD = ".rerun.json"
_JOURNAL = re.compile(r"^(\d{8}T\d{12}Z)\.(positions|statics|released)-d(\d+)\.arrow$")
NO_IDS: dict[str, set[Any]] = {"events": set(), "retracted": set(), "segments": set()}


def journal_path(states: StateStore, buckets: int, bucket: int, mark: int, what: str,
                 day: int) -> Path:  # fmt: skip
    """A bucket's journal file of the run ending at ``mark``: ``what`` is ``positions`` or
    ``statics`` (its partition of ``day``) or ``released`` (the positions it released)."""
    base = states.path(bucket_name(buckets, bucket), mark)
    return base.with_name(f"{base.stem}.{what}-d{day}.arrow")


def keep_file(src: Path, dst: Path) -> None:
    """``src``'s rows kept in ``dst`` whole, zstd-compressed (as the local engine's journals:
    the run's working files are not, by default): a temporary name, fsynced, renamed."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    arrowfile.write(arrowfile.read(src), tmp, "lz4")
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, dst)


def _ids(path: str | None, column: str) -> set[Any]:
    return set() if path is None else set(arrowfile.read(path, [column]).column(0).to_pylist())


def unit_wrote(
    outs: Sequence[VesselOut], events: pa.Table, retract: Sequence[str]
) -> dict[str, Any]:
    """The ids each bucket (by number) and the stage across vessels (``across``) wrote."""
    units: dict[str, dict[str, set[Any]]] = {}
    for o in outs:
        u = units.setdefault(str(o.bucket), {k: set() for k in NO_IDS})
        u["events"] |= _ids(o.files.get("events"), "event_id")
        u["segments"] |= _ids(o.files.get("segments"), "segment_id")
        u["retracted"] |= set(o.retract)
    units["across"] = {"events": set(events.column("event_id").to_pylist()),
                       "retracted": set(retract), "segments": set()}  # fmt: skip
    for u in units.values():
        u["retracted"] -= u["events"]
    return {k: wrote(u) for k, u in units.items()}


def journal(
    carry: Carry, manifest: Manifest, root: Path, outs: Sequence[VesselOut],
    events: pa.Table, retract: Sequence[str],
) -> dict[str, Any]:  # fmt: skip
    """Each bucket's journal kept beside its state at the run's end (its partitions and the
    positions it released, per day; those of states no longer kept removed); what the
    run's record adds for running it again."""
    states = carry.states()
    for rel, f in manifest.files.items():
        where = journal_path(
            states, carry.buckets, f["bucket"], carry.until_us, f["kind"], f["day"]
        )
        keep_file(root / rel, where)
    for o in outs:
        if "positions" in o.files:
            where = journal_path(states, carry.buckets, o.bucket, carry.until_us, "released", o.day)
            keep_file(Path(o.files["positions"]), where)
    for folder in states.root.glob(f"{bucket_name(carry.buckets, 0)[:6]}b*"):
        for p in folder.iterdir():
            m = _JOURNAL.match(p.name)
            if m and not (folder / f"{m.group(1)}.arrow").exists():
                p.unlink(missing_ok=True)
    return {"journal": True, "days": manifest.days, "journal_sources": manifest.sources,
            "wrote": unit_wrote(outs, events, retract)}  # fmt: skip


def split_past(
    carry: Carry, manifest: Manifest, root: Path, compression: str
) -> dict[tuple[str, int], pa.Table]:
    """The rows older than the watermark the run resumes from, taken out of its partitions
    (rewritten, and the manifest): by (kind, bucket), their inputs by name (:data:`NAME`).
    Rows without a time stay (the cleaner drops them)."""
    late: dict[tuple[str, int], pa.Table] = {}
    if carry.resume_us is None:
        return late
    for rel, f in list(manifest.files.items()):
        if f["min_ts_us"] >= carry.resume_us:
            continue
        rows = arrowfile.read(root / rel)
        old = np.asarray(rows.column("ts").is_valid(), bool) & (ts_us(rows) < carry.resume_us)
        if not old.any():
            continue
        key = (f["kind"], f["bucket"])
        mine = named(rows.filter(pa.array(old)), manifest.sources)
        late[key] = pa.concat_tables([late[key], mine]) if key in late else mine
        rest = rows.filter(pa.array(~old))
        (root / rel).unlink()
        if rest.num_rows:
            arrowfile.write(rest, root / rel, compression)
            f |= {"rows": rest.num_rows, "min_ts_us": int(ts_us(rest).min())}
        else:
            del manifest.files[rel]
    if late and carry.rebucket_from is not None:
        oldest = min(int(ts_us(t).min()) for t in late.values())
        raise InputError(
            f"rows from {_iso(oldest)} on are older than the last daily run, made with "
            f"--buckets {carry.rebucket_from}: a run that changes --buckets takes no rows of "
            f"past days (the runs before keep their journals per old bucket); run them with "
            f"--buckets {carry.rebucket_from} first, or leave them out"
        )
    manifest.days = sorted({int(f["day"]) for f in manifest.files.values()})
    manifest.save(root)
    return late


def journals(states: StateStore, buckets: int, mark: int) -> Iterator[tuple[int, str, int, Path]]:
    """(bucket, what, day, path) of every journal file of the run ending at ``mark``."""
    stamp = states.path(record_name(buckets), mark).stem
    for folder in sorted(states.root.glob(f"{bucket_name(buckets, 0)[:6]}b*")):
        for p in sorted(folder.glob(f"{stamp}.*-d*.arrow")):
            m = _JOURNAL.match(p.name)
            if m:
                yield int(folder.name[-4:]), m.group(2), int(m.group(3)), p


def released(
    states: StateStore, buckets: int, mark: int, active: set[int]
) -> dict[int, list[VesselOut]]:
    """The positions the buckets not run again released in the run ending at ``mark``
    (their journals), by day."""
    from seawatch.engine.partition_tasks import VesselOut

    out: dict[int, list[VesselOut]] = {}
    for bucket, what, day, path in journals(states, buckets, mark):
        if what == "released" and bucket not in active:
            out.setdefault(day, []).append(VesselOut(day, bucket, {"positions": str(path)}))
    return out


def commit(root: Path, staged: Path, replaced: list[tuple[str, int]]) -> None:
    """The staged files replace the old ones (see the module docstring)."""
    renames = [(str(p), str(root / p.relative_to(staged))) for p in sorted(staged.rglob("*"))
               if p.is_file() and not p.name.startswith(".")]  # fmt: skip
    new = {dst for _, dst in renames}
    remove = []
    for name, mark in replaced:  # journal files of days the run no longer has
        base = StateStore(root).path(name, mark)
        remove += [str(p) for p in base.parent.glob(f"{base.stem}.*-d*.arrow") if str(p) not in new]
    record = root / _RECORD
    tmp = record.with_name(f".{_RECORD}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"renames": renames, "remove": remove}))
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, record)
    fsync_dir(root)
    roll_forward(root)


def roll_forward(root: Path) -> None:
    """Finish the renames of a re-run's kept record (:func:`_commit`); remove what re-runs
    killed before it left."""
    record = root / _RECORD
    if record.exists():
        plan = json.loads(record.read_text())
        for p in plan["remove"]:
            Path(p).unlink(missing_ok=True)
        folders = {root}
        for src, dst in plan["renames"]:
            if Path(src).exists():
                Path(dst).parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)
                folders.add(Path(dst).parent)
        for folder in folders:
            fsync_dir(folder)
        record.unlink()
        fsync_dir(root)
        log.info("the states of past runs run again replaced (%d files)", len(plan["renames"]))
    if root.is_dir():
        for stale in root.glob(".rerun-*"):
            shutil.rmtree(stale, ignore_errors=True)
