"""Real databases for the tests: a SQLite file per test and a fresh PostgreSQL database per test.

PostgreSQL comes from ``ERROR_ANALYTICS_TEST_PG_URL`` (``.ci/run`` starts a server and sets
it). Without it the PostgreSQL tests are skipped locally; under CI (``CI`` set) they fail, so a
missing server can never pass unnoticed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from .builders import NOW

PG_ENV = "ERROR_ANALYTICS_TEST_PG_URL"


CHROMIUM = os.environ.get("ERROR_ANALYTICS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def browser_unavailable(reason: str) -> None:
    """Skip locally; under CI (``CI`` set) a missing browser fails the test instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: browser tests must run under CI")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, launched through Playwright (which never downloads a browser here)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("playwright is not installed (pip install playwright)")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        browser_unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch) -> datetime:
    """The toolkit's clock (settings and the demo builder) reads :data:`builders.NOW` in-process.

    Tests then hold at any hour and in any zone: nothing they assert depends on what time of day
    the suite happens to run. Subprocess tests read the real clock, which is always after ``NOW``.
    """
    from error_analytics.config import Settings
    from error_analytics.demo import generator

    real_now = Settings.now

    def pinned_now(self: Settings) -> datetime:
        value = real_now(self)  # still validates the configured zone
        return NOW if self.timezone is None else value

    monkeypatch.setattr(Settings, "now", pinned_now)
    monkeypatch.setattr(generator, "_default_now", lambda: NOW - timedelta(minutes=5))
    return NOW


def _server_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set under CI: PostgreSQL tests cannot run")
        pytest.skip(f"{PG_ENV} not set: no PostgreSQL server for this test")
    return url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """URL of a new, empty SQLite file."""
    return f"sqlite:///{tmp_path / 'workflows.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped after the test."""
    server = make_url(_server_url())
    name = f"ea_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
                ),
                {"name": name},
            )
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """Each test that takes it runs on a SQLite file and on a PostgreSQL database."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")
