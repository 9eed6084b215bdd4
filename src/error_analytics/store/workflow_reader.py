"""Read-only access to the analysed workflow database.

:class:`WorkflowReader` answers a few intention-named questions about a time window:
how many runs and failures (counted in the database), per day (grouped in the database),
which runs reached which phase, and the stream of error events. It only ever issues
``SELECT`` statements; SQLite files are opened read-only by :mod:`.engine`.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..models import DataQualityReport, ErrorEvent, Phase, Source, TimeWindow
from ..rules import normalize_phase
from .parsing import (
    MAX_MESSAGE_CHARS,
    BadValue,
    clean_text,
    hook_error_message,
    iter_phase_errors,
    load_json,
    parse_timestamp,
)
from .schema_probe import HOOK_TABLE, TASK_LOG_TABLE, WORKFLOW_TABLE, WorkflowSchema, probe_schema

FAILED_STATUSES = ("failed", "error", "failure")
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

    # -- SQL fragments -------------------------------------------------------------------
    def _col(self, name: str, table_alias: str = "w") -> str:
        return f"{table_alias}.{name}" if self.schema.has(WORKFLOW_TABLE, name) else "NULL"

    def _run_time(self, alias: str = "w") -> str:
        """The run's time as a comparable value: created_at, else start_time."""
        names = [
            name for name in ("created_at", "start_time") if self.schema.has(WORKFLOW_TABLE, name)
        ]
        if self._is_sqlite:
            parts = [f"datetime({alias}.{name})" for name in names]
        else:
            parts = [f"{alias}.{name}" for name in names]
        return parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"

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
        statuses = ", ".join(f"'{status}'" for status in FAILED_STATUSES)
        return f"LOWER({alias}.status) IN ({statuses})"

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
            parts.append(f"(SELECT CAST(MAX(updated_at) AS TEXT) FROM {WORKFLOW_TABLE})")
        parts.append(f"(SELECT COUNT(*) FROM {WORKFLOW_TABLE})")
        with self.engine.connect() as connection:
            return tuple(connection.execute(sa.text("SELECT " + ", ".join(parts))).one())

    # -- counts --------------------------------------------------------------------------
    def run_counts(self, window: TimeWindow) -> RunCounts:
        sql = (
            f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {self._is_failed()} THEN 1 ELSE 0 END), 0) "
            f"FROM {WORKFLOW_TABLE} w WHERE {self._in_window()}"
        )
        with self.engine.connect() as connection:
            total, failed = connection.execute(sa.text(sql), self._window_params(window)).one()
        return RunCounts(total=int(total), failed=int(failed))

    def daily_run_counts(self, window: TimeWindow) -> list[DailyRunCount]:
        day = (
            f"date({self._run_time()})" if self._is_sqlite else f"CAST({self._run_time()} AS DATE)"
        )
        sql = (
            f"SELECT {day} AS day, COUNT(*), COALESCE(SUM(CASE WHEN {self._is_failed()} THEN 1 ELSE 0 END), 0) "
            f"FROM {WORKFLOW_TABLE} w WHERE {self._in_window()} GROUP BY 1 ORDER BY 1"
        )
        with self.engine.connect() as connection:
            rows = connection.execute(sa.text(sql), self._window_params(window)).all()
        result = []
        for day_value, runs, failed in rows:
            if isinstance(day_value, str):
                day_value = date.fromisoformat(day_value)
            result.append(DailyRunCount(day=day_value, runs=int(runs), failed=int(failed)))
        return result

    def date_problems(self, window: TimeWindow) -> dict[str, int]:
        """Runs that cannot be placed in time: no date, an unparsable one, or one in the future."""
        raw = [
            name for name in ("created_at", "start_time") if self.schema.has(WORKFLOW_TABLE, name)
        ]
        any_raw = " OR ".join(f"w.{name} IS NOT NULL" for name in raw)
        sql = (
            "SELECT "
            f"COALESCE(SUM(CASE WHEN {self._run_time()} IS NULL AND ({any_raw}) THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN {self._run_time()} IS NULL AND NOT ({any_raw}) THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN {self._run_time()} > :end THEN 1 ELSE 0 END), 0) "
            f"FROM {WORKFLOW_TABLE} w"
        )
        with self.engine.connect() as connection:
            unparsable, undated, future = connection.execute(
                sa.text(sql), self._window_params(window)
            ).one()
        return {
            "unparsable date": int(unparsable),
            "no date": int(undated),
            "date in the future": int(future),
        }

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
            f"SELECT t.phase_name, t.adw_id FROM {TASK_LOG_TABLE} t JOIN {WORKFLOW_TABLE} w ON w.adw_id = t.adw_id "
            f"WHERE {self._in_window()} {status_filter} GROUP BY t.phase_name, t.adw_id"
        )
        phase_to_runs: dict[Phase, set[str]] = defaultdict(set)
        with self.engine.connect() as connection:
            for phase_name, run_id in connection.execute(sa.text(sql), self._window_params(window)):
                phase_to_runs[normalize_phase(phase_name)].add(str(run_id))
        if not phase_to_runs:
            return None
        return {phase: len(runs) for phase, runs in phase_to_runs.items()}

    # -- error events --------------------------------------------------------------------
    def error_events(self, window: TimeWindow, quality: DataQualityReport) -> list[ErrorEvent]:
        """Every error event of the runs in ``window``; what cannot be read is counted in ``quality``."""
        quality.layout = self.schema.layout
        quality.engine = self.engine.dialect.name
        quality.missing = self.schema.missing()
        for reason, count in self.date_problems(window).items():
            if count:
                quality.rows_skipped[f"{WORKFLOW_TABLE}: {reason}"] = count
        runs, run_events = self._workflow_events(window, quality)
        for event in self._task_log_events(window, quality, runs):
            run_events[event.run_id].append(event)
        hook_events = list(self._hook_events(window, quality, runs))
        for event in self._with_phases_from_task_logs(hook_events):
            run_events[event.run_id].append(event)
        events: list[ErrorEvent] = []
        for found in run_events.values():
            events.extend(_deduplicate(found))
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
                    )
                )
        events.sort(
            key=lambda event: (event.timestamp or datetime.min, event.run_id, event.source.value)
        )
        return events

    def _workflow_events(
        self, window: TimeWindow, quality: DataQualityReport
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
            f"WHERE {self._in_window()} AND ({' OR '.join(interesting)})"
        )
        runs: dict[str, _RunInfo] = {}
        run_events: dict[str, list[ErrorEvent]] = defaultdict(list)
        with self.engine.connect() as connection:
            for row in connection.execute(sa.text(sql), self._window_params(window)):
                run_id, is_failed, current_phase, template, model, run_time, text, *json_values = (
                    row
                )
                quality.read(WORKFLOW_TABLE)
                run_id = str(run_id)
                try:
                    timestamp = parse_timestamp(run_time)
                except BadValue as problem:
                    quality.skip(WORKFLOW_TABLE, problem.reason, run_id)
                    timestamp = None
                run = _RunInfo(
                    run_id,
                    bool(is_failed),
                    normalize_phase(current_phase),
                    timestamp,
                    template,
                    model,
                )
                runs[run_id] = run
                message = _checked_text(text, text_column or WORKFLOW_TABLE, quality)
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
                    try:
                        parts = list(iter_phase_errors(value))
                    except BadValue as problem:
                        quality.skip(column, problem.reason, run_id)
                        continue
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
        self, window: TimeWindow, quality: DataQualityReport, runs: dict[str, _RunInfo]
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
        sql = (
            f"SELECT t.adw_id, t.phase_name, {task_col('phase_status')}, {task_col('error_message')}, "
            f"{task_col('log_message')}, {task_col('tool_calls')}, {self._col('workflow_template')}, "
            f"{self._col('model_used')}, {self._run_time()} "
            f"FROM {TASK_LOG_TABLE} t JOIN {WORKFLOW_TABLE} w ON w.adw_id = t.adw_id "
            f"WHERE {self._in_window()} AND ({' OR '.join(conditions)})"
        )
        with self.engine.connect() as connection:
            rows = connection.execute(sa.text(sql), self._window_params(window)).all()
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
            quality.read(TASK_LOG_TABLE)
            run_id = str(run_id)
            run = runs.get(run_id)
            timestamp = run.timestamp if run else _safe_timestamp(run_time)
            phase = normalize_phase(phase_name)
            failed = str(status or "").lower() == "failed"
            message = _checked_text(error_message, f"{TASK_LOG_TABLE}.error_message", quality) or (
                _checked_text(log_message, f"{TASK_LOG_TABLE}.log_message", quality)
                if failed
                else None
            )
            if message or failed:
                yield ErrorEvent(
                    run_id, phase, Source.TASK_LOG, message, timestamp, template, model
                )
            if tool_calls is None:
                continue
            try:
                calls = load_json(tool_calls)
            except BadValue as problem:
                quality.skip(f"{TASK_LOG_TABLE}.tool_calls", problem.reason, run_id)
                continue
            if not isinstance(calls, list):
                quality.skip(f"{TASK_LOG_TABLE}.tool_calls", "not a JSON list", run_id)
                continue
            for call in calls:
                if isinstance(call, dict) and call.get("success") is False:
                    text = clean_text(call.get("error_message") or call.get("error"))
                    tool = call.get("tool_name") or "tool"
                    yield ErrorEvent(
                        run_id,
                        phase,
                        Source.TASK_LOG,
                        text or f"{tool} call failed",
                        timestamp,
                        template,
                        model,
                    )

    def _with_phases_from_task_logs(self, events: list[ErrorEvent]) -> list[ErrorEvent]:
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
                    started = _safe_timestamp(started_at)
                    phase = normalize_phase(phase_name)
                    if started is not None and phase is not Phase.UNKNOWN:
                        run_to_starts[str(run_id)].append((started, phase))
        for starts in run_to_starts.values():
            starts.sort(key=lambda item: (item[0], Phase.ordered().index(item[1])))
        placed = []
        for event in events:
            starts = run_to_starts.get(event.run_id)
            if starts and event.phase is Phase.UNKNOWN and event.timestamp:
                event = dataclasses.replace(event, phase=_phase_at(starts, event.timestamp))
            placed.append(event)
        return placed

    def _hook_events(
        self, window: TimeWindow, quality: DataQualityReport, runs: dict[str, _RunInfo]
    ) -> Iterable[ErrorEvent]:
        columns = self.schema.columns(HOOK_TABLE)
        if "payload" not in columns:
            return
        time_names = [name for name in ("timestamp", "created_at") if name in columns]
        if not time_names:
            quality.missing.append(f"column {HOOK_TABLE}.timestamp")
            return
        if self._is_sqlite:
            hook_time = (
                "COALESCE(" + ", ".join(f"datetime(h.{name})" for name in time_names) + ", NULL)"
            )
        else:
            hook_time = "COALESCE(" + ", ".join(f"h.{name}" for name in time_names) + ", NULL)"
        hints = " OR ".join(
            f"CAST(h.payload AS TEXT) LIKE '%{hint}%'" for hint in _HOOK_ERROR_HINTS
        )

        def hook_col(name: str) -> str:
            return f"h.{name}" if name in columns else "NULL"

        sql = (
            f"SELECT {hook_col('event_type')}, h.payload, {hook_col('workflow_id')}, {hook_col('source_app')}, "
            f"{hook_time} FROM {HOOK_TABLE} h "
            f"WHERE {hook_time} >= :start AND {hook_time} <= :end AND ({hints})"
        )
        with self.engine.connect() as connection:
            rows = connection.execute(sa.text(sql), self._window_params(window)).all()
        for event_type, payload, workflow_id, source_app, hook_time_value in rows:
            quality.read(HOOK_TABLE)
            run_id = _hook_run_id(workflow_id, source_app)
            try:
                parsed = load_json(payload)  # parsed once; hook_error_message takes it as is
                message = hook_error_message(event_type, parsed)
            except BadValue as problem:
                quality.skip(HOOK_TABLE, problem.reason, run_id or "?")
                continue
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
                _safe_timestamp(hook_time_value) or (run.timestamp if run else None),
                run.template if run else None,
                run.model if run else None,
            )


