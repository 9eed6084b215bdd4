"""Incremental ingestion: the index of errors in the review state, kept up to date step by step.

Every test runs on a real database (SQLite and PostgreSQL). The views of a service with a
review state read the index; those of a service without one (``--no-state``) read the
analysed tables directly, so the two must agree figure for figure. Runs appended, changed and
deleted after a pass must be reflected by the next one, exactly as a rebuild from scratch
would answer.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from error_analytics.config import Settings
from error_analytics.demo import build_demo_database
from error_analytics.demo.schema import insert_rows
from error_analytics.review import ingest
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.run_batch import UNATTRIBUTED_ORIGIN
from error_analytics.store.state import tables

from .builders import NOW, run

DAYS = 30


def all_views(service: ErrorAnalyticsService, days: int = DAYS) -> dict:
    """Every view's answer as plain data (clusters by id, size and runs)."""
    summary = dataclasses.asdict(service.get_error_summary(days))
    summary.pop("data_quality")
    return {
        "summary": summary,
        "by_phase": dataclasses.asdict(service.analyze_by_phase(days)),
        "trends": dataclasses.asdict(service.get_failure_trends(days)),
        "patterns": [dataclasses.asdict(pattern) for pattern in service.find_error_patterns(days)],
        "recommendations": [
            dataclasses.asdict(item) for item in service.get_debugging_recommendations(days)
        ],
        "clusters": sorted(
            (cluster.id, cluster.size, cluster.runs_affected, cluster.category)
            for cluster in service.cluster_errors(days)
        ),
    }


def figures(service: ErrorAnalyticsService, days: int = DAYS) -> dict:
    """The views' figures that do not name clusters (cluster ids are each state's own)."""
    views = all_views(service, days)
    views["summary"].pop("top_clusters")
    return {
        "summary": views["summary"],
        "by_phase": views["by_phase"],
        "trends": views["trends"],
        "errors_in_clusters": sum(size for _, size, _, _ in views["clusters"]),
    }


def stateful(url: str) -> ErrorAnalyticsService:
    return ErrorAnalyticsService.from_settings(Settings(db=url))


def stateless(url: str) -> ErrorAnalyticsService:
    return ErrorAnalyticsService.from_settings(Settings(db=url), review_state=False)


@pytest.fixture
def demo_url(db_url: str) -> str:
    build_demo_database(db_url, runs=240, days=40, seed=11, now=NOW)
    return db_url


