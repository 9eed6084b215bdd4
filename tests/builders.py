"""Small, hand-written workflow databases for tests, on any engine, in either layout."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from error_analytics.demo.schema import RawValue, create_workflow_tables, insert_rows

#: The tests' clock: noon yesterday. Always at noon, so a run placed a fraction of a day before it
#: lands on the same calendar day whatever hour the suite runs at; always in the past, so a
#: subprocess that reads the real clock still sees every run (no future dates) in a 30-day window.
#: ``conftest.pinned_clock`` makes the toolkit's own clock return it in-process.
NOW = datetime.combine(date.today() - timedelta(days=1), time(12, 0))


def run(adw_id: str, status: str, days_ago: float, **columns) -> dict:
    created = NOW - timedelta(days=days_ago)
    row = {
        "adw_id": adw_id,
        "issue_number": 1,
        "workflow_template": columns.pop("workflow_template", "adw_sdlc_complete_iso"),
        "model_used": columns.pop("model_used", "sonnet"),
        "status": status,
        "start_time": created,
        "created_at": created,
        "current_phase": columns.pop("current_phase", None),
    }
    row.update(columns)
    return row


def completed_runs(count: int, *, prefix: str = "ok", days_ago: float = 1.0) -> list[dict]:
    return [
        run(f"{prefix}{index:06d}", "completed", days_ago + index * 0.1) for index in range(count)
    ]


def spec_database(url: str) -> sa.Engine:
    """Spec layout: 10 runs in the last 30 days (4 failed), one older failure, one odd date."""
    engine = sa.create_engine(url)
    create_workflow_tables(engine, "spec")
    rows = [
        run(
            "a0000001",
            "failed",
            1,
            current_phase="Build",
            failure_reason="ModuleNotFoundError: No module named 'requests'",
            phase_errors={"Build": "ModuleNotFoundError: No module named 'requests'"},
        ),
        run(
            "a0000002",
            "failed",
            2,
            failure_reason="ECONNREFUSED localhost:9100",
            phase_errors=[{"phase": "testing", "error": "ECONNREFUSED localhost:9100"}],
        ),
        run("a0000003", "failed", 3, current_phase="Test"),
        run(
            "a0000004",
            "failed",
            3,
            current_phase="adw_test_iso",
            failure_reason="pytest execution timed out after 5 minutes",
            phase_errors=RawValue("{not json"),
        ),
        run(
            "a0000011",
            "failed",
            40,
            current_phase="Lint",
            failure_reason="SyntaxError: invalid syntax",
        ),
    ] + completed_runs(6)
    insert_rows(engine, "workflow_history", rows)
    if engine.dialect.name == "sqlite":
        insert_rows(
            engine,
            "workflow_history",
            [
                {
                    "adw_id": "a0000012",
                    "status": "completed",
                    "created_at": RawValue("yesterday"),
                    "start_time": RawValue("sometime"),
                },
            ],
        )
    return engine


def host_database(url: str) -> sa.Engine:
    """Host layout: error_message + phase counts + task_logs + hook events."""
    engine = sa.create_engine(url)
    create_workflow_tables(engine, "host")
    rows = [
        run(
            "b0000001",
            "failed",
            1,
            current_phase="build",
            error_message="Cannot find module 'vite'",
            error_category="unknown",
            error_phase_distribution={"build": 1},
        ),
        run(
            "b0000002",
            "failed",
            2,
            current_phase="test",
            error_message=None,
            error_phase_distribution={"test": 2, "doc": 1},
        ),
        run("b0000003", "failed", 2, current_phase=None, error_message=None),
        run("b0000004", "completed", 2, error_phase_distribution=RawValue("[[[")),
    ] + completed_runs(6, prefix="okh")
    insert_rows(engine, "workflow_history", rows)
    phases = ["plan", "build", "test"]
    logs = []
    for row in rows:
        for number, phase in enumerate(phases, start=1):
            status = "completed"
            error = None
            if row["adw_id"] == "b0000001" and phase == "build":
                status, error = "failed", "Cannot find module 'vite'"
            if row["adw_id"] == "b0000001" and phase == "test":
                continue  # never reached
            if row["adw_id"] == "b0000002" and phase == "test":
                status, error = "failed", "dial tcp 127.0.0.1:5432: connect: connection refused"
            logs.append(
                {
                    "adw_id": row["adw_id"],
                    "issue_number": 1,
                    "workflow_template": row["workflow_template"],
                    "phase_name": phase,
                    "phase_number": number,
                    "phase_status": status,
                    "error_message": error,
                    "started_at": row["created_at"] + timedelta(minutes=10 * number),
                    "created_at": row["created_at"],
                }
            )
    insert_rows(engine, "task_logs", logs)
    insert_rows(
        engine, "workflow_history", [run("b0000005", "failed", 3, current_phase="reviewing")]
    )
    hooks = [
        {
            "event_id": "e1",
            "event_type": "PostToolUse",
            "source_app": "adw_wf-b0000003",
            "session_id": "s1",
            "workflow_id": "wf-b0000003",
            "timestamp": NOW - timedelta(days=2, minutes=-25),
            "tool_name": "Bash",
            "payload": {
                "tool_name": "Bash",
                "tool_response": {"is_error": True, "stderr": "npm ERR! code ERESOLVE"},
            },
            "processed": 0,
            "created_at": NOW - timedelta(days=2),
        },
        {
            "event_id": "e2",
            "event_type": "PostToolUse",
            "source_app": "adw_wf-b0000003",
            "session_id": "s1",
            "workflow_id": "wf-b0000003",
            "timestamp": NOW - timedelta(days=2),
            "tool_name": "Bash",
            "payload": {
                "tool_name": "Bash",
                "tool_response": {"exit_code": 0, "stdout": "fine", "success": True},
            },
            "processed": 1,
            "created_at": NOW - timedelta(days=2),
        },
        {
            "event_id": "e3",
            "event_type": "PostToolUse",
            "source_app": "unknown",
            "session_id": "s2",
            "workflow_id": None,
            "timestamp": NOW - timedelta(days=2),
            "tool_name": "Bash",
            "payload": RawValue('{"tool_response": {"is_error": true, '),
            "processed": 0,
            "created_at": NOW - timedelta(days=2),
        },
    ]
    insert_rows(engine, "hook_events", hooks)
    return engine
