"""Merge suggestions: the pure similarity, the service's cluster detail, the CLI and the API."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from error_analytics.api import create_app
from error_analytics.config import Settings
from error_analytics.errors import InputError
from error_analytics.models import ClusterStatus
from error_analytics.review.similar import MIN_SIMILARITY, SimilarityIndex, similar_items

from .test_review_cli import db, run  # noqa: F401  (db is a fixture)
from .test_review_helpers import Clock, cluster_with, review_service, scenario

API = "/api/error-analytics"

ITEMS = [
    ("timeout", "Error: timeout of <*>ms exceeded. Ensure the done() callback is being called"),
    ("timeout2", "Error: timeout of <*>ms exceeded in hook. Ensure the done() callback is called"),
    ("gem", "Gem::LoadError: can't activate rake, already activated rake-<*>"),
    ("lint", "src/app.ts(<*>,<*>): error TS2304: Cannot find name 'describe'"),
    ("npm", "npm ERR! code ELIFECYCLE npm ERR! errno 1 npm ERR! test script failed"),
]


def test_a_near_duplicate_ranks_first():
    neighbours = similar_items(ITEMS, "timeout", min_similarity=0.0)
    assert neighbours[0].item_id == "timeout2"
    assert neighbours[0].similarity >= MIN_SIMILARITY
    assert all(0 <= item.similarity <= 1 for item in neighbours)
    assert all(item.item_id != "timeout" for item in neighbours)  # never itself
    assert neighbours == sorted(neighbours, key=lambda item: -item.similarity)


def test_an_unrelated_item_gets_no_suggestion():
    assert similar_items(ITEMS, "gem") == []
    assert similar_items(ITEMS, "lint") == []


def test_limits_and_edge_cases():
    index = SimilarityIndex(ITEMS)
    assert index.neighbours("timeout", limit=1, min_similarity=0.0)[0].item_id == "timeout2"
    assert index.neighbours("timeout", exclude=frozenset({"timeout2"})) == []
    assert index.neighbours("no such id") == []
    assert SimilarityIndex([("only", "one cluster")]).neighbours("only") == []
    assert SimilarityIndex([("a", "<*> 1"), ("b", "<*> 2")]).neighbours("a") == []  # no words
    with pytest.raises(InputError):
        SimilarityIndex("a string")  # type: ignore[arg-type]


@pytest.fixture
def service(tmp_path):
    url = f"sqlite:///{tmp_path / 'workflows.db'}"
    scenario(url)
    review = review_service(url, Clock())
    review.refresh(30)
    return review


def test_the_detail_lists_similar_live_clusters(service):
    github = cluster_with(service, "GitHub API rate limit")
    gh = cluster_with(service, "gh: API rate limit")
    assert github != gh
    detail = service.get_cluster(github)
    assert [other.id for other in detail.similar][:1] == [gh]
    suggestion = detail.similar[0]
    assert MIN_SIMILARITY <= suggestion.similarity <= 1
    assert suggestion.similarity == round(suggestion.similarity, 2)
    assert suggestion.errors == service.cluster(gh).size and suggestion.status == ClusterStatus.NEW
    assert suggestion.name == service.cluster(gh).name
    for cluster in service.list_clusters(limit=100).items:
        assert cluster.id not in {other.id for other in service.get_cluster(cluster.id).similar}
    unrelated = cluster_with(service, "Executable doesn't exist")
    assert service.get_cluster(unrelated).similar == []


def test_a_merged_cluster_is_never_suggested_nor_gets_suggestions(service):
    github = cluster_with(service, "GitHub API rate limit")
    gh = cluster_with(service, "gh: API rate limit")
    service.merge([gh], github, actor="tester")
    assert gh not in {other.id for other in service.get_cluster(github).similar}
    merged = service.get_cluster(gh)
    assert merged.cluster.status == ClusterStatus.MERGED and merged.similar == []


def test_cli_show_prints_the_suggestions_with_the_merge_command(db):  # noqa: F811
    code, text = run(["clusters", "list", "--db", db, "--json", "--search", "GitHub API"])
    github = json.loads(text)["items"][0]["id"]
    code, text = run(["clusters", "show", github, "--db", db, "--no-refresh"])
    assert code == 0 and "similar clusters — merge?" in text
    gh_line = next(line for line in text.splitlines() if "gh: API rate limit" in line)
    gh = gh_line.split()[0]
    assert f"analyze-errors clusters merge {gh} --into {github}" in text
    code, text = run(["clusters", "show", github, "--db", db, "--no-refresh", "--json"])
    similar = json.loads(text)["similar"]
    assert similar[0]["id"] == gh and set(similar[0]) == {
        "id",
        "name",
        "similarity",
        "errors",
        "status",
    }


def test_api_detail_carries_similar(db):  # noqa: F811
    with TestClient(create_app(Settings(db=db))) as client:
        assert client.post(f"{API}/clusters/refresh", json={}).status_code == 200
        page = client.get(f"{API}/clusters", params={"q": "GitHub API"}).json()
        github = page["items"][0]["id"]
        detail = client.get(f"{API}/clusters/{github}").json()
    assert detail["similar"] and detail["similar"][0]["name"].startswith("gh: API rate limit")
    assert detail["similar"][0]["status"] == "new" and 0 < detail["similar"][0]["similarity"] <= 1
