"""The host application's configuration, as its own database adapters read it.

``DB_TYPE=sqlite`` opens ``db/database.db`` relative to the working directory (``app/server/``
when the host runs), else ``app/server/db/database.db`` (from the repository root);
``DB_TYPE=postgresql`` fills every unset ``POSTGRES_*`` with the host adapter's default; without
``DB_TYPE`` PostgreSQL is used only when all five ``POSTGRES_*`` are set.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from error_analytics import ErrorAnalyticsService
from error_analytics.config import (
    POSTGRES_VARIABLES,
    resolve_database_target,
    settings_from_environ,
)
from error_analytics.errors import ConfigurationError, DatabaseUnavailableError

from .builders import spec_database

ALL_POSTGRES = {
    "POSTGRES_HOST": "db.internal",
    "POSTGRES_PORT": "5433",
    "POSTGRES_DB": "adw",
    "POSTGRES_USER": "me",
    "POSTGRES_PASSWORD": "secret",
}


@pytest.fixture
def host_checkout(tmp_path) -> Path:
    """A host repository whose server directory holds the workflow database (10 runs)."""
    server = tmp_path / "app" / "server"
    (server / "db").mkdir(parents=True)
    spec_database(f"sqlite:///{server / 'db' / 'database.db'}").dispose()
    return tmp_path


def service_for(environ: dict[str, str]) -> ErrorAnalyticsService:
    return ErrorAnalyticsService(settings=settings_from_environ(environ))


@pytest.mark.parametrize("environ", [{"DB_TYPE": "sqlite"}, {}, {"DB_TYPE": "SQLite"}])
def test_sqlite_from_the_server_directory_opens_db_database_db_there(
    host_checkout, monkeypatch, environ
):
    server = host_checkout / "app" / "server"
    monkeypatch.chdir(server)
    target = resolve_database_target(None, environ)
    assert make_url(target.url).database == str(server / "db" / "database.db")
    assert service_for(environ).get_error_summary().total_workflows == 10


def test_sqlite_from_the_repository_root_opens_app_server_db_database_db(
    host_checkout, monkeypatch
):
    monkeypatch.chdir(host_checkout)
    target = resolve_database_target(None, {"DB_TYPE": "sqlite"})
    assert make_url(target.url).database == str(host_checkout / "app/server/db/database.db")
    assert service_for({"DB_TYPE": "sqlite"}).get_error_summary().failed_workflows == 4


def test_a_database_in_the_working_directory_wins_over_the_repository_layout(
    host_checkout, monkeypatch
):
    (host_checkout / "db").mkdir()
    local = host_checkout / "db" / "database.db"
    spec_database(f"sqlite:///{local}").dispose()
    monkeypatch.chdir(host_checkout)
    assert make_url(resolve_database_target(None, {}).url).database == str(local)


def test_no_database_names_both_places_tried(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatabaseUnavailableError) as raised:
        service_for({"DB_TYPE": "sqlite"}).get_error_summary()
    message = str(raised.value)
    assert "app/server/db/database.db" in message and "db/database.db is not in" in message
    assert not (tmp_path / "app").exists()  # nothing created while looking


def test_postgresql_with_only_the_password_uses_the_host_defaults():
    target = resolve_database_target(None, {"DB_TYPE": "postgresql", "POSTGRES_PASSWORD": "pw"})
    assert target.url == "postgresql+psycopg://tac_user:pw@localhost:5432/tac_webbuilder"
    assert target.origin == "DB_TYPE=postgresql"


def test_postgresql_without_any_variable_has_no_password():
    url = make_url(resolve_database_target(None, {"DB_TYPE": "postgresql"}).url)
    assert (url.host, url.port, url.database, url.username, url.password) == (
        "localhost",
        5432,
        "tac_webbuilder",
        "tac_user",
        None,
    )


@pytest.mark.parametrize("missing", POSTGRES_VARIABLES)
def test_postgresql_fills_each_unset_variable(missing):
    environ = {"DB_TYPE": "postgresql", **ALL_POSTGRES}
    del environ[missing]
    url = make_url(resolve_database_target(None, environ).url)
    expected = {
        "POSTGRES_HOST": ("host", "localhost"),
        "POSTGRES_PORT": ("port", 5432),
        "POSTGRES_DB": ("database", "tac_webbuilder"),
        "POSTGRES_USER": ("username", "tac_user"),
        "POSTGRES_PASSWORD": ("password", None),
    }[missing]
    assert getattr(url, expected[0]) == expected[1]


def test_a_bad_port_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="POSTGRES_PORT"):
        resolve_database_target(None, {"DB_TYPE": "postgresql", "POSTGRES_PORT": "fivefour"})


@pytest.mark.parametrize("missing", POSTGRES_VARIABLES)
def test_without_db_type_postgresql_needs_all_five(missing, tmp_path):
    partial = {name: value for name, value in ALL_POSTGRES.items() if name != missing}
    assert resolve_database_target(None, partial, cwd=tmp_path).url.startswith("sqlite:///")
    everything = resolve_database_target(None, ALL_POSTGRES, cwd=tmp_path)
    assert everything.url == "postgresql+psycopg://me:secret@db.internal:5433/adw"


def postgres_variables(pg_url: str) -> dict[str, str]:
    url = make_url(pg_url)
    return {
        "POSTGRES_HOST": url.host or "localhost",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_DB": url.database or "",
        "POSTGRES_USER": url.username or "",
        # a server with trust authentication (as .ci/run starts) ignores it, but the host's rule
        # picks PostgreSQL only when all five are set
        "POSTGRES_PASSWORD": url.password or "not-checked-by-trust-auth",
    }


@pytest.mark.parametrize("db_type", ["postgresql", None])
def test_the_host_variables_reach_a_real_server(pg_url, db_type):
    spec_database(pg_url).dispose()
    environ = postgres_variables(pg_url)
    if db_type:
        environ["DB_TYPE"] = db_type
    service = service_for(environ)
    assert service.get_error_summary().total_workflows == 10
    assert service.reader.engine.dialect.name == "postgresql"


def test_the_host_defaults_reach_a_real_server_on_localhost_5432(pg_url):
    variables = postgres_variables(pg_url)
    if (variables["POSTGRES_HOST"], variables["POSTGRES_PORT"]) not in (
        ("localhost", "5432"),
        ("127.0.0.1", "5432"),
    ):
        pytest.skip("the test server is not where the host's defaults point")
    spec_database(pg_url).dispose()
    environ = {
        "DB_TYPE": "postgresql",  # host and port unset: the adapter's localhost:5432
        "POSTGRES_DB": variables["POSTGRES_DB"],
        "POSTGRES_USER": variables["POSTGRES_USER"],
        "POSTGRES_PASSWORD": variables["POSTGRES_PASSWORD"],
    }
    assert service_for(environ).get_error_summary().failed_workflows == 4
