"""Ingestion while serving: in the background, by one process at a time, through outages.

Real databases and, for ``--workers``, a real server in a subprocess.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from error_analytics.api import create_app
from error_analytics.config import Settings
from error_analytics.demo import build_demo_database
from error_analytics.demo.schema import insert_rows
from error_analytics.service import ErrorAnalyticsService

from .builders import NOW, run
from .test_api_serve import get_json, served

API = "/api/error-analytics"


def new_failures(url: str, prefix: str, count: int, message: str) -> None:
    engine = sa.create_engine(url)
    try:
        insert_rows(
            engine,
            "workflow_history",
            [
                run(
                    f"{prefix}{index:05d}",
                    "failed",
                    0.01,
                    current_phase="Test",
                    failure_reason=message,
                    updated_at=NOW,
                )
                for index in range(count)
            ],
        )
    finally:
        engine.dispose()


def wait_for(predicate, timeout: float) -> float:
    """Seconds until ``predicate()`` held; fails after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture
def demo_url(db_url: str) -> str:
    build_demo_database(db_url, runs=200, days=30, seed=4, now=NOW)
    return db_url


def test_background_ingestion_shows_new_runs_without_requests_ingesting(demo_url):
    app = create_app(Settings(db=demo_url), ingest_every=0.2)
    with TestClient(app) as client:
        background = app.state.error_analytics_ingestion
        wait_for(lambda: background.passes >= 1, 30)
        before = client.get(f"{API}/summary").json()
        new_failures(
            demo_url, "bg", 5, "BlockingIOError: [Errno 11] Resource temporarily unavailable"
        )

        def visible() -> bool:
            summary = client.get(f"{API}/summary").json()
            return summary["total_workflows"] == before["total_workflows"] + 5

        assert wait_for(visible, 10) < 5
        clusters = client.get(f"{API}/clusters", params={"limit": 500}).json()["items"]
        new = [item["id"] for item in clusters if "Resource temporarily" in item["template"]]
        assert len(new) == 1
        recommendations = client.get(f"{API}/recommendations", params={"limit": 50}).json()
        assert any(new[0] in item["cluster_ids"] for item in recommendations)
        # requests did not ingest: the background did, and is still the only one that does
        assert background.review.ingest_on_read is False
        assert background.last_error is None


def test_a_pass_does_not_wait_for_another_processs_pass(demo_url):
    holder = ErrorAnalyticsService.from_settings(Settings(db=demo_url))
    other = ErrorAnalyticsService.from_settings(Settings(db=demo_url))
    holder.review.ingest()
    new_failures(demo_url, "lk", 2, "OSError: lock test")
    with holder.review.store.write(lock="refresh"):
        started = time.monotonic()
        assert other.review.ingest(wait=False) is None
        assert time.monotonic() - started < 5
    result = other.review.ingest(wait=False)
    assert result is not None and result.runs_read == 2


def test_two_server_workers_share_one_state(demo_url):
    with served("--db", demo_url, "--workers", "2", "--ingest-interval", "0.5") as base:
        before = get_json(f"{base}{API}/summary")
        new_failures(
            demo_url, "wk", 7, "ConnectionResetError: [Errno 104] Connection reset by peer"
        )

        def visible() -> bool:
            summary = get_json(f"{base}{API}/summary")
            return summary["total_workflows"] == before["total_workflows"] + 7

        assert wait_for(visible, 15) < 5
        # many requests at once, answered by both workers, all from the same index
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: get_json(f"{base}{API}/summary"), range(40)))
        assert {answer["total_workflows"] for answer in answers} == {before["total_workflows"] + 7}


def test_a_database_outage_answers_503_then_recovers_by_itself(pg_url):
    build_demo_database(pg_url, runs=120, days=30, seed=8, now=NOW)
    name = make_url(pg_url).database
    admin = sa.create_engine(
        make_url(pg_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )

    def allow(allowed: bool) -> None:
        with admin.connect() as connection:
            connection.execute(
                sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
            )
            if not allowed:
                connection.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                    ),
                    {"n": name},
                )

    app = create_app(Settings(db=pg_url), ingest_every=0.2)
    try:
        with TestClient(app) as client:
            background = app.state.error_analytics_ingestion
            wait_for(lambda: background.passes >= 1, 30)
            healthy = client.get(f"{API}/summary")
            assert healthy.status_code == 200
            allow(False)
            down = client.get(f"{API}/summary")
            assert down.status_code == 503, down.text
            wait_for(lambda: background.last_error is not None, 10)
            allow(True)
            new_failures(pg_url, "up", 3, "TimeoutError: back after the outage")
            assert wait_for(lambda: client.get(f"{API}/summary").status_code == 200, 15) < 15

            def caught_up() -> bool:
                return client.get(f"{API}/summary").json()["total_workflows"] == (
                    healthy.json()["total_workflows"] + 3
                )

            wait_for(caught_up, 15)
    finally:
        allow(True)
        admin.dispose()
