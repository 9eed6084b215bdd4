"""The demo database: schema faithful to each engine, a realistic and deterministic generator.

Storage is checked with the engines' own drivers (``sqlite3`` text, PostgreSQL catalog), not
through the code under test.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from error_analytics import demo
from error_analytics.demo import (
    DemoInfo,
    RawValue,
    add_days_of_runs,
    build_demo_database,
    create_workflow_tables,
    default_demo_path,
    ensure_demo_database,
    insert_rows,
)
from error_analytics.demo.messages import CATALOGUE, LATER_FAILURE, NEW_FAILURE, render_message
from error_analytics.errors import ConfigurationError
from error_analytics.models import Phase

NOW = datetime(2025, 12, 10, 12, 0)


# -- helpers --------------------------------------------------------------------------------------
def query(path: Path, sql: str, *params: Any) -> list[dict[str, Any]]:
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(sql, params)]
    finally:
        connection.close()


def parse_ts(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return parsed.replace(tzinfo=None)


def loads(text: str | None) -> Any:
    """The JSON value, or ``ValueError`` for malformed text."""
    return None if text is None else json.loads(text)


def is_error_payload(payload: Any) -> bool:
    """An error hook event, by the data contract's definition."""
    if not isinstance(payload, dict):
        return False
    for key in ("tool_response", "tool_result"):
        part = payload.get(key)
        if isinstance(part, dict) and (
            part.get("is_error") is True
            or part.get("error")
            or part.get("stderr")
            or part.get("exit_code") not in (None, 0)
            or part.get("success") is False
        ):
            return True
    return False


def run_of_event(event: dict[str, Any]) -> str | None:
    if event["workflow_id"]:
        return event["workflow_id"].removeprefix("wf-")
    if event["source_app"] and event["source_app"].startswith("adw_wf-"):
        return event["source_app"].removeprefix("adw_wf-")
    return None


def error_events(path: Path) -> list[tuple[dict[str, Any], Any]]:
    found = []
    for event in query(path, "SELECT * FROM hook_events"):
        try:
            payload = loads(event["payload"])
        except ValueError:
            continue
        if is_error_payload(payload):
            found.append((event, payload))
    return found


def run_time(run: dict[str, Any]) -> datetime | None:
    return parse_ts(run["created_at"]) or parse_ts(run["start_time"])


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    connection = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            name: connection.execute(f"SELECT * FROM {name} ORDER BY 1").fetchall()
            for name in tables
        }
    finally:
        connection.close()


@pytest.fixture(scope="module")
def spec_demo(tmp_path_factory) -> DemoInfo:
    return build_demo_database(tmp_path_factory.mktemp("spec") / "demo.db", now=NOW)


@pytest.fixture(scope="module")
def host_demo(tmp_path_factory) -> DemoInfo:
    return build_demo_database(tmp_path_factory.mktemp("host") / "demo.db", layout="host", now=NOW)


# -- public surface and catalogue -----------------------------------------------------------------
def test_public_names_are_exported():
    assert sorted(demo.__all__) == sorted(set(demo.__all__))
    for name in demo.__all__:
        assert getattr(demo, name) is not None


def test_every_catalogue_message_renders_and_names_real_phases():
    rng = random.Random(1)
    canonical = {phase.value for phase in Phase} - {"Unknown"}
    for message in (*CATALOGUE, NEW_FAILURE, LATER_FAILURE):
        text = render_message(message, rng, {"adw_id": "abcd1234", "issue": "42"})
        assert text.strip(), message.key
        assert set(message.phases) <= canonical, message.key
        assert message.weight > 0
        assert message.host_category in {
            "syntax_error",
            "timeout",
            "api_quota",
            "validation",
            "unknown",
        }
    assert len({message.key for message in CATALOGUE}) == len(CATALOGUE)


