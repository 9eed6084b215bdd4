"""Every view is built from the window's clusters, on real SQLite and PostgreSQL databases.

Each error event with text is in one cluster and takes the cluster's category (a rule, else a
review decision, else the model, else ``unknown``), so category counts, patterns, trends and
recommendations are sums over clusters; recommendations cover each cluster once, rank severity
first and never make ``unknown`` an item with a fix time.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from error_analytics.api import create_app
from error_analytics.cli import main
from error_analytics.config import DatabaseTarget, Settings
from error_analytics.demo import build_demo_database
from error_analytics.demo.schema import create_workflow_tables, insert_rows
from error_analytics.models import DebugRecommendation, Severity
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.engine import open_engine
from error_analytics.store.state import open_state_engine
from error_analytics.store.workflow_reader import WorkflowReader

from .builders import NOW, completed_runs, run

#: A failure no keyword rule knows: three runs of it.
WIDGET = "Widget frobnication failed for job {job}: quota of gizmos exhausted"
WIDGET_RUNS = 3
IMPORTS = ["ModuleNotFoundError: No module named 'httpx'"] * 2
SEVERITY_RANK = {Severity.HIGH.value: 0, Severity.MEDIUM.value: 1, Severity.LOW.value: 2}


def failures_database(url: str) -> None:
    """Three widget failures (no rule knows them), two import errors, one failure without text."""
    engine = sa.create_engine(url)
    create_workflow_tables(engine, "spec")
    texts = [WIDGET.format(job=100 + index) for index in range(WIDGET_RUNS)] + IMPORTS + [None]
    rows = [
        run(f"f{index:07d}", "failed", 1 + index, current_phase="Build", failure_reason=text)
        for index, text in enumerate(texts)
    ]
    insert_rows(engine, "workflow_history", rows + completed_runs(4))
    engine.dispose()


def stateful_service(url: str) -> ErrorAnalyticsService:
    reader = WorkflowReader(open_engine(DatabaseTarget(url, "test")))
    state = open_state_engine(DatabaseTarget(url, "state"))
    return ErrorAnalyticsService(reader, clock=lambda: NOW, state_engine=state)


def stateless_service(url: str) -> ErrorAnalyticsService:
    return ErrorAnalyticsService(
        WorkflowReader(open_engine(DatabaseTarget(url, "test"))), clock=lambda: NOW
    )


@pytest.fixture
def demo_url(db_url) -> str:
    build_demo_database(db_url, runs=500, days=45, now=NOW)
    return db_url


def test_a_review_decision_moves_the_clusters_errors_in_every_view(db_url):
    failures_database(db_url)
    service = stateful_service(db_url)
    (widget,) = [
        cluster for cluster in service.cluster_errors(30) if "frobnication" in cluster.template
    ]
    assert widget.category == "unknown" and widget.size == WIDGET_RUNS
    review = service.review_service()
    assert review is not None
    review.set_category(widget.id, "timeout_error", actor="test", expected_version=widget.version)

    summary = service.get_error_summary(30)
    assert ("timeout_error", WIDGET_RUNS) in summary.top_errors
    assert "unknown" not in dict(summary.top_errors)
    (pattern,) = [p for p in service.find_error_patterns(30) if p.category_key == "timeout_error"]
    assert pattern.occurrences == WIDGET_RUNS
    assert [cluster.id for cluster in pattern.top_clusters] == [widget.id]
    trends = service.get_failure_trends(30)
    assert sum(trends.category_daily_counts["timeout_error"]) == WIDGET_RUNS
    (item,) = [
        item for item in service.get_debugging_recommendations(30) if widget.id in item.cluster_ids
    ]
    assert item.kind == "category" and item.issue == "Timeout Error"


def test_without_review_state_the_rule_and_model_decide(db_url):
    failures_database(db_url)
    service = stateless_service(db_url)
    assert service.review_service() is None
    top_errors = dict(service.get_error_summary(30).top_errors)
    assert top_errors["import_error"] == len(IMPORTS)
    assert top_errors["no_error_text"] == 1
    assert top_errors["unknown"] == WIDGET_RUNS
    (review,) = [
        item for item in service.get_debugging_recommendations(30) if item.kind == "cluster"
    ]
    # an uncategorised cluster says what is specific to it, and has no fix time
    assert "frobnication" in review.root_cause and "Build" in review.root_cause
    assert review.estimated_fix_time == ""


@pytest.mark.parametrize("stateful", [False, True], ids=["stateless", "stateful"])
def test_every_view_is_a_sum_over_the_clusters(demo_url, stateful):
    service = stateful_service(demo_url) if stateful else stateless_service(demo_url)
    clusters = service.cluster_errors(30)
    assert clusters and len({cluster.id for cluster in clusters}) == len(clusters)
    category_to_errors: Counter[str] = Counter()
    for cluster in clusters:
        category_to_errors[cluster.category] += cluster.size

    summary = service.get_error_summary(30)
    top_errors = dict(summary.top_errors)
    assert top_errors.pop("no_error_text", 0) == summary.failed_without_error_text
    assert top_errors == dict(category_to_errors)
    assert sum(cluster.size for cluster in clusters) + summary.failed_without_error_text == (
        summary.total_errors
    )
    breakdown = service.analyze_by_phase(30)
    assert sum(breakdown.phase_error_counts.values()) == summary.total_errors

    patterns = service.find_error_patterns(30)
    assert [p.category_key for p in patterns].count("unknown") <= 1
    for pattern in patterns:
        if pattern.category_key == "no_error_text":
            continue
        mine = [cluster for cluster in clusters if cluster.category == pattern.category_key]
        assert pattern.occurrences == category_to_errors[pattern.category_key]
        assert pattern.clusters == len(mine)
        assert [evidence.id for evidence in pattern.top_clusters] == [
            cluster.id for cluster in mine[: len(pattern.top_clusters)]
        ]
        assert all(evidence.example for evidence in pattern.top_clusters)
    keys = [pattern.category_key for pattern in patterns]
    assert keys[-2:] == ["unknown", "no_error_text"]  # what nobody can act on directly, last

    trends = service.get_failure_trends(30)
    assert set(trends.category_daily_counts) <= set(category_to_errors) | {"no_error_text"}
    for key, daily in trends.category_daily_counts.items():
        # events without a time are in no day
        assert sum(daily) <= category_to_errors[key] or key == "no_error_text"


def cluster_ids_of(items: list[DebugRecommendation]) -> list[str]:
    return [cluster_id for item in items for cluster_id in item.cluster_ids]


@pytest.mark.parametrize("stateful", [False, True], ids=["stateless", "stateful"])
def test_recommendations_cover_each_cluster_once_severity_first(demo_url, stateful):
    service = stateful_service(demo_url) if stateful else stateless_service(demo_url)
    clusters = service.cluster_errors(30)
    items = service.get_debugging_recommendations(30)
    assert 1 <= len(items) <= 10
    assert items[0].kind in ("category", "cluster")  # the first one is something to fix
    ranks = [SEVERITY_RANK[item.severity] for item in items]
    assert ranks == sorted(ranks)
    covered = cluster_ids_of(items)
    assert len(covered) == len(set(covered))
    assert set(covered) == {cluster.id for cluster in clusters}
    unknown_name = service.category_rule("unknown").name
    assert not any(item.issue == unknown_name for item in items)  # never a category to fix
    for item in items:
        if item.kind == "needs_review":
            assert re.fullmatch(r"\d+ clusters?, \d+ errors? needs? review", item.issue)
            assert item.estimated_fix_time == ""
            assert "--review" in item.solution
    solutions = Counter(item.solution for item in items)
    assert solutions.most_common(1)[0][1] == 1  # no sentence repeated
    for limit in (1, 3):
        shortened = service.get_debugging_recommendations(30, limit=limit)
        assert len(shortened) <= limit
        assert len(cluster_ids_of(shortened)) == len(set(cluster_ids_of(shortened)))
    everything = service.get_debugging_recommendations(30, limit=1000)
    assert not any(item.kind == "needs_review" for item in everything)
    assert sorted(cluster_ids_of(everything)) == sorted(covered)


def test_the_text_report_lists_each_cluster_once(demo_url, capsys):
    assert main(["--db", demo_url, "--no-progress", "--no-state"]) == 0
    out = capsys.readouterr().out
    listed = re.findall(r"\[(c[0-9a-f]{10})\]", out)
    assert listed and len(listed) == len(set(listed))
    patterns = out.split("TOP ERROR PATTERNS", 1)[1]
    assert not re.search(r"^1\. Needs review", patterns, re.MULTILINE)
    assert re.search(r"^\d+\. Needs review: \d+ clusters? without a category", patterns, re.M)


def test_cli_limit_and_json(demo_url, capsys):
    argv = ["--db", demo_url, "--recommendations", "--json", "--no-state"]
    assert main([*argv, "--limit", "2"]) == 0
    items = json.loads(capsys.readouterr().out)["recommendations"]
    assert 1 <= len(items) <= 2
    assert main(argv) == 0
    items = json.loads(capsys.readouterr().out)["recommendations"]
    assert len(items) <= 10 and items[0]["kind"] in ("category", "cluster")
    assert main([*argv, "--limit", "12"]) == 0
    twelve = json.loads(capsys.readouterr().out)["recommendations"]
    assert len(twelve) > 10  # the demo has more than ten things to say
    assert main(["--db", demo_url, "--recommendations", "--no-state", "--limit", "12"]) == 0
    numbered = re.findall(r"^\d+\. \[", capsys.readouterr().out, re.MULTILINE)
    assert len(numbered) == len(twelve)
    with pytest.raises(SystemExit) as refused:
        main(["--db", demo_url, "--phase", "--limit", "2"])
    assert refused.value.code == 2
    assert "--limit works with --recommendations" in capsys.readouterr().err


def test_api_recommendations_take_a_limit(demo_url):
    with TestClient(create_app(Settings(db=demo_url))) as client:
        response = client.get("/api/error-analytics/recommendations", params={"limit": 2})
        assert response.status_code == 200, response.text
        items = response.json()
        assert 1 <= len(items) <= 2 and all("cluster_ids" in item for item in items)
        default = client.get("/api/error-analytics/recommendations").json()
        assert 2 < len(default) <= 10
        assert (
            client.get("/api/error-analytics/recommendations", params={"limit": 0}).status_code
            == 422
        )
        patterns = client.get("/api/error-analytics/patterns").json()
        assert any(pattern["top_clusters"] for pattern in patterns)
