"""The host application's tables as they really are, on SQLite and PostgreSQL.

Every column the host has (the extra ones the toolkit never reads included), ``payload`` as
JSONB on PostgreSQL, ``TIMESTAMP`` columns holding naive UTC times, lower-case phase names in
``task_logs``; and data as it really arrives: ``workflow_history`` may be empty or miss runs
that ``task_logs`` and ``hook_events`` know, and those runs still count.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from error_analytics.config import DatabaseTarget
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.engine import open_engine
from error_analytics.store.workflow_reader import WorkflowReader

from .builders import NOW

# The host's DDL, engine by engine: {json} is TEXT / JSONB, {ts} TIMESTAMP, {flag} the boolean.
HOST_TABLES = """
CREATE TABLE workflow_history (
    id {serial},
    adw_id TEXT NOT NULL UNIQUE,
    issue_number INTEGER,
    nl_input TEXT,
    github_url TEXT,
    gh_issue_state TEXT,
    workflow_template TEXT,
    model_used TEXT,
    status TEXT NOT NULL,
    start_time {ts},
    end_time {ts},
    duration_seconds INTEGER,
    current_phase TEXT,
    retry_count INTEGER DEFAULT 0,
    error_message TEXT,
    error_category TEXT,
    error_phase_distribution {json},
    retry_reasons {json},
    bottleneck_phase TEXT,
    recovery_time_seconds INTEGER,
    phase_durations {json},
    worktree_path TEXT,
    backend_port INTEGER,
    frontend_port INTEGER,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cached_tokens INTEGER,
    total_tokens INTEGER,
    cache_efficiency_percent REAL,
    estimated_cost_total REAL,
    actual_cost_total REAL,
    cost_breakdown {json},
    steps_completed INTEGER,
    steps_total INTEGER,
    worktree_reused {flag},
    hour_of_day INTEGER,
    day_of_week INTEGER,
    nl_input_clarity_score REAL,
    created_at {ts} DEFAULT CURRENT_TIMESTAMP,
    updated_at {ts} DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE task_logs (
    id {serial},
    adw_id TEXT NOT NULL,
    issue_number INTEGER,
    workflow_template TEXT,
    phase_name TEXT NOT NULL,
    phase_number INTEGER,
    phase_status TEXT NOT NULL,
    log_message TEXT,
    error_message TEXT,
    started_at {ts},
    completed_at {ts},
    duration_seconds REAL,
    tool_calls {json},
    created_at {ts} DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_task_logs_adw_id ON task_logs (adw_id);
CREATE TABLE hook_events (
    id {serial},
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    source_app TEXT,
    session_id TEXT,
    workflow_id TEXT,
    timestamp {ts} DEFAULT CURRENT_TIMESTAMP,
    payload {json} NOT NULL,
    tool_name TEXT,
    processed {flag} DEFAULT {false},
    created_at {ts} DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_hook_events_workflow_id ON hook_events (workflow_id);
"""

ENGINE_TYPES = {
    "sqlite": {
        "serial": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "ts": "TIMESTAMP",
        "json": "TEXT",
        "flag": "INTEGER",
        "false": "0",
    },
    "postgresql": {
        "serial": "SERIAL PRIMARY KEY",
        "ts": "TIMESTAMP",
        "json": "JSONB",
        "flag": "BOOLEAN",
        "false": "FALSE",
    },
}


def host_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    ddl = HOST_TABLES.format(**ENGINE_TYPES[engine.dialect.name])
    with engine.begin() as connection:
        for statement in ddl.split(";"):
            if statement.strip():
                connection.exec_driver_sql(statement)
    return engine


def insert(engine: sa.Engine, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert as the host does: naive UTC datetimes as text on SQLite, JSON as text or JSONB."""
    postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        for row in rows:
            values: dict[str, Any] = {}
            placeholders = []
            for name, value in row.items():
                if isinstance(value, (dict, list)):
                    value = json.dumps(value)
                    placeholders.append(f"CAST(:{name} AS JSONB)" if postgresql else f":{name}")
                else:
                    if isinstance(value, datetime) and not postgresql:
                        value = value.strftime("%Y-%m-%d %H:%M:%S")  # CURRENT_TIMESTAMP's form
                    placeholders.append(f":{name}")
                values[name] = value
            connection.execute(
                sa.text(
                    f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(placeholders)})"
                ),
                values,
            )


def service_for(url: str) -> ErrorAnalyticsService:
    return ErrorAnalyticsService(
        WorkflowReader(open_engine(DatabaseTarget(url, "test"))), clock=lambda: NOW
    )


def phase_log(
    adw_id: str, number: int, phase: str, status: str, started: datetime, **columns: Any
) -> dict[str, Any]:
    return {
        "adw_id": adw_id,
        "issue_number": 7,
        "workflow_template": "adw_sdlc_complete_iso",
        "phase_name": phase,
        "phase_number": number,
        "phase_status": status,
        "started_at": started,
        "completed_at": started + timedelta(minutes=4),
        "duration_seconds": 240.0,
        "created_at": started,
        **columns,
    }


def hook(event_id: str, when: datetime, payload: dict[str, Any], **columns: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "PostToolUse",
        "session_id": "s-" + event_id,
        "timestamp": when,
        "payload": payload,
        "tool_name": "Bash",
        "processed": False,
        "created_at": when,
        **columns,
    }


def is_error(stderr: str) -> dict[str, Any]:
    return {"tool_name": "Bash", "tool_response": {"is_error": True, "stderr": stderr}}


IMPORT_ERROR = "ModuleNotFoundError: No module named 'adw_modules'"
TIMEOUT = "pytest execution timed out after 5 minutes"
REFUSED = "ECONNREFUSED localhost:9100"


@pytest.fixture
def live_dump(db_url) -> dict[str, Any]:
    """What a production dump held: no workflow_history rows; failed phases in task_logs;
    hook events, some of them errors, for those runs and for a run no other table names."""
    engine = host_engine(db_url)
    a_start, b_start, c_start = (NOW - timedelta(days=days) for days in (1, 3, 5))
    logs = [
        phase_log("aa000001", 1, "plan", "completed", a_start),
        phase_log(
            "aa000001",
            2,
            "build",
            "failed",
            a_start + timedelta(minutes=5),
            error_message=IMPORT_ERROR,
        ),
        phase_log("bb000002", 1, "plan", "completed", b_start),
        phase_log("bb000002", 2, "build", "completed", b_start + timedelta(minutes=5)),
        phase_log(
            "bb000002", 3, "test", "failed", b_start + timedelta(minutes=10), log_message=TIMEOUT
        ),
        phase_log("cc000003", 1, "plan", "completed", c_start),
        phase_log("cc000003", 2, "build", "completed", c_start + timedelta(minutes=5)),
    ]
    insert(engine, "task_logs", logs)
    d_time = NOW - timedelta(days=2)
    hooks = [
        hook(
            "h1",
            a_start + timedelta(minutes=6),
            is_error("npm ERR! code ERESOLVE"),
            source_app="adw_wf-aa000001",
            workflow_id="wf-aa000001",
        ),
        hook(
            "h2",
            a_start + timedelta(minutes=7),
            {"tool_response": {"exit_code": 0, "stdout": "ok"}},
            source_app="adw_wf-aa000001",
            workflow_id="wf-aa000001",
        ),
        hook("h3", d_time, is_error(REFUSED), source_app="adw_wf-dd000004", workflow_id=None),
        hook(
            "h4",
            d_time + timedelta(minutes=1),
            {"tool_name": "Read"},
            source_app="adw_wf-dd000004",
            workflow_id=None,
        ),
        hook("h5", d_time, is_error("unrelated"), source_app="unknown", workflow_id=None),
    ]
    insert(engine, "hook_events", hooks)
    engine.dispose()
    return {
        "url": db_url,
        "runs": {"aa000001": a_start, "bb000002": b_start, "cc000003": c_start, "dd000004": d_time},
        "failed": {"aa000001", "bb000002"},
        "only_in_hooks": {"dd000004"},
    }


def test_empty_workflow_history_still_counts_runs_and_failures(live_dump):
    summary = service_for(live_dump["url"]).get_error_summary(30)
    assert summary.total_workflows == len(live_dump["runs"])
    assert summary.failed_workflows == len(live_dump["failed"])
    categories = dict(summary.top_errors)
    assert categories["import_error"] >= 1 and categories["timeout_error"] >= 1
    assert categories["connection_error"] >= 1  # the run known only from its hook events


def test_runs_without_history_are_noted_in_data_quality(live_dump):
    summary = service_for(live_dump["url"]).get_error_summary(30)
    notes = [
        note for note in summary.data_quality.missing if note.startswith("workflow_history rows")
    ]
    only_hooks = len(live_dump["only_in_hooks"])
    only_logs = len(live_dump["runs"]) - only_hooks
    assert notes == [
        f"workflow_history rows of {len(live_dump['runs'])} run(s) "
        f"({only_logs} only in task_logs, {only_hooks} only in hook_events): "
        "counted as runs, with their time from those tables"
    ]


def test_task_log_failures_without_history_have_their_phase(live_dump):
    service = service_for(live_dump["url"])
    breakdown = service.analyze_by_phase(30)
    assert breakdown.rate_basis == "runs_reaching_phase"
    # lower-case phase names normalised; reach counts the runs that have task logs
    assert breakdown.phase_reached_runs["Build"] == 3
    assert breakdown.phase_failed_runs["Build"] >= 1
    assert breakdown.phase_failed_runs["Test"] == 1
    events = service.snapshot(30).events
    by_run = {(event.run_id, event.phase.value) for event in events if event.message}
    assert ("aa000001", "Build") in by_run and ("bb000002", "Test") in by_run
    # a hook error of a task-log-only run is placed in the phase running at its time
    hook_phases = {
        event.phase.value for event in events if event.message == "npm ERR! code ERESOLVE"
    }
    assert hook_phases == {"Build"}


def test_daily_series_counts_runs_from_every_table(live_dump):
    trend = service_for(live_dump["url"]).get_failure_trends(30)
    day_to_point = {point.date: point for point in trend.points}
    for adw_id, started in live_dump["runs"].items():
        point = day_to_point[started.date()]
        assert point.runs >= 1, adw_id
    assert sum(point.runs for point in trend.points) == len(live_dump["runs"])
    assert sum(point.failed for point in trend.points) == len(live_dump["failed"])


def test_a_task_log_only_run_is_timed_by_its_earliest_task_log(db_url):
    engine = host_engine(db_url)
    first = NOW - timedelta(days=40)
    insert(
        engine,
        "task_logs",
        [
            phase_log("ee000005", 1, "plan", "completed", first),
            phase_log(
                "ee000005",
                2,
                "build",
                "failed",
                NOW - timedelta(days=1),
                error_message=IMPORT_ERROR,
            ),
        ],
    )
    engine.dispose()
    service = service_for(db_url)
    assert service.get_error_summary(30).total_workflows == 0  # it began 40 days ago
    older = service.get_error_summary(60)
    assert (older.total_workflows, older.failed_workflows) == (1, 1)


@pytest.fixture
def partial_history(db_url) -> dict[str, Any]:
    """workflow_history with the host's every column for some runs; others only in task_logs."""
    engine = host_engine(db_url)
    created = NOW - timedelta(days=2)
    history = [
        {
            "adw_id": "ff000006",
            "issue_number": 12,
            "nl_input": "Add a dark mode",
            "github_url": "https://github.com/o/r/issues/12",
            "gh_issue_state": "open",
            "workflow_template": "adw_sdlc_complete_iso",
            "model_used": "sonnet",
            "status": "failed",
            "start_time": created,
            "end_time": created + timedelta(minutes=30),
            "duration_seconds": 1800,
            "current_phase": "test",
            "retry_count": 2,
            "error_message": REFUSED,
            "error_category": "unknown",
            "error_phase_distribution": {"test": 1},
            "retry_reasons": ["test_failure"],
            "bottleneck_phase": "test",
            "recovery_time_seconds": 60,
            "phase_durations": {"plan": 120},
            "worktree_path": "/trees/ff000006",
            "backend_port": 9100,
            "frontend_port": 9200,
            "input_tokens": 1000,
            "output_tokens": 200,
            "cached_tokens": 10,
            "total_tokens": 1210,
            "cache_efficiency_percent": 1.0,
            "estimated_cost_total": 0.5,
            "actual_cost_total": 0.6,
            "cost_breakdown": {"plan": 0.1},
            "steps_completed": 3,
            "steps_total": 5,
            "worktree_reused": True if "postgresql" in db_url else 1,
            "hour_of_day": 10,
            "day_of_week": 2,
            "nl_input_clarity_score": 0.8,
            "created_at": created,
            "updated_at": created + timedelta(minutes=30),
        },
        {"adw_id": "gg000007", "status": "completed", "created_at": created, "start_time": created},
    ]
    insert(engine, "workflow_history", history)
    insert(
        engine,
        "task_logs",
        [
            phase_log("ff000006", 1, "test", "failed", created, error_message=REFUSED),
            phase_log(
                "hh000008",
                1,
                "lint",
                "failed",
                NOW - timedelta(days=4),
                error_message="E501 line too long",
            ),
        ],
    )
    engine.dispose()
    return {"url": db_url, "runs": 3, "failed": 2}


def test_runs_missing_from_history_join_those_it_has(partial_history):
    service = service_for(partial_history["url"])
    summary = service.get_error_summary(30)
    assert summary.total_workflows == partial_history["runs"]
    assert summary.failed_workflows == partial_history["failed"]
    assert summary.data_quality.total_skipped == 0
    breakdown = service.analyze_by_phase(30)
    assert breakdown.phase_failed_runs["Lint"] == 1
    assert breakdown.phase_failed_runs["Test"] == 1
    recommendations = service.get_debugging_recommendations(30)
    assert recommendations
    assert (
        sum(point.runs for point in service.get_failure_trends(30).points)
        == partial_history["runs"]
    )


def test_host_hook_run_ids_join_by_workflow_id_or_source_app(db_url):
    engine = host_engine(db_url)
    when = NOW - timedelta(hours=5)
    insert(
        engine,
        "hook_events",
        [
            hook("w1", when, is_error(REFUSED), workflow_id="wf-ii000009", source_app="unknown"),
            hook("s1", when, is_error(TIMEOUT), workflow_id=None, source_app="adw_wf-jj000010"),
            hook("n1", when, is_error(IMPORT_ERROR), workflow_id=None, source_app="unknown"),
            hook("n2", when, is_error(IMPORT_ERROR), workflow_id="wf-", source_app=None),
        ],
    )
    engine.dispose()
    service = service_for(db_url)
    summary = service.get_error_summary(30)
    assert summary.total_workflows == 2  # the two events that name a run
    run_ids = {event.run_id for event in service.snapshot(30).events}
    assert {"ii000009", "jj000010"} <= run_ids
    assert date.fromisoformat(str(when.date())) in {
        point.date for point in service.get_failure_trends(30).points if point.runs
    }


def test_a_task_log_only_run_without_a_readable_time_is_counted_not_dropped(db_url):
    engine = host_engine(db_url)
    untimed = phase_log("kk000011", 1, "build", "failed", NOW, error_message=IMPORT_ERROR)
    untimed.update(started_at=None, completed_at=None, created_at=None)
    rows = [untimed]
    if engine.dialect.name == "sqlite":  # PostgreSQL's TIMESTAMP cannot hold text that is no date
        garbled = phase_log("ll000012", 1, "test", "failed", NOW, error_message=TIMEOUT)
        garbled.update(started_at="someday", completed_at="never", created_at="")
        rows.append(garbled)
    insert(engine, "task_logs", rows)
    engine.dispose()
    summary = service_for(db_url).get_error_summary(30)
    assert summary.total_workflows == 0  # in no window
    quality = summary.data_quality
    assert quality is not None
    key = "task_logs: run without a readable time"
    assert quality.rows_skipped[key] == len(rows)
    assert sorted(quality.skipped_examples[key]) == sorted(row["adw_id"] for row in rows)
