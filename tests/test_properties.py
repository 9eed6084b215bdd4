"""Property-based tests: whatever the parsers, the normaliser and the readers are given, they
answer, and every bad value is counted instead of raised.

Parsers and the normaliser get hundreds of generated values each. The reader tests write
generated rows (random text, bytes, numbers, JSON-ish values and timestamps in every error
column) into one real SQLite file and one real PostgreSQL database per test, emptied between
examples, then run every view and check that each row is used or counted.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from error_analytics.clustering import ErrorClusterer, normalize
from error_analytics.clustering.naming import build_name, cluster_id
from error_analytics.config import DatabaseTarget
from error_analytics.demo.schema import create_workflow_tables
from error_analytics.models import (
    DataQualityReport,
    ErrorEvent,
    Phase,
    Source,
    TimeWindow,
    to_jsonable,
)
from error_analytics.rules.signature import failure_signature
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.engine import open_engine
from error_analytics.store.parsing import (
    MAX_MESSAGE_CHARS,
    BadValue,
    clean_text,
    decode_text,
    hook_error_message,
    iter_phase_errors,
    load_json,
    parse_timestamp,
)
from error_analytics.store.same_failure import merge_same_failures
from error_analytics.store.workflow_reader import WorkflowReader

from .builders import NOW

#: ERROR_ANALYTICS_PROPERTY_SCALE=10 runs ten times as many examples (a deeper search than CI's).
SCALE = max(1, int(os.environ.get("ERROR_ANALYTICS_PROPERTY_SCALE", "1")))
PARSER_EXAMPLES = 400 * SCALE
NORMALISER_EXAMPLES = 200 * SCALE
DATABASE_EXAMPLES = 40 * SCALE
# database=None: no example database written into the working tree
PARSER_SETTINGS = settings(max_examples=PARSER_EXAMPLES, deadline=None, database=None)
DATABASE_SETTINGS = settings(
    max_examples=DATABASE_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
WINDOW = TimeWindow(start=NOW - timedelta(days=30), end=NOW)
LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# -- generated values --------------------------------------------------------------------

REAL_MESSAGES = [
    "ModuleNotFoundError: No module named 'adw_modules'",
    "ECONNREFUSED localhost:9100",
    "pytest execution timed out after 5 minutes",
    "Non-zero exit code: 2\nStderr: fatal: not a git repository",
    'Traceback (most recent call last):\n  File "x.py", line 1\nTypeError: bad operand',
    "\x1b[31merror\x1b[0m TS2304: Cannot find name 'foo'",
]
any_text = st.text(max_size=200)  # every code point, lone surrogates and NUL included
messages = st.one_of(
    any_text, st.sampled_from(REAL_MESSAGES), st.text("ab \n\x00\ud800", max_size=50)
)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
)
json_scalars = st.one_of(st.none(), st.booleans(), numbers, messages)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(
                st.sampled_from(
                    [
                        "Build",
                        "test",
                        "phase",
                        "error",
                        "message",
                        "tool_response",
                        "is_error",
                        "exit_code",
                        "stderr",
                        "success",
                    ]
                ),
                any_text,
            ),
            children,
            max_size=4,
        ),
    ),
    max_leaves=12,
)
HUGE_INTEGER = "7" * 4400


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    """JSON-ish text: valid JSON, JSON with out-of-range numbers, deep nesting, double
    encoding, lone surrogate escapes, or plain garbage."""
    kind = draw(st.sampled_from(["valid", "number", "deep", "double", "surrogate", "garbage"]))
    if kind == "garbage":
        return draw(any_text)
    text = json.dumps(draw(json_values), ensure_ascii=draw(st.booleans()))
    if kind == "number":
        token = draw(
            st.sampled_from(["Infinity", "-Infinity", "NaN", "1e400", "-1e400", HUGE_INTEGER])
        )
        return json.dumps({"Build": "x", "Test": 1})[:-1] + f', "Lint": {token}}}'
    if kind == "deep":
        depth = draw(st.integers(min_value=50, max_value=3000))
        return "[" * depth + text + "]" * depth
    if kind == "double":
        return json.dumps(text)
    if kind == "surrogate":
        return (
            json.dumps({"Build": "lone \ud800 and \udfff"})
            if draw(st.booleans())
            else '["\\udc80"]'
        )
    return text


timestamp_values = st.one_of(
    st.none(),
    any_text,
    st.datetimes(),
    st.datetimes(timezones=st.timezones()),
    st.datetimes(
        timezones=st.builds(
            timezone,
            st.timedeltas(
                min_value=timedelta(hours=-23, minutes=-59),
                max_value=timedelta(hours=23, minutes=59),
            ),
        )
    ),
    st.dates(),
    numbers,
    st.binary(max_size=30),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+23:59",
            "9999-12-31T23:59:59-23:59",
            "2025-12-10 10:33:03",
            "2025-12-10T10:33:03.064774",
            "infinity",
            "0044-03-15 00:00:00 BC",
            "2025-02-30",
        ]
    ),
)
raw_values = st.one_of(
    json_scalars,
    st.binary(max_size=50),
    json_texts(),
    json_values,
    st.just(memoryview(b"\xff\xfe")),
)


def has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return bool(LONE_SURROGATE.search(value))
    if isinstance(value, list):
        return any(has_lone_surrogate(item) for item in value)
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    return False


def has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(has_non_finite(item) for item in value)
    if isinstance(value, dict):
        return any(has_non_finite(item) for item in value.values())
    return False


# -- parsers -----------------------------------------------------------------------------


@PARSER_SETTINGS
@given(raw_values)
def test_clean_text_is_total_and_idempotent(value):
    changes: list[str] = []
    text = clean_text(value, changes)
    if text is None:
        return
    assert text == text.strip() and text
    assert "\x00" not in text and not has_lone_surrogate(text)
    assert len(text) <= MAX_MESSAGE_CHARS
    text.encode("utf-8")  # printable, storable, hashable anywhere
    assert clean_text(text) == text


@PARSER_SETTINGS
@given(st.binary(max_size=300))
def test_decode_text_never_fails_and_keeps_valid_utf8(raw):
    text = decode_text(raw)
    assert not has_lone_surrogate(text)
    try:
        assert text == raw.decode("utf-8")
    except UnicodeDecodeError:
        assert "\ufffd" in text


@PARSER_SETTINGS
@given(st.one_of(json_texts(), raw_values))
def test_load_json_returns_bounded_values_or_bad_value(value):
    try:
        parsed = load_json(value)
    except BadValue as problem:
        assert problem.reason
        return
    assert not has_lone_surrogate(parsed) or not isinstance(value, (str, bytes))
    assert not has_non_finite(parsed) or not isinstance(value, (str, bytes))


@PARSER_SETTINGS
@given(st.one_of(json_texts(), raw_values))
def test_iter_phase_errors_yields_clean_triples_or_bad_value(value):
    try:
        triples = list(iter_phase_errors(value))
    except BadValue:
        return
    for phase, message, count in triples:
        assert phase is None or isinstance(phase, str)
        assert message is None or (message and not has_lone_surrogate(message))
        assert isinstance(count, int) and count > 0


@PARSER_SETTINGS
@given(
    st.one_of(st.none(), any_text, st.sampled_from(["PostToolUse", "Error", "Stop"])),
    st.one_of(json_texts(), raw_values),
)
def test_hook_error_message_is_text_none_or_bad_value(event_type, payload):
    try:
        message = hook_error_message(event_type, payload)
    except BadValue:
        return
    assert message is None or (isinstance(message, str) and not has_lone_surrogate(message))


@PARSER_SETTINGS
@given(timestamp_values)
def test_parse_timestamp_is_naive_none_or_bad_value(value):
    try:
        parsed = parse_timestamp(value)
    except BadValue as problem:
        assert problem.reason
        return
    assert parsed is None or (isinstance(parsed, datetime) and parsed.tzinfo is None)
    if isinstance(value, datetime) and value.tzinfo is None:
        assert parsed == value
    if isinstance(value, date) and not isinstance(value, datetime):
        assert parsed == datetime(value.year, value.month, value.day)


# -- normaliser and clusterer ------------------------------------------------------------

long_texts = st.builds(
    lambda part, times: part * times, st.text(min_size=1, max_size=20), st.integers(1, 60_000)
)


@settings(max_examples=NORMALISER_EXAMPLES, deadline=None, database=None)
@given(st.one_of(messages, long_texts))
def test_normalize_answers_any_text(text):
    masked = normalize(text)
    assert isinstance(masked, str)
    assert cluster_id(masked).startswith("c")
    assert isinstance(build_name(masked), str)


# -- one error per failure ---------------------------------------------------------------

LEAD_INS = st.lists(
    st.sampled_from(
        [
            "Build phase failed: ",
            "test phase failed:",
            "Non-zero exit code: 2\n",
            "Stderr: ",
            "Error: ",
            "\x1b[31m",
            "  \n",
        ]
    ),
    max_size=5,
)


@PARSER_SETTINGS
@given(st.one_of(messages, long_texts))
def test_failure_signature_answers_any_text(text):
    signature = failure_signature(text)
    assert isinstance(signature.key, str) and signature.key == " ".join(signature.key.split())
    assert isinstance(signature.detail, str)


@PARSER_SETTINGS
@given(st.sampled_from(REAL_MESSAGES), LEAD_INS, st.booleans())
def test_wrappers_and_tracebacks_keep_a_messages_signature(message, lead_ins, as_traceback):
    wrapped = message
    if as_traceback and "\n" not in message:
        wrapped = f'Traceback (most recent call last):\n  File "x.py", line 1\n{message}'
    wrapped = "".join(lead_ins) + wrapped + "\x1b[0m \n"
    assert failure_signature(wrapped).key == failure_signature(message).key


event_sources = st.sampled_from(
    [Source.FAILURE_TEXT, Source.PHASE_ERROR, Source.TASK_LOG, Source.HOOK_EVENT]
)
run_events = st.lists(
    st.builds(
        lambda source, phase, message, lead_ins, minutes: ErrorEvent(
            "r1",
            phase,
            source,
            None if message is None else "".join(lead_ins) + message,
            NOW - timedelta(minutes=minutes),
        ),
        event_sources,
        st.sampled_from(list(Phase)),
        st.one_of(st.none(), st.sampled_from(REAL_MESSAGES[:6] + ["Non-zero exit code: 1"])),
        LEAD_INS,
        st.integers(0, 600),
    ),
    max_size=25,
)


@PARSER_SETTINGS
@given(run_events)
def test_merging_a_runs_events_loses_no_failure_and_adds_none(events):
    merged = merge_same_failures(events)
    assert len(merged) <= len(events)
    assert {event.source for event in events} <= {
        source for event in merged for source in event.sources
    }
    assert all(event.source is event.sources[0] for event in merged)
    keys = {failure_signature(e.message).key for e in events if e.message} - {""}
    merged_keys = {failure_signature(e.message).key for e in merged if e.message}
    assert keys <= merged_keys  # every failure is still there...
    for key in keys:  # ...in a known phase whenever one of its statements names one
        known = any(
            e.phase is not Phase.UNKNOWN
            for e in events
            if e.message and failure_signature(e.message).key == key
        )
        phases = {e.phase for e in merged if e.message and failure_signature(e.message).key == key}
        assert not known or Phase.UNKNOWN not in phases
    if events:
        assert min(e.timestamp for e in merged if e.timestamp) == min(
            e.timestamp for e in events if e.timestamp
        )


@settings(max_examples=NORMALISER_EXAMPLES // 2, deadline=None, database=None)
@given(st.lists(st.one_of(messages, st.sampled_from(REAL_MESSAGES)), min_size=1, max_size=30))
def test_clusterer_fits_any_messages(texts):
    clusterer = ErrorClusterer().fit(texts)
    assert len(clusterer.labels_) == len(texts)
    ids = {cluster.id for cluster in clusterer.clusters_}
    assert {label for label in clusterer.labels_ if label is not None} <= ids
    json.dumps(to_jsonable(clusterer.clusters_))


# -- readers on real databases -----------------------------------------------------------

WORKFLOW_TEXT_COLUMNS = (
    "failure_reason",
    "error_message",
    "current_phase",
    "workflow_template",
    "model_used",
    "error_category",
)
WORKFLOW_JSON_COLUMNS = ("phase_errors", "error_phase_distribution")


@dataclass
class Cell:
    """One generated column value and how to bind it on each engine."""

    kind: str  # "text" | "json" | "time"
    value: Any


TIME_KINDS = ("in", "old", "future", "null", "garbage")


@st.composite
def time_cells(draw: st.DrawFn, kinds: tuple[str, ...] = TIME_KINDS) -> tuple[str, Any]:
    kind = draw(st.sampled_from(kinds))
    if kind == "in":
        return kind, NOW - timedelta(
            minutes=draw(st.integers(10, 29 * 24 * 60)),
            microseconds=draw(st.sampled_from([0, 64774])),
        )
    if kind == "old":
        return kind, NOW - timedelta(days=draw(st.integers(31, 4000)))
    if kind == "future":
        return kind, NOW + timedelta(days=draw(st.integers(1, 400)))
    if kind == "null":
        return kind, None
    return kind, draw(
        st.one_of(
            st.text(max_size=20).map(lambda text: "x" + text),
            st.binary(max_size=10).map(lambda raw: b"\xff" + raw),
        )
    )


text_cells = st.one_of(
    messages, st.binary(max_size=60), numbers, st.none(), st.just("E" * (MAX_MESSAGE_CHARS + 50))
)
json_cells = st.one_of(st.none(), json_texts(), messages)


@st.composite
def databases(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    """Rows for the three tables; task logs and hook events belong to generated runs."""
    run_count = draw(st.integers(1, 6))
    runs = []
    for index in range(run_count):
        time_kind, created = draw(time_cells())
        row: dict[str, Any] = {
            "adw_id": f"r{index:07d}",
            "status": draw(st.sampled_from(["failed", "completed", "FAILED", "running", "Error"])),
            "created_at": created,
            "_time_kind": time_kind,
            "updated_at": draw(st.one_of(st.none(), st.binary(max_size=5), any_text)),
        }
        for column in WORKFLOW_TEXT_COLUMNS:
            row[column] = draw(text_cells)
        for column in WORKFLOW_JSON_COLUMNS:
            row[column] = draw(json_cells)
        runs.append(row)
    run_ids = [row["adw_id"] for row in runs]
    task_logs = [
        {
            "adw_id": draw(st.sampled_from(run_ids)),
            "phase_name": draw(
                st.one_of(
                    st.sampled_from(["plan", "Build", "testing", "adw_test_iso", "doc"]), any_text
                )
            ),
            "phase_status": draw(
                st.sampled_from(["failed", "completed", "started", "skipped", "FAILED"])
            ),
            "error_message": draw(text_cells),
            "log_message": draw(text_cells),
            "started_at": draw(time_cells())[1],
            "tool_calls": draw(
                st.one_of(
                    json_cells,
                    st.just('[{"tool_name": "Bash", "success": false, "error": "boom \\ud800"}]'),
                )
            ),
        }
        for _ in range(draw(st.integers(0, 6)))
    ]
    hooks = [
        {
            "event_id": f"e{index}",
            "event_type": draw(
                st.sampled_from(["PostToolUse", "PostToolUseFailure", "Stop", "Error"])
            ),
            "workflow_id": "wf-" + draw(st.sampled_from(run_ids)),
            "source_app": draw(st.one_of(st.none(), any_text)),
            "timestamp": draw(time_cells())[1],
            "payload": draw(
                st.one_of(
                    json_texts(),
                    st.just(
                        '{"tool_response": {"is_error": true, "stderr": "x \\udfff", "exit_code": 1e400}}'
                    ),
                )
            ),
        }
        for index in range(draw(st.integers(0, 6)))
    ]
    # runs that no workflow_history row names: known from task_logs or hook_events alone
    valid_times = time_cells(("in", "old", "future"))
    for index in range(draw(st.integers(0, 3))):
        for _ in range(draw(st.integers(1, 3))):
            task_logs.append(
                {
                    "adw_id": f"t{index:07d}",
                    "phase_name": draw(st.sampled_from(["plan", "build", "test"])),
                    "phase_status": draw(st.sampled_from(["failed", "completed", "FAILED"])),
                    "started_at": draw(valid_times)[1],
                }
            )
    for index in range(draw(st.integers(0, 3))):
        run_id = f"h{index:07d}"
        for number in range(draw(st.integers(1, 3))):
            by_workflow_id = draw(st.booleans())
            hooks.append(
                {
                    "event_id": f"only-{run_id}-{number}",
                    "event_type": "PostToolUse",
                    "workflow_id": "wf-" + run_id if by_workflow_id else None,
                    "source_app": "unknown" if by_workflow_id else "adw_wf-" + run_id,
                    "timestamp": draw(valid_times)[1],
                    "payload": draw(json_texts()),
                }
            )
    return {"workflow_history": runs, "task_logs": task_logs, "hook_events": hooks}


def runs_without_history(
    tables: dict[str, list[dict[str, Any]]],
) -> tuple[dict[str, tuple[datetime, bool]], dict[str, datetime]]:
    """The generated task-log-only and hook-only runs: ``{id: (earliest time, failed)}`` and
    ``{id: earliest time}``."""
    task_runs: dict[str, tuple[datetime, bool]] = {}
    for row in tables["task_logs"]:
        if row["adw_id"].startswith("t"):
            earliest, failed = task_runs.get(row["adw_id"], (row["started_at"], False))
            task_runs[row["adw_id"]] = (
                min(earliest, row["started_at"]),
                failed or row["phase_status"].lower() == "failed",
            )
    hook_runs: dict[str, datetime] = {}
    for row in tables["hook_events"]:
        if row["event_id"].startswith("only-"):
            run_id = row["event_id"].split("-")[1]
            hook_runs[run_id] = min(hook_runs.get(run_id, row["timestamp"]), row["timestamp"])
    return task_runs, hook_runs


JSON_COLUMNS = {"phase_errors", "error_phase_distribution", "tool_calls", "payload"}
TIME_COLUMNS = {"created_at", "updated_at", "started_at", "timestamp"}


def _sqlite_cell(column: str, value: Any) -> tuple[str, Any]:
    if isinstance(value, datetime):
        return "?", value.isoformat() if value.microsecond else str(value)
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return "?", str(value)  # SQLite integers are 64-bit; the text of a bigger one
    if isinstance(value, str) and LONE_SURROGATE.search(value):
        # invalid UTF-8 stored as TEXT: what a writer with a broken encoder leaves behind
        return "CAST(? AS TEXT)", value.encode("utf-8", "surrogatepass")
    return "?", value


def _pg_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value) if not isinstance(value, str) else value
    return LONE_SURROGATE.sub("\ufffd", text).replace("\x00", "")


def _pg_json(value: Any) -> str | None:
    """Valid JSON text as JSONB holds it; anything else becomes a JSON string of its text."""
    if value is None:
        return None
    text = _pg_text(value)
    assert text is not None
    try:
        json.loads(text, parse_constant=lambda token: (_ for _ in ()).throw(ValueError(token)))
        valid = "\\u0000" not in text and not re.search(r"\\u[dD][89a-fA-F]", text)
    except (ValueError, RecursionError):
        valid = False
    return text if valid else json.dumps(text)


def _pg_cell(column: str, value: Any) -> tuple[str, Any]:
    if column in JSON_COLUMNS:
        return "CAST(%s AS JSONB)", _pg_json(value)
    if column in TIME_COLUMNS:
        if isinstance(value, datetime) or value is None:
            return "%s", value
        # PostgreSQL refuses garbage in a timestamp column; its own odd values take the place
        return "CAST(%s AS TIMESTAMP)", "infinity"
    return "%s", _pg_text(value)


def write_rows(engine: sa.Engine, tables: dict[str, list[dict[str, Any]]]) -> None:
    sqlite = engine.dialect.name == "sqlite"
    cell = _sqlite_cell if sqlite else _pg_cell
    with engine.begin() as connection:
        for table in ("hook_events", "task_logs", "workflow_history"):
            connection.exec_driver_sql(f"DELETE FROM {table}")
        for table, rows in tables.items():
            for row in rows:
                columns = [name for name in row if not name.startswith("_")]
                placeholders, values = zip(
                    *(cell(name, row[name]) for name in columns), strict=True
                )
                connection.exec_driver_sql(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(placeholders)})",
                    tuple(values),
                )


def mixed_layout(url: str) -> sa.Engine:
    """Host tables plus the spec layout's error columns: every error column at once."""
    engine = sa.create_engine(url)
    create_workflow_tables(engine, "host")
    json_type = "JSONB" if engine.dialect.name == "postgresql" else "TEXT"
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE workflow_history ADD COLUMN failure_reason TEXT")
        connection.exec_driver_sql(
            f"ALTER TABLE workflow_history ADD COLUMN phase_errors {json_type}"
        )
    return engine


