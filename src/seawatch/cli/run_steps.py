"""The steps of ``seawatch run`` (:mod:`seawatch.cli.run`): traffic in, store, summary,
exports.

In: the run's settings, output directory and store choice. Out: a :class:`Job` whose
methods take the traffic in (:meth:`Job.simulate`, :meth:`Job.files`, :meth:`Job.live`),
then :meth:`Job.report` reads the store for one reader, writes the exports and composes
:attr:`Job.text`. Progress goes to stderr; the summary is the caller's to print. The work is
the library's: :mod:`seawatch.sim`, :mod:`seawatch.engine.ingest` and
:mod:`seawatch.engine.live` (through the engine), :mod:`seawatch.engine.workspace` (the
temporary store and directories), :mod:`seawatch.serve.report` (reading and exports);
this module only calls them and words what they did.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from seawatch.engine.ingest import Ingest, IngestReport, ingest
from seawatch.engine.live import Batch, ingest_live
from seawatch.engine.workspace import fresh_store, replace_dir, temporary_dir
from seawatch.errors import InputError
from seawatch.labels import Label, Reader, default_reader
from seawatch.serve.report import build_report, format_labels, write_exports
from seawatch.serve.situation import format_situation
from seawatch.settings import Settings
from seawatch.signals import stop_on_signals
from seawatch.store.base import Store, redact_url

if TYPE_CHECKING:
    from seawatch.decode.lacking import Untimed
    from seawatch.geo.zones import ZoneLayer

__all__ = ["Job", "live_address"]


def live_address(tcp: str | None, udp: str | None) -> tuple[str, str, int] | None:
    """``(protocol, host, port)`` of the live feed asked for, if any; a usage error for a
    bad ``HOST:PORT``."""
    from seawatch.sources.feed import parse_address

    for proto, text in (("tcp", tcp), ("udp", udp)):
        if text is not None:
            try:
                host, port = parse_address(text)
            except InputError as exc:
                raise click.BadParameter(str(exc), param_hint=f"--{proto}") from None
            return proto, host, port
    return None


def simulated_waters(truth: Path) -> ZoneLayer | None:
    """The simulator's boxes of other nations' waters (its ``zone_entry`` records) as a
    zone layer ``sim_waters``, so that zone entries are detected and named; None if none."""
    from seawatch.sim.zones import read_records, zone_layer

    return zone_layer(read_records(truth))


def _timed(started: float) -> str:
    return f"{time.perf_counter() - started:.1f} s"


def _utc(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


class Job:
    """One run: where it writes, what it did (:attr:`lines`), the summary (:attr:`text`)."""

    def __init__(
        self,
        settings: Settings,
        out: Path,
        db: str | None,
        reader_text: str | None,
        top: int,
        note: str,
        zones: Sequence[ZoneLayer] = (),
    ) -> None:
        self.settings, self.out, self.db = settings, out, db
        self.zones = list(zones)
        self.reader_text, self.top = reader_text, top
        self.title = "seawatch run"
        self.lines: list[str] = [f"note: {n}" for n in note.splitlines()]
        self.started = time.perf_counter()
        self.window: tuple[dt.datetime, dt.datetime] | None = None
        self.store_display = redact_url(db) if db else str(out / "seawatch.duckdb")
        self.text = ""
        self.untimed: Untimed | None = None
        """Times assumed for messages without one (``--untimed``)."""
        self.ingested: IngestReport | None = None
        """What the files' ingest did (:meth:`files`): what to tell of the inputs."""
        self.sim_files: list[str] = []
        """The simulated NMEA files in ``<out>/sim`` (:meth:`simulate`)."""

    # --- the store --------------------------------------------------------------------
    @contextlib.contextmanager
    def store(self) -> Iterator[Store]:
        """``--db`` as it is, or a fresh ``<out>/seawatch.duckdb`` put in place only once the
        run succeeded (:func:`seawatch.engine.workspace.fresh_store`)."""
        with fresh_store(self.out, self.settings, self.db) as store:
            yield store

    def _ingest(
        self, store: Store, paths: Sequence[Path], label: Label | None, *, detect: bool = True
    ) -> IngestReport:
        started = time.perf_counter()
        click.echo(f"ingesting {len(paths)} file(s) into {self.store_display} ...", err=True)
        report = ingest(
            store,
            paths,
            self.settings,
            detect=detect,
            label=label,
            zones=self.zones,
            untimed=self.untimed,
        )
        s = report.stored
        self.lines.append(
            f"stored      {s['positions']:,} new positions (of {report.read['positions']:,} "
            f"read), {s['statics']:,} statics, {s['segments']:,} segments, {s['events']:,} "
            f"events in {self.store_display} ({_timed(started)})"
        )
        self._late(report)
        return report

    def _late(self, report: IngestReport) -> None:
        if report.late:
            self.lines.append(
                f"late        {report.late:,} positions came more than reorder_window_s after "
                "newer ones: stored without a track, not in events"
            )

    # --- traffic in -------------------------------------------------------------------
    def simulate(
        self,
        store: Store,
        seed: int,
        vessels: int,
        hours: float,
        start: dt.datetime | None,
        label: Label | None,
    ) -> None:
        """A simulated fleet around India (:mod:`seawatch.sim`), stored."""
        from seawatch.sim import DEFAULT_START, SimConfig, simulate

        cfg = SimConfig(seed=seed, vessels=vessels, hours=hours, start=start or DEFAULT_START)
        tmp, final = temporary_dir(self.out, "sim"), self.out / "sim"
        started = time.perf_counter()
        click.echo(f"simulating {vessels} vessels for {hours:g} h (seed {seed}) ...", err=True)
        try:
            result = simulate(cfg, tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        replace_dir(tmp, final)
        self.sim_files = list(result.files)
        waters = simulated_waters(final / "truth.jsonl")
        if waters is not None:
            self.zones.append(waters)
        end = cfg.start + dt.timedelta(hours=hours)
        self.window = (cfg.start, end)
        self.title = (
            f"seawatch run: simulated traffic around India, {vessels} vessels, "
            f"{_utc(cfg.start)} to {_utc(end)}, seed {seed}"
        )
        self.lines.append(
            f"simulated   {result.lines:,} NMEA lines in {len(result.files)} files, "
            f"ground truth in {final / 'truth.jsonl'} ({_timed(started)})"
        )
        self._ingest(store, [final / name for name in result.files], label)

    def files(self, store: Store, paths: Sequence[Path], label: Label | None) -> None:
        """AIS files, stored."""
        self.title = f"seawatch run: {len(paths)} input file(s)"
        self.ingested = self._ingest(store, paths, label)

    def live(
        self,
        store: Store,
        address: tuple[str, str, int],
        batch_s: float,
        duration_s: float | None,
        label: Label | None,
    ) -> None:
        """A live feed: each batch stored as it arrives (kept in ``<out>/live/<start>/``),
        tracks and events by one pipeline across the batches (:class:`Ingest`); what is
        still open when the feed ends (open events, segments) is stored then."""
        from seawatch.sources.feed import Feed

        proto, host, port = address
        feed = Feed(proto, (host, port))  # type: ignore[arg-type]
        began = dt.datetime.now(dt.UTC)
        folder = self.out / "live" / began.strftime("%Y%m%dT%H%M%SZ")
        stop = threading.Event()
        session = Ingest(store, self.settings, detect=True, label=label, zones=self.zones,
                         detect_process=self.settings.live_detect_process)  # fmt: skip
        started = time.perf_counter()

        def told(b: Batch) -> None:
            click.echo(
                f"batch {b.number}: {b.lines:,} lines, {b.positions:,} new positions, "
                f"{b.events:,} events stored",
                err=True,
            )

        with stop_on_signals(stop):
            feed.open()
            click.echo(f"reading {feed}; Ctrl-C to stop and summarise", err=True)
            report = ingest_live(
                session,
                feed,
                folder,
                batch_s=batch_s,
                stop=stop,
                duration_s=duration_s,
                on_batch=told,
            )
        self.title = f"seawatch run: live feed {feed}"
        st = feed.stats
        s = report.stored
        self.lines.append(
            f"received    {st.lines:,} lines in {st.batches} batch(es) over {_timed(started)} "
            f"(ended: {st.ended_by}; {st.connects} connection(s)), kept in {folder}"
        )
        self.lines.append(
            f"stored      {s['positions']:,} new positions (of {report.read['positions']:,} "
            f"read), {s['statics']:,} statics, {s['segments']:,} segments, {s['events']:,} "
            f"events in {self.store_display}, each batch as it arrived"
        )
        self._late(report)

    # --- summary and exports ----------------------------------------------------------
    def report(self, store: Store, compare: Sequence[str] = ()) -> None:
        """Read the store for the reader, write the exports, compose :attr:`text`
        (:mod:`seawatch.serve.report` does the reading and writing)."""
        policy = store.policy
        reader = (
            default_reader(policy)
            if self.reader_text is None
            else Reader.parse(self.reader_text, policy)
        )
        others = [Reader.parse(text, policy) for text in compare]
        report = build_report(store, reader, window=self.window, top=self.top, compare=others)
        folder = self.out / "export"
        written = write_exports(
            store,
            report,
            folder,
            node_id=self.settings.node_id,
            cot_stale_s=self.settings.cot_stale_s,
        )
        out = [self.title, *(f"  {line}" for line in self.lines), ""]
        out += [format_situation(report.situation)]
        out += [*format_labels(report), ""]
        out.append(f"Exports for {reader} (every record carries its label)")
        width = max(len(str(w.path)) for w in written)
        for w in written:
            what = "events" if w.spec.kind == "events" else "vessels"
            out.append(
                f"  {w.spec.use:<13} {w.path!s:<{width}}  {w.result.rows:,} {what}, "
                f"marked {w.result.marking}"
            )
        out.append(
            f"Store: {self.store_display} (seawatch query/export --db ...); "
            f"the run took {_timed(self.started)}"
        )
        self.text = "\n".join(out) + "\n"
