"""The data layer against real SQLite files and a real PostgreSQL server, both layouts."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from error_analytics.config import DatabaseTarget
from error_analytics.errors import DatabaseUnavailableError, SchemaError
from error_analytics.models import DataQualityReport, Phase, Source, TimeWindow
from error_analytics.store.engine import open_engine
from error_analytics.store.parsing import (
    BadValue,
    clean_text,
    hook_error_message,
    iter_phase_errors,
    parse_timestamp,
)
from error_analytics.store.workflow_reader import WorkflowReader

from .builders import NOW, host_database, spec_database

WINDOW = TimeWindow(start=NOW - timedelta(days=30), end=NOW)


def reader_for(url: str) -> WorkflowReader:
    return WorkflowReader(open_engine(DatabaseTarget(url, "test")))


def test_spec_layout_events(db_url):
    spec_database(db_url).dispose()
    reader = reader_for(db_url)
    assert reader.schema.layout == "spec"
    quality = DataQualityReport()
    events = reader.error_events(WINDOW, quality)
    by_run = {}
    for event in events:
        by_run.setdefault(event.run_id, []).append(event)
    # the failure text repeats the phase error: one event, with the phase
    assert [(e.phase, e.source, e.message) for e in by_run["a0000001"]] == [
        (Phase.BUILD, Source.PHASE_ERROR, "ModuleNotFoundError: No module named 'requests'")
    ]
    assert by_run["a0000001"][0].sources == (Source.PHASE_ERROR, Source.FAILURE_TEXT)
    assert [(e.phase, e.source) for e in by_run["a0000002"]] == [(Phase.TEST, Source.PHASE_ERROR)]
    assert [(e.phase, e.source, e.message) for e in by_run["a0000003"]] == [
        (Phase.TEST, Source.NO_ERROR_TEXT, None)
    ]
    # malformed phase_errors is counted, the failure text still counts
    assert [(e.phase, e.source) for e in by_run["a0000004"]] == [(Phase.TEST, Source.FAILURE_TEXT)]
    assert quality.rows_skipped["phase_errors: malformed JSON"] == 1
    assert "a0000011" not in by_run  # 40 days old
    assert reader.run_counts(WINDOW).total == 10
    assert reader.run_counts(WINDOW).failed == 4
    if reader.engine.dialect.name == "sqlite":
        assert quality.rows_skipped["workflow_history: unparsable date"] == 1


def test_host_layout_events(db_url):
    host_database(db_url).dispose()
    reader = reader_for(db_url)
    assert reader.schema.layout == "host"
    quality = DataQualityReport()
    events = reader.error_events(WINDOW, quality)
    summary = sorted((e.run_id, e.phase.value, e.source.value, e.message) for e in events)
    assert summary == [
        ("b0000001", "Build", "task_log", "Cannot find module 'vite'"),
        ("b0000002", "Document", "phase_error", None),
        ("b0000002", "Test", "task_log", "dial tcp 127.0.0.1:5432: connect: connection refused"),
        # a hook error has no phase of its own: task_logs say Build was running (started +20 min)
        ("b0000003", "Build", "hook_event", "npm ERR! code ERESOLVE"),
        ("b0000005", "Review", "no_error_text", None),
    ]
    assert quality.rows_skipped["error_phase_distribution: malformed JSON"] == 1
    assert quality.rows_skipped["hook_events: malformed JSON"] == 1
    assert reader.phase_reach(WINDOW) == {Phase.PLAN: 10, Phase.BUILD: 10, Phase.TEST: 9}


def test_reader_never_writes(sqlite_url):
    spec_database(sqlite_url).dispose()
    engine = open_engine(DatabaseTarget(sqlite_url, "test"))
    with pytest.raises(sa.exc.OperationalError, match="readonly"), engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM workflow_history"))


def test_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(DatabaseUnavailableError, match="database file not found: .*nope.db"):
        open_engine(DatabaseTarget(f"sqlite:///{tmp_path / 'nope.db'}", "--db"))


def test_unreachable_server_says_what_was_tried():
    target = DatabaseTarget("postgresql+psycopg://someone:secret@127.0.0.1:1/adw", "--db")
    with pytest.raises(DatabaseUnavailableError) as caught:
        open_engine(target)
    assert "127.0.0.1:1/adw" in str(caught.value) and "secret" not in str(caught.value)


def test_database_without_workflow_table(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE other (id INTEGER)"))
    with pytest.raises(SchemaError, match="no workflow_history table"):
        reader_for(sqlite_url)


def test_minimal_table_without_error_columns(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("CREATE TABLE workflow_history (adw_id TEXT, status TEXT, created_at TEXT)")
        )
        connection.execute(
            sa.text("INSERT INTO workflow_history VALUES ('x1', 'failed', :t)"),
            {"t": (NOW - timedelta(days=1)).isoformat(sep=" ")},
        )
    reader = reader_for(sqlite_url)
    quality = DataQualityReport()
    events = reader.error_events(WINDOW, quality)
    assert [(e.run_id, e.source) for e in events] == [("x1", Source.NO_ERROR_TEXT)]
    assert "table task_logs" in quality.missing and any(
        "error text column" in note for note in quality.missing
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            {"Build": "Import failed", "Test": "Connection refused"},
            [("Build", "Import failed", 1), ("Test", "Connection refused", 1)],
        ),
        ({"build": 2, "test": 0}, [("build", None, 2)]),
        (
            [{"phase": "Lint", "message": "E501"}, {"phase": "Ship", "error": "denied"}],
            [("Lint", "E501", 1), ("Ship", "denied", 1)],
        ),
        ('{"Plan": "bad plan"}', [("Plan", "bad plan", 1)]),
        ('"{\\"Plan\\": \\"double encoded\\"}"', [("Plan", "double encoded", 1)]),
        ({"Test": ["one", "two"]}, [("Test", "one", 1), ("Test", "two", 1)]),
        (None, []),
        ("", []),
    ],
)
def test_json_phase_errors_parsing(value, expected):
    assert list(iter_phase_errors(value)) == expected


@pytest.mark.parametrize("garbage", ["{not json", "[1, 2", "42", '"just a string"', "[[1]]"])
def test_json_phase_errors_garbage_is_a_bad_value(garbage):
    with pytest.raises(BadValue):
        list(iter_phase_errors(garbage))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-12-10 10:33:03", (2025, 12, 10, 10, 33, 3)),
        ("2025-12-10T10:33:03.064774", (2025, 12, 10, 10, 33, 3)),
        ("2025-12-10", (2025, 12, 10, 0, 0, 0)),
    ],
)
def test_mixed_timestamp_forms(text, expected):
    parsed = parse_timestamp(text)
    assert (
        parsed.year,
        parsed.month,
        parsed.day,
        parsed.hour,
        parsed.minute,
        parsed.second,
    ) == expected


def test_odd_dates_are_bad_values():
    for odd in ("yesterday", "31/02/2025 x", "2025-13-45"):
        with pytest.raises(BadValue):
            parse_timestamp(odd)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"tool_response": {"is_error": True, "content": "boom"}}, "boom"),
        (
            {"tool_result": {"exit_code": 2, "stderr": "fatal: not a git repository"}},
            "fatal: not a git repository",
        ),
        ({"tool_response": {"exit_code": 1}}, "Non-zero exit code: 1"),
        ({"tool_response": {"success": False, "error": "quota"}}, "quota"),
        ({"tool_response": {"exit_code": 0, "stdout": "ok"}}, None),
        ({"tool_response": {"success": True}}, None),
        ({"tool_name": "Read"}, None),
    ],
)
def test_hook_error_detection(payload, expected):
    assert hook_error_message("PostToolUse", payload) == expected


def test_binary_huge_and_null_messages_are_read_not_fatal(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    from error_analytics.demo.schema import create_workflow_tables

    create_workflow_tables(engine, "spec")
    created = (NOW - timedelta(days=1)).isoformat(sep=" ")
    with engine.begin() as connection:
        insert = sa.text(
            "INSERT INTO workflow_history (adw_id, status, created_at, failure_reason, phase_errors) "
            "VALUES (:id, 'failed', :t, :reason, :errors)"
        )
        connection.execute(
            insert,
            {
                "id": "bin00001",
                "t": created,
                "reason": b"\x00\xffModuleNotFoundError\x00",
                "errors": None,
            },
        )
        connection.execute(
            insert, {"id": "huge0001", "t": created, "reason": "E" * 3_000_000, "errors": "null"}
        )
        connection.execute(
            insert, {"id": "null0001", "t": created, "reason": None, "errors": '{"Build": null}'}
        )
    engine.dispose()
    quality = DataQualityReport()
    events = {event.run_id: event for event in reader_for(sqlite_url).error_events(WINDOW, quality)}
    assert events["bin00001"].message == "\ufffdModuleNotFoundError"
    assert len(events["huge0001"].message) == 1_000_000
    assert events["null0001"].source is Source.NO_ERROR_TEXT
    assert quality.total_skipped == 0
    assert quality.rows_adjusted == {
        "failure_reason: binary message decoded as UTF-8": 1,
        "failure_reason: message cut to its first 1,000,000 characters": 1,
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"build": 0.5}, [("build", None, 1)]),  # a fraction of an error is still one
        ({"test": 2.5, "lint": -1}, [("test", None, 3)]),
    ],
)
def test_fractional_phase_error_counts_round_up(value, expected):
    assert list(iter_phase_errors(value)) == expected


@pytest.mark.parametrize(
    "text",
    [
        '{"Build": Infinity}',
        '{"Build": NaN}',
        '{"Build": -1e400}',
        '{"Build": ' + "9" * 5000 + "}",
        '{"Build": ' + "1" + "0" * 400 + "}",  # 1e400 as PostgreSQL prints a JSONB number
        '{"Build": ' + "[" * 150 + '"deep"' + "]" * 150 + "}",
    ],
)
def test_json_numbers_out_of_range_and_deep_nesting_are_bad_values(text):
    with pytest.raises(BadValue):
        list(iter_phase_errors(text))


def test_lone_surrogates_are_replaced_and_reported():
    changes: list[str] = []
    assert list(iter_phase_errors('{"Build": "bad \\ud800 byte"}', changes)) == [
        ("Build", "bad \ufffd byte", 1)
    ]
    assert changes == ["lone surrogates replaced"]
    changes = []
    assert clean_text("x \udfff y", changes) == "x \ufffd y"
    assert changes == ["lone surrogates replaced"]


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "0044-03-15 00:00:00 BC"]
)
def test_dates_out_of_range_are_bad_values(text):
    with pytest.raises(BadValue, match="unparsable date"):
        parse_timestamp(text)


def test_text_that_is_not_utf8_is_decoded_with_replacements(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("CREATE TABLE workflow_history (adw_id TEXT, status TEXT, created_at TEXT)")
        )
        connection.execute(
            sa.text("INSERT INTO workflow_history VALUES (CAST(:id AS TEXT), 'failed', :t)"),
            {"id": b"r\xff1", "t": (NOW - timedelta(days=1)).isoformat(sep=" ")},
        )
    engine.dispose()
    reader = reader_for(sqlite_url)
    events = reader.error_events(WINDOW, DataQualityReport())
    assert [event.run_id for event in events] == ["r\ufffd1"]
