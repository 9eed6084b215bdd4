"""One error per failure: a failure stated in the failure text, the phase JSON, task_logs and
hook events is counted once, in its phase — both layouts, SQLite and PostgreSQL.

The expected counts come from the failures the databases are built with (:data:`FAILURES`, one
category and one phase each), never from the code under test.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from error_analytics.config import DatabaseTarget
from error_analytics.demo.schema import create_workflow_tables, insert_rows
from error_analytics.models import DataQualityReport, ErrorEvent, Phase, Source, TimeWindow
from error_analytics.rules.signature import failure_signature
from error_analytics.rules.text import strip_ansi
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.engine import open_engine
from error_analytics.store.same_failure import merge_same_failures
from error_analytics.store.workflow_reader import WorkflowReader

from .builders import NOW, completed_runs, run

WINDOW = TimeWindow(start=NOW - timedelta(days=30), end=NOW)
PHASES = ("Plan", "Build", "Lint", "Test", "Review")


@dataclasses.dataclass(frozen=True)
class Failure:
    exception: str  # the final line of its traceback
    category: str
    phase: str


IMPORT = Failure("ModuleNotFoundError: No module named 'adw_modules'", "import_error", "Build")
REFUSED = Failure(
    "ConnectionRefusedError: [Errno 111] Connection refused", "connection_error", "Test"
)
TIMEOUT = Failure(
    "TimeoutError: pytest execution timed out after 5 minutes", "timeout_error", "Test"
)
SYNTAX = Failure("SyntaxError: invalid syntax", "syntax_error", "Lint")
TYPE = Failure(
    "TypeError: unsupported operand type(s) for +: 'int' and 'str'", "type_error", "Review"
)
FAILURES = (IMPORT, REFUSED, TIMEOUT, SYNTAX, TYPE)

#: run id -> its failures, in the order they happened. 10 runs with one failure, 3 with two.
RUN_TO_FAILURES: dict[str, tuple[Failure, ...]] = {
    **{f"f{index:07d}": (FAILURES[index % len(FAILURES)],) for index in range(10)},
    "t0000001": (IMPORT, REFUSED),
    "t0000002": (SYNTAX, TIMEOUT),
    "t0000003": (IMPORT, TYPE),
}
DISTINCT_FAILURES = [failure for failures in RUN_TO_FAILURES.values() for failure in failures]


def traceback(failure: Failure) -> str:
    return (
        "Traceback (most recent call last):\n"
        '  File "adws/adw_sdlc_iso.py", line 42, in <module>\n'
        "    main()\n"
        '  File "adws/adw_modules/workflow_ops.py", line 7, in main\n'
        "    run_phase()\n"
        f"{failure.exception}"
    )


def hook_payload(failure: Failure, shape: int) -> dict[str, Any]:
    """A hook event carrying the failure's traceback, in one of three wrappings."""
    if shape == 0:
        return {
            "tool_name": "Bash",
            "tool_response": {"exit_code": 1, "stderr": traceback(failure)},
        }
    if shape == 1:  # coloured, as a terminal printed it
        coloured = f"\x1b[31m{traceback(failure)}\x1b[0m\n"
        return {"tool_name": "Bash", "tool_response": {"is_error": True, "content": coloured}}
    wrapped = f"Non-zero exit code: 1\nStderr: {traceback(failure)}"
    return {"tool_name": "Task", "tool_result": {"success": False, "error": wrapped}}


def phase_start(created: datetime, phase: str) -> datetime:
    return created + timedelta(minutes=10 * PHASES.index(phase))


def hook_row(adw_id: str, number: int, when: datetime, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": f"{adw_id}-{number}",
        "event_type": "PostToolUse",
        "source_app": f"adw_wf-{adw_id}",
        "session_id": f"s-{adw_id}",
        "workflow_id": f"wf-{adw_id}",
        "timestamp": when,
        "payload": payload,
        "tool_name": "Bash",
        "processed": False,
        "created_at": when,
    }


def failure_text(failure: Failure, index: int) -> str:
    """The run-level text: the last failure, wrapped (with an ``Error:`` chain now and then)."""
    detail = failure.exception if index % 2 else f"Error: Error: {failure.exception}"
    return f"{failure.phase} phase failed: {detail}"


