"""Ingestion while serving: in the background, by one process at a time, through outages.

Real databases and, for ``--workers``, a real server in a subprocess.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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

        def visible() -> bool:  # to every worker: a worker's first request after an
            # ingestion may get its last snapshot while it builds the next
            answers = [get_json(f"{base}{API}/summary") for _ in range(8)]
            return all(a["total_workflows"] == before["total_workflows"] + 7 for a in answers)

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


SERVER_THAT_STARTS_INGESTION = """
import sys, time
from error_analytics.api.ingestion import IngestionProcess
from error_analytics.config import Settings
process = IngestionProcess(Settings(db=sys.argv[1]), 0.2)
process.start()
print(process.pid, flush=True)
time.sleep(600)
"""


def test_the_ingesting_process_stops_when_its_server_is_killed(demo_url):
    """``serve`` killed with SIGKILL cannot stop its ingesting process: that process notices
    it lost its server and stops by itself instead of ingesting for nobody."""
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER_THAT_STARTS_INGESTION, demo_url],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        ingesting = int(server.stdout.readline())
        assert wait_for(lambda: ingesting_alive(ingesting), 30) >= 0  # it runs
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
        wait_for(lambda: not ingesting_alive(ingesting), 30)
    finally:
        server.kill()
        server.wait()


def ingesting_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its new parent does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as status:
            return status.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_a_reading_service_answers_from_its_last_snapshot_while_the_next_is_built(demo_url):
    """As a server's API process: another process ingests, requests only read. The first
    request after an ingestion gets the last snapshot at once while a thread builds the next
    (a request never waits for a rebuild); a review decision is never served stale."""
    reading = ErrorAnalyticsService.from_settings(Settings(db=demo_url))
    ingesting = ErrorAnalyticsService.from_settings(Settings(db=demo_url))
    reading.review.ingest()
    reading.review.ingest_on_read = False
    before = reading.get_error_summary(30).total_workflows
    new_failures(demo_url, "sw", 4, "BrokenPipeError: [Errno 32] Broken pipe")
    ingesting.review.ingest()
    assert reading.get_error_summary(30).total_workflows == before
    wait_for(lambda: reading.get_error_summary(30).total_workflows == before + 4, 10)
    assert any("Broken pipe" in (c.template or "") for c in reading.cluster_errors(30))

    largest = reading.cluster_errors(30)[0]
    reading.review.rename(largest.id, "Renamed, seen at once", actor="ana")
    assert reading.cluster_errors(30)[0].name == "Renamed, seen at once"