def in_window(moment: datetime) -> bool:
    return WINDOW.start <= moment <= WINDOW.end


#: How many rows and examples the reader properties generated in this process (for the record).
GENERATED: Counter[str] = Counter()


@DATABASE_SETTINGS
@given(tables=databases())
def test_views_answer_and_count_every_generated_row(db_url, tables):
    engine = _engine_for(db_url)
    write_rows(engine, tables)
    GENERATED["examples"] += 1
    GENERATED.update({table: len(rows) for table, rows in tables.items()})

    service = ErrorAnalyticsService(WorkflowReader(_reader_engine(db_url)), clock=lambda: NOW)
    snapshot = service.snapshot(30)
    views = [
        service.get_error_summary(30, snapshot=snapshot),
        service.analyze_by_phase(30, snapshot=snapshot),
        service.find_error_patterns(30, snapshot=snapshot),
        service.get_failure_trends(30, snapshot=snapshot),
        service.get_debugging_recommendations(30, snapshot=snapshot),
        service.cluster_errors(30, snapshot=snapshot),
    ]
    json.dumps(to_jsonable(views), ensure_ascii=False).encode("utf-8")  # no lone surrogates out

    runs = tables["workflow_history"]
    by_kind = Counter(row["_time_kind"] for row in runs)
    quality = snapshot.quality
    task_runs, hook_runs = runs_without_history(tables)
    task_runs_in = [failed for earliest, failed in task_runs.values() if in_window(earliest)]
    hook_runs_in = [earliest for earliest in hook_runs.values() if in_window(earliest)]
    assert snapshot.counts.total == by_kind["in"] + len(task_runs_in) + len(hook_runs_in)
    failed = [
        row
        for row in runs
        if row["_time_kind"] == "in" and row["status"].lower() in ("failed", "error")
    ]
    assert snapshot.counts.failed == len(failed) + sum(task_runs_in)
    daily = service.reader.daily_run_counts(snapshot.window)
    assert sum(day.runs for day in daily) == snapshot.counts.total
    expected_note = len(task_runs_in) + len(hook_runs_in)
    notes = [note for note in quality.missing if note.startswith("workflow_history rows of")]
    if expected_note:
        assert len(notes) == 1
        assert notes[0].startswith(f"workflow_history rows of {expected_note} run(s)")
    else:
        assert notes == []
    skipped = quality.rows_skipped
    # PostgreSQL cannot store garbage in a timestamp: there it is 'infinity', in the future
    garbage_is_future = engine.dialect.name == "postgresql"
    unparsable = 0 if garbage_is_future else by_kind["garbage"]
    future = by_kind["future"] + (by_kind["garbage"] if garbage_is_future else 0)
    assert skipped.get("workflow_history: unparsable date", 0) == unparsable
    assert skipped.get("workflow_history: no date", 0) == by_kind["null"]
    assert skipped.get("workflow_history: date in the future", 0) == future
    run_ids_with_events = {event.run_id for event in snapshot.events}
    assert {row["adw_id"] for row in failed} <= run_ids_with_events
    _assert_json_columns_used_or_counted(db_url, quality)


