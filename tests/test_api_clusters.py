"""Cluster review over HTTP on real SQLite and PostgreSQL databases; the CLI sees the same state."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from error_analytics import cli, models
from error_analytics.api import create_app, schemas
from error_analytics.api.clusters import SORTS
from error_analytics.cli.review import register_review_commands, run_review_command
from error_analytics.config import Settings
from error_analytics.demo import build_demo_database
from error_analytics.review import models as review_models
from error_analytics.store.state import AlertRecord

from .builders import NOW

API = "/api/error-analytics"


def review_cli(*argv: str) -> object:
    """``analyze-errors clusters ... --json`` in-process; the parsed JSON."""
    parser = cli.build_parser()
    out = io.StringIO()
    wired = any(
        isinstance(action, argparse._SubParsersAction) and "clusters" in action.choices
        for action in parser._actions
    )
    if wired:
        with contextlib.redirect_stdout(out):
            code = cli.main(list(argv))
    else:  # until cli/main.py wires the review commands: the very parser and function it will call
        register_review_commands(parser.add_subparsers(dest="command"))
        code = run_review_command(parser.parse_args(list(argv)), out)
    assert code == 0, out.getvalue()
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory) -> str:
    """Built once; each test works on a copy (the state tables live in the file)."""
    path = tmp_path_factory.mktemp("clusters") / "template.db"
    build_demo_database(path, runs=150, days=30, seed=5, now=NOW)
    return str(path)


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_url(request, tmp_path, demo_sqlite) -> str:
    if request.param == "sqlite":
        copy = tmp_path / "demo.db"
        copy.write_bytes(Path(demo_sqlite).read_bytes())
        return f"sqlite:///{copy}"
    url = request.getfixturevalue("pg_url")
    build_demo_database(url, runs=150, days=30, seed=5, now=NOW)
    return url


@pytest.fixture
def settings(demo_url, tmp_path) -> Settings:
    rules = tmp_path / "rules.toml"
    rules.write_text("# promoted rules land here\n", encoding="utf-8")
    return Settings(db=demo_url, rules_file=str(rules))


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as test_client:
        refreshed = test_client.post(f"{API}/clusters/refresh", params={"days": 30}, json={})
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["new_clusters"] >= 3
        yield test_client


def clusters(client, **params) -> dict:
    response = client.get(f"{API}/clusters", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def first_id(client, **params) -> tuple[str, int]:
    item = clusters(client, **params)["items"][0]
    return item["id"], item["version"]


def test_refresh_is_safe_to_repeat(client):
    before = clusters(client, limit=500)
    again = client.post(f"{API}/clusters/refresh", json={}).json()
    assert again["new_clusters"] == 0 and again["new_assignments"] == 0
    assert [item["id"] for item in clusters(client, limit=500)["items"]] == [
        item["id"] for item in before["items"]
    ]


def test_list_filters_sorts_and_pages(client):
    everything = clusters(client, limit=500)
    assert everything["total"] == len(everything["items"]) >= 3
    assert all(item["status"] == "new" for item in everything["items"])
    sizes = [item["size"] for item in everything["items"]]
    assert sizes == sorted(sizes, reverse=True)
    page = clusters(client, limit=2, offset=1)
    assert [item["id"] for item in page["items"]] == [
        item["id"] for item in everything["items"][1:3]
    ]
    assert (page["total"], page["limit"], page["offset"]) == (everything["total"], 2, 1)
    for sort in SORTS:
        assert clusters(client, sort=sort)["total"] == everything["total"]
    category = everything["items"][0]["category"]
    assert all(
        item["category"] == category for item in clusters(client, category=category)["items"]
    )
    phase = everything["items"][0]["phases"][0]
    assert everything["items"][0]["id"] in [
        item["id"] for item in clusters(client, phase=phase, limit=500)["items"]
    ]
    word = everything["items"][0]["name"].split()[0]
    assert clusters(client, q=word)["total"] >= 1
    assert clusters(client, status="resolved")["total"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"sort": "bogus"},
        {"phase": "Deploy"},
        {"limit": 0},
        {"limit": 5000},
        {"offset": -1},
    ],
)
def test_bad_list_parameters_are_422(client, params):
    response = client.get(f"{API}/clusters", params=params)
    assert response.status_code == 422
    assert next(iter(params)) in json.dumps(response.json())


def test_one_cluster_and_a_missing_one(client):
    cluster_id, _ = first_id(client)
    detail = client.get(f"{API}/clusters/{cluster_id}").json()
    assert detail["cluster"]["id"] == cluster_id
    assert detail["templates"] and detail["examples"] and detail["top_terms"] and detail["run_ids"]
    assert len(detail["daily_series"]) >= 7 and detail["history"] == []
    missing = client.get(f"{API}/clusters/cnotthere00")
    assert missing.status_code == 404 and missing.json()["error"] == "NotFoundError"
    assert client.post(f"{API}/clusters/cnotthere00/accept", json={}).status_code == 404
    assert client.get(f"{API}/audit", params={"cluster_id": "cnotthere00"}).status_code == 404


def test_accept_rename_category_and_a_stale_version(client):
    cluster_id, version = first_id(client)
    accepted = client.post(
        f"{API}/clusters/{cluster_id}/accept", json={"actor": "ana", "expected_version": version}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["cluster"]["status"] == "reviewed"
    assert accepted.json()["reviewed_by"] == "ana"
    stale = client.post(
        f"{API}/clusters/{cluster_id}/rename", json={"name": "x", "expected_version": version}
    )
    assert stale.status_code == 409 and stale.json()["error"] == "ConflictError"
    current = accepted.json()["cluster"]["version"]
    renamed = client.post(
        f"{API}/clusters/{cluster_id}/rename",
        json={"name": "Vite missing", "expected_version": current},
    )
    assert renamed.json()["cluster"]["name"] == "Vite missing"
    category = client.post(
        f"{API}/clusters/{cluster_id}/category", json={"category": "import_error"}
    )
    assert category.json()["cluster"]["category"] == "import_error"
    assert (
        client.post(
            f"{API}/clusters/{cluster_id}/category", json={"category": "nonsense"}
        ).status_code
        == 422
    )
    assert client.post(f"{API}/clusters/{cluster_id}/rename", json={"name": ""}).status_code == 422
    actions = [
        entry["action"]
        for entry in client.get(f"{API}/audit", params={"cluster_id": cluster_id}).json()
    ]
    assert actions == ["set_category", "rename", "accept"]


def test_ignore_unignore_resolve(client):
    cluster_id, _ = first_id(client)
    muted = client.post(f"{API}/clusters/{cluster_id}/ignore", json={"occurrences": 5}).json()
    assert muted["cluster"]["status"] == "ignored" and muted["ignore_occurrences"] == 5
    assert clusters(client, status="ignored")["total"] == 1
    assert (
        client.post(f"{API}/clusters/{cluster_id}/ignore", json={"occurrences": 0}).status_code
        == 422
    )
    assert (
        client.post(f"{API}/clusters/{cluster_id}/unignore", json={}).json()["cluster"]["status"]
        == "new"
    )
    until = client.post(
        f"{API}/clusters/{cluster_id}/ignore", json={"until": "2099-01-01T00:00:00"}
    ).json()
    assert until["ignored_until"].startswith("2099-01-01")
    client.post(f"{API}/clusters/{cluster_id}/unignore", json={})
    assert (
        client.post(f"{API}/clusters/{cluster_id}/resolve", json={}).json()["cluster"]["status"]
        == "resolved"
    )


def test_merge_split_and_undo(client):
    items = clusters(client, limit=3)["items"]
    target, source = items[0]["id"], items[1]["id"]
    merged = client.post(
        f"{API}/clusters/{target}/merge", json={"source_ids": [source], "actor": "ana"}
    )
    assert merged.status_code == 200, merged.text
    assert source in merged.json()["merged_ids"]
    assert source not in [item["id"] for item in clusters(client, limit=500)["items"]]
    assert client.post(f"{API}/clusters/{target}/merge", json={"source_ids": []}).status_code == 422
    stale = client.post(
        f"{API}/clusters/{target}/merge",
        json={"source_ids": [items[2]["id"]], "expected_version": 0},
    )
    assert stale.status_code == 409
    fingerprint = merged.json()["templates"][-1]["fingerprint"]
    split = client.post(
        f"{API}/clusters/{target}/split", json={"templates": [fingerprint], "name": "Split out"}
    )
    assert split.status_code == 200, split.text
    assert split.json()["split_from"] == target and split.json()["cluster"]["name"] == "Split out"
    entry = client.get(f"{API}/audit", params={"limit": 1}).json()[0]
    undone = client.post(f"{API}/actions/{entry['id']}/undo", json={"actor": "ana"})
    assert undone.status_code == 200 and undone.json()["undo_of"] == entry["id"]
    assert client.post(f"{API}/actions/{entry['id']}/undo", json={}).status_code in (409, 422)
    assert client.post(f"{API}/actions/999999/undo", json={}).status_code == 404


def test_rule_preview_and_promote(client, settings):
    literal_prefixes = (
        (item["id"], item["template"].split("<")[0].split("|")[0].strip(" :"))
        for item in clusters(client, limit=500)["items"]
    )
    cluster_id, keyword = next(
        (cid, prefix) for cid, prefix in literal_prefixes if len(prefix) >= 8
    )
    draft = {"keywords": [keyword], "category": "flaky_tooling"}
    preview = client.post(f"{API}/clusters/{cluster_id}/rule-preview", json=draft)
    assert preview.status_code == 200, preview.text
    assert preview.json()["cluster_matched"] >= 1 and "[categories." in preview.json()["toml"]
    bad = client.post(
        f"{API}/clusters/{cluster_id}/rule-preview", json={**draft, "pattern": "(unclosed"}
    )
    assert bad.status_code == 422
    promoted = client.post(f"{API}/clusters/{cluster_id}/promote", json=draft)
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["cluster"]["category"] == "flaky_tooling"
    assert "[categories.flaky_tooling]" in Path(settings.rules_file).read_text(encoding="utf-8")


def test_writes_need_the_token_when_one_is_configured(settings):
    with TestClient(create_app(dataclasses.replace(settings, api_token="s3cret"))) as test_client:
        assert test_client.post(f"{API}/clusters/refresh", json={}).status_code == 401
        wrong = test_client.post(
            f"{API}/clusters/refresh", json={}, headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
        right = test_client.post(
            f"{API}/clusters/refresh", json={}, headers={"Authorization": "Bearer s3cret"}
        )
        assert right.status_code == 200
        cluster_id, _ = first_id(test_client)
        assert test_client.get(f"{API}/clusters/{cluster_id}").status_code == 200  # reads stay open
        assert test_client.post(f"{API}/clusters/{cluster_id}/accept", json={}).status_code == 401
        assert test_client.post(f"{API}/actions/1/undo", json={}).status_code == 401
        assert test_client.get(f"{API}/health").json()["writes_need_token"] is True


def test_the_cli_sees_what_the_api_did_with_the_same_field_names(client, settings):
    cluster_id, _ = first_id(client)
    api_detail = client.post(
        f"{API}/clusters/{cluster_id}/rename", json={"name": "Named over HTTP", "actor": "ana"}
    ).json()
    cli_detail = review_cli(
        "clusters", "show", cluster_id, "--db", settings.db, "--json", "--no-refresh"
    )
    assert cli_detail["cluster"]["name"] == "Named over HTTP"
    assert cli_detail["history"][0]["actor"] == "ana"
    assert set(cli_detail) == set(api_detail) and set(cli_detail["cluster"]) == set(
        api_detail["cluster"]
    )
    cli_page = review_cli(
        "clusters", "list", "--db", settings.db, "--json", "--no-refresh", "--limit", "3"
    )
    assert set(cli_page) == set(clusters(client, limit=3))


def test_downloads(client):
    report = client.get(f"{API}/report.md", params={"days": 30})
    assert report.status_code == 200 and report.text.startswith("# Error analysis - last 30 days")
    assert "attachment" in report.headers["content-disposition"]
    export = client.get(f"{API}/export.json").json()
    assert set(export) == {
        "days",
        "summary",
        "by_phase",
        "patterns",
        "trends",
        "recommendations",
        "clusters",
    }
    assert export["clusters"] and export["summary"]["top_clusters"]
    rows = client.get(f"{API}/clusters.csv").text.splitlines()
    assert rows[0].startswith("id,name,status,category,size") and len(rows) > 3
    assert client.get(f"{API}/report.md", params={"days": 0}).status_code == 422


def test_catalog(client):
    catalog = client.get(f"{API}/catalog").json()
    assert {"import_error", "unknown"} <= {category["key"] for category in catalog["categories"]}
    assert catalog["statuses"] == [status.value for status in models.ClusterStatus]


def test_sorts_agree_with_the_review_service():
    from error_analytics.api import create_app
    from error_analytics.review import SORTS as SERVICE_SORTS

    openapi = create_app(dashboard=False).openapi()
    parameters = openapi["paths"]["/api/error-analytics/clusters"]["get"]["parameters"]
    (sort,) = [parameter for parameter in parameters if parameter["name"] == "sort"]
    schema = sort["schema"]
    if "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert schema["enum"] == list(SERVICE_SORTS) == list(SORTS)


SCHEMA_TO_MODEL = {
    schemas.Cluster: models.DiscoveredCluster,
    schemas.AuditEntry: models.AuditEntry,
    schemas.ClusterPage: review_models.ClusterPage,
    schemas.ClusterDetail: review_models.ClusterDetail,
    schemas.TemplateInfo: review_models.TemplateInfo,
    schemas.DailyCount: review_models.DailyCount,
    schemas.RulePreview: review_models.RulePreview,
    schemas.RefreshResult: review_models.RefreshResult,
    schemas.TagShare: review_models.TagShare,
    schemas.TagBreakdown: review_models.TagBreakdown,
    schemas.SimilarCluster: review_models.SimilarCluster,
    schemas.AlertRecord: AlertRecord,
}


@pytest.mark.parametrize("schema", SCHEMA_TO_MODEL, ids=lambda schema: schema.__name__)
def test_schemas_mirror_the_review_models(schema):
    model = SCHEMA_TO_MODEL[schema]
    assert set(schema.model_fields) == {field.name for field in dataclasses.fields(model)}
