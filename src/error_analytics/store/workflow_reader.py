"""Read-only access to the analysed workflow database.

:class:`WorkflowReader` answers a few intention-named questions about a time window:
how many runs and failures (counted in the database), per day (grouped in the database),
which runs reached which phase, and the stream of error events. It only ever issues
``SELECT`` statements; SQLite files are opened read-only by :mod:`.engine`.

Runs are keyed by ``adw_id`` across the three tables: a run known only from ``task_logs`` or
``hook_events`` counts as a run, its failures as errors (:mod:`.run_sources`), and the
data-quality report says how many runs had no ``workflow_history`` row (and which of them
have no readable time, so fall in no window). A run's events that state the same failure
become one error (:mod:`.same_failure`). Every value passes through :mod:`.parsing`; what
cannot be used is counted in the report, never raised.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..models import DataQualityReport, ErrorEvent, Phase, Source, TimeWindow
from ..rules import normalize_phase
from .parsing import (
    BadValue,
    clean_text,
    hook_error_message,
    iter_phase_errors,
    load_json,
    parse_timestamp,
)
from .row_values import (
    checked_text,
    count_changes,
    counted_timestamp,
    hook_run_id,
    label,
    phase_at,
    safe_timestamp,
)
from .run_batch import IN_PROGRESS_STATUSES, IndexedRun, QualityByRun, RunBatch
from .run_sources import (
    FAILED_STATUSES,
    ORIGIN_HOOKS,
    ORIGIN_TASK_LOGS,
    hook_time,
    is_failed,
    other_runs_relation,
    runs_relation,
    task_log_time,
    workflow_time,
)
from .same_failure import merge_same_failures
from .schema_probe import HOOK_TABLE, TASK_LOG_TABLE, WORKFLOW_TABLE, WorkflowSchema, probe_schema

__all__ = [
    "FAILED_STATUSES",
    "UNATTRIBUTED",
    "DailyRunCount",
    "RunBatch",
    "RunCounts",
    "RunScope",
    "WorkflowReader",
]
_HOOK_ERROR_HINTS = ("is_error", '"error"', "exit_code", "exitCode", "stderr", '"success"')


@dataclasses.dataclass(frozen=True, slots=True)
class RunCounts:
    total: int
    failed: int


@dataclasses.dataclass(frozen=True, slots=True)
class DailyRunCount:
    day: date
    runs: int
    failed: int


@dataclasses.dataclass(frozen=True, slots=True)
class RunScope:
    """The rows a read covers: the runs of a time window, or the runs named by id (an
    ingestion pass re-reads the runs it found changed; :data:`UNATTRIBUTED` names the hook
    events that name no run)."""

    window: TimeWindow | None = None
    run_ids: tuple[str, ...] = ()


#: Hook rows found by their ids at most (more: by a scan of the rows without a workflow_id).
_LISTED_HOOK_ROWS = 5_000
#: Reads by run id after which those rows are listed (the listing costs a scan of the table).
_LISTED_AFTER = 3

#: The run id of hook events that name no run (``workflow_id`` and ``source_app`` name none).
UNATTRIBUTED = "unknown"


@dataclasses.dataclass(frozen=True, slots=True)
class _OtherRun:
    """A run without a workflow_history row (see :mod:`.run_sources`)."""

    run_id: str
    run_time: datetime | None
    failed: bool
    origin: str


@dataclasses.dataclass(slots=True)
class _RunInfo:
    run_id: str
    failed: bool
    phase: Phase
    timestamp: datetime | None
    template: str | None
    model: str | None


class WorkflowReader:
    """Questions about the workflow database, answered with SELECTs only."""

    def __init__(self, engine: Engine, schema: WorkflowSchema | None = None) -> None:
        self.engine = engine
        self.schema = schema or probe_schema(engine)
        self._is_sqlite = engine.dialect.name == "sqlite"
        # the last window's other runs, and the runs without any readable time (one query)
        self._window_to_other_runs: tuple[TimeWindow, list[_OtherRun], list[_OtherRun]] | None = (
            None
        )
        self._other_run_history: list[tuple[str, datetime | None]] | None = None
        # source_app -> ids of the hook rows whose workflow_id names no run, listed up to a
        # hook id (then only the rows past it: one scan per reader)
        self._app_to_rows: dict[str, list[int]] = {}
        self._apps_read_to: int | None = None
        self._scoped_hook_reads = 0

    # -- SQL fragments -------------------------------------------------------------------
    def _col(self, name: str, table_alias: str = "w") -> str:
        return f"{table_alias}.{name}" if self.schema.has(WORKFLOW_TABLE, name) else "NULL"

    def _run_time(self, alias: str = "w") -> str:
        """The run's time as a comparable value: created_at, else start_time."""
        return workflow_time(self.schema, alias, sqlite=self._is_sqlite)

    def _runs(self, *, with_hooks: bool = True) -> str:
        """Every run of every table (see :mod:`.run_sources`), as a SQL relation."""
        return runs_relation(self.schema, sqlite=self._is_sqlite, with_hooks=with_hooks)

    def _window_params(self, window: TimeWindow) -> dict[str, object]:
        if self._is_sqlite:
            return {
                "start": window.start.strftime("%Y-%m-%d %H:%M:%S"),
                "end": window.end.strftime("%Y-%m-%d %H:%M:%S"),
            }
        return {"start": window.start, "end": window.end}

    def _in_window(self, alias: str = "w") -> str:
        return f"{self._run_time(alias)} >= :start AND {self._run_time(alias)} <= :end"

    def _is_failed(self, alias: str = "w") -> str:
        return is_failed(alias)

    def _run_in_window(self, alias: str = "r") -> str:
        return f"{alias}.run_time >= :start AND {alias}.run_time <= :end"

    # -- scopes: a window, or runs by id ---------------------------------------------------
    def _scope_params(self, scope: RunScope) -> dict[str, object]:
        if scope.window is not None:
            return self._window_params(scope.window)
        ids = list(scope.run_ids) or [""]
        return {
            "run_ids": ids,
            "hook_workflow_ids": [f"wf-{run_id}" for run_id in ids],
            "hook_apps": [f"adw_wf-{run_id}" for run_id in ids],
        }

    @staticmethod
    def _scoped(sql: str, scope: RunScope) -> sa.TextClause:
        query = sa.text(sql)
        if scope.window is None:
            names = [
                name for name in ("run_ids", "hook_workflow_ids", "hook_apps") if f":{name}" in sql
            ]
            query = query.bindparams(*(sa.bindparam(name, expanding=True) for name in names))
        return query

    def _history_in_scope(self, scope: RunScope, alias: str = "w") -> str:
        return self._in_window(alias) if scope.window is not None else f"{alias}.adw_id IN :run_ids"

    def _run_in_scope(self, scope: RunScope, alias: str = "r") -> str:
        if scope.window is not None:
            return self._run_in_window(alias)
        return f"{alias}.adw_id IN :run_ids"

    def _hooks_in_scope(
        self, scope: RunScope, event_time: str, connection: Connection
    ) -> list[str]:
        """Conditions on ``hook_events h`` whose rows, together, are the scope's hook events
        (one query each: an ``OR`` of them would keep SQLite from using the workflow_id index).
        Rows a ``source_app`` names belong to that run only where ``workflow_id`` names none."""
        if scope.window is not None:
            return [f"{event_time} >= :start AND {event_time} <= :end"]
        columns = self.schema.columns(HOOK_TABLE)
        names_no_run = "(h.workflow_id IS NULL OR SUBSTR(h.workflow_id, 1, 3) <> 'wf-')"
        conditions = []
        if "workflow_id" in columns:
            conditions.append("h.workflow_id IN :hook_workflow_ids")
        if "source_app" in columns and "workflow_id" not in columns:
            conditions.append("h.source_app IN :hook_apps")
        elif "source_app" in columns:
            # the rows whose workflow_id names no run: by their ids where they are listed
            listed = self._app_named_rows(scope, connection)
            if listed:
                ids = ", ".join(str(row) for row in listed)
                conditions.append(
                    f"h.id IN ({ids}) AND {names_no_run} AND h.source_app IN :hook_apps"
                )
            elif listed is None:
                # else each branch on the workflow_id index (on SQLite '.' follows '-': the
                # two ranges leave out every 'wf-...')
                others = (
                    ["h.workflow_id < 'wf-'", "h.workflow_id >= 'wf.'"]
                    if self._is_sqlite
                    else ["SUBSTR(h.workflow_id, 1, 3) <> 'wf-'"]
                )
                for no_run in ["h.workflow_id IS NULL", *others]:
                    conditions.append(f"{no_run} AND h.source_app IN :hook_apps")
        if UNATTRIBUTED in scope.run_ids:
            unnamed = []
            if "workflow_id" in columns:
                unnamed.append(names_no_run)
            if "source_app" in columns:
                unnamed.append("(h.source_app IS NULL OR SUBSTR(h.source_app, 1, 7) <> 'adw_wf-')")
            conditions.append(" AND ".join(unnamed or ["1 = 1"]))
        return conditions

    def _app_named_rows(self, scope: RunScope, connection: Connection) -> list[int] | None:
        """The ids of the hook rows whose workflow_id names no run and whose source_app names
        one of the scope's runs; None when they are better found by a scan (no ``id`` column,
        many rows, or fewer than ``_LISTED_AFTER`` such reads so far). The rows are listed once
        per reader, then only those past the last id listed (no index has ``source_app``: a
        scan at every pass would cost a fraction of a second at a million runs)."""
        self._scoped_hook_reads += 1
        if "id" not in self.schema.columns(HOOK_TABLE) or self._scoped_hook_reads < _LISTED_AFTER:
            return None  # a one-off read (a CLI run) scans; a server lists once
        latest = connection.execute(sa.text(f"SELECT MAX(h.id) FROM {HOOK_TABLE} h")).scalar()
        if latest is not None and int(latest) != self._apps_read_to:
            others = "(h.workflow_id IS NULL OR SUBSTR(h.workflow_id, 1, 3) <> 'wf-')"
            found = connection.execute(
                sa.text(
                    f"SELECT h.source_app, h.id FROM {HOOK_TABLE} h "
                    f"WHERE h.id > :after AND h.id <= :latest AND {others} "
                    "AND SUBSTR(h.source_app, 1, 7) = 'adw_wf-'"
                ),
                {"after": self._apps_read_to or -(2**62), "latest": int(latest)},
            )
            for app, row in found:
                self._app_to_rows.setdefault(str(app), []).append(int(row))
            self._apps_read_to = int(latest)
        rows = [
            row for run_id in scope.run_ids for row in self._app_to_rows.get(f"adw_wf-{run_id}", [])
        ]
        return rows if len(rows) <= _LISTED_HOOK_ROWS else None

    def run_urls(self, run_ids: Iterable[str]) -> dict[str, str]:
        """``github_url`` of each of ``run_ids`` that has one (a host-layout column of
        ``workflow_history``; without the column, none). Values are as stored: unchecked."""
        wanted = sorted({run_id for run_id in run_ids if isinstance(run_id, str) and run_id})
        if not wanted or not self.schema.has(WORKFLOW_TABLE, "github_url"):
            return {}
        query = sa.text(
            f"SELECT w.adw_id, w.github_url FROM {WORKFLOW_TABLE} w "
            "WHERE w.adw_id IN :run_ids AND w.github_url IS NOT NULL"
        ).bindparams(sa.bindparam("run_ids", expanding=True))
        with self.engine.connect() as connection:
            rows = connection.execute(query, {"run_ids": wanted}).all()
        return {str(run_id): str(url) for run_id, url in rows if url}

    def data_fingerprint(self) -> tuple:
        """A cheap value that changes whenever rows are added to or updated in the read tables.

        Uses indexed ``MAX(id)`` where tables have an ``id`` and ``MAX(updated_at)`` for runs whose
        status changes in place; callers cache analyses until it changes.
        """
        parts: list[str] = []
        for table in (WORKFLOW_TABLE, TASK_LOG_TABLE, HOOK_TABLE):
            columns = self.schema.columns(table)
            if not columns:
                continue
            parts.append(
                f"(SELECT MAX(id) FROM {table})"
                if "id" in columns
                else f"(SELECT COUNT(*) FROM {table})"
            )
        if self.schema.has(WORKFLOW_TABLE, "updated_at"):
            # hex() on SQLite: the column may hold a blob or text that is not UTF-8
            latest = "hex(MAX(updated_at))" if self._is_sqlite else "CAST(MAX(updated_at) AS TEXT)"
            parts.append(f"(SELECT {latest} FROM {WORKFLOW_TABLE})")
        parts.append(f"(SELECT COUNT(*) FROM {WORKFLOW_TABLE})")
        with self.engine.connect() as connection:
            return tuple(connection.execute(sa.text("SELECT " + ", ".join(parts))).one())

    # -- counts --------------------------------------------------------------------------
    def run_counts(self, window: TimeWindow) -> RunCounts:
        """Runs and failed runs in ``window``, from every table that names runs."""
        sql = (
            f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {self._is_failed()} THEN 1 ELSE 0 END), 0) "
            f"FROM {WORKFLOW_TABLE} w WHERE {self._in_window()}"
        )
        with self.engine.connect() as connection:
            total, failed = connection.execute(sa.text(sql), self._window_params(window)).one()
        others = self._other_runs(window)
        return RunCounts(
            total=int(total) + len(others),
            failed=int(failed) + sum(run.failed for run in others),
        )

    def _other_runs(self, window: TimeWindow) -> list[_OtherRun]:
        """Runs in ``window`` known only from task_logs or hook_events.

        Found in SQL (:func:`.run_sources.other_runs_relation`); they are few where
        workflow_history is kept, all runs where it is not. The answer is kept for the
        ``window`` object itself: the calls that build one snapshot share it, and every new
        window (each snapshot makes its own) reads the tables again.
        """
        return self._read_other_runs(window)[0]

    def _untimed_runs(self, window: TimeWindow) -> list[_OtherRun]:
        """Runs known only from task_logs or hook_events whose rows hold no readable time:
        they fall in no window. Read with :meth:`_other_runs`, in the same query."""
        return self._read_other_runs(window)[1]

    def _read_other_runs(self, window: TimeWindow) -> tuple[list[_OtherRun], list[_OtherRun]]:
        cached = self._window_to_other_runs
        if cached is not None and cached[0] is window:
            return cached[1], cached[2]
        relation = other_runs_relation(self.schema, sqlite=self._is_sqlite)
        others: list[_OtherRun] = []
        untimed: list[_OtherRun] = []
        if relation is not None:
            sql = (
                f"SELECT r.adw_id, r.run_time, r.is_failed, r.origin FROM {relation} r "
                f"WHERE r.run_time IS NULL OR ({self._run_in_window()})"
            )
            with self.engine.connect() as connection:
                for run_id, run_time, failed, origin in connection.execute(
                    sa.text(sql), self._window_params(window)
                ):
                    run = _OtherRun(str(run_id), safe_timestamp(run_time), bool(failed), origin)
                    (untimed if run_time is None else others).append(run)
        self._window_to_other_runs = (window, others, untimed)
        return others, untimed

    def daily_run_counts(self, window: TimeWindow) -> list[DailyRunCount]:
        day = (
            f"date({self._run_time()})" if self._is_sqlite else f"CAST({self._run_time()} AS DATE)"
        )
        sql = (
            f"SELECT {day} AS day, COUNT(*), COALESCE(SUM(CASE WHEN {self._is_failed()} THEN 1 ELSE 0 END), 0) "
            f"FROM {WORKFLOW_TABLE} w WHERE {self._in_window()} GROUP BY 1"
        )
        with self.engine.connect() as connection:
            rows = connection.execute(sa.text(sql), self._window_params(window)).all()
        day_to_counts: dict[date, list[int]] = defaultdict(lambda: [0, 0])
        for day_value, runs, failed in rows:
            if isinstance(day_value, str):
                day_value = date.fromisoformat(day_value)
            day_to_counts[day_value][0] += int(runs)
            day_to_counts[day_value][1] += int(failed)
        for other in self._other_runs(window):
            if other.run_time is not None:
                counts = day_to_counts[other.run_time.date()]
                counts[0] += 1
                counts[1] += int(other.failed)
        return [
            DailyRunCount(day=day, runs=runs, failed=failed)
            for day, (runs, failed) in sorted(day_to_counts.items())
        ]

    def date_problems(self, window: TimeWindow) -> dict[str, int]:
        """Runs that cannot be placed in time: no date, an unparsable one, or one in the future."""
        raw = [
            name for name in ("created_at", "start_time") if self.schema.has(WORKFLOW_TABLE, name)
        ]
        any_raw = " OR ".join(f"w.{name} IS NOT NULL" for name in raw)
        # updated_at is only read for the data fingerprint; a value there that is no date
        # (a blob, say) is still worth knowing about. PostgreSQL types it, so only SQLite.
        odd_update = (
            "w.updated_at IS NOT NULL AND datetime(w.updated_at) IS NULL"
            if self._is_sqlite and self.schema.has(WORKFLOW_TABLE, "updated_at")
            else "1 = 0"
        )
        sql = (
            "SELECT "
            f"COALESCE(SUM(CASE WHEN {self._run_time()} IS NULL AND ({any_raw}) THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN {self._run_time()} IS NULL AND NOT ({any_raw}) THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN {self._run_time()} > :end THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN {odd_update} THEN 1 ELSE 0 END), 0) "
            f"FROM {WORKFLOW_TABLE} w"
        )
        with self.engine.connect() as connection:
            unparsable, undated, future, bad_update = connection.execute(
                sa.text(sql), self._window_params(window)
            ).one()
        return {
            "unparsable date": int(unparsable),
            "no date": int(undated),
            "date in the future": int(future),
            "updated_at is not a date": int(bad_update),
        }

    def runs_without_history(self, window: TimeWindow) -> dict[str, int]:
        """Runs in ``window`` that have no workflow_history row, by the table that names them."""
        return dict(Counter(run.origin for run in self._other_runs(window)))

    def _note_runs_without_history(self, window: TimeWindow, quality: DataQualityReport) -> None:
        note = runs_without_history_note(self.runs_without_history(window))
        if note:
            quality.missing.append(note)

    def _note_untimed_runs(self, window: TimeWindow, quality: DataQualityReport) -> None:
        """Runs without a workflow_history row whose other rows hold no readable time: they
        fall in no window, so they are counted here rather than dropped unseen."""
        for run in self._untimed_runs(window):
            quality.skip(run.origin, "run without a readable time", run.run_id)

    def phase_reach(self, window: TimeWindow) -> dict[Phase, int] | None:
        """Runs in the window that reached each phase, from task_logs; None without them."""
        if not (
            self.schema.has(TASK_LOG_TABLE, "phase_name")
            and self.schema.has(TASK_LOG_TABLE, "adw_id")
        ):
            return None
        status_filter = (
            "AND (t.phase_status IS NULL OR LOWER(t.phase_status) <> 'skipped')"
            if self.schema.has(TASK_LOG_TABLE, "phase_status")
            else ""
        )
        sql = (
            f"SELECT t.phase_name, t.adw_id FROM {TASK_LOG_TABLE} t "
            f"JOIN {self._runs(with_hooks=False)} r ON r.adw_id = t.adw_id "
            f"WHERE {self._run_in_window()} {status_filter} GROUP BY t.phase_name, t.adw_id"
        )
        phase_to_runs: dict[Phase, set[str]] = defaultdict(set)
        with self.engine.connect() as connection:
            for phase_name, run_id in connection.execute(sa.text(sql), self._window_params(window)):
                phase_to_runs[normalize_phase(phase_name)].add(str(run_id))
        if not phase_to_runs:
            return None
        return {phase: len(runs) for phase, runs in phase_to_runs.items()}

    # -- runs by time, then by id (ingestion) ------------------------------------------------
    def runs_between(
        self, since: datetime | None, before: datetime | None, limit: int
    ) -> list[tuple[str, datetime]]:
        """Up to ``limit`` runs (of every table) whose time is in ``[since, before)``, latest
        first, as ``(run id, time)``; past ``limit``, the runs that share the last time too,
        so that the next range can start strictly before it.

        ``workflow_history`` is queried for the range; the runs known only from the other
        tables are read once (:meth:`_history_of_other_runs`) and filtered here, so a step of
        history costs one query, not one over every table."""
        conditions = [f"{self._run_time()} IS NOT NULL"]
        params: dict[str, object] = {"limit": limit}
        if since is not None:
            conditions.append(f"{self._run_time()} >= :since")
            params["since"] = self._bound(since)
        if before is not None:
            conditions.append(f"{self._run_time()} < :before")
            params["before"] = self._bound(before)
        sql = (
            f"SELECT w.adw_id, {self._run_time()} AS run_time FROM {WORKFLOW_TABLE} w "
            f"WHERE {' AND '.join(conditions)} ORDER BY run_time DESC LIMIT :limit"
        )
        found: dict[str, datetime] = {}
        with self.engine.connect() as connection:
            rows = list(connection.execute(sa.text(sql), params).all())
            if len(rows) == limit:
                ties = (
                    f"SELECT w.adw_id, {self._run_time()} FROM {WORKFLOW_TABLE} w "
                    f"WHERE {self._run_time()} = :last"
                )
                rows += connection.execute(sa.text(ties), {"last": rows[-1][1]}).all()
        for run_id, run_time in rows:
            moment = safe_timestamp(run_time)
            if run_id is not None and moment is not None:
                found[str(run_id)] = moment
        for run_id, moment in self._history_of_other_runs():
            if moment is None or (since is not None and moment < since):
                continue
            if before is None or moment < before:
                found[run_id] = moment
        ordered = sorted(found.items(), key=lambda item: item[1], reverse=True)
        if len(ordered) > limit:
            last = ordered[limit - 1][1]
            ordered = [item for item in ordered if item[1] >= last]
        return ordered

    def untimed_run_ids(self) -> set[str]:
        """Runs (of every table) without any readable time: they fall in no window."""
        sql = f"SELECT w.adw_id FROM {WORKFLOW_TABLE} w WHERE {self._run_time()} IS NULL"
        with self.engine.connect() as connection:
            found = {str(run_id) for (run_id,) in connection.execute(sa.text(sql)) if run_id}
        return found | {
            run_id for run_id, moment in self._history_of_other_runs() if moment is None
        }

    def _history_of_other_runs(self) -> list[tuple[str, datetime | None]]:
        """The runs without a workflow_history row, with their time, read once per reader
        (the ones that come later are named by the rows that add them)."""
        if self._other_run_history is None:
            relation = other_runs_relation(self.schema, sqlite=self._is_sqlite)
            history: list[tuple[str, datetime | None]] = []
            if relation is not None:
                with self.engine.connect() as connection:
                    for run_id, run_time in connection.execute(
                        sa.text(f"SELECT r.adw_id, r.run_time FROM {relation} r")
                    ):
                        if run_id:
                            history.append((str(run_id), safe_timestamp(run_time)))
            self._other_run_history = history
        return self._other_run_history

    def _bound(self, moment: datetime) -> object:
        return moment.strftime("%Y-%m-%d %H:%M:%S") if self._is_sqlite else moment

    # -- runs by id (ingestion) ------------------------------------------------------------
    def read_runs(self, run_ids: Iterable[str]) -> RunBatch:
        """The runs named by ``run_ids`` as they are now, and their errors (one per failure).

        An id of no run is absent from the answer (its rows were deleted); :data:`UNATTRIBUTED`
        reads the hook events that name no run. Values that cannot be used are counted in each
        run's report, as a window's read counts them."""
        wanted = sorted({str(run_id) for run_id in run_ids if run_id is not None})
        scope = RunScope(run_ids=tuple(wanted))
        quality = QualityByRun()
        runs = self._indexed_runs(scope, quality)
        events = [
            event
            for event in self._events_in_scope(scope, quality)
            if event.run_id in runs or event.run_id == UNATTRIBUTED
        ]
        for run_id, phases in self._phases_reached(scope).items():
            if run_id in runs:
                runs[run_id].reached = frozenset(phases)
        for run in runs.values():
            run.quality = quality.of_run(run.run_id)
        if UNATTRIBUTED in wanted:
            runs.update(quality.unattributed_days())
        return RunBatch(runs, events)

    def _indexed_runs(self, scope: RunScope, quality: QualityByRun) -> dict[str, IndexedRun]:
        runs: dict[str, IndexedRun] = {}
        raw = [
            name for name in ("created_at", "start_time") if self.schema.has(WORKFLOW_TABLE, name)
        ]
        any_raw = " OR ".join(f"w.{name} IS NOT NULL" for name in raw) or "1 = 0"
        odd_update = (
            "w.updated_at IS NOT NULL AND datetime(w.updated_at) IS NULL"
            if self._is_sqlite and self.schema.has(WORKFLOW_TABLE, "updated_at")
            else "1 = 0"
        )
        status = "LOWER(w.status)" if self.schema.has(WORKFLOW_TABLE, "status") else "NULL"
        sql = (
            f"SELECT w.adw_id, {self._run_time()}, CASE WHEN {self._is_failed()} THEN 1 ELSE 0 END, "
            f"{status}, CASE WHEN {any_raw} THEN 1 ELSE 0 END, "
            f"CASE WHEN {odd_update} THEN 1 ELSE 0 END "
            f"FROM {WORKFLOW_TABLE} w WHERE {self._history_in_scope(scope)}"
        )
        with self.engine.connect() as connection:
            for run_id, run_time, failed, state, has_raw, bad_update in connection.execute(
                self._scoped(sql, scope), self._scope_params(scope)
            ):
                run_id = str(run_id)
                timestamp = safe_timestamp(run_time)
                problem = None
                if timestamp is None:
                    problem = "unparsable date" if has_raw else "no date"
                elif bad_update:
                    problem = "updated_at is not a date"
                runs[run_id] = IndexedRun(
                    run_id,
                    WORKFLOW_TABLE,
                    timestamp,
                    bool(failed),
                    state in IN_PROGRESS_STATUSES,
                    time_problem=problem,
                )
            for run in self._other_runs_by_id(connection, scope, set(runs)):
                runs[run.run_id] = run
        return runs

    def _other_runs_by_id(
        self, connection: sa.Connection, scope: RunScope, known: set[str]
    ) -> Iterable[IndexedRun]:
        """The runs of ``scope`` without a workflow_history row (:mod:`.run_sources`' rules:
        task_logs first, then hook events; failed only by a failed phase)."""
        rest = set(scope.run_ids) - known - {UNATTRIBUTED}
        task_time = task_log_time(self.schema, "t", sqlite=self._is_sqlite)
        if rest and task_time is not None and self.schema.has(TASK_LOG_TABLE, "adw_id"):
            failed = (
                "MAX(CASE WHEN LOWER(t.phase_status) = 'failed' THEN 1 ELSE 0 END)"
                if self.schema.has(TASK_LOG_TABLE, "phase_status")
                else "0"
            )
            sql = (
                f"SELECT t.adw_id, MIN({task_time}), {failed} FROM {TASK_LOG_TABLE} t "
                "WHERE t.adw_id IN :run_ids GROUP BY t.adw_id"
            )
            ids = RunScope(run_ids=tuple(sorted(rest)))
            for run_id, run_time, is_failed in connection.execute(
                self._scoped(sql, ids), self._scope_params(ids)
            ):
                run_id = str(run_id)
                rest.discard(run_id)
                yield _other_run(run_id, ORIGIN_TASK_LOGS, run_time, bool(is_failed))
        event_time = hook_time(self.schema, "h", sqlite=self._is_sqlite)
        if rest and event_time is not None:
            ids = RunScope(run_ids=tuple(sorted(rest)))
            columns = self.schema.columns(HOOK_TABLE)
            workflow_id = "h.workflow_id" if "workflow_id" in columns else "NULL"
            source_app = "h.source_app" if "source_app" in columns else "NULL"
            rows: list[sa.Row] = []
            for condition in self._hooks_in_scope(ids, event_time, connection):
                sql = (
                    f"SELECT {workflow_id}, {source_app}, MIN({event_time}) FROM {HOOK_TABLE} h "
                    f"WHERE {condition} GROUP BY 1, 2"
                )
                rows += connection.execute(self._scoped(sql, ids), self._scope_params(ids)).all()
            run_to_times: dict[str, list[datetime]] = defaultdict(list)
            for workflow, app, run_time in rows:
                run_id = hook_run_id(workflow, app)
                moment = safe_timestamp(run_time)
                if run_id in rest:
                    run_to_times[run_id].extend([moment] if moment is not None else [])
            for run_id in rest & {hook_run_id(workflow, app) for workflow, app, _ in rows}:
                times = run_to_times.get(run_id or "", [])
                yield _other_run(run_id or "", ORIGIN_HOOKS, min(times) if times else None, False)

    def _phases_reached(self, scope: RunScope) -> dict[str, set[Phase]]:
        """run id -> the phases task_logs say it reached (not skipped)."""
        if not (
            self.schema.has(TASK_LOG_TABLE, "phase_name")
            and self.schema.has(TASK_LOG_TABLE, "adw_id")
        ):
            return {}
        status_filter = (
            "AND (t.phase_status IS NULL OR LOWER(t.phase_status) <> 'skipped')"
            if self.schema.has(TASK_LOG_TABLE, "phase_status")
            else ""
        )
        sql = (
            f"SELECT DISTINCT t.adw_id, t.phase_name FROM {TASK_LOG_TABLE} t "
            f"WHERE t.adw_id IN :run_ids {status_filter}"
        )
        run_to_phases: dict[str, set[Phase]] = defaultdict(set)
        with self.engine.connect() as connection:
            for run_id, phase_name in connection.execute(
                self._scoped(sql, scope), self._scope_params(scope)
            ):
                run_to_phases[str(run_id)].add(normalize_phase(phase_name))
        return run_to_phases

    # -- error events --------------------------------------------------------------------
    def error_events(self, window: TimeWindow, quality: DataQualityReport) -> list[ErrorEvent]:
        """Every error event of the runs in ``window``; what cannot be read is counted in ``quality``."""
        quality.layout = self.schema.layout
        quality.engine = self.engine.dialect.name
        quality.missing = self.schema.missing()
        for reason, count in self.date_problems(window).items():
            if count:
                quality.rows_skipped[f"{WORKFLOW_TABLE}: {reason}"] = count
        self._note_runs_without_history(window, quality)
        self._note_untimed_runs(window, quality)
        events = self._events_in_scope(RunScope(window=window), quality)
        events.sort(
            key=lambda event: (event.timestamp or datetime.min, event.run_id, event.source.value)
        )
        return events

    def _events_in_scope(self, scope: RunScope, quality: DataQualityReport) -> list[ErrorEvent]:
        """The error events of the runs in ``scope``, one per failure (unsorted)."""
        runs, run_events = self._workflow_events(scope, quality)
        for event in self._task_log_events(scope, quality, runs):
            run_events[event.run_id].append(event)
        hook_events = list(self._hook_events(scope, quality, runs))
        for event in self._with_phases_from_task_logs(hook_events, quality):
            run_events[event.run_id].append(event)
        events: list[ErrorEvent] = []
        for found in run_events.values():
            events.extend(merge_same_failures(found))  # one error per failure
        for run in runs.values():
            has_text = any(event.message for event in run_events.get(run.run_id, ()))
            if run.failed and not has_text:
                events.append(
                    ErrorEvent(
                        run.run_id,
                        run.phase,
                        Source.NO_ERROR_TEXT,
                        None,
                        run.timestamp,
                        run.template,
                        run.model,
                        (Source.NO_ERROR_TEXT,),
                    )
                )
        return events

    def _workflow_events(
        self, scope: RunScope, quality: DataQualityReport
    ) -> tuple[dict[str, _RunInfo], dict[str, list[ErrorEvent]]]:
        text_column = self.schema.text_column
        json_columns = self.schema.phase_json_columns
        selected = [
            "w.adw_id",
            f"{self._is_failed()} AS is_failed",
            self._col("current_phase"),
            self._col("workflow_template"),
            self._col("model_used"),
            f"{self._run_time()} AS run_time",
            f"w.{text_column}" if text_column else "NULL",
        ] + [f"w.{name}" for name in json_columns]
        interesting = [self._is_failed()] + [
            f"w.{name} IS NOT NULL"
            for name in ([text_column] if text_column else []) + json_columns
        ]
        sql = (
            f"SELECT {', '.join(selected)} FROM {WORKFLOW_TABLE} w "
            f"WHERE {self._history_in_scope(scope)} AND ({' OR '.join(interesting)})"
        )
        runs: dict[str, _RunInfo] = {}
        run_events: dict[str, list[ErrorEvent]] = defaultdict(list)
        with self.engine.connect() as connection:
            for row in connection.execute(self._scoped(sql, scope), self._scope_params(scope)):
                run_id, is_failed, current_phase, template, model, run_time, text, *json_values = (
                    row
                )
                run_id = str(run_id)
                quality.at_run(run_id)
                quality.read(WORKFLOW_TABLE)
                try:
                    timestamp = parse_timestamp(run_time)
                except BadValue as problem:
                    quality.skip(WORKFLOW_TABLE, problem.reason, run_id)
                    timestamp = None
                template, model = label(template), label(model)
                run = _RunInfo(
                    run_id,
                    bool(is_failed),
                    normalize_phase(current_phase),
                    timestamp,
                    template,
                    model,
                )
                runs[run_id] = run
                message = checked_text(text, text_column or WORKFLOW_TABLE, quality)
                if message:
                    run_events[run_id].append(
                        ErrorEvent(
                            run_id,
                            run.phase,
                            Source.FAILURE_TEXT,
                            message,
                            timestamp,
                            template,
                            model,
                        )
                    )
                for column, value in zip(json_columns, json_values, strict=False):
                    changes: list[str] = []
                    try:
                        parts = list(iter_phase_errors(value, changes))
                    except BadValue as problem:
                        quality.skip(column, problem.reason, run_id)
                        continue
                    count_changes(quality, column, changes)
                    for phase_name, phase_message, count in parts:
                        phase = normalize_phase(phase_name) if phase_name is not None else run.phase
                        for _ in range(min(count, 1000)):
                            run_events[run_id].append(
                                ErrorEvent(
                                    run_id,
                                    phase,
                                    Source.PHASE_ERROR,
                                    phase_message,
                                    timestamp,
                                    template,
                                    model,
                                )
                            )
        return runs, run_events

    def _task_log_events(
        self, scope: RunScope, quality: DataQualityReport, runs: dict[str, _RunInfo]
    ) -> Iterable[ErrorEvent]:
        columns = self.schema.columns(TASK_LOG_TABLE)
        if not {"adw_id", "phase_name"} <= columns:
            return

        def task_col(name: str) -> str:
            return f"t.{name}" if name in columns else "NULL"

        conditions = []
        if "phase_status" in columns:
            conditions.append("LOWER(t.phase_status) = 'failed'")
        if "error_message" in columns:
            conditions.append("t.error_message IS NOT NULL")
        if "tool_calls" in columns:
            conditions.append("CAST(t.tool_calls AS TEXT) LIKE '%false%'")
        if not conditions:
            return
        template_sql = self._col("workflow_template")
        if "workflow_template" in columns:
            template_sql = f"COALESCE({template_sql}, t.workflow_template)"
        # runs known only from task_logs are runs too: their time is their earliest task log
        sql = (
            f"SELECT t.adw_id, t.phase_name, {task_col('phase_status')}, {task_col('error_message')}, "
            f"{task_col('log_message')}, {task_col('tool_calls')}, {template_sql}, "
            f"{self._col('model_used')}, r.run_time "
            f"FROM {TASK_LOG_TABLE} t JOIN {self._runs(with_hooks=False)} r ON r.adw_id = t.adw_id "
            f"LEFT JOIN {WORKFLOW_TABLE} w ON w.adw_id = t.adw_id "
            f"WHERE {self._run_in_scope(scope)} AND ({' OR '.join(conditions)})"
        )
        with self.engine.connect() as connection:
            rows = connection.execute(self._scoped(sql, scope), self._scope_params(scope)).all()
        for (
            run_id,
            phase_name,
            status,
            error_message,
            log_message,
            tool_calls,
            template,
            model,
            run_time,
        ) in rows:
            run_id = str(run_id)
            quality.at_run(run_id)
            quality.read(TASK_LOG_TABLE)
            run = runs.get(run_id)
            timestamp = run.timestamp if run else safe_timestamp(run_time)
            template, model = label(template), label(model)
            phase = normalize_phase(phase_name)
            failed = str(status or "").lower() == "failed"
            message = checked_text(error_message, f"{TASK_LOG_TABLE}.error_message", quality) or (
                checked_text(log_message, f"{TASK_LOG_TABLE}.log_message", quality)
                if failed
                else None
            )
            if message or failed:
                yield ErrorEvent(
                    run_id, phase, Source.TASK_LOG, message, timestamp, template, model
                )
            if tool_calls is None:
                continue
            changes: list[str] = []
            try:
                calls = load_json(tool_calls, changes)
            except BadValue as problem:
                quality.skip(f"{TASK_LOG_TABLE}.tool_calls", problem.reason, run_id)
                continue
            if not isinstance(calls, list):
                quality.skip(f"{TASK_LOG_TABLE}.tool_calls", "not a JSON list", run_id)
                continue
            for call in calls:
                if isinstance(call, dict) and call.get("success") is False:
                    text = clean_text(call.get("error_message") or call.get("error"), changes)
                    tool = clean_text(call.get("tool_name")) or "tool"
                    yield ErrorEvent(
                        run_id,
                        phase,
                        Source.TASK_LOG,
                        text or f"{tool} call failed",
                        timestamp,
                        template,
                        model,
                    )
            count_changes(quality, f"{TASK_LOG_TABLE}.tool_calls", changes)

    def _with_phases_from_task_logs(
        self, events: list[ErrorEvent], quality: DataQualityReport
    ) -> list[ErrorEvent]:
        """Hook errors carry no phase; where task_logs time the run's phases, the phase running
        at the event's time is its phase. Without task_logs they stay ``Unknown``."""
        columns = self.schema.columns(TASK_LOG_TABLE)
        pending = [event for event in events if event.phase is Phase.UNKNOWN and event.timestamp]
        if not pending or not {"adw_id", "phase_name", "started_at"} <= columns:
            return events
        run_ids = sorted({event.run_id for event in pending})
        run_to_starts: dict[str, list[tuple[datetime, Phase]]] = defaultdict(list)
        with self.engine.connect() as connection:
            for offset in range(0, len(run_ids), 500):
                chunk = run_ids[offset : offset + 500]
                rows = connection.execute(
                    sa.text(
                        f"SELECT adw_id, phase_name, started_at FROM {TASK_LOG_TABLE} "
                        "WHERE adw_id IN :run_ids AND started_at IS NOT NULL"
                    ).bindparams(sa.bindparam("run_ids", expanding=True)),
                    {"run_ids": chunk},
                )
                for run_id, phase_name, started_at in rows:
                    quality.at_run(str(run_id))
                    started = counted_timestamp(
                        started_at, f"{TASK_LOG_TABLE}.started_at", quality, str(run_id)
                    )
                    phase = normalize_phase(phase_name)
                    if started is not None and phase is not Phase.UNKNOWN:
                        run_to_starts[str(run_id)].append((started, phase))
        for starts in run_to_starts.values():
            starts.sort(key=lambda item: (item[0], Phase.ordered().index(item[1])))
        placed = []
        for event in events:
            run_starts = run_to_starts.get(event.run_id)
            if run_starts and event.phase is Phase.UNKNOWN and event.timestamp:
                event = dataclasses.replace(event, phase=phase_at(run_starts, event.timestamp))
            placed.append(event)
        return placed

    def _hook_events(
        self, scope: RunScope, quality: DataQualityReport, runs: dict[str, _RunInfo]
    ) -> Iterable[ErrorEvent]:
        columns = self.schema.columns(HOOK_TABLE)
        if "payload" not in columns:
            return
        event_time = hook_time(self.schema, sqlite=self._is_sqlite)
        if event_time is None:
            quality.missing.append(f"column {HOOK_TABLE}.timestamp")
            return
        hints = " OR ".join(
            f"CAST(h.payload AS TEXT) LIKE '%{hint}%'" for hint in _HOOK_ERROR_HINTS
        )

        def hook_col(name: str) -> str:
            return f"h.{name}" if name in columns else "NULL"

        rows: list[sa.Row] = []
        with self.engine.connect() as connection:
            for condition in self._hooks_in_scope(scope, event_time, connection):
                sql = (
                    f"SELECT {hook_col('event_type')}, h.payload, {hook_col('workflow_id')}, "
                    f"{hook_col('source_app')}, {event_time} FROM {HOOK_TABLE} h "
                    f"WHERE {condition} AND ({hints})"
                )
                rows += connection.execute(
                    self._scoped(sql, scope), self._scope_params(scope)
                ).all()
        wanted = set(scope.run_ids) if scope.window is None else None
        for event_type, payload, workflow_id, source_app, hook_time_value in rows:
            run_id = hook_run_id(workflow_id, source_app)
            if wanted is not None and (run_id or UNATTRIBUTED) not in wanted:
                continue  # names a run by workflow_id other than the one its source_app names
            if run_id:
                quality.at_run(run_id)
            else:  # hook events of no run: their reads are kept per day of the event
                quality.at_unattributed(safe_timestamp(hook_time_value))
            quality.read(HOOK_TABLE)
            changes: list[str] = []
            try:
                # parsed once; hook_error_message takes it as is
                parsed = load_json(payload, changes)
                message = hook_error_message(label(event_type), parsed, changes)
            except BadValue as problem:
                quality.skip(HOOK_TABLE, problem.reason, run_id or "?")
                continue
            count_changes(quality, f"{HOOK_TABLE}.payload", changes)
            if not message:
                continue
            run = runs.get(run_id) if run_id else None
            phase = Phase.UNKNOWN
            if isinstance(parsed, dict) and parsed.get("phase"):
                phase = normalize_phase(parsed.get("phase"))
            yield ErrorEvent(
                run_id or "unknown",
                phase,
                Source.HOOK_EVENT,
                message,
                counted_timestamp(hook_time_value, f"{HOOK_TABLE}.timestamp", quality, run_id)
                or (run.timestamp if run else None),
                run.template if run else None,
                run.model if run else None,
            )


def _other_run(run_id: str, origin: str, run_time: object, failed: bool) -> IndexedRun:
    timestamp = safe_timestamp(run_time)
    return IndexedRun(
        run_id,
        origin,
        timestamp,
        failed,
        False,
        time_problem=None if timestamp is not None else "run without a readable time",
    )


def runs_without_history_note(origin_to_runs: dict[str, int]) -> str | None:
    """The data-quality note on a window's runs that have no workflow_history row."""
    total = sum(origin_to_runs.values())
    if not total:
        return None
    sources = ", ".join(
        f"{origin_to_runs[origin]} only in {origin}"
        for origin in (ORIGIN_TASK_LOGS, ORIGIN_HOOKS)
        if origin_to_runs.get(origin)
    )
    return (
        f"{WORKFLOW_TABLE} rows of {total} run(s) ({sources}): counted as runs, "
        "with their time from those tables"
    )