def spec_failures_database(url: str) -> None:
    """Spec layout: failure_reason + phase_errors + a hook event with the traceback for each
    failure. current_phase is NULL for half the runs; there are no task_logs to time hooks."""
    engine = sa.create_engine(url)
    create_workflow_tables(engine, "spec")
    runs, hooks = [], []
    for index, (adw_id, failures) in enumerate(RUN_TO_FAILURES.items()):
        phase_errors: Any = {failure.phase: failure.exception for failure in failures}
        if index % 3 == 1:
            phase_errors = [
                {"phase": failure.phase.lower(), "error": failure.exception} for failure in failures
            ]
        row = run(
            adw_id,
            "failed",
            1 + index * 0.5,
            current_phase=failures[-1].phase if index % 2 else None,
            failure_reason=failure_text(failures[-1], index),
            phase_errors=phase_errors,
        )
        runs.append(row)
        for number, failure in enumerate(failures):
            when = phase_start(row["created_at"], failure.phase) + timedelta(minutes=3)
            hooks.append(hook_row(adw_id, number, when, hook_payload(failure, index % 3)))
    insert_rows(engine, "workflow_history", runs + completed_runs(5))
    insert_rows(engine, "hook_events", hooks)
    engine.dispose()


def host_failures_database(url: str) -> None:
    """Host layout: error_message + error_phase_distribution + task_logs (a failed row per
    failure, some with the failed tool call) + a hook event with the traceback per failure."""
    engine = sa.create_engine(url)
    create_workflow_tables(engine, "host")
    runs, logs, hooks = [], [], []
    for index, (adw_id, failures) in enumerate(RUN_TO_FAILURES.items()):
        row = run(
            adw_id,
            "failed",
            1 + index * 0.5,
            current_phase=failures[-1].phase.lower(),
            error_message=failure_text(failures[-1], index),
            error_category="unknown",
            error_phase_distribution={failure.phase.lower(): 1 for failure in failures},
        )
        runs.append(row)
        phase_to_failure = {failure.phase: failure for failure in failures}
        last = PHASES.index(failures[-1].phase)
        for number, phase in enumerate(PHASES[: last + 1], start=1):
            failure = phase_to_failure.get(phase)
            started = phase_start(row["created_at"], phase)
            log = {
                "adw_id": adw_id,
                "issue_number": 1,
                "workflow_template": row["workflow_template"],
                "phase_name": phase.lower(),
                "phase_number": number,
                "phase_status": "failed" if failure else "completed",
                "error_message": failure.exception if failure else None,
                "started_at": started,
                "completed_at": started + timedelta(minutes=9),
                "created_at": started,
                "tool_calls": None,
            }
            if failure and index % 2:
                log["tool_calls"] = [
                    {"tool_name": "Read", "success": True, "error_message": None},
                    {"tool_name": "Bash", "success": False, "error_message": traceback(failure)},
                ]
            logs.append(log)
        for number, failure in enumerate(failures):
            when = phase_start(row["created_at"], failure.phase) + timedelta(minutes=3)
            hooks.append(hook_row(adw_id, number, when, hook_payload(failure, index % 3)))
    insert_rows(engine, "workflow_history", runs + completed_runs(5))
    insert_rows(engine, "task_logs", logs)
    insert_rows(engine, "hook_events", hooks)
    engine.dispose()


def service_for(url: str) -> ErrorAnalyticsService:
    return ErrorAnalyticsService(
        WorkflowReader(open_engine(DatabaseTarget(url, "test"))), clock=lambda: NOW
    )


BUILDERS = {"spec": spec_failures_database, "host": host_failures_database}


@pytest.fixture(params=sorted(BUILDERS))
def failures_db(request, db_url) -> str:
    BUILDERS[request.param](db_url)
    return db_url


def test_each_failure_counts_once_by_category(failures_db):
    summary = service_for(failures_db).get_error_summary(30)
    assert summary.failed_workflows == len(RUN_TO_FAILURES)
    assert summary.total_errors == len(DISTINCT_FAILURES)
    assert dict(summary.top_errors) == dict(
        Counter(failure.category for failure in DISTINCT_FAILURES)
    )
    assert summary.data_quality is not None and summary.data_quality.total_skipped == 0


def test_each_failure_counts_once_in_its_phase_and_none_in_unknown(failures_db):
    breakdown = service_for(failures_db).analyze_by_phase(30)
    counts = {phase: count for phase, count in breakdown.phase_error_counts.items() if count}
    assert counts == dict(Counter(failure.phase for failure in DISTINCT_FAILURES))
    assert breakdown.phase_error_counts.get("Unknown", 0) == 0
    assert breakdown.total_errors == len(DISTINCT_FAILURES)


