"""Where the database is: --db, then ERROR_ANALYTICS_DB, then the host's own convention."""

from __future__ import annotations

import pytest

from error_analytics.config import Settings, resolve_database_target, to_sqlalchemy_url
from error_analytics.errors import ConfigurationError

POSTGRES = {
    "POSTGRES_HOST": "db.internal",
    "POSTGRES_PORT": "5433",
    "POSTGRES_DB": "adw",
    "POSTGRES_USER": "me",
    "POSTGRES_PASSWORD": "p@ss word",
}


def test_explicit_option_wins_over_everything():
    target = resolve_database_target("runs.db", {"ERROR_ANALYTICS_DB": "other.db", **POSTGRES})
    assert (target.url, target.origin) == ("sqlite:///runs.db", "--db")


def test_environment_variable_comes_next():
    target = resolve_database_target(
        None, {"ERROR_ANALYTICS_DB": "postgresql://u:p@h/x", **POSTGRES}
    )
    assert (target.url, target.origin) == ("postgresql+psycopg://u:p@h/x", "ERROR_ANALYTICS_DB")


def test_host_postgres_variables_when_all_are_set():
    target = resolve_database_target(None, POSTGRES)
    assert target.url == "postgresql+psycopg://me:p%40ss+word@db.internal:5433/adw"
    assert "p%40ss" not in target.display_url and "***" in target.display_url


def test_host_defaults_to_its_sqlite_file_when_a_postgres_variable_is_missing(tmp_path):
    partial = {key: value for key, value in POSTGRES.items() if key != "POSTGRES_PASSWORD"}
    target = resolve_database_target(None, partial, cwd=tmp_path)
    assert target.url == f"sqlite:///{tmp_path}/app/server/db/database.db"


def test_db_type_sqlite_overrides_postgres_variables(tmp_path):
    target = resolve_database_target(None, {"DB_TYPE": "sqlite", **POSTGRES}, cwd=tmp_path)
    assert target.url == f"sqlite:///{tmp_path}/app/server/db/database.db"


def test_db_type_postgresql_fills_unset_variables_with_the_host_defaults():
    target = resolve_database_target(None, {"DB_TYPE": "postgresql", "POSTGRES_DB": "adw"})
    assert target.url == "postgresql+psycopg://tac_user@localhost:5432/adw"


def test_unknown_db_type_is_an_error():
    with pytest.raises(ConfigurationError, match="DB_TYPE must be"):
        resolve_database_target(None, {"DB_TYPE": "oracle"})


@pytest.mark.parametrize(
    ("value", "url"),
    [
        ("a/b.db", "sqlite:///a/b.db"),
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
    ],
)
def test_paths_and_urls(value, url):
    assert to_sqlalchemy_url(value) == url


def test_state_database_defaults_to_a_file_beside_the_analysed_one():
    settings = Settings(db="runs.db")
    assert settings.state_database_target().url == "sqlite:///runs.error-analytics.db"
    assert (
        Settings(db="runs.db", state_db="state.db").state_database_target().url
        == "sqlite:///state.db"
    )


def test_unknown_time_zone_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="time zone"):
        Settings(timezone="Mars/Olympus").now()
