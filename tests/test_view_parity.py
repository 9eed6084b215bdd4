"""The CLI's ``--json`` and the HTTP API answer the same document for every view.

A demo database on each engine (SQLite and PostgreSQL); the CLI runs in-process and the API
through FastAPI's TestClient, both on the pinned clock, so they see the same window. Documents
must be equal as JSON text: the same keys in the same order, the same values and the same types
(``40`` is not ``40.0``), dates written the same way.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from error_analytics import cli
from error_analytics.api import create_app
from error_analytics.config import Settings
from error_analytics.demo import build_demo_database
from error_analytics.documents import View, views_document

from .builders import NOW

API = "/api/error-analytics"
DAYS = "14"
#: view -> (the CLI flag that shows it, the API path that answers it)
VIEW_TO_FLAG_AND_PATH = {
    View.SUMMARY: ("--summary", "/summary"),
    View.BY_PHASE: ("--phase", "/by-phase"),
    View.PATTERNS: ("--patterns", "/patterns"),
    View.TRENDS: ("--trends", "/trends"),
    View.RECOMMENDATIONS: ("--recommendations", "/recommendations"),
}


@pytest.fixture
def demo_url(db_url: str) -> str:
    build_demo_database(db_url, runs=150, days=30, seed=5, now=NOW)
    return db_url


@pytest.fixture
def client(demo_url: str):
    with TestClient(create_app(Settings(db=demo_url))) as test_client:
        yield test_client


def cli_document(capsys, *argv: str) -> dict[str, Any]:
    assert cli.main([*argv, "--days", DAYS, "--json", "--no-progress"]) == 0
    return json.loads(capsys.readouterr().out)


def api_document(client: TestClient, path: str) -> Any:
    response = client.get(f"{API}{path}", params={"days": DAYS})
    assert response.status_code == 200, response.text
    return response.json()


def assert_same_document(cli_doc: Any, api_doc: Any) -> None:
    assert api_doc == cli_doc
    # equal values may still differ in type (1 == 1.0) or key order: compare the JSON text
    assert json.dumps(api_doc) == json.dumps(cli_doc)


@pytest.mark.parametrize("view", list(VIEW_TO_FLAG_AND_PATH), ids=lambda view: view.value)
def test_a_views_json_is_the_apis_answer(client, demo_url, capsys, view):
    flag, path = VIEW_TO_FLAG_AND_PATH[view]
    api_doc = api_document(client, path)  # first: the API finds the clusters by itself
    cli_doc = cli_document(capsys, "--db", demo_url, flag)
    assert_same_document(cli_doc[view.value], api_doc)


def test_every_view_agrees_on_the_host_layout(db_url, capsys):
    """The host's layout (error_message, task_logs, hook events) takes other paths: phases
    reached from task_logs, errors seen in several places."""
    build_demo_database(db_url, layout="host", runs=150, days=30, seed=5, now=NOW)
    with TestClient(create_app(Settings(db=db_url))) as host_client:
        for view, (flag, path) in VIEW_TO_FLAG_AND_PATH.items():
            api_doc = api_document(host_client, path)
            cli_doc = cli_document(capsys, "--db", db_url, flag)
            assert_same_document(cli_doc[view.value], api_doc)


def test_a_limit_cuts_the_same_recommendations(client, demo_url, capsys):
    cli_doc = cli_document(capsys, "--db", demo_url, "--recommendations", "--limit", "2")
    response = client.get(f"{API}/recommendations", params={"days": DAYS, "limit": 2})
    assert response.status_code == 200, response.text
    assert len(cli_doc["recommendations"]) == 2
    assert_same_document(cli_doc["recommendations"], response.json())


def keep_a_longer_history(demo_url: str, capsys) -> None:
    """Record 30 days of errors in the review state, so that all-time figures differ from the
    window's (as they do once a team has used the toolkit for a while)."""
    argv = ["--db", demo_url, "--cluster", "--days", "30", "--json", "--no-progress"]
    assert cli.main(argv) == 0
    capsys.readouterr()


def test_the_clusters_view_is_the_exports_clusters(client, demo_url, capsys):
    keep_a_longer_history(demo_url, capsys)
    cli_doc = cli_document(capsys, "--db", demo_url, "--cluster")
    api_doc = api_document(client, "/export.json")
    assert cli_doc["clusters"], "the demo has clusters"
    assert_same_document(cli_doc["clusters"], api_doc["clusters"])


def test_the_report_is_the_export(client, demo_url, capsys, tmp_path):
    keep_a_longer_history(demo_url, capsys)
    output = tmp_path / "report.json"
    argv = ["--db", demo_url, "--report", "--output", str(output), "--days", DAYS]
    assert cli.main([*argv, "--json", "--no-progress"]) == 0
    cli_doc = json.loads(output.read_text(encoding="utf-8"))
    api_doc = api_document(client, "/export.json")
    assert list(api_doc) == ["days", *(view.value for view in View)]
    assert_same_document(cli_doc, api_doc)


def test_the_api_carries_the_clusters(client, demo_url, capsys):
    cli_doc = cli_document(capsys, "--db", demo_url, "--cluster")
    cluster_ids = {cluster["id"] for cluster in cli_doc["clusters"]}
    summary = api_document(client, "/summary")
    assert summary["top_clusters"], "the summary lists the largest clusters"
    assert {cluster["id"] for cluster in summary["top_clusters"]} <= cluster_ids
    patterns = api_document(client, "/patterns")
    evidence = [cluster for pattern in patterns for cluster in pattern["top_clusters"]]
    assert evidence, "the patterns name their clusters"
    assert {cluster["id"] for cluster in evidence} <= cluster_ids
    recommendations = api_document(client, "/recommendations")
    covered = {cluster_id for item in recommendations for cluster_id in item["cluster_ids"]}
    assert covered and covered <= cluster_ids


def test_views_document_refuses_what_is_not_a_view():
    with pytest.raises(ValueError, match="not a view: phase"):
        views_document(30, {"phase": []})