def test_catalogue_covers_the_messages_seen_in_the_wild():
    rng = random.Random(2)
    texts = "\n".join(
        render_message(m, rng, {"adw_id": "abcd1234", "issue": "7"})
        for m in CATALOGUE
        for _ in range(3)
    ).lower()
    for expected in [
        "traceback (most recent call last):",
        "modulenotfounderror: no module named",
        "typeerror:",
        "keyerror:",
        "object of type datetime is not json serializable",
        "sqlite3.integrityerror: unique constraint failed: workflow_history.adw_id",
        "econnrefused localhost:",
        "pytest execution timed out after 5 minutes",
        "phase failed after 3 attempts",
        "non-zero exit code: 2\nstderr:",
        "table workflow_history has no column named hour_of_day",
        "github api rate limit exceeded",
        "did not match any file(s) known to git",
        "test failures",
        "\x1b[31merror\x1b[39m ts2322: type 'string' is not assignable to type 'number'.",
        "npm err! code eresolve",
        "cannot find module 'vite'",
        "dial tcp 127.0.0.1:5432: connect: connection refused",
        "error[e0308]: mismatched types",
        "getaddrinfo enotfound api.github.com",
        "no output has been received in the last 10m0s",
        "f401",
        "@typescript-eslint/no-unused-vars",
    ]:
        assert expected in texts, expected
    keywords = (
        "error",
        "fail",
        "exception",
        "timed out",
        "timeout",
        "refused",
        "not found",
        "cannot",
        "invalid",
        "denied",
    )
    plain = [m for m in CATALOGUE if not any(k in m.template.lower() for k in keywords)]
    assert len(plain) >= 4


# -- determinism and speed ------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["spec", "host"])
def test_same_seed_and_now_give_identical_rows(tmp_path, layout):
    first = build_demo_database(tmp_path / "a.db", layout=layout, runs=300, days=30, now=NOW)
    second = build_demo_database(tmp_path / "b.db", layout=layout, runs=300, days=30, now=NOW)
    other = build_demo_database(
        tmp_path / "c.db", layout=layout, runs=300, days=30, seed=8, now=NOW
    )
    assert dump(first.path) == dump(second.path)
    assert dump(first.path)["workflow_history"] != dump(other.path)["workflow_history"]


@pytest.mark.parametrize("layout", ["spec", "host"])
def test_the_demo_builds_well_under_two_seconds(tmp_path, layout):
    started = time.perf_counter()
    build_demo_database(tmp_path / "demo.db", layout=layout, now=NOW)
    assert time.perf_counter() - started < 2.0


def test_build_refuses_to_overwrite(tmp_path):
    target = tmp_path / "demo.db"
    target.write_text("precious")
    with pytest.raises(ConfigurationError):
        build_demo_database(target, now=NOW)
    assert target.read_text() == "precious"
    with pytest.raises(ConfigurationError):
        build_demo_database(tmp_path / "x.db", layout="other")


# -- what the demo contains -----------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["spec_demo", "host_demo"])
def test_demo_has_many_runs_over_ninety_days(request, fixture):
    info: DemoInfo = request.getfixturevalue(fixture)
    runs = query(info.path, "SELECT * FROM workflow_history")
    assert len(runs) == info.runs >= 1500
    times = [t for t in map(run_time, runs) if t is not None]
    assert max(times) <= NOW
    assert min(times) >= NOW - timedelta(days=90)
    assert (max(times) - min(times)).days >= 85
    assert len({run["workflow_template"] for run in runs}) >= 5
    assert len({run["model_used"] for run in runs if run["model_used"]}) >= 5
    statuses = Counter(run["status"] for run in runs)
    assert set(statuses) == {"pending", "running", "completed", "failed"}
    assert statuses["completed"] > len(runs) * 0.7
    assert 0.10 <= statuses["failed"] / len(runs) <= 0.20
    assert statuses["failed"] == info.failed


def test_failure_rate_varies_by_day_with_spikes(spec_demo):
    per_day: dict[str, list[int]] = {}
    for run in query(spec_demo.path, "SELECT status, start_time FROM workflow_history"):
        if run["start_time"]:
            counts = per_day.setdefault(run["start_time"][:10], [0, 0])
            counts[0] += 1
            counts[1] += run["status"] == "failed"
    rates = [failed / total for total, failed in per_day.values() if total >= 8]
    overall = sum(f for _, f in per_day.values()) / sum(t for t, _ in per_day.values())
    assert max(rates) >= 2 * overall
    assert sum(rate == 0 for rate in rates) < len(rates) / 3


