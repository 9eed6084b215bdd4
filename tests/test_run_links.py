"""Runs as links: the host's ``github_url``, else ``ERROR_ANALYTICS_RUN_URL_TEMPLATE``, else none.

Only http(s) URLs come out, whatever the database holds. The cluster detail of the API carries
them (``runs``) on SQLite and PostgreSQL, with the ``github_url`` column present or missing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from error_analytics.api import create_app
from error_analytics.config import Settings, settings_from_environ
from error_analytics.demo import insert_rows
from error_analytics.errors import ConfigurationError
from error_analytics.review.run_links import check_run_url_template, http_url, run_url

from .builders import run, spec_database

API = "/api/error-analytics"
TEMPLATE = "https://ci.example.com/runs/{adw_id}"
PROBE = "LINKPROBE artifact upload refused: quota exhausted"
RUN_TO_GITHUB_URL: dict[str, str | None] = {
    "l0000001": "https://github.com/o/r/issues/7",
    "l0000002": None,
    "l0000003": "javascript:alert(document.domain)",
    "l0000004": "  ",
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://github.com/o/r/issues/7", "https://github.com/o/r/issues/7"),
        ("http://ci.local:8080/runs/1", "http://ci.local:8080/runs/1"),
        ("HTTPS://GITHUB.COM/o/r", "HTTPS://GITHUB.COM/o/r"),
        ("javascript:alert(1)", None),
        ("JavaScript://github.com/%0Aalert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("//github.com/o/r", None),
        ("/runs/1", None),
        ("https://", None),
        ("https://github.com/o/r\nx", None),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_only_http_urls_pass(value: object, expected: str | None) -> None:
    assert http_url(value) == expected


def test_github_url_first_then_the_template_then_nothing() -> None:
    assert run_url("ab12cd34", "https://github.com/o/r/issues/7", TEMPLATE) == (
        "https://github.com/o/r/issues/7"
    )
    assert run_url("ab12cd34", None, TEMPLATE) == "https://ci.example.com/runs/ab12cd34"
    assert run_url("ab12cd34", "javascript:alert(1)", TEMPLATE) == (
        "https://ci.example.com/runs/ab12cd34"
    )
    assert run_url("ab12cd34", None, None) is None
    assert run_url("ab12cd34", "javascript:alert(1)", None) is None
    # the run id is quoted into the template, and the rest is not a format string
    assert run_url("a/b c", None, "https://ci.example.com/{adw_id}?x={0}") == (
        "https://ci.example.com/a%2Fb%20c?x={0}"
    )


@pytest.mark.parametrize(
    "template", ["https://ci.example.com/runs", "javascript:alert('{adw_id}')", "/runs/{adw_id}"]
)
def test_an_unusable_template_is_a_configuration_error(template: str) -> None:
    with pytest.raises(ConfigurationError, match="ERROR_ANALYTICS_RUN_URL_TEMPLATE"):
        check_run_url_template(template)
    assert check_run_url_template(TEMPLATE) == TEMPLATE
    assert check_run_url_template(None) is None


def test_the_template_comes_from_the_environment() -> None:
    environ = {"ERROR_ANALYTICS_RUN_URL_TEMPLATE": TEMPLATE}
    assert settings_from_environ(environ).run_url_template == TEMPLATE
    assert settings_from_environ({}).run_url_template is None


def linked_database(url: str, *, github_url_column: bool) -> None:
    """The spec test database, plus four runs failing alike; the host's column when asked."""
    engine = spec_database(url)
    try:
        if github_url_column:
            with engine.begin() as connection:
                connection.execute(
                    sa.text("ALTER TABLE workflow_history ADD COLUMN github_url TEXT")
                )
        rows = [
            run(run_id, "failed", 0.2 + index, current_phase="Ship", failure_reason=PROBE)
            for index, run_id in enumerate(RUN_TO_GITHUB_URL)
        ]
        insert_rows(engine, "workflow_history", rows)
        if github_url_column:
            with engine.begin() as connection:
                for run_id, link in RUN_TO_GITHUB_URL.items():
                    connection.execute(
                        sa.text(
                            "UPDATE workflow_history SET github_url = :link WHERE adw_id = :id"
                        ),
                        {"link": link, "id": run_id},
                    )
    finally:
        engine.dispose()


def detail_runs(settings: Settings) -> dict[str, str | None]:
    with TestClient(create_app(settings)) as client:
        refreshed = client.post(f"{API}/clusters/refresh", params={"days": 30}, json={})
        assert refreshed.status_code == 200, refreshed.text
        found = client.get(f"{API}/clusters", params={"q": "LINKPROBE"}).json()["items"]
        assert len(found) == 1
        detail = client.get(f"{API}/clusters/{found[0]['id']}").json()
    assert [entry["run_id"] for entry in detail["runs"]] == detail["run_ids"]
    return {entry["run_id"]: entry["url"] for entry in detail["runs"]}


@pytest.fixture
def with_column(db_url: str) -> Iterator[str]:
    linked_database(db_url, github_url_column=True)
    yield db_url


def test_the_cluster_detail_links_runs_by_github_url_then_template(with_column: str) -> None:
    runs = detail_runs(Settings(db=with_column, run_url_template=TEMPLATE))
    assert runs == {
        "l0000001": "https://github.com/o/r/issues/7",
        "l0000002": "https://ci.example.com/runs/l0000002",
        "l0000003": "https://ci.example.com/runs/l0000003",
        "l0000004": "https://ci.example.com/runs/l0000004",
    }


def test_without_a_template_only_github_urls_are_links(with_column: str) -> None:
    runs = detail_runs(Settings(db=with_column))
    assert runs == {
        "l0000001": "https://github.com/o/r/issues/7",
        "l0000002": None,
        "l0000003": None,
        "l0000004": None,
    }


def test_a_database_without_the_column_uses_the_template(db_url: str) -> None:
    linked_database(db_url, github_url_column=False)
    assert detail_runs(Settings(db=db_url, run_url_template=TEMPLATE)) == {
        run_id: f"https://ci.example.com/runs/{run_id}" for run_id in RUN_TO_GITHUB_URL
    }
    assert set(detail_runs(Settings(db=db_url)).values()) == {None}
