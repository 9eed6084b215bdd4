"""Incremental ingestion: the toolkit's own index of errors, kept up to date step by step.

A pass (:meth:`Ingester.run`) repeats steps, each one write transaction of the state (one
ingester at a time: an advisory lock on PostgreSQL, the file's write lock on SQLite):

1. **What is new.** The :class:`~error_analytics.store.changes.ChangeFeed` names the runs of
   the rows past the watermarks (``ea_ingest_marks``; at most ``step_rows`` rows per table a
   step; ``updated_at`` among the rows added in the last ``follow_days``); on a pass's first
   step, the runs that were still in progress when last read and started within
   ``reread_days`` are added (their status may change without any column saying so).
2. **Which history.** The index holds every run from a point in time on (``covered_since``).
   A pass that needs an older window (``since``) reads the runs of the missing range by time,
   latest first (:meth:`~error_analytics.store.workflow_reader.WorkflowReader.runs_between`);
   a background pass reads one small step of older history (``backfill``) until all of it is
   read. A fresh index starts its watermarks at the tables' latest rows and reads only the
   window asked for, so the first answer on a large database costs a window, not the history
   (a database of at most ``WHOLE_HISTORY_ROWS`` rows is read whole on the first pass).
3. **Replace.** The named runs are re-read whole (``read_runs``, the window's rules) and every
   run that is no longer as recorded is replaced: ``ea_runs`` and its errors in
   ``ea_event_assignments`` (one row per error, failed runs without error text included; an
   error keeps when it was first seen). New messages get templates and clusters
   (:class:`~.refresh.Refresher`). A run that no longer exists leaves the index.
4. Record the watermarks, the row counts below them and, when anything changed, a new
   *generation* (the views' cache key), and commit.

Corrections come from re-reading: a run that changed status is read again (by ``updated_at``
where the column exists, else while it is in progress) and its rows replaced. Deletions are
reconciled: when fewer rows lie below a watermark than recorded, the run ids still present are
read and the runs that are gone leave the index. A pass killed half-way loses at most its
current step; the next pass starts from the last committed watermarks.

:meth:`Ingester.run` with ``rebuild=True`` empties the index first (clusters, templates and
review decisions stay) and reads every run again: ``analyze-errors state rebuild``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from datetime import datetime, timedelta
from typing import Any

from ..models import DataQualityReport, ErrorEvent, Phase, Source
from ..store.changes import ChangeFeed
from ..store.run_batch import (
    UNATTRIBUTED_ORIGIN,
    UNATTRIBUTED_PREFIX,
    IndexedRun,
    RunBatch,
)
from ..store.schema_probe import WORKFLOW_TABLE
from ..store.state import AssignmentRow, StateStore, StateTransaction
from ..store.state.records import RunRow
from ..store.workflow_reader import UNATTRIBUTED
from .identity import Templater, event_key, message_hash
from .lifecycle import end_mutes, mark_regressions
from .models import RefreshResult
from .ports import AnalysedDatabase
from .refresh import Progress, Refresher
from .remap import remap_identity

#: Rows per table a step takes at most (a step is one transaction).
STEP_ROWS = 20_000
#: Deleted rows are looked for at most this often (counting rows below the watermarks reads
#: whole indexes).
DELETION_CHECK_SECONDS = 60
#: Older runs a background pass reads at most (well under a second's work, so that new runs
#: are never kept waiting long behind the history).
BACKFILL_ROWS = 500
#: Older runs listed by one query, for that many background steps.
HISTORY_BATCH = 20_000
#: A fresh index of a database with at most this many rows (over the analysed tables) reads
#: the whole history on its first pass: a few seconds' work, and the clusters come out the
#: same whatever window is asked first. Larger databases are read window first.
WHOLE_HISTORY_ROWS = 20_000
#: How far back runs still in progress are read again on each pass.
REREAD_DAYS = 2
#: For how many days rows added are followed for changes in place (``updated_at``: a failed
#: run retried into success, a run finished after it was read).
FOLLOW_DAYS = 7
#: ``ea_ingest_marks`` name of the oldest run time from which every run is in the index
#: (:data:`ALL`: every run; empty: none yet)
COVERED = "covered_since"
ALL = "all"
_PHASE_BITS = {phase: 1 << index for index, phase in enumerate(Phase.ordered())}


@dataclasses.dataclass(slots=True)
class _Tally:
    """What a pass did, over its steps."""

    runs_read: int = 0
    errors: int = 0
    new_errors: int = 0
    new_templates: int = 0
    attached: int = 0
    new_cluster_ids: list[str] = dataclasses.field(default_factory=list)
    forgotten_runs: int = 0
    changed: bool = False


class Ingester:
    """Brings the index of errors up to date (see the module docstring)."""

    def __init__(
        self,
        analytics: AnalysedDatabase,
        store: StateStore,
        templater: Templater,
        *,
        step_rows: int = STEP_ROWS,
        reread_days: int = REREAD_DAYS,
        retention_days: int | None = None,
    ) -> None:
        self.analytics = analytics
        self.store = store
        self.templater = templater
        self.step_rows = step_rows
        self.backfill_rows = BACKFILL_ROWS
        self.whole_history_rows = WHOLE_HISTORY_ROWS
        self._deletions_checked = float("-inf")
        #: older runs not read yet, latest first (read HISTORY_BATCH at a time)
        self._history: list[tuple[str, datetime]] = []
        self._history_complete = False
        self.deletion_check_seconds: float = DELETION_CHECK_SECONDS
        self.reread_days = reread_days
        self.follow_days = FOLLOW_DAYS
        #: per-error rows older than this many days are folded into daily counts (None: kept)
        self.retention_days = retention_days
        self._feed: ChangeFeed | None = None

    @property
    def feed(self) -> ChangeFeed:
        if self._feed is None:
            reader = self.analytics.reader
            self._feed = ChangeFeed(reader.engine, reader.schema)
        return self._feed

    def run(
        self,
        now: datetime,
        *,
        days: int = 30,
        since: datetime | None = None,
        backfill: int = 0,
        progress: Progress | None = None,
        rebuild: bool = False,
        record: bool = True,
        wait: bool = True,
    ) -> RefreshResult:
        """One pass: every step until nothing is new and every run since ``since`` is in the
        index (None: every run), plus up to ``backfill`` steps of older history; what it did
        as a :class:`~.models.RefreshResult` (``days`` is recorded with it). ``record=False``
        (ingestion before a read, or in the background) records the pass in
        ``ea_refresh_runs`` only when it changed something. ``wait=False``: raise
        :class:`~error_analytics.store.state.engine.WriterBusy` at once when another process
        is ingesting (it will ingest what this pass would have)."""
        tally = _Tally()
        remapped: dict[str, str] = {}
        first = True
        new_rows_done = False
        step = 0
        report = progress or (lambda done, total: None)
        while True:
            with self.store.write(lock="refresh", wait=wait or not first) as tx:
                if first:
                    if rebuild:
                        tx.forget_index()
                    remapped = remap_identity(tx, self.templater, now)
                    if COVERED not in tx.marks():
                        self._start(tx, now)
                if not new_rows_done:
                    new_rows_done = self._step(tx, now, tally, reread=first)
                    # the window too, in the same transaction when it is already read (a small
                    # pass is one transaction); older history in a step of its own
                    covered = new_rows_done and self._cover(tx, now, since, tally)
                    complete = covered and backfill <= 0
                else:
                    complete = self._cover(tx, now, since, tally)
                    if complete and backfill > 0:
                        backfill -= 1
                        changed = tally.changed
                        complete = self._cover(tx, now, None, tally, at_most_one=True)
                        # older history changes no window served so far: not a change to
                        # record (the record is part of the views' cache key)
                        tally.changed = changed
                step += 1
                report(step, step if complete else step + 1)
                if complete:
                    if self.retention_days and tx.prune_errors_before(self._horizon(now)):
                        tx.set_marks({"generation": str(tx.generation() + 1)}, now)
                        tally.changed = True
                    unmuted = end_mutes(tx, now)
                    regressed = mark_regressions(tx, now)
                    if record or tally.changed or unmuted or regressed:
                        tx.record_refresh(
                            at=now,
                            days=days,
                            events_seen=tally.errors,
                            new_assignments=tally.new_errors,
                            new_clusters=len(tally.new_cluster_ids),
                            identity_version=self.templater.identity_version,
                        )
                    break
            first = False
        return RefreshResult(
            days=days,
            events_seen=tally.errors,
            new_assignments=tally.new_errors,
            new_templates=tally.new_templates,
            attached_templates=tally.attached,
            new_clusters=len(tally.new_cluster_ids),
            regressed=len(regressed),
            unmuted=len(unmuted),
            new_cluster_ids=tally.new_cluster_ids,
            regressed_ids=regressed,
            unmuted_ids=unmuted,
            remapped_ids=remapped,
            identity_version=self.templater.identity_version,
            finished_at=now,
            runs_read=tally.runs_read,
            runs_forgotten=tally.forgotten_runs,
        )

    def covers(self, tx: StateTransaction, moment: datetime) -> bool:
        """Whether every run from ``moment`` on is in the index."""
        covered = tx.marks().get(COVERED)
        if covered is None or covered == "":
            return False
        return covered == ALL or datetime.fromisoformat(covered) <= moment

    def _start(self, tx: StateTransaction, now: datetime) -> None:
        """A fresh index: the watermarks start at the tables' latest rows (what is below them
        is read by time range, :meth:`_cover`), with the runs no window holds (no readable
        time) and the hook events that name no run read now (they belong to no run's time).
        A small database (:data:`WHOLE_HISTORY_ROWS`) is read whole instead, from the first
        row of each table on."""
        if sum(self.feed.row_counts().values()) <= self.whole_history_rows:
            tx.set_marks({COVERED: ALL}, now)
            return
        marks = self.feed.current_marks()
        marks.update(self.feed.counts_through(marks))
        marks.update(self.feed.followed_start(now, self.follow_days))
        marks[COVERED] = ""
        tx.set_marks(marks, now)
        reader = self.analytics.reader
        run_ids = reader.untimed_run_ids() | {UNATTRIBUTED}
        if self._replace(tx, run_ids, reader.read_runs(run_ids), now, _Tally()):
            tx.set_marks({"generation": str(tx.generation() + 1)}, now)

    def _cover(
        self,
        tx: StateTransaction,
        now: datetime,
        since: datetime | None,
        tally: _Tally,
        *,
        at_most_one: bool = False,
    ) -> bool:
        """One step towards an index that holds every run from ``since`` on (None: every
        run): the next older runs, latest first. True once it does (or, ``at_most_one``,
        after one step)."""
        covered = tx.marks().get(COVERED) or ""
        if covered == ALL:
            return True
        bound = datetime.fromisoformat(covered) if covered else None
        if since is not None and bound is not None and bound <= since:
            return True
        if at_most_one:
            found, done = self._next_history(bound)
        else:
            found = self.analytics.reader.runs_between(since, bound, self.step_rows)
            done = len(found) < self.step_rows
        new_bound = (
            (since.isoformat(sep=" ") if since is not None else ALL)
            if done
            else found[-1][1].isoformat(sep=" ")
        )
        run_ids = {run_id for run_id, _ in found}
        changed = bool(run_ids) and self._replace(
            tx, run_ids, self.analytics.reader.read_runs(run_ids), now, tally
        )
        marks = {COVERED: new_bound}
        # history older than every window served so far changes none of their answers: a
        # background step leaves the views' caches alone
        if changed and not at_most_one:
            marks["generation"] = str(tx.generation() + 1)
        tx.set_marks(marks, now)
        return done or at_most_one

    def _next_history(self, bound: datetime | None) -> tuple[list[tuple[str, datetime]], bool]:
        """The next ``backfill_rows`` runs older than ``bound`` (and those sharing the last
        one's time), from a list read :data:`HISTORY_BATCH` runs at a time (one query for many
        small background steps); whether they are the last ones."""
        backlog = [item for item in self._history if bound is None or item[1] < bound]
        if not backlog:
            backlog = self.analytics.reader.runs_between(None, bound, HISTORY_BATCH)
            self._history_complete = len(backlog) < HISTORY_BATCH
        taken = backlog[: self.backfill_rows]
        if taken:
            last = taken[-1][1]
            taken += [item for item in backlog[len(taken) :] if item[1] == last]
        self._history = backlog[len(taken) :]
        return taken, not self._history and self._history_complete

    def _horizon(self, now: datetime) -> datetime:
        """The start of the first day whose errors are kept one by one."""
        days = self.retention_days or 0
        return datetime.combine((now - timedelta(days=days)).date(), datetime.min.time())

    def _step(self, tx: StateTransaction, now: datetime, tally: _Tally, *, reread: bool) -> bool:
        marks = tx.marks()
        # counting rows below the watermarks reads whole indexes: once a minute at most
        since_check = time.monotonic() - self._deletions_checked
        check = reread and since_check >= self.deletion_check_seconds
        deleted = check and self.feed.deletions(marks)
        changes = self.feed.next_changes(
            marks, self.step_rows, today=now.date(), follow_days=self.follow_days
        )
        run_ids = set(changes.run_ids)
        if reread:
            run_ids |= tx.runs_to_reread(now - timedelta(days=self.reread_days))
        changed = False
        if deleted:
            present = self.feed.all_run_ids()
            gone = {
                run_id for run_id in tx.indexed_run_ids() - present if not _unattributed(run_id)
            }
            tx.forget_runs(gone)
            # runs still named elsewhere whose workflow_history row went: read them again
            run_ids |= tx.indexed_run_ids(WORKFLOW_TABLE) - self.feed.run_ids_of(WORKFLOW_TABLE)
            tally.forgotten_runs += len(gone) + tx.forget_orphan_errors(present)
            tally.changed = changed = True
        if run_ids:
            batch = self.analytics.reader.read_runs(run_ids)
            changed = self._replace(tx, run_ids, batch, now, tally) or changed
        new_marks = dict(changes.marks)
        if check:
            new_marks.update(self.feed.counts_through(changes.marks))
            self._deletions_checked = time.monotonic()
        if changed:
            new_marks["generation"] = str(tx.generation() + 1)
        tx.set_marks(new_marks, now)
        return changes.complete

    def _replace(
        self, tx: StateTransaction, run_ids: set[str], batch: RunBatch, now: datetime, tally: _Tally
    ) -> bool:
        """Replace the rows of the runs of ``run_ids`` that are not as recorded by what
        ``batch`` read of them; False (nothing written) when all are as recorded."""
        if UNATTRIBUTED in run_ids:  # its days (their data quality) are replaced with it
            run_ids = run_ids | tx.indexed_run_ids(UNATTRIBUTED_ORIGIN)
            run_ids |= {key for key in batch.runs if key.startswith(UNATTRIBUTED_PREFIX)}
        before = tx.run_assignments(run_ids)
        recorded = tx.runs(run_ids)
        run_to_row = {run.run_id: _run_row(run, now) for run in batch.runs.values()}
        run_to_events: dict[str, list[ErrorEvent]] = {}
        for event in sorted(
            batch.events,
            key=lambda event: (event.timestamp or datetime.min, event.run_id, event.source.value),
        ):
            run_to_events.setdefault(event.run_id, []).append(event)
        run_to_keyed = {run_id: _keyed(events) for run_id, events in run_to_events.items()}
        changed = {
            run_id
            for run_id in run_ids
            if not _same_row(run_to_row.get(run_id), recorded.get(run_id))
            or {key for key, _, _ in run_to_keyed.get(run_id, [])} != before.get(run_id, {}).keys()
        }
        if not changed:
            return False
        tx.forget_runs(changed)
        tally.forgotten_runs += len(changed - batch.runs.keys() - {UNATTRIBUTED})
        tx.insert_runs([run_to_row[run_id] for run_id in sorted(changed) if run_id in run_to_row])
        keyed = [item for run_id in sorted(changed) for item in run_to_keyed.get(run_id, [])]
        if self.retention_days:  # an error already folded into the daily counts stays there
            horizon = self._horizon(now)
            keyed = [
                (key, event, hashed)
                for key, event, hashed in keyed
                if event.timestamp is None
                or event.timestamp >= horizon
                or event.run_id not in recorded
                or key in before.get(event.run_id, {})
            ]
        keyed.sort(key=lambda item: (item[1].timestamp or datetime.min, item[1].run_id))
        messages = [event.message for _, event, _ in keyed if event.message]
        message_to_fp: dict[str, str] = {}
        if messages:
            refresher = Refresher(self.analytics, self.store, self.templater)
            message_to_fp, placed = refresher.place_messages(tx, messages, now)
            tally.new_templates += len(placed.new_templates)
            tally.attached += placed.attached
            tally.new_cluster_ids.extend(placed.new_ids)
        rows: list[AssignmentRow] = []
        hash_to_message: dict[str, str] = {}
        for key, event, hashed in keyed:
            if event.message:
                hash_to_message[hashed] = event.message
            first_seen = before.get(event.run_id, {}).get(key)
            if first_seen is None:
                tally.new_errors += 1
                first_seen = now
            rows.append(
                AssignmentRow(
                    event_key=key,
                    fingerprint=message_to_fp.get(event.message, "") if event.message else "",
                    run_id=event.run_id,
                    source=event.source.value,
                    phase=event.phase.value,
                    message_hash=hashed,
                    occurred_at=event.timestamp,
                    seen_at=first_seen,
                    day=(event.timestamp or first_seen).date(),
                    workflow_template=_tag(event.workflow_template),
                    model=_tag(event.model),
                    sources=",".join(source.value for source in event.sources) or None,
                )
            )
        tx.add_messages(hash_to_message)
        tx.insert_index_rows(rows)
        tally.runs_read += len(
            {run_id for run_id in changed & batch.runs.keys() if not _unattributed(run_id)}
        )
        tally.errors += len(rows)
        tally.changed = True
        return True


def _unattributed(run_id: str) -> bool:
    return run_id.startswith(UNATTRIBUTED_PREFIX)


def _keyed(events: list[ErrorEvent]) -> list[tuple[str, ErrorEvent, str]]:
    """(event key, event, message hash) for one run's errors; keys unique within the run."""
    taken: set[str] = set()
    keyed = []
    for event in events:
        hashed = message_hash(event.message) if event.message else ""
        keyed.append((_unique_key(event_key(event, hashed), taken), event, hashed))
    return keyed


def _same_row(new: RunRow | None, old: RunRow | None) -> bool:
    if new is None or old is None:
        return new is old
    return dataclasses.replace(old, ingested_at=new.ingested_at) == new


def _unique_key(key: str, taken: set[str]) -> str:
    """``key``, or for the n-th error of a run with the same key, a key derived from it."""
    candidate, ordinal = key, 1
    while candidate in taken:
        candidate = hashlib.sha1(f"{key}:{ordinal}".encode()).hexdigest()
        ordinal += 1
    taken.add(candidate)
    return candidate


def _tag(value: str | None) -> str | None:
    return value[:200] if value else None


def _run_row(run: IndexedRun, now: datetime) -> RunRow:
    reached = 0
    for phase in run.reached:
        reached |= _PHASE_BITS.get(phase, 0)
    return RunRow(
        run_id=run.run_id,
        origin=run.origin,
        run_time=run.run_time,
        day=run.run_time.date() if run.run_time else None,
        failed=run.failed,
        in_progress=run.in_progress,
        reached=reached,
        time_problem=run.time_problem,
        quality=quality_json(run.quality),
        ingested_at=now,
    )


def quality_json(report: DataQualityReport) -> dict[str, Any] | None:
    """What a run's rows gave: rows read, skipped and changed (None: nothing read)."""
    document = {
        "read": report.rows_read,
        "skipped": report.rows_skipped,
        "examples": report.skipped_examples,
        "adjusted": report.rows_adjusted,
    }
    document = {key: value for key, value in document.items() if value}
    return document or None


def add_quality(report: DataQualityReport, document: dict[str, Any], runs: int = 1) -> None:
    """Add the :func:`quality_json` of ``runs`` runs that share it to ``report``."""
    for source, count in dict(document.get("read") or {}).items():
        report.read(source, int(count) * runs)
    examples: dict[str, Any] = dict(document.get("examples") or {})
    for key, count in dict(document.get("skipped") or {}).items():
        report.rows_skipped[key] = report.rows_skipped.get(key, 0) + int(count) * runs
        kept = report.skipped_examples.setdefault(key, [])
        for example in examples.get(key) or []:
            if len(kept) < 3:
                kept.append(str(example))
    for key, count in dict(document.get("adjusted") or {}).items():
        report.rows_adjusted[key] = report.rows_adjusted.get(key, 0) + int(count) * runs


def indexed_event(
    run_id: str,
    phase: str,
    source: str,
    message: str | None,
    occurred_at: datetime | None,
    template: str | None,
    model: str | None,
    sources: str | None,
) -> ErrorEvent:
    """An error of the index as the views take it."""
    return ErrorEvent(
        run_id,
        Phase(phase),
        Source(source),
        message,
        occurred_at,
        template,
        model,
        tuple(Source(name) for name in sources.split(",")) if sources else (),
    )