def test_spec_layout_failed_runs_without_text_and_phase_error_shapes(spec_demo):
    failed = query(spec_demo.path, "SELECT * FROM workflow_history WHERE status = 'failed'")
    shapes: Counter[str] = Counter()
    without_text = 0
    for run in failed:
        try:
            value = loads(run["phase_errors"])
        except ValueError:
            shapes["malformed"] += 1
            continue
        shapes[type(value).__name__] += 1
        if isinstance(value, str):
            assert isinstance(json.loads(value), (dict, list))  # a JSON string of a JSON value
        if not (run["failure_reason"] or "").strip() and not value:
            without_text += 1
    assert {"dict", "list", "str", "NoneType", "malformed"} <= set(shapes)
    assert shapes["dict"] > len(failed) / 2
    assert without_text >= 5
    assert without_text >= spec_demo.failed_without_text


def test_host_layout_error_columns(host_demo):
    failed = query(host_demo.path, "SELECT * FROM workflow_history WHERE status = 'failed'")
    assert sum(run["error_message"] is None for run in failed) >= len(failed) / 4
    keys: set[str] = set()
    malformed = 0
    for run in failed:
        try:
            distribution = loads(run["error_phase_distribution"])
        except ValueError:
            malformed += 1
            continue
        if isinstance(distribution, dict):
            assert all(isinstance(count, int) for count in distribution.values())
            keys |= set(distribution)
    assert malformed >= 3
    assert {"build", "Test", "testing", "doc", "adw_test_iso"} & keys >= {"build", "Test"}
    assert any(key.endswith("ing") for key in keys) and any(key.startswith("adw_") for key in keys)
    categories = {run["error_category"] for run in failed}
    assert categories - {None} <= {"syntax_error", "timeout", "api_quota", "validation", "unknown"}
    assert any(
        isinstance(loads(run["retry_reasons"]), list) and loads(run["retry_reasons"])
        for run in failed
    )
    assert any(run["bottleneck_phase"] for run in failed)


def test_host_failed_runs_without_any_text(host_demo):
    failed = {
        run["adw_id"]
        for run in query(
            host_demo.path,
            "SELECT adw_id FROM workflow_history WHERE status = 'failed' AND error_message IS NULL",
        )
    }
    logged = {
        row["adw_id"]
        for row in query(
            host_demo.path, "SELECT adw_id FROM task_logs WHERE error_message IS NOT NULL"
        )
    }
    hooked = {run_of_event(event) for event, _ in error_events(host_demo.path)}
    silent = failed - logged - hooked
    assert len(silent) >= host_demo.failed * 0.05
    assert len(silent) >= host_demo.failed_without_text


def test_host_task_logs(host_demo):
    logs = query(host_demo.path, "SELECT * FROM task_logs")
    assert len(logs) == host_demo.task_logs > host_demo.runs
    assert {log["phase_status"] for log in logs} == {"started", "completed", "failed", "skipped"}
    failed_runs = {
        run["adw_id"]
        for run in query(
            host_demo.path, "SELECT adw_id FROM workflow_history WHERE status = 'failed'"
        )
    }
    failed_logs = [log for log in logs if log["phase_status"] == "failed"]
    assert {log["adw_id"] for log in failed_logs} <= failed_runs
    assert sum(bool(log["error_message"]) for log in failed_logs) > len(failed_logs) / 2
    calls = [call for log in logs if log["tool_calls"] for call in json.loads(log["tool_calls"])]
    assert {"tool_name", "success", "error_message", "duration_ms"} <= set(calls[0])
    assert any(call["success"] is False and call["error_message"] for call in calls)


@pytest.mark.parametrize("fixture", ["spec_demo", "host_demo"])
def test_hook_error_events_join_to_their_runs(request, fixture):
    info: DemoInfo = request.getfixturevalue(fixture)
    status = {
        run["adw_id"]: run["status"]
        for run in query(info.path, "SELECT adw_id, status FROM workflow_history")
    }
    errors = error_events(info.path)
    joined = [run_of_event(event) for event, _ in errors if run_of_event(event)]
    assert set(joined) <= set(status)
    assert sum(status[adw_id] == "failed" for adw_id in set(joined)) >= info.failed / 2
    assert any(event["workflow_id"] is None and run_of_event(event) for event, _ in errors)
    assert any(run_of_event(event) is None for event, _ in errors)  # interactive sessions
    shapes = {next(iter({"tool_response", "tool_result"} & set(payload))) for _, payload in errors}
    assert shapes == {"tool_response", "tool_result"}
    events = query(info.path, "SELECT payload, processed, event_type FROM hook_events")
    assert {event["processed"] for event in events} == {0, 1}
    assert {event["event_type"] for event in events} >= {
        "PreToolUse",
        "PostToolUse",
        "Stop",
        "SessionStart",
    }
    malformed = 0
    for event in events:
        try:
            loads(event["payload"])
        except ValueError:
            malformed += 1
    assert 0 < malformed < len(events) / 50


