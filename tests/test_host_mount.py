"""The router mounted in a host-like FastAPI application, exactly as docs/host-integration.md
says (the page's code is executed here), answering the five analyses on real databases."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

import error_analytics
from error_analytics.api import router
from error_analytics.config import HOST_POSTGRES_DEFAULTS, POSTGRES_VARIABLES, get_settings

from .builders import spec_database

DOC = Path(__file__).resolve().parents[1] / "docs" / "host-integration.md"
API = "/api/error-analytics"
VIEWS = ("summary", "by-phase", "patterns", "trends", "recommendations")
FRONTEND = "http://localhost:5173"


def doc_blocks(language: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def host_app_from_the_doc() -> FastAPI:
    (source,) = [block for block in doc_blocks("python") if "FastAPI(" in block]
    namespace: dict[str, object] = {"__name__": "host_server"}
    exec(compile(source, str(DOC), "exec"), namespace)  # the page's host application
    app = namespace["app"]
    assert isinstance(app, FastAPI)
    return app


@pytest.fixture
def configured(db_url, monkeypatch):
    """The workflow database (10 runs, 4 failed) named by the environment, as in a host."""
    spec_database(db_url).dispose()
    monkeypatch.setenv("ERROR_ANALYTICS_DB", db_url)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


def test_the_host_app_of_the_doc_answers_the_five_analyses(configured):
    app = host_app_from_the_doc()
    with TestClient(app) as client:
        assert app.state.started  # the host's lifespan ran
        assert client.get("/api/v1/workflows").json() == []  # the host's own routes still work
        bodies = {}
        for view in VIEWS:
            response = client.get(f"{API}/{view}", params={"days": 30})
            assert response.status_code == 200, (view, response.text)
            bodies[view] = response.json()
        assert client.get(f"{API}/health").json()["status"] == "ok"
    summary = bodies["summary"]
    assert (summary["total_workflows"], summary["failed_workflows"]) == (10, 4)
    assert bodies["by-phase"]["phase_error_counts"]["Test"] == 3
    assert {pattern["category_key"] for pattern in bodies["patterns"]} >= {"import_error"}
    assert len(bodies["trends"]["points"]) == 30
    assert bodies["recommendations"]


def test_cors_of_the_host_covers_the_router(configured):
    with TestClient(host_app_from_the_doc()) as client:
        preflight = client.options(
            f"{API}/summary",
            headers={"Origin": FRONTEND, "Access-Control-Request-Method": "GET"},
        )
        answer = client.get(f"{API}/summary", headers={"Origin": FRONTEND})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == FRONTEND
    assert answer.headers["access-control-allow-origin"] == FRONTEND


def test_whichever_router_is_included_first_wins(configured):
    """Why the page says to remove the host's include: both cannot answer."""
    assert "whichever is included first wins" in DOC.read_text(encoding="utf-8")
    legacy = APIRouter()

    @legacy.get(f"{API}/summary")
    def legacy_summary() -> dict:
        return {"from": "host"}

    first_theirs, first_ours = FastAPI(), FastAPI()
    first_theirs.include_router(legacy)
    first_theirs.include_router(router)
    first_ours.include_router(router)
    first_ours.include_router(legacy)
    with TestClient(first_theirs) as client:
        assert client.get(f"{API}/summary").json() == {"from": "host"}
    with TestClient(first_ours) as client:
        assert client.get(f"{API}/summary").json()["total_workflows"] == 10


def test_the_diff_of_the_doc_is_the_app_it_shows():
    (diff,) = doc_blocks("diff")
    (python,) = [block for block in doc_blocks("python") if "FastAPI(" in block]
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+")]
    removed = [line[1:].strip() for line in diff.splitlines() if line.startswith("-")]
    assert len(added) == 2 and all(line in python for line in added)
    assert removed == [
        "error_analytics_routes,",
        "app.include_router(error_analytics_routes.router)",
    ]


def test_the_python_interface_of_the_doc_runs(configured, tmp_path, monkeypatch, capsys):
    (source,) = [block for block in doc_blocks("python") if "ErrorAnalyticsService()" in block]
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(source, str(DOC), "exec"), namespace)
    assert namespace["summary"].total_workflows == 10
    assert namespace["category"] == "connection_error"
    assert (tmp_path / "errors.md").is_file()
    assert "ERROR ANALYSIS - Last 7 Days" in capsys.readouterr().out


def test_the_doc_names_the_host_configuration():
    text = DOC.read_text(encoding="utf-8")
    for name in ("DB_TYPE", "ERROR_ANALYTICS_DB", *POSTGRES_VARIABLES):
        assert f"`{name}" in text, name
    for default in HOST_POSTGRES_DEFAULTS.values():
        assert f"`{default}`" in text, default
    for name in ("ErrorAnalyticsService", "ErrorAnalysisCLI"):
        assert name in error_analytics.__all__ and name in text