@pytest.fixture(params=["whole", "window_first"])
def first_pass(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How a fresh index reads the history: whole (a small database), or the window first and
    older history when a window reaches it (as a large database is read)."""
    if request.param == "window_first":
        monkeypatch.setattr(ingest, "WHOLE_HISTORY_ROWS", 0)
    return request.param


def append(url: str, rows: list[dict]) -> None:
    engine = sa.create_engine(url)
    try:
        insert_rows(engine, "workflow_history", rows)
    finally:
        engine.dispose()


def execute(url: str, sql: str, **params) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(sql), params)
    finally:
        engine.dispose()


def indexed_runs(url: str) -> int:
    """Runs in the index (``ea_runs``, wherever the state keeps its tables)."""
    service = stateful(url)
    with service.review.store.read() as tx:
        runs = tables.ingested_runs
        query = sa.select(sa.func.count()).where(runs.c.origin != UNATTRIBUTED_ORIGIN)
        return int(tx.connection.execute(query).scalar() or 0)


def failed_run(adw_id: str, message: str, days_ago: float = 0.5, **columns) -> dict:
    return run(
        adw_id,
        "failed",
        days_ago,
        current_phase="Build",
        failure_reason=message,
        updated_at=NOW - timedelta(days=days_ago),
        **columns,
    )


def test_views_from_the_index_equal_views_read_from_the_tables(demo_url, first_pass):
    """The same figures, whether the window is aggregated from the index or read directly."""
    from_index, direct = stateful(demo_url), stateless(demo_url)
    for days in (7, DAYS, 365):
        assert figures(from_index, days) == figures(direct, days)
    quality = from_index.get_error_summary(DAYS).data_quality
    expected = direct.get_error_summary(DAYS).data_quality
    assert quality is not None and expected is not None
    assert quality.rows_skipped == expected.rows_skipped
    assert quality.rows_adjusted == expected.rows_adjusted
    assert sorted(quality.missing) == sorted(expected.missing)


def test_a_second_pass_reads_only_the_new_runs(demo_url, first_pass):
    service = stateful(demo_url)
    before = service.get_error_summary(DAYS)
    append(
        demo_url,
        [
            failed_run(f"new{index:05d}", "OSError: [Errno 28] No space left on device")
            for index in range(3)
        ]
        + [run(f"ok{index:06d}", "completed", 0.4) for index in range(5)],
    )
    result = service.review.ingest()
    assert result.runs_read == 8
    after = service.get_error_summary(DAYS)
    assert after.total_workflows == before.total_workflows + 8
    assert after.failed_workflows == before.failed_workflows + 3
    assert after.total_errors == before.total_errors + 3
    # their new error is a cluster of its own, in the clusters and in the recommendations
    clusters = [c for c in service.cluster_errors(DAYS) if "space left" in (c.template or "")]
    assert len(clusters) == 1 and clusters[0].size == 3 and clusters[0].runs_affected == 3
    recommendations = service.get_debugging_recommendations(DAYS, limit=50)
    assert any(clusters[0].id in item.cluster_ids for item in recommendations)
    # nothing new: a pass reads nothing and the index keeps its generation
    generation = service.review.generation()
    assert service.review.ingest().runs_read == 0
    assert service.review.generation() == generation


def test_a_run_that_changes_status_is_corrected(db_url, first_pass):
    build_demo_database(db_url, runs=60, days=20, seed=3, now=NOW)
    append(db_url, [run("chg00001", "running", 0.2, updated_at=NOW - timedelta(days=0.2))])
    service = stateful(db_url)
    before = service.get_error_summary(DAYS)
    # running -> failed, with an error text: the run now counts as failed, its error is in
    execute(
        db_url,
        "UPDATE workflow_history SET status = 'failed', failure_reason = :reason, "
        "updated_at = :at WHERE adw_id = 'chg00001'",
        reason="PermissionError: [Errno 13] Permission denied: '/srv/cache'",
        at=NOW - timedelta(minutes=1),  # writers stamp the time of the change
    )
    failed = service.get_error_summary(DAYS)
    assert (failed.total_workflows, failed.failed_workflows, failed.total_errors) == (
        before.total_workflows,
        before.failed_workflows + 1,
        before.total_errors + 1,
    )
    assert any("Permission denied" in (c.template or "") for c in service.cluster_errors(DAYS))
    # failed -> completed on a retry: the failure and its error leave the counts
    execute(
        db_url,
        "UPDATE workflow_history SET status = 'completed', failure_reason = NULL, "
        "updated_at = :at WHERE adw_id = 'chg00001'",
        at=NOW,
    )
    retried = service.get_error_summary(DAYS)
    assert (retried.total_workflows, retried.failed_workflows, retried.total_errors) == (
        before.total_workflows,
        before.failed_workflows,
        before.total_errors,
    )
    assert figures(service) == figures(stateless(db_url))


def test_deleted_runs_leave_the_counts(demo_url, first_pass):
    service = stateful(demo_url)
    service.review.ingester.deletion_check_seconds = 0  # else once a minute
    before = service.get_error_summary(DAYS)
    engine = sa.create_engine(demo_url)
    with engine.connect() as connection:
        victims = [
            row[0]
            for row in connection.execute(
                sa.text(
                    "SELECT adw_id FROM workflow_history WHERE status = 'failed' "
                    "AND created_at BETWEEN :start AND :end ORDER BY adw_id LIMIT 4"
                ),
                {"start": NOW - timedelta(days=10), "end": NOW},
            )
        ]
    engine.dispose()
    execute(
        demo_url, "DELETE FROM workflow_history WHERE adw_id IN ('" + "','".join(victims) + "')"
    )
    after = service.get_error_summary(DAYS)
    assert after.failed_workflows < before.failed_workflows
    assert figures(service) == figures(stateless(demo_url))


def test_rebuild_answers_what_incremental_ingestion_answered(demo_url):
    service = stateful(demo_url)
    service.review.ingester.step_rows = 17  # many small steps, each its own transaction
    service.review.ingest()
    append(
        demo_url,
        [
            failed_run(f"inc{index:05d}", f"TimeoutError: step {index % 3} timed out after 300s")
            for index in range(12)
        ],
    )
    execute(
        demo_url,
        "UPDATE workflow_history SET status = 'completed', updated_at = :at "
        "WHERE adw_id IN (SELECT adw_id FROM workflow_history WHERE status = 'failed' "
        "ORDER BY created_at DESC LIMIT 2)",
        at=NOW,  # a writer stamps the time of the change
    )
    incremental = all_views(service)
    rebuilt_service = stateful(demo_url)
    result = rebuilt_service.review.refresh(DAYS, rebuild=True)
    assert result.runs_read >= 240
    assert all_views(rebuilt_service) == incremental


KILLER = """
import os, signal, sys
from error_analytics.config import Settings
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.run_batch import UNATTRIBUTED_ORIGIN
from error_analytics.store.state import tables

service = ErrorAnalyticsService.from_settings(Settings(db=sys.argv[1]))
service.review.ingester.step_rows = int(sys.argv[2])

def progress(done, total):
    if done == int(sys.argv[3]):
        os.kill(os.getpid(), signal.SIGKILL)  # killed inside a step's transaction

service.review.refresh(30, progress)
"""


def test_an_ingestion_killed_half_way_is_finished_by_the_next_pass(demo_url, tmp_path):
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    finished = subprocess.run(
        [sys.executable, str(script), demo_url, "25", "3"], env=env, timeout=120, check=False
    )
    assert finished.returncode == -signal.SIGKILL
    # two steps were committed before the kill, the third was not
    assert 0 < indexed_runs(demo_url) < 240
    service = stateful(demo_url)
    assert all_views(service) == all_views(_rebuilt(demo_url))


def _rebuilt(url: str) -> ErrorAnalyticsService:
    service = stateful(url)
    service.review.refresh(DAYS, rebuild=True)
    return service


def test_state_rebuild_command(demo_url, capsys):
    from error_analytics import cli

    assert cli.main(["--db", demo_url, "state", "rebuild", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["runs_read"] >= 240
    assert indexed_runs(demo_url) == document["runs_read"]


def test_retention_folds_old_errors_into_daily_counts_once(demo_url):
    keep_days = 10
    kept = ErrorAnalyticsService.from_settings(Settings(db=demo_url, retention_days=keep_days))
    full = stateless(demo_url)
    horizon = datetime.combine((NOW - timedelta(days=keep_days)).date(), time())
    kept.review.ingest(365)  # the index reads the year, and keeps 10 days of it one by one
    with kept.review.store.read() as tx:
        rows = tx.connection.execute(sa.select(tables.event_assignments.c.occurred_at)).scalars()
        assert all(moment is None or moment >= horizon for moment in rows)
        folded = tx.connection.execute(sa.select(sa.func.sum(tables.error_days.c.errors))).scalar()
    old_errors = [
        event
        for event in full.snapshot(365).events
        if event.message and event.timestamp is not None and event.timestamp < horizon
    ]
    assert folded == len(old_errors) > 0
    # within the retention, every figure is as without it; runs are never dropped
    assert figures(kept, 7) == figures(full, 7)
    assert (
        kept.get_error_summary(DAYS).total_workflows == full.get_error_summary(DAYS).total_workflows
    )
    note = kept.get_error_summary(DAYS).data_quality
    assert note is not None and any("retention" in line for line in note.missing)
    # each cluster's all-time total still counts every error, once, after more passes
    all_time = sum(cluster.size for cluster in _all_time(kept))
    execute(
        demo_url,
        "UPDATE workflow_history SET updated_at = :at WHERE adw_id IN "
        "(SELECT adw_id FROM workflow_history WHERE status = 'failed' AND created_at < :old "
        "ORDER BY adw_id LIMIT 5)",
        at=NOW,
        old=horizon - timedelta(days=3),
    )
    assert kept.review.ingest().runs_read == 5
    assert sum(cluster.size for cluster in _all_time(kept)) == all_time
    with kept.review.store.read() as tx:
        again = tx.connection.execute(sa.select(sa.func.sum(tables.error_days.c.errors))).scalar()
    assert again == folded


def _all_time(service: ErrorAnalyticsService) -> list:
    return service.review.list_clusters(limit=1000, days=3650).items


def test_a_small_database_is_read_whole_on_the_first_pass(demo_url):
    service = stateful(demo_url)
    figures(service, 7)
    assert indexed_runs(demo_url) == 240  # every run, not the week: the history is small
    assert service.review.covers(3650)


def test_a_fresh_index_reads_the_window_first_and_older_history_when_asked(demo_url):
    service = stateful(demo_url)
    service.review.ingester.whole_history_rows = 0  # as a large database is read
    week = figures(service, 7)
    read_first = indexed_runs(demo_url)
    assert 0 < read_first < 240  # the week (and the runs no window holds), not the history
    assert week == figures(stateless(demo_url), 7)
    # a longer window reads the history it reaches, then answers as the direct read does
    assert figures(service, DAYS) == figures(stateless(demo_url), DAYS)
    assert read_first < indexed_runs(demo_url) < 240


def test_older_history_is_read_step_by_step_until_all_of_it_is(demo_url):
    service = stateful(demo_url)
    review = service.review
    review.ingester.step_rows = review.ingester.backfill_rows = 25
    review.ingester.whole_history_rows = 0
    review.ingest(1)
    counts = [indexed_runs(demo_url)]
    while not review.covers(3650):
        review.ingest(1, backfill=1)  # what the background does on each pass
        counts.append(indexed_runs(demo_url))
        assert len(counts) < 30
    assert counts == sorted(counts) and counts[-1] == 240 and len(counts) > 3
    assert figures(service, 365) == figures(stateless(demo_url), 365)


def test_a_large_write_to_the_index_refreshes_postgresqls_statistics(pg_url, monkeypatch):
    """After a ``COPY`` of many rows the tables are analysed at once: until autovacuum's next
    round the planner would take them for their old size (lookups by run id then took 37 s
    instead of 4 for 10,000 runs at a million, measured)."""
    from error_analytics.store.state import error_index

    monkeypatch.setattr(error_index, "ANALYZE_AFTER_ROWS", 10)  # the demo's few hundred rows
    build_demo_database(pg_url, runs=240, days=40, seed=11, now=NOW)
    service = stateful(pg_url)
    service.review.ingest()
    schema = Settings(db=pg_url).state_database_target().schema
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as connection:
            analysed = set(
                connection.execute(
                    sa.text(
                        "SELECT relname FROM pg_stat_user_tables "
                        "WHERE schemaname = :schema AND last_analyze IS NOT NULL"
                    ),
                    {"schema": schema},
                ).scalars()
            )
    finally:
        engine.dispose()
    assert {"ea_runs", "ea_event_assignments"} <= analysed