def _assert_json_columns_used_or_counted(url: str, quality: DataQualityReport) -> None:
    """Each in-window phase-error value that the parser refuses is counted once, as it is read."""
    reader = WorkflowReader(_reader_engine(url))
    for column in WORKFLOW_JSON_COLUMNS:
        expected = Counter()
        with reader.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    f"SELECT {column} FROM workflow_history w WHERE {reader._in_window()} AND {column} IS NOT NULL"
                ),
                reader._window_params(WINDOW),
            )
            for (value,) in rows:
                try:
                    list(iter_phase_errors(value))
                except BadValue as problem:
                    expected[f"{column}: {problem.reason}"] += 1
        counted = {
            key: count
            for key, count in quality.rows_skipped.items()
            if key.startswith(f"{column}: ")
        }
        assert counted == dict(expected)


_ENGINES: dict[str, sa.Engine] = {}


def _engine_for(url: str) -> sa.Engine:
    """The writable engine of this test's database, its tables created on first use."""
    if url not in _ENGINES:
        _ENGINES.clear()
        _ENGINES[url] = mixed_layout(url)
    return _ENGINES[url]


_READERS: dict[str, sa.Engine] = {}


def _reader_engine(url: str) -> sa.Engine:
    if url not in _READERS:
        for engine in _READERS.values():
            engine.dispose()
        _READERS.clear()
        _READERS[url] = open_engine(DatabaseTarget(url, "test"))
    return _READERS[url]


@pytest.fixture(autouse=True)
def _dispose_engines():
    yield
    for engines in (_ENGINES, _READERS):
        for engine in engines.values():
            engine.dispose()
        engines.clear()