def _phase_at(starts: list[tuple[datetime, Phase]], moment: datetime) -> Phase:
    """The phase that had started last at ``moment`` (``starts`` sorted by time)."""
    current = Phase.UNKNOWN
    for started, phase in starts:
        if started > moment:
            break
        current = phase
    return current


def _checked_text(value: object, source: str, quality: DataQualityReport) -> str | None:
    """:func:`clean_text`, counting what had to be changed: binary values, NUL bytes, cuts."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        quality.adjust(source, "binary message decoded as UTF-8")
    elif isinstance(value, str) and "\x00" in value:
        quality.adjust(source, "NUL bytes removed")
    text = clean_text(value)
    if text is not None and len(text) == MAX_MESSAGE_CHARS:
        quality.adjust(source, f"message cut to its first {MAX_MESSAGE_CHARS:,} characters")
    return text


def _safe_timestamp(value: object) -> datetime | None:
    try:
        return parse_timestamp(value)
    except BadValue:
        return None


def _hook_run_id(workflow_id: object, source_app: object) -> str | None:
    if isinstance(workflow_id, str) and workflow_id.startswith("wf-"):
        return workflow_id[3:]
    if isinstance(source_app, str) and source_app.startswith("adw_wf-"):
        return source_app[len("adw_wf-") :]
    return None


def _deduplicate(events: list[ErrorEvent]) -> list[ErrorEvent]:
    """One run's events without repeats of the same text.

    A run's failure text often repeats one of its phase errors or task-log errors; the phased
    copy is kept. Count-only phase errors are dropped for phases that task logs already cover.
    A failure text with no phase takes the phase when the run's phased errors name only one.
    """
    phased_messages = {
        event.message
        for event in events
        if event.source is not Source.FAILURE_TEXT and event.message
    }
    task_log_phases = {event.phase for event in events if event.source is Source.TASK_LOG}
    message_phases = {event.phase for event in events if event.source is not Source.FAILURE_TEXT}
    kept: list[ErrorEvent] = []
    for event in events:
        if event.source is Source.FAILURE_TEXT:
            if event.message in phased_messages:
                continue
            if event.phase is Phase.UNKNOWN and len(message_phases) == 1:
                event = dataclasses.replace(event, phase=next(iter(message_phases)))
        elif (
            event.source is Source.PHASE_ERROR
            and event.message is None
            and event.phase in task_log_phases
        ):
            continue
        kept.append(event)
    return kept