@pytest.mark.parametrize("fixture", ["spec_demo", "host_demo"])
def test_new_failure_appears_only_in_the_last_fourteen_days(request, fixture):
    info: DemoInfo = request.getfixturevalue(fixture)
    prefix = info.new_failure_prefix
    assert info.new_failure_since >= NOW - timedelta(days=14)
    runs = {run["adw_id"]: run for run in query(info.path, "SELECT * FROM workflow_history")}
    carriers = {
        adw_id
        for adw_id, run in runs.items()
        if any(prefix in str(value) for value in run.values())
    }
    if info.layout == "host":
        carriers |= {
            log["adw_id"]
            for log in query(
                info.path,
                "SELECT adw_id FROM task_logs WHERE error_message LIKE ? OR tool_calls LIKE ?",
                f"%{prefix}%",
                f"%{prefix}%",
            )
        }
    hooked = [
        (event, run_of_event(event))
        for event, payload in error_events(info.path)
        if prefix in json.dumps(payload)
    ]
    carriers |= {adw_id for _, adw_id in hooked if adw_id}
    assert len(carriers) >= 8
    for adw_id in carriers:
        assert run_time(runs[adw_id]) >= info.new_failure_since - timedelta(minutes=1)
        assert runs[adw_id]["status"] == "failed"
    for event, _ in hooked:
        assert (
            parse_ts(event["timestamp"]) is None
            or parse_ts(event["timestamp"]) >= info.new_failure_since
        )
    older = [run for run in runs.values() if (run_time(run) or NOW) < info.new_failure_since]
    assert len(older) > info.runs / 2


def test_sqlite_timestamps_are_text_in_mixed_forms_with_a_few_odd_ones(spec_demo):
    runs = query(
        spec_demo.path,
        "SELECT created_at, start_time, end_time, updated_at, "
        "typeof(start_time) AS kind FROM workflow_history",
    )
    starts = [run["start_time"] for run in runs if run["start_time"]]
    assert {run["kind"] for run in runs} <= {"text", "null"}
    assert any("T" in value and "." in value for value in starts)
    assert any(" " in value and len(value) == 19 for value in starts)
    values = [
        run[c]
        for run in runs
        for c in ("created_at", "end_time", "updated_at")
        if run[c] is not None
    ]
    odd = [value for value in values if parse_ts(value) is None]
    assert 1 <= len(odd) <= len(runs) * 0.01


# -- appending and the user's demo file -----------------------------------------------------------
@pytest.mark.parametrize("layout", ["spec", "host"])
def test_add_days_of_runs_appends_a_week_with_a_brand_new_failure(tmp_path, layout):
    built = build_demo_database(tmp_path / "demo.db", layout=layout, runs=500, days=30, now=NOW)
    before = query(built.path, "SELECT id, adw_id FROM workflow_history")
    added = add_days_of_runs(built.path, now=NOW + timedelta(days=7))
    after = query(built.path, "SELECT * FROM workflow_history")
    assert added.layout == layout
    assert len(after) == len(before) + added.runs and added.runs >= 100
    assert len({run["adw_id"] for run in after}) == len(after)
    new_runs = [run for run in after if run["id"] > max(row["id"] for row in before)]
    assert len(new_runs) == added.runs
    prefix = added.new_failure_prefix
    assert prefix.startswith("Error: listen EADDRINUSE")
    text_columns = ("failure_reason", "phase_errors", "error_message")
    carriers = [
        run for run in after if any(prefix in str(run.get(column) or "") for column in text_columns)
    ]
    assert carriers and all(run in new_runs for run in carriers)
    assert all(
        run_time(run) is None
        or run_time(run) > NOW + timedelta(days=7) - timedelta(days=7, minutes=1)
        for run in new_runs
    )


