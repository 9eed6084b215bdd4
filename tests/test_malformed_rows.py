"""Malformed rows never stop a view: each is counted under data quality, the rest still answers.

Every case adds one bad row to a small, valid database and compares the views with the same
database without it: the row shows up in ``data_quality`` and nothing else is lost. Values an
engine cannot hold (invalid UTF-8, blobs in a timestamp, ``Infinity`` in JSONB) are SQLite only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from error_analytics.cli import main
from error_analytics.config import DatabaseTarget
from error_analytics.models import DataQualityReport, ErrorSummary, to_jsonable
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.engine import open_engine
from error_analytics.store.workflow_reader import WorkflowReader

from .builders import NOW, host_database, spec_database

CREATED = NOW - timedelta(days=1)
HUGE_INTEGER = "9" * 5000


def service_for(url: str) -> ErrorAnalyticsService:
    return ErrorAnalyticsService(
        WorkflowReader(open_engine(DatabaseTarget(url, "test"))), clock=lambda: NOW
    )


def every_view(url: str) -> tuple[ErrorSummary, DataQualityReport]:
    """Answer every view of the service, as the CLI and the API do; return the summary."""
    service = service_for(url)
    summary = service.get_error_summary(30)
    results = [
        summary,
        service.analyze_by_phase(30),
        service.find_error_patterns(30),
        service.get_failure_trends(30),
        service.get_debugging_recommendations(30),
        service.cluster_errors(30),
    ]
    json.dumps(to_jsonable(results))  # what the API and --json print
    service.reader.engine.dispose()
    assert summary.data_quality is not None
    return summary, summary.data_quality


def execute(url: str, sql: str, **params: object) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(sql), params)
    engine.dispose()


def add_run(url: str, adw_id: str, status: str, **columns: object) -> None:
    """Insert one workflow_history row with the given raw column values, bound as they are."""
    values = {"adw_id": adw_id, "status": status, "created_at": CREATED, **columns}
    names = ", ".join(values)
    placeholders = ", ".join(f":{name}" for name in values)
    if sa.make_url(url).get_backend_name() == "sqlite":
        values["created_at"] = CREATED.isoformat(sep=" ")
    execute(url, f"INSERT INTO workflow_history ({names}) VALUES ({placeholders})", **values)


def assert_rest_still_answers(before: ErrorSummary, after: ErrorSummary, extra_runs: int) -> None:
    assert after.total_workflows == before.total_workflows + extra_runs
    before_counts = dict(before.top_errors)
    after_counts = dict(after.top_errors)
    for category, count in before_counts.items():
        assert after_counts.get(category, 0) >= count


@pytest.fixture
def spec_sqlite(sqlite_url) -> str:
    spec_database(sqlite_url).dispose()
    return sqlite_url


@pytest.fixture
def spec_db(db_url) -> str:
    spec_database(db_url).dispose()
    return db_url


def test_text_that_is_not_utf8_is_replaced_and_counted(spec_sqlite):
    before, _ = every_view(spec_sqlite)
    execute(
        spec_sqlite,
        "INSERT INTO workflow_history (adw_id, status, created_at, failure_reason, current_phase)"
        " VALUES ('utf80001', 'failed', :t, CAST(:reason AS TEXT), CAST(:phase AS TEXT))",
        t=CREATED.isoformat(sep=" "),
        reason=b"ModuleNotFoundError: No module named \xff\xfe'x'",
        phase=b"Bu\xffild",
    )
    after, quality = every_view(spec_sqlite)
    assert quality.rows_adjusted["failure_reason: invalid UTF-8 replaced"] == 1
    assert_rest_still_answers(before, after, extra_runs=1)
    assert dict(after.top_errors)["import_error"] == dict(before.top_errors)["import_error"] + 1


def test_blob_in_updated_at_of_an_old_run_is_counted(spec_sqlite):
    before, _ = every_view(spec_sqlite)
    execute(
        spec_sqlite,
        "INSERT INTO workflow_history (adw_id, status, created_at, updated_at)"
        " VALUES ('blob0001', 'completed', '2001-01-01 00:00:00', :updated)",
        updated=b"\xff\x00\xfe",
    )
    after, quality = every_view(spec_sqlite)
    assert quality.rows_skipped["workflow_history: updated_at is not a date"] == 1
    assert_rest_still_answers(before, after, extra_runs=0)


def test_blob_in_updated_at_changes_the_data_fingerprint(spec_sqlite):
    add_run(spec_sqlite, "blob0002", "completed", updated_at=b"\xff\x01")
    reader = WorkflowReader(open_engine(DatabaseTarget(spec_sqlite, "test")))
    first = reader.data_fingerprint()
    execute(
        spec_sqlite,
        "UPDATE workflow_history SET updated_at = :u WHERE adw_id = 'blob0002'",
        u=b"\xff\x02",
    )
    assert reader.data_fingerprint() != first
    reader.engine.dispose()


@pytest.mark.parametrize("count", ["Infinity", "-Infinity", "NaN", "1e400"])
def test_non_finite_phase_error_count_is_counted(spec_sqlite, count):
    before, _ = every_view(spec_sqlite)
    add_run(spec_sqlite, "inf00001", "failed", phase_errors=f'{{"Build": {count}, "Test": 1}}')
    after, quality = every_view(spec_sqlite)
    assert quality.rows_skipped["phase_errors: JSON number out of range"] == 1
    assert_rest_still_answers(before, after, extra_runs=1)
    assert after.failed_without_error_text == before.failed_without_error_text + 1


def test_huge_number_in_jsonb_is_counted(spec_db):
    """1e400 fits PostgreSQL's numeric and 5,000 digits too; Python's float and int do not."""
    before, _ = every_view(spec_db)
    cast = "CAST(:errors AS JSONB)" if "postgresql" in spec_db else ":errors"
    for adw_id, number in (("big00001", "1e400"), ("big00002", HUGE_INTEGER)):
        execute(
            spec_db,
            "INSERT INTO workflow_history (adw_id, status, created_at, phase_errors)"
            f" VALUES (:id, 'failed', :t, {cast})",
            id=adw_id,
            t=CREATED if "postgresql" in spec_db else CREATED.isoformat(sep=" "),
            errors=f'{{"Build": {number}}}',
        )
    after, quality = every_view(spec_db)
    assert quality.rows_skipped["phase_errors: JSON number out of range"] == 2
    assert_rest_still_answers(before, after, extra_runs=2)


def test_deeply_nested_json_is_counted(spec_db):
    before, _ = every_view(spec_db)
    add_run(spec_db, "deep0001", "failed", phase_errors=None, failure_reason="Phase failed")
    nested = "[" * 5000 + "]" * 5000
    sql_value = "CAST(:p AS JSONB)" if "postgresql" in spec_db else ":p"
    try:
        execute(
            spec_db,
            f"UPDATE workflow_history SET phase_errors = {sql_value} WHERE adw_id = 'deep0001'",
            p=nested,
        )
    except sa.exc.DBAPIError:
        pytest.skip("this server refuses JSON nested this deeply")
    after, quality = every_view(spec_db)
    assert quality.rows_skipped["phase_errors: JSON nested too deeply"] == 1
    assert_rest_still_answers(before, after, extra_runs=1)


def test_huge_integer_in_a_hook_payload_is_counted(sqlite_url):
    host_database(sqlite_url).dispose()
    before, _ = every_view(sqlite_url)
    payload = '{"tool_response": {"is_error": true, "exit_code": ' + HUGE_INTEGER + "}}"
    execute(
        sqlite_url,
        "INSERT INTO hook_events (event_id, event_type, workflow_id, timestamp, payload)"
        " VALUES ('big', 'PostToolUse', 'wf-b0000001', :t, :p)",
        t=CREATED.isoformat(sep=" "),
        p=payload,
    )
    after, quality = every_view(sqlite_url)
    assert quality.rows_skipped["hook_events: JSON number out of range"] == 1
    assert_rest_still_answers(before, after, extra_runs=0)


def test_lone_surrogate_in_a_message_is_replaced_and_counted(db_url):
    """JSONB refuses ``\\ud800``; JSON kept in a TEXT column (as on SQLite) accepts it."""
    spec_database(db_url).dispose()
    if "postgresql" in db_url:
        execute(db_url, "ALTER TABLE workflow_history ALTER COLUMN phase_errors TYPE TEXT")
    before, _ = every_view(db_url)
    for index in range(3):  # enough of them to make a cluster of their own
        add_run(
            db_url,
            f"sur0000{index}",
            "failed",
            phase_errors=json.dumps({"Build": f"Broken pipe \ud800 in worker {index}"}),
        )
    after, quality = every_view(db_url)
    assert quality.rows_adjusted["phase_errors: lone surrogates replaced"] == 3
    assert_rest_still_answers(before, after, extra_runs=3)
    clusters = service_for(db_url).cluster_errors(30)
    examples = [example for cluster in clusters for example in cluster.examples]
    assert any("Broken pipe \ufffd" in example for example in examples)


TIMES_OUT_OF_RANGE = ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"]


@pytest.mark.parametrize("started_at", TIMES_OUT_OF_RANGE)
def test_task_log_time_out_of_range_is_an_unparsable_date(sqlite_url, started_at):
    host_database(sqlite_url).dispose()
    before, _ = every_view(sqlite_url)
    # b0000003 has a hook error without a phase: its task logs are read to place it
    execute(
        sqlite_url,
        "INSERT INTO task_logs (adw_id, phase_name, phase_status, started_at)"
        " VALUES ('b0000003', 'review', 'completed', :s)",
        s=started_at,
    )
    after, quality = every_view(sqlite_url)
    assert quality.rows_skipped["task_logs.started_at: unparsable date"] == 1
    assert_rest_still_answers(before, after, extra_runs=0)


@pytest.mark.parametrize(
    "started_at", ["infinity", "-infinity", "20000-01-01 00:00:00", "0044-03-15 00:00:00 BC"]
)
def test_postgresql_times_python_cannot_hold_are_counted(pg_url, started_at):
    host_database(pg_url).dispose()
    before, _ = every_view(pg_url)
    execute(
        pg_url,
        "INSERT INTO task_logs (adw_id, phase_name, phase_status, started_at)"
        " VALUES ('b0000003', 'review', 'completed', CAST(:s AS TIMESTAMP))",
        s=started_at,
    )
    after, quality = every_view(pg_url)
    assert quality.rows_skipped["task_logs.started_at: unparsable date"] == 1
    assert_rest_still_answers(before, after, extra_runs=0)


MALFORMED_SQLITE_ROWS: list[tuple[str, Callable[[str], None]]] = [
    (
        "invalid UTF-8",
        lambda url: execute(
            url,
            "INSERT INTO workflow_history (adw_id, status, created_at, failure_reason)"
            " VALUES ('cli00001', 'failed', :t, CAST(:r AS TEXT))",
            t=CREATED.isoformat(sep=" "),
            r=b"\xc3\x28 bad",
        ),
    ),
    (
        "Infinity",
        lambda url: add_run(url, "cli00002", "failed", phase_errors='{"Build": Infinity}'),
    ),
    (
        "huge integer",
        lambda url: add_run(url, "cli00003", "failed", phase_errors=f"[{HUGE_INTEGER}]"),
    ),
    (
        "lone surrogate",
        lambda url: add_run(url, "cli00004", "failed", phase_errors='{"Test": "x \\udfff y"}'),
    ),
    ("blob updated_at", lambda url: add_run(url, "cli00005", "completed", updated_at=b"\x80")),
]


@pytest.mark.parametrize(
    "add_bad_row",
    [add for _, add in MALFORMED_SQLITE_ROWS],
    ids=[name for name, _ in MALFORMED_SQLITE_ROWS],
)
def test_cli_report_survives_malformed_rows(spec_sqlite, add_bad_row, capsys, tmp_path):
    add_bad_row(spec_sqlite)
    output = tmp_path / "report.json"
    code = main(["--db", spec_sqlite, "--report", "--json", "--no-state", "--output", str(output)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(output.read_text(encoding="utf-8"))
    quality = json.dumps(report).count("data_quality")
    assert quality >= 1
    code = main(["--db", spec_sqlite, "--summary", "--cluster", "--no-state"])
    assert code == 0, capsys.readouterr().err