def test_a_merged_error_keeps_its_sources_the_traceback_and_the_earliest_time(failures_db):
    reader = WorkflowReader(open_engine(DatabaseTarget(failures_db, "test")))
    events = reader.error_events(WINDOW, DataQualityReport())
    run_to_events: dict[str, list[ErrorEvent]] = {}
    for event in events:
        run_to_events.setdefault(event.run_id, []).append(event)
    expected_sources = (
        {Source.TASK_LOG, Source.PHASE_ERROR, Source.FAILURE_TEXT, Source.HOOK_EVENT}
        if reader.schema.layout == "host"
        else {Source.PHASE_ERROR, Source.FAILURE_TEXT, Source.HOOK_EVENT}
    )
    primary = Source.TASK_LOG if reader.schema.layout == "host" else Source.PHASE_ERROR
    for adw_id, failures in RUN_TO_FAILURES.items():
        found = sorted(run_to_events[adw_id], key=lambda event: PHASES.index(event.phase.value))
        assert [event.phase.value for event in found] == [f.phase for f in failures], adw_id
        # the run-level text names the last failure only; the earlier one has no failure text
        assert set(found[-1].sources) == expected_sources
        for event, failure in zip(found, failures, strict=True):
            assert event.source is primary and event.sources[0] is primary
            assert set(event.sources) <= expected_sources
            assert event.message is not None and "Traceback" in event.message
            assert strip_ansi(event.message).rstrip().endswith(failure.exception)
        created = NOW - timedelta(days=1 + list(RUN_TO_FAILURES).index(adw_id) * 0.5)
        assert min(event.timestamp for event in found if event.timestamp) <= created + timedelta(
            minutes=10 * PHASES.index(failures[0].phase) + 3
        )


# -- the signature ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "message",
    [
        "ModuleNotFoundError: No module named 'adw_modules'",
        "Build phase failed: ModuleNotFoundError: No module named 'adw_modules'",
        "build phase failed: Error: Error: ModuleNotFoundError: No module named 'adw_modules'",
        "Non-zero exit code: 2\nStderr: ModuleNotFoundError: No module named 'adw_modules'",
        "Non-zero exit code: 1\nStderr: " + traceback(IMPORT),
        traceback(IMPORT),
        "\x1b[1;31m" + traceback(IMPORT).replace("\n", "\r\n") + "\x1b[0m\n\n",
        "  ModuleNotFoundError:   No module named\t'adw_modules'  ",
        "[31mModuleNotFoundError: No module named 'adw_modules'[0m",  # ESC byte lost
    ],
)
def test_wrappers_tracebacks_ansi_and_whitespace_do_not_change_the_signature(message):
    assert failure_signature(message).key == failure_signature(IMPORT.exception).key != ""


def test_a_javascript_stack_and_its_message_are_one_failure():
    stack = (
        "Error: listen EADDRINUSE: address already in use :::9100\n"
        "    at Server.setupListenHandle [as _listen2] (node:net:1908:16)\n"
        "    at listenInCluster (node:net:1965:12)"
    )
    short = "Test phase failed: listen EADDRINUSE: address already in use :::9100"
    assert failure_signature(stack).key == failure_signature(short).key


def test_different_failures_have_different_signatures():
    keys = {failure_signature(failure.exception).key for failure in FAILURES}
    keys |= {failure_signature(traceback(failure)).key for failure in FAILURES}
    assert len(keys) == len(FAILURES)
    assert (
        failure_signature("No module named 'adw_modules'").key
        != failure_signature("No module named 'adw_modules.state'").key
    )


@pytest.mark.parametrize(
    ("message", "phase"),
    [
        ("Build phase failed: x", "Build"),
        ("Workflow a1b2c3d4 failed during testing", "testing"),
        ("Phase failed after 3 attempts", None),
        ("Non-zero exit code: 2", None),
        ("Bash call failed", None),
    ],
)
def test_the_phase_a_wrapper_names_and_messages_that_name_no_failure(message, phase):
    signature = failure_signature(message)
    assert signature.phase_named == phase
    assert (signature.key == "") == (message != "Build phase failed: x")


# -- merging one run's events -----------------------------------------------------------
T0 = datetime(2025, 12, 10, 10, 0)


def event(source: Source, phase: Phase, message: str | None, minutes: int = 0) -> ErrorEvent:
    return ErrorEvent("r1", phase, source, message, T0 + timedelta(minutes=minutes), "tpl", "m")


def test_four_statements_of_one_failure_are_one_error():
    merged = merge_same_failures(
        [
            event(Source.FAILURE_TEXT, Phase.UNKNOWN, "Build phase failed: " + IMPORT.exception, 9),
            event(Source.PHASE_ERROR, Phase.BUILD, IMPORT.exception, 9),
            event(Source.TASK_LOG, Phase.BUILD, IMPORT.exception, 5),
            event(Source.HOOK_EVENT, Phase.UNKNOWN, traceback(IMPORT), 3),
            event(Source.HOOK_EVENT, Phase.UNKNOWN, traceback(IMPORT), 4),  # a retry
        ]
    )
    assert merged == [
        ErrorEvent(
            "r1",
            Phase.BUILD,
            Source.TASK_LOG,
            traceback(IMPORT),
            T0 + timedelta(minutes=3),
            "tpl",
            "m",
            (Source.TASK_LOG, Source.PHASE_ERROR, Source.FAILURE_TEXT, Source.HOOK_EVENT),
        )
    ]