def test_ensure_demo_database_builds_once_and_keeps_layouts_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("ERROR_ANALYTICS_DEMO_DB", str(tmp_path / "error_analytics_demo.db"))
    path = ensure_demo_database()
    assert path == tmp_path / "error_analytics_demo.db"
    stamp = path.stat().st_mtime_ns
    assert ensure_demo_database() == path
    assert path.stat().st_mtime_ns == stamp
    host = ensure_demo_database(layout="host")
    assert host == tmp_path / "error_analytics_demo_host.db"
    assert "error_message" in {
        row["name"] for row in query(host, "PRAGMA table_info(workflow_history)")
    }
    assert "phase_errors" in {
        row["name"] for row in query(path, "PRAGMA table_info(workflow_history)")
    }
    assert ensure_demo_database(layout="host") == host
    assert path.stat().st_mtime_ns == stamp


def test_default_demo_path(tmp_path, monkeypatch):
    monkeypatch.delenv("ERROR_ANALYTICS_DEMO_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_demo_path() == tmp_path / "data" / "error-analytics" / "demo.db"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_demo_path() == tmp_path / "home" / ".local/share/error-analytics/demo.db"
    monkeypatch.setenv("ERROR_ANALYTICS_DEMO_DB", "~/elsewhere.db")
    assert default_demo_path() == Path("~/elsewhere.db").expanduser()


# -- schema on both engines -----------------------------------------------------------------------
SAMPLE_EVENT = {
    "event_id": "e-1",
    "event_type": "PostToolUse",
    "source_app": "adw_wf-abcd1234",
    "session_id": "s-1",
    "workflow_id": "wf-abcd1234",
    "timestamp": datetime(2025, 12, 10, 10, 33, 3, 64774),
    "tool_name": "Bash",
    "payload": {"tool_response": {"is_error": True, "content": "boom"}},
    "processed": True,
    "created_at": datetime(2025, 12, 10, 10, 33, 3),
}


def test_sqlite_storage_is_text_json_and_two_timestamp_forms(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    create_workflow_tables(engine, "spec")
    insert_rows(
        engine,
        "hook_events",
        [
            SAMPLE_EVENT,
            {
                **SAMPLE_EVENT,
                "event_id": "e-2",
                "payload": RawValue('{"tool_response": {"is_err'),
                "timestamp": RawValue("yesterday"),
                "processed": False,
            },
        ],
    )
    insert_rows(
        engine,
        "workflow_history",
        [
            {"adw_id": "abcd1234", "status": "failed", "phase_errors": "not json {"},
            {"adw_id": "abcd1235", "status": "failed", "phase_errors": RawValue("not json {")},
        ],
    )
    path = Path(engine.url.database)
    engine.dispose()
    events = query(path, "SELECT * FROM hook_events ORDER BY id")
    assert events[0]["timestamp"] == "2025-12-10T10:33:03.064774"
    assert events[0]["created_at"] == "2025-12-10 10:33:03"
    assert json.loads(events[0]["payload"]) == SAMPLE_EVENT["payload"]
    assert (events[0]["processed"], events[1]["processed"]) == (1, 0)
    assert events[1]["payload"] == '{"tool_response": {"is_err'
    assert events[1]["timestamp"] == "yesterday"
    runs = query(path, "SELECT phase_errors, retry_count FROM workflow_history ORDER BY id")
    assert [run["phase_errors"] for run in runs] == ['"not json {"', "not json {"]
    assert runs[0]["retry_count"] == 0
    types = {row["name"]: row["type"] for row in query(path, "PRAGMA table_info(hook_events)")}
    assert (types["payload"], types["timestamp"], types["processed"]) == ("TEXT", "TEXT", "INTEGER")


def test_insert_rows_rejects_unknown_columns(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    create_workflow_tables(engine, "spec")
    with pytest.raises(ConfigurationError, match="error_message"):
        insert_rows(
            engine, "workflow_history", [{"adw_id": "a", "status": "failed", "error_message": "x"}]
        )


@pytest.mark.postgres
@pytest.mark.parametrize("layout", ["spec", "host"])
def test_postgresql_types_are_jsonb_timestamp_and_boolean(pg_url, layout):
    engine = sa.create_engine(pg_url)
    create_workflow_tables(engine, layout)
    with engine.connect() as connection:
        types = {
            (table, column): kind
            for table, column, kind in connection.execute(
                sa.text(
                    "SELECT table_name, column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'public'"
                )
            )
        }
    engine.dispose()
    assert types[("hook_events", "payload")] == "jsonb"
    assert types[("hook_events", "processed")] == "boolean"
    assert types[("workflow_history", "created_at")] == "timestamp without time zone"
    json_column = "phase_errors" if layout == "spec" else "error_phase_distribution"
    assert types[("workflow_history", json_column)] == "jsonb"
    assert (("task_logs", "tool_calls") in types) == (layout == "host")


@pytest.mark.postgres
def test_same_row_dicts_insert_on_postgresql(pg_url):
    engine = sa.create_engine(pg_url)
    create_workflow_tables(engine, "spec")
    insert_rows(
        engine,
        "hook_events",
        [SAMPLE_EVENT, {**SAMPLE_EVENT, "event_id": "e-2", "payload": RawValue("not json {")}],
    )
    insert_rows(
        engine,
        "workflow_history",
        [
            {"adw_id": "abcd1234", "status": "failed", "phase_errors": None},
            {"adw_id": "abcd1235", "status": "failed", "phase_errors": {"Build": "x"}},
        ],
    )
    with engine.connect() as connection:
        events = (
            connection.execute(
                sa.text(
                    "SELECT payload, timestamp, processed, jsonb_typeof(payload) AS kind "
                    "FROM hook_events ORDER BY id"
                )
            )
            .mappings()
            .all()
        )
        errors = (
            connection.execute(sa.text("SELECT phase_errors FROM workflow_history ORDER BY id"))
            .scalars()
            .all()
        )
    engine.dispose()
    assert events[0]["payload"] == SAMPLE_EVENT["payload"]
    assert events[0]["timestamp"] == SAMPLE_EVENT["timestamp"]
    assert events[0]["processed"] is True
    assert (events[1]["kind"], events[1]["payload"]) == ("string", "not json {")
    assert errors == [None, {"Build": "x"}]  # SQL NULL, not JSON null


@pytest.mark.postgres
@pytest.mark.parametrize("layout", ["spec", "host"])
def test_demo_on_postgresql_has_the_same_runs_as_on_sqlite(pg_url, tmp_path, layout):
    on_pg = build_demo_database(pg_url, layout=layout, runs=400, days=30, now=NOW)
    on_sqlite = build_demo_database(tmp_path / "demo.db", layout=layout, runs=400, days=30, now=NOW)
    for field in ("runs", "failed", "failed_without_text", "task_logs", "hook_events"):
        assert getattr(on_pg, field) == getattr(on_sqlite, field), field
    password = sa.engine.make_url(pg_url).password
    assert on_pg.path is None
    if password:  # the URL in DemoInfo hides it
        assert "***" in on_pg.url and f":{password}@" not in on_pg.url
    engine = sa.create_engine(pg_url)
    with engine.connect() as connection:
        pg_runs = connection.execute(
            sa.text("SELECT adw_id, status, start_time FROM workflow_history ORDER BY id")
        ).all()
        garbage = connection.execute(
            sa.text("SELECT count(*) FROM hook_events WHERE jsonb_typeof(payload) = 'string'")
        ).scalar()
    sqlite_runs = query(
        on_sqlite.path, "SELECT adw_id, status, start_time FROM workflow_history ORDER BY id"
    )
    assert [(r.adw_id, r.status) for r in pg_runs] == [
        (r["adw_id"], r["status"]) for r in sqlite_runs
    ]
    assert all(r.start_time is None or isinstance(r.start_time, datetime) for r in pg_runs)
    assert garbage > 0
    added = add_days_of_runs(pg_url, now=NOW + timedelta(days=7))
    with engine.connect() as connection:
        total = connection.execute(sa.text("SELECT count(*) FROM workflow_history")).scalar()
    engine.dispose()
    assert total == 400 + added.runs
