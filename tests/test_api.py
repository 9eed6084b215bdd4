"""The HTTP API's analyses on real SQLite and PostgreSQL databases, through FastAPI's TestClient."""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

import error_analytics.api.dashboard
from error_analytics import cli, models
from error_analytics.api import (
    analyses,
    clusters,
    create_app,
    downloads,
    mount_dashboard,
    router,
    schemas,
)
from error_analytics.api.errors import ErrorMappingRoute
from error_analytics.config import Settings, get_settings
from error_analytics.service import ErrorAnalyticsService

from .builders import host_database, spec_database

API = "/api/error-analytics"
VIEWS = ("summary", "by-phase", "patterns", "trends", "recommendations")


@pytest.fixture
def spec_url(db_url):
    spec_database(db_url).dispose()
    return db_url


@pytest.fixture
def client(spec_url):
    with TestClient(create_app(Settings(db=spec_url))) as test_client:
        yield test_client


def cli_json(capsys, *argv: str) -> dict:
    assert cli.main([*argv, "--json", "--no-progress"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_answers(client, view):
    response = client.get(f"{API}/{view}", params={"days": 30})
    assert response.status_code == 200, response.text
    assert response.json()


def test_summary_numbers(client):
    body = client.get(f"{API}/summary").json()
    assert (body["total_workflows"], body["failed_workflows"], body["failure_rate"]) == (
        10,
        4,
        40.0,
    )
    assert ["import_error", 1] in body["top_errors"]
    assert body["most_problematic_phase"] == "Test"
    assert body["data_quality"]["layout"] == "spec"


def test_bodies_equal_the_cli_json(client, spec_url, capsys):
    cli_payload = cli_json(capsys, "--db", spec_url, "--phase", "--trends")
    assert client.get(f"{API}/by-phase").json() == cli_payload["by_phase"]
    assert client.get(f"{API}/trends").json() == cli_payload["trends"]


def test_field_names_equal_the_cli_json(client, spec_url, capsys):
    cli_payload = cli_json(capsys, "--db", spec_url, "--summary", "--patterns", "--recommendations")
    summary = client.get(f"{API}/summary").json()
    assert set(summary) == set(cli_payload["summary"])
    assert summary["data_quality"] == cli_payload["summary"]["data_quality"]
    api_patterns = client.get(f"{API}/patterns").json()
    category_patterns = [item for item in cli_payload["patterns"] if item["kind"] == "category"]
    assert api_patterns == category_patterns
    recommendation_keys = {key for item in cli_payload["recommendations"] for key in item}
    assert {
        key for item in client.get(f"{API}/recommendations").json() for key in item
    } == recommendation_keys


def test_host_layout(db_url):
    host_database(db_url).dispose()
    with TestClient(create_app(Settings(db=db_url))) as test_client:
        body = test_client.get(f"{API}/by-phase").json()
    assert body["rate_basis"] == "runs_reaching_phase"


@pytest.mark.parametrize("days", ["0", "3651", "-1", "seven", "1.5"])
@pytest.mark.parametrize("view", VIEWS)
def test_days_out_of_range_is_422(client, view, days):
    response = client.get(f"{API}/{view}", params={"days": days})
    assert response.status_code == 422
    assert "days" in json.dumps(response.json()["detail"])


@pytest.mark.parametrize("days", [1, 3650])
def test_days_at_the_limits(client, days):
    assert client.get(f"{API}/trends", params={"days": days}).json()["days"] == days


def test_health(client):
    body = client.get(f"{API}/health").json()
    assert body["status"] == "ok"
    assert body["engine"] in ("sqlite", "postgresql")
    assert body["writes_need_token"] is False


def test_missing_database_is_503_not_500(tmp_path):
    app = create_app(Settings(db=str(tmp_path / "missing.db")))
    with TestClient(app) as test_client:
        response = test_client.get(f"{API}/summary")
        health = test_client.get(f"{API}/health").json()
    assert response.status_code == 503
    assert response.json()["error"] == "DatabaseUnavailableError"
    assert "missing.db" in response.json()["detail"]
    assert health["status"] == "unavailable"


def test_bad_setting_is_422(tmp_path):
    app = create_app(Settings(environ={"DB_TYPE": "oracle"}))
    with TestClient(app) as test_client:
        response = test_client.get(f"{API}/summary")
    assert response.status_code == 422
    assert response.json()["error"] == "ConfigurationError"


def test_a_host_mounts_the_router_in_two_lines(spec_url, monkeypatch):
    monkeypatch.setenv("ERROR_ANALYTICS_DB", spec_url)
    get_settings.cache_clear()
    try:
        host = FastAPI()
        # the two lines a host writes (the import is above):
        host.include_router(router)
        with TestClient(host) as test_client:
            assert test_client.get(f"{API}/summary").json()["total_workflows"] == 10
            missing = test_client.get(f"{API}/clusters/no-such-cluster")
        assert missing.status_code == 404  # errors are mapped without create_app's help
        assert missing.json()["error"] == "NotFoundError"
    finally:
        get_settings.cache_clear()


def api_routes() -> list[APIRoute]:
    """Every route the public router answers, through the routers it includes."""
    return [
        context.original_route
        for context in iter_route_contexts(router.routes)
        if isinstance(context.original_route, APIRoute)
    ]


def test_the_router_is_the_three_module_routers():
    """``router`` includes one router per module, and each route keeps its module's route
    class (guards writes, maps errors) wherever the router is included."""
    module_routes = [
        route for module in (analyses, clusters, downloads) for route in module.router.routes
    ]
    assert api_routes() == module_routes
    assert all(type(route) is ErrorMappingRoute for route in module_routes)
    assert {module.router.prefix for module in (analyses, clusters, downloads)} == {""}
    assert router.prefix == API


@pytest.mark.parametrize("route", api_routes(), ids=lambda route: f"{route.name}")
def test_routes_return_domain_objects_through_their_response_model(route):
    """No route hands back a hand-made document typed ``object``: JSON routes return domain
    objects (or the schema itself) and name the schema that writes them."""
    returns = inspect.signature(route.endpoint).return_annotation
    assert returns not in ("object", "Any", "dict[str, Any]", inspect.Signature.empty), route.path
    if returns != "Response":  # the Markdown report and the CSV are text made by the route
        assert route.response_model is not None, route.path


def test_a_view_route_returns_the_services_result(spec_url):
    analytics = ErrorAnalyticsService.from_settings(Settings(db=spec_url))
    try:
        assert isinstance(analyses.summary(analytics, 30), models.ErrorSummary)
        assert isinstance(analyses.by_phase(analytics, 30), models.PhaseErrorBreakdown)
    finally:
        analytics.reader.engine.dispose()


def test_a_host_app_maps_every_kind_of_error(spec_url, tmp_path):
    """Included twice (the public router in a host's router in the host app), errors are still
    the toolkit's problem answers: 422 (validation and a bad setting), 404, 503."""
    host_api = APIRouter()
    host_api.include_router(router)
    host = FastAPI()
    host.include_router(host_api)
    settings = Settings(db=spec_url)
    host.dependency_overrides[get_settings] = lambda: settings
    with TestClient(host) as test_client:
        invalid = test_client.get(f"{API}/summary", params={"days": 0})
        missing = test_client.get(f"{API}/clusters/no-such-cluster")
        settings = Settings(environ={"DB_TYPE": "oracle"})
        misconfigured = test_client.get(f"{API}/trends")
        settings = Settings(db=str(tmp_path / "missing.db"))
        unavailable = test_client.get(f"{API}/patterns")
    answers = [invalid, missing, misconfigured, unavailable]
    assert [answer.status_code for answer in answers] == [422, 404, 422, 503]
    assert [answer.json()["error"] for answer in answers] == [
        "RequestValidationError",
        "NotFoundError",
        "ConfigurationError",
        "DatabaseUnavailableError",
    ]


def test_host_overrides_the_settings(spec_url):
    host = FastAPI()
    host.include_router(router)
    host.dependency_overrides[get_settings] = lambda: Settings(db=spec_url)
    with TestClient(host) as test_client:
        assert test_client.get(f"{API}/summary").json()["failed_workflows"] == 4


def test_every_endpoint_has_a_response_model_in_openapi():
    paths = create_app().openapi()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            content = operation["responses"].get("200", {}).get("content", {})
            if "application/json" in content:
                assert content["application/json"]["schema"], (
                    f"{method.upper()} {path} has no schema"
                )
    assert f"{API}/summary" in paths and f"{API}/clusters" in paths


SCHEMA_TO_MODEL = {
    schemas.ErrorSummary: models.ErrorSummary,
    schemas.PhaseErrorBreakdown: models.PhaseErrorBreakdown,
    schemas.ErrorPattern: models.ErrorPattern,
    schemas.DebugRecommendation: models.DebugRecommendation,
    schemas.TrendData: models.TrendData,
    schemas.TrendPoint: models.TrendPoint,
    schemas.DataQualityReport: models.DataQualityReport,
    schemas.ClusterEvidence: models.ClusterEvidence,
}


@pytest.mark.parametrize("schema", SCHEMA_TO_MODEL, ids=lambda schema: schema.__name__)
def test_schemas_mirror_the_domain_models(schema):
    """Field for field and in the same order, so an answer's keys come in the order of the
    CLI's ``--json`` (``tests/test_view_parity.py`` compares the documents)."""
    model = SCHEMA_TO_MODEL[schema]
    assert list(schema.model_fields) == [field.name for field in dataclasses.fields(model)]


def test_the_public_surface():
    import error_analytics.api as api_package

    assert set(api_package.__all__) == {"API_PREFIX", "create_app", "mount_dashboard", "router"}
    assert all(getattr(api_package, name) is not None for name in api_package.__all__)


def test_a_host_mounts_the_dashboard_under_its_own_path(spec_url):
    host = FastAPI()
    host.include_router(router)
    mount_dashboard(host, path="/tools/errors")
    host.dependency_overrides[get_settings] = lambda: Settings(db=spec_url)
    with TestClient(host) as test_client:
        page = test_client.get("/tools/errors")
        assert page.status_code == 200
        assert '<meta name="api-base" content="/api/error-analytics">' in page.text
        assert 'src="/tools/errors/static/app.js"' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        for asset in ("app.js", "api.js", "charts.js", "clusters.js", "app.css"):
            assert test_client.get(f"/tools/errors/static/{asset}").status_code == 200, asset
        assert test_client.get("/tools/errors/", follow_redirects=False).status_code in (302, 307)


def test_the_dashboard_never_parses_data_as_html():
    """Error messages are untrusted: the scripts only ever set text."""
    static = Path(error_analytics.api.dashboard.STATIC_DIR)
    scripts = sorted(static.glob("*.js"))
    assert len(scripts) >= 4
    for script in scripts:
        source = script.read_text(encoding="utf-8")
        for sink in (
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ):
            assert sink not in source, f"{script.name} uses {sink}"
