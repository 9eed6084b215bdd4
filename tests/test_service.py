"""The five analyses on real databases: the same data gives the same answers on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from error_analytics.config import DatabaseTarget
from error_analytics.demo.schema import create_workflow_tables, insert_rows
from error_analytics.errors import InputError
from error_analytics.models import to_jsonable
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.engine import open_engine
from error_analytics.store.workflow_reader import WorkflowReader

from .builders import NOW, completed_runs, host_database, run, spec_database


def service_for(url: str) -> ErrorAnalyticsService:
    return ErrorAnalyticsService(
        WorkflowReader(open_engine(DatabaseTarget(url, "test"))), clock=lambda: NOW
    )


def test_get_error_summary(db_url):
    spec_database(db_url).dispose()
    summary = service_for(db_url).get_error_summary(30)
    assert summary.total_workflows == 10
    assert summary.failed_workflows == 4
    assert summary.failure_rate == 40.0
    assert summary.top_errors == [
        ("connection_error", 1),
        ("import_error", 1),
        ("no_error_text", 1),
        ("timeout_error", 1),
    ]
    assert (summary.most_problematic_phase, summary.most_problematic_phase_failures) == ("Test", 3)
    assert summary.failed_without_error_text == 1


def test_summary_window_includes_older_failure_when_asked(db_url):
    spec_database(db_url).dispose()
    summary = service_for(db_url).get_error_summary(60)
    assert summary.failed_workflows == 5
    assert ("syntax_error", 1) in summary.top_errors


def test_analyze_by_phase(db_url):
    spec_database(db_url).dispose()
    breakdown = service_for(db_url).analyze_by_phase(30)
    assert breakdown.rate_basis == "all_runs"
    assert breakdown.phase_error_counts["Test"] == 3
    assert breakdown.phase_error_counts["Build"] == 1
    assert breakdown.phase_error_counts["Plan"] == 0
    assert breakdown.phase_failure_rates["Test"] == 30.0
    assert breakdown.phase_failure_rates["Build"] == 10.0
    assert breakdown.phases_above_threshold == ["Test"]
    assert breakdown.total_errors == 4
    assert list(breakdown.phase_error_counts)[:3] == ["Plan", "Validate", "Build"]


def test_phase_rates_use_runs_that_reached_the_phase(db_url):
    host_database(db_url).dispose()
    breakdown = service_for(db_url).analyze_by_phase(30)
    assert breakdown.rate_basis == "runs_reaching_phase"
    assert breakdown.phase_reached_runs["Test"] == 9
    assert breakdown.phase_failed_runs["Test"] == 1
    assert breakdown.phase_failure_rates["Test"] == round(100 / 9, 1)
    assert (
        breakdown.phase_failed_runs["Build"] == 2
    )  # the task log failure and a hook error inside Build
    assert breakdown.phase_failure_rates["Build"] == 20.0


def test_find_error_patterns(db_url):
    host_database(db_url).dispose()
    patterns = service_for(db_url).find_error_patterns(30)
    by_key = {pattern.category_key: pattern for pattern in patterns}
    assert by_key["import_error"].pattern_name == "Import Error"
    assert by_key["import_error"].occurrences == 2
    assert by_key["import_error"].affected_phases == ["Build"]
    assert by_key["import_error"].example_message in (
        "Cannot find module 'vite'",
        "npm ERR! code ERESOLVE",
    )
    assert by_key["connection_error"].affected_phases == ["Test"]
    assert by_key["connection_error"].recommendation
    assert by_key["no_error_text"].occurrences == 2
    # the categories someone can act on first, most frequent first; the two buckets last
    actionable = [p for p in patterns if p.category_key not in ("unknown", "no_error_text")]
    assert patterns[: len(actionable)] == actionable
    assert [p.occurrences for p in actionable] == sorted(
        (p.occurrences for p in actionable), reverse=True
    )
    assert patterns[-1].category_key == "no_error_text"


def test_empty_error_data(db_url):
    engine = sa.create_engine(db_url)
    create_workflow_tables(engine, "spec")
    insert_rows(engine, "workflow_history", completed_runs(3))
    engine.dispose()
    service = service_for(db_url)
    summary = service.get_error_summary(30)
    assert (summary.total_workflows, summary.failed_workflows, summary.failure_rate) == (3, 0, 0.0)
    assert summary.top_errors == [] and summary.most_problematic_phase is None
    assert service.find_error_patterns(30) == []
    assert service.get_debugging_recommendations(30) == []
    assert service.cluster_errors(30) == []
    trend = service.get_failure_trends(30)
    assert len(trend.points) == 30 and trend.direction == "stable"


def test_completely_empty_table(db_url):
    engine = sa.create_engine(db_url)
    create_workflow_tables(engine, "host")
    engine.dispose()
    summary = service_for(db_url).get_error_summary(7)
    assert (summary.total_workflows, summary.failed_workflows, summary.failure_rate) == (0, 0, 0.0)


def test_failure_trends_zero_filled_with_spike(db_url):
    engine = sa.create_engine(db_url)
    create_workflow_tables(engine, "spec")
    rows = []
    for day in range(1, 15):
        rows.append(run(f"ok{day:06d}", "completed", day + 0.2))
        rows.append(run(f"f{day:07d}", "failed", day + 0.3, failure_reason="3 test failures"))
    for index in range(8):  # a bad day, 5 days ago
        rows.append(
            run(f"s{index:07d}", "failed", 5.1, failure_reason="ECONNREFUSED localhost:9100")
        )
    insert_rows(engine, "workflow_history", rows)
    engine.dispose()
    trend = service_for(db_url).get_failure_trends(20)
    assert len(trend.points) == 20
    assert trend.points[-1].date == NOW.date()
    assert sum(point.runs for point in trend.points) == len(rows)
    assert [point.runs for point in trend.points[:5]] == [0, 0, 0, 0, 0]
    spike_day = (NOW - timedelta(days=5.1)).date()
    assert trend.spike_days == [spike_day]
    assert (
        trend.category_daily_counts["connection_error"][
            [p.date for p in trend.points].index(spike_day)
        ]
        == 8
    )
    assert trend.direction == "increasing" and trend.percentage_change > 0


def test_recommendations_rank_frequent_recent_wide_first(db_url):
    engine = sa.create_engine(db_url)
    create_workflow_tables(engine, "spec")
    rows = [
        run(
            f"old{i:05d}",
            "failed",
            25,
            failure_reason="SyntaxError: invalid syntax",
            current_phase="Lint",
        )
        for i in range(6)
    ]
    rows += [
        run(
            f"new{i:05d}",
            "failed",
            1,
            failure_reason="ECONNREFUSED localhost:9100",
            current_phase=["Build", "Test"][i % 2],
        )
        for i in range(5)
    ]
    rows += [run(f"nt{i:06d}", "failed", 2) for i in range(4)]
    rows += completed_runs(20)
    insert_rows(engine, "workflow_history", rows)
    engine.dispose()
    recommendations = service_for(db_url).get_debugging_recommendations(30)
    issues = [item.issue for item in recommendations]
    assert issues.index("Connection Error") < issues.index(
        "Syntax Error"
    )  # recent and wide beats old
    assert "Failures without error text" in issues
    assert any(item.kind == "phase_hotspot" for item in recommendations)
    for item in recommendations:
        assert (
            item.severity in ("high", "medium", "low") and item.solution and item.estimated_fix_time
        )


def test_days_out_of_range_is_an_input_error(sqlite_url):
    spec_database(sqlite_url).dispose()
    service = service_for(sqlite_url)
    for days in (0, -1, 3651):
        with pytest.raises(InputError, match="days must be"):
            service.get_error_summary(days)


def _all_views(url: str) -> dict:
    service = service_for(url)
    snapshot = service.snapshot(30)
    views = {
        "summary": service.get_error_summary(30, snapshot=snapshot),
        "phase": service.analyze_by_phase(30, snapshot=snapshot),
        "patterns": service.find_error_patterns(30, snapshot=snapshot),
        "trends": service.get_failure_trends(30, snapshot=snapshot),
        "recommendations": service.get_debugging_recommendations(30, snapshot=snapshot),
    }
    data = to_jsonable(views)
    data["summary"].pop("data_quality")
    return data


@pytest.mark.parametrize("builder", [spec_database, host_database])
def test_same_answers_on_sqlite_and_postgresql(builder, sqlite_url, pg_url):
    for url in (sqlite_url, pg_url):
        builder(url).dispose()
    assert _all_views(sqlite_url) == _all_views(pg_url)


def test_answers_follow_new_failures_despite_the_cache(db_url):
    spec_database(db_url).dispose()
    service = service_for(db_url)
    assert service.get_error_summary(30).failed_workflows == 4
    assert service.get_error_summary(30).failed_workflows == 4  # served from cache
    writer = sa.create_engine(db_url)
    insert_rows(
        writer,
        "workflow_history",
        [run("c0000001", "failed", 0.5, failure_reason="3 test failures")],
    )
    writer.dispose()
    summary = service.get_error_summary(30)
    assert (summary.total_workflows, summary.failed_workflows) == (11, 5)


def test_clusters_from_the_database_are_the_same_on_both_engines(sqlite_url, pg_url):
    results = []
    for url in (sqlite_url, pg_url):
        host_database(url).dispose()
        clusters = service_for(url).cluster_errors(30)
        results.append(
            [(c.id, c.size, c.runs_affected, c.phases, c.category, c.template) for c in clusters]
        )
    assert results[0] == results[1]
    by_template = {row[5]: row for row in results[0]}
    assert any("Cannot find module" in template for template in by_template)
    vite = next(row for row in results[0] if "Cannot find module" in row[5])
    assert vite[2:5] == (1, ["Build"], "import_error")


def test_unknown_phase_rate_is_over_all_runs_even_with_task_logs(db_url):
    engine = sa.create_engine(db_url)
    create_workflow_tables(engine, "host")
    runs = completed_runs(4) + [run("u0000001", "failed", 1, error_message="Review phase failed")]
    insert_rows(engine, "workflow_history", runs)
    insert_rows(
        engine,
        "task_logs",
        [
            {
                "adw_id": row["adw_id"],
                "phase_name": "plan",
                "phase_number": 1,
                "phase_status": "completed",
                "started_at": row["created_at"],
            }
            for row in runs[:4]
        ],
    )
    engine.dispose()
    breakdown = service_for(db_url).analyze_by_phase(30)
    assert breakdown.rate_basis == "runs_reaching_phase"
    assert breakdown.phase_failed_runs["Unknown"] == 1
    assert breakdown.phase_reached_runs["Unknown"] == 5
    assert breakdown.phase_failure_rates["Unknown"] == 20.0


def test_examples_shown_without_colour_codes_that_lost_their_escape(db_url):
    """Patterns, their clusters and recommendations show examples as a person reads them."""
    engine = sa.create_engine(db_url)
    create_workflow_tables(engine, "spec")
    coloured = "\x1b[31mTS2322\x1b[0m: Type 'string' is not assignable to type 'number' in [96msrc/api/client.ts[0m"
    rows = [
        run(
            f"c{index:07d}",
            "failed",
            1 + index / 10,
            current_phase="Build",
            failure_reason=coloured,
        )
        for index in range(4)
    ]
    insert_rows(engine, "workflow_history", rows + completed_runs(3))
    engine.dispose()
    service = service_for(db_url)
    patterns = service.find_error_patterns(30)
    shown = [pattern.example_message for pattern in patterns]
    shown += [cluster.example for pattern in patterns for cluster in pattern.top_clusters]
    shown += [item.root_cause for item in service.get_debugging_recommendations(30)]
    assert any("src/api/client.ts" in text for text in shown)
    for text in shown:
        assert "[96m" not in text and "[0m" not in text and "\x1b" not in text, text