def test_a_hook_echo_never_moves_an_error_to_unknown():
    for phase_source in (Source.FAILURE_TEXT, Source.PHASE_ERROR):
        merged = merge_same_failures(
            [
                event(Source.HOOK_EVENT, Phase.UNKNOWN, traceback(REFUSED)),
                event(phase_source, Phase.TEST, REFUSED.exception),
            ]
        )
        assert [(e.phase, e.source) for e in merged] == [(Phase.TEST, phase_source)]
    # the phase a wrapper names, when the run records no current phase
    merged = merge_same_failures(
        [
            event(Source.HOOK_EVENT, Phase.UNKNOWN, traceback(SYNTAX)),
            event(Source.FAILURE_TEXT, Phase.UNKNOWN, "Lint phase failed: " + SYNTAX.exception),
        ]
    )
    assert [e.phase for e in merged] == [Phase.LINT]


def test_two_different_failures_in_one_run_stay_two_errors():
    merged = merge_same_failures(
        [
            event(Source.PHASE_ERROR, Phase.BUILD, IMPORT.exception),
            event(Source.PHASE_ERROR, Phase.TEST, TIMEOUT.exception),
            event(Source.FAILURE_TEXT, Phase.TEST, "Test phase failed: " + TIMEOUT.exception),
            event(Source.HOOK_EVENT, Phase.UNKNOWN, traceback(IMPORT)),
            event(Source.HOOK_EVENT, Phase.UNKNOWN, traceback(TIMEOUT)),
        ]
    )
    phase_to_sources = {e.phase: set(e.sources) for e in merged}
    assert phase_to_sources == {
        Phase.BUILD: {Source.PHASE_ERROR, Source.HOOK_EVENT},
        Phase.TEST: {Source.PHASE_ERROR, Source.FAILURE_TEXT, Source.HOOK_EVENT},
    }


def test_the_same_text_stated_in_two_phases_is_two_failures():
    merged = merge_same_failures(
        [
            event(Source.TASK_LOG, Phase.BUILD, REFUSED.exception),
            event(Source.TASK_LOG, Phase.TEST, REFUSED.exception),
            event(Source.FAILURE_TEXT, Phase.TEST, REFUSED.exception),
        ]
    )
    assert sorted((e.phase.value, len(e.sources)) for e in merged) == [("Build", 1), ("Test", 2)]


def test_messages_that_name_no_failure_join_the_runs_failure():
    merged = merge_same_failures(
        [
            event(Source.PHASE_ERROR, Phase.BUILD, IMPORT.exception),
            event(Source.FAILURE_TEXT, Phase.UNKNOWN, "Phase failed after 3 attempts"),
            event(Source.HOOK_EVENT, Phase.UNKNOWN, "Non-zero exit code: 1"),
        ]
    )
    assert [(e.phase, e.message, len(e.sources)) for e in merged] == [
        (Phase.BUILD, IMPORT.exception, 3)
    ]


def test_count_only_phase_errors_are_absorbed_by_an_error_in_their_phase():
    merged = merge_same_failures(
        [
            event(Source.PHASE_ERROR, Phase.TEST, None),
            event(Source.PHASE_ERROR, Phase.DOCUMENT, None),
            event(Source.TASK_LOG, Phase.TEST, REFUSED.exception),
        ]
    )
    assert sorted((e.phase.value, e.source.value, e.message) for e in merged) == [
        ("Document", "phase_error", None),
        ("Test", "task_log", REFUSED.exception),
    ]


def test_merging_is_linear_in_a_runs_events():
    """Thousands of hook events in one run: bucketed by signature, never compared pairwise."""
    events = [
        event(Source.HOOK_EVENT, Phase.UNKNOWN, f"npm ERR! missing script: task{index}")
        for index in range(20_000)
    ] + [event(Source.HOOK_EVENT, Phase.UNKNOWN, traceback(IMPORT)) for _ in range(20_000)]
    started = time.perf_counter()
    merged = merge_same_failures(events)
    assert len(merged) == 20_001
    assert time.perf_counter() - started < 10  # pairwise: 8e8 comparisons, minutes


def test_a_message_that_names_no_failure_is_never_the_one_kept():
    merged = merge_same_failures(
        [
            event(Source.PHASE_ERROR, Phase.LINT, SYNTAX.exception),
            event(Source.FAILURE_TEXT, Phase.LINT, "Workflow a1b2c3d4 failed during linting"),
        ]
    )
    assert [(e.phase, e.message) for e in merged] == [(Phase.LINT, SYNTAX.exception)]
