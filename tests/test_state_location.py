"""Where the state lives: beside the SQLite file, in a schema of its own on PostgreSQL.

Tables an earlier version left in the analysed database are moved on first use with every
decision kept, and a PostgreSQL role that may not create anything still gets its analysis,
without state and with one note.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from error_analytics.cli import main
from error_analytics.config import Settings, settings_from_environ
from error_analytics.review import ClusterReviewService
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.engine import open_engine
from error_analytics.store.state import STATE_TABLES, open_state_engine
from error_analytics.store.workflow_reader import WorkflowReader

from .test_review_helpers import (
    ANALYSED_TABLES,
    NOW,
    Clock,
    analysed_fingerprint,
    cluster_with,
    review_service,
    scenario,
)

STATE_NAMES = {table.name for table in STATE_TABLES}


def located_service(settings: Settings, clock: Clock) -> ClusterReviewService:
    """A review service whose state goes wherever ``settings`` put it by default."""
    return ErrorAnalyticsService(
        WorkflowReader(open_engine(settings.database_target())),
        clock=clock,
        state_engine=open_state_engine(settings.state_database_target()),
    ).review


def tables_in(url: str, schema: str | None = None) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names(schema=schema))
    finally:
        engine.dispose()


def reviewed_state(service: ClusterReviewService) -> tuple[set[tuple[str, str, str]], list]:
    """(id, name, status) of every cluster, and the audit log as (id, action, cluster, actor)."""
    clusters = {(c.id, c.name, c.status) for c in service.list_clusters(limit=1000).items}
    log = [(e.id, e.action, e.cluster_id, e.actor) for e in service.audit_log(limit=1000)]
    return clusters, log


def make_decisions(service: ClusterReviewService) -> None:
    service.refresh(30)
    service.rename(cluster_with(service, "ECONNREFUSED"), "Database down", actor="alice")
    service.accept(cluster_with(service, "rate limit"), actor="bob")


def test_sqlite_state_goes_to_a_file_beside_the_analysed_one(sqlite_url):
    scenario(sqlite_url)
    before = analysed_fingerprint(sqlite_url)
    service = located_service(Settings(db=sqlite_url), Clock())
    make_decisions(service)
    analysed = Path(make_url(sqlite_url).database)
    beside = analysed.with_name(analysed.stem + ".error-analytics.db")
    assert STATE_NAMES <= tables_in(f"sqlite:///{beside}")
    assert not STATE_NAMES & tables_in(sqlite_url)
    assert analysed_fingerprint(sqlite_url) == before


def test_postgresql_state_goes_to_its_own_schema(pg_url):
    scenario(pg_url)
    before = analysed_fingerprint(pg_url)
    make_decisions(located_service(Settings(db=pg_url), Clock()))
    assert STATE_NAMES <= tables_in(pg_url, "error_analytics")
    assert not STATE_NAMES & tables_in(pg_url, "public")
    assert analysed_fingerprint(pg_url) == before


def test_the_state_schema_is_a_setting(pg_url):
    scenario(pg_url)
    settings = settings_from_environ(
        {"ERROR_ANALYTICS_DB": pg_url, "ERROR_ANALYTICS_STATE_SCHEMA": "triage"}
    )
    make_decisions(located_service(settings, Clock()))
    assert STATE_NAMES <= tables_in(pg_url, "triage")
    assert not STATE_NAMES & tables_in(pg_url, "error_analytics")


def test_a_state_schema_that_is_not_an_identifier_is_refused():
    from error_analytics.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="ERROR_ANALYTICS_STATE_SCHEMA"):
        Settings(db="postgresql://u@h/d", state_schema='x"; DROP TABLE y').state_database_target()


def test_old_state_in_the_analysed_database_is_moved_with_its_decisions(db_url, caplog):
    scenario(db_url)
    clock = Clock()
    old = review_service(db_url, clock)  # how earlier versions kept it: in the analysed database
    make_decisions(old)
    expected_clusters, expected_log = reviewed_state(old)
    old.store.engine.dispose()
    before = analysed_fingerprint(db_url)
    assert STATE_NAMES <= tables_in(db_url)

    with caplog.at_level(logging.WARNING, logger="error_analytics.state"):
        moved = located_service(Settings(db=db_url), clock)
        clusters, log = reviewed_state(moved)
    assert (clusters, log) == (expected_clusters, expected_log)
    assert ("Database down", "reviewed") in {(name, status) for _, name, status in clusters}
    assert sum("moved the review state" in r.getMessage() for r in caplog.records) == 1

    assert not STATE_NAMES & tables_in(db_url)  # the old tables are gone ...
    assert set(ANALYSED_TABLES) & tables_in(db_url)  # ... the host's are not
    assert analysed_fingerprint(db_url) == before
    # New decisions continue the moved audit log (PostgreSQL sequences follow the copied ids).
    moved.accept(cluster_with(moved, "Phase failed"), actor="carol")
    newest = moved.audit_log(limit=1)[0]
    assert newest.id == max(entry[0] for entry in expected_log) + 1
    # A second service finds the moved state and moves nothing again.
    again = located_service(Settings(db=db_url), clock)
    assert reviewed_state(again)[0] == reviewed_state(moved)[0]


@pytest.fixture
def role(pg_url) -> Iterator[tuple[str, str]]:
    """A login role (name, its URL on the test database), dropped after the test."""
    name = f"ea_role_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    database = make_url(pg_url).database
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE ROLE {name} LOGIN PASSWORD 'secret'"))
        connection.execute(sa.text(f'GRANT CONNECT ON DATABASE "{database}" TO {name}'))
    url = make_url(pg_url).set(username=name, password="secret")
    try:
        yield name, url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :n"
                ),
                {"n": name},
            )
            connection.execute(sa.text(f"DROP OWNED BY {name}"))
            connection.execute(sa.text(f"DROP ROLE {name}"))
        admin.dispose()


def grant(pg_url: str, *statements: str) -> None:
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
    finally:
        admin.dispose()


def test_a_role_that_may_not_create_anything_gets_the_analysis_and_one_note(
    pg_url, role, capsys, monkeypatch
):
    name, role_url = role
    monkeypatch.setattr("error_analytics.config.Settings.now", lambda self: NOW)
    scenario(pg_url)
    assert not STATE_NAMES & tables_in(pg_url)  # public holds the workflow tables only
    grant(pg_url, f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {name}")
    before = analysed_fingerprint(pg_url)

    code = main(["--db", role_url, "--cluster", "--summary", "--json", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    views = json.loads(captured.out)
    assert views["clusters"] and views["summary"]["failed_workflows"] > 0
    notes = [line for line in captured.err.splitlines() if line.strip()]
    assert len(notes) == 1 and notes[0].startswith("Note:") and "state" in notes[0]
    assert "schema 'error_analytics'" in notes[0] and "permission denied" in notes[0]
    assert "secret" not in captured.err
    # Nothing was created anywhere, and the analysed rows are as they were.
    assert "error_analytics" not in sa.inspect(sa.create_engine(pg_url)).get_schema_names()
    assert not STATE_NAMES & tables_in(pg_url)
    assert analysed_fingerprint(pg_url) == before


def test_old_tables_a_role_may_not_drop_are_copied_and_kept(pg_url, role, caplog):
    name, role_url = role
    scenario(pg_url)
    clock = Clock()
    old = review_service(pg_url, clock)  # created by the owner, in public
    make_decisions(old)
    expected_clusters, _ = reviewed_state(old)
    old.store.engine.dispose()
    database = make_url(pg_url).database
    grant(
        pg_url,
        f'GRANT CREATE ON DATABASE "{database}" TO {name}',
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {name}",  # workflow and old ea_* tables
    )

    with caplog.at_level(logging.WARNING, logger="error_analytics.state"):
        moved = located_service(Settings(db=role_url), clock)
        assert reviewed_state(moved)[0] == expected_clusters
    messages = [record.getMessage() for record in caplog.records]
    assert any("could not be dropped" in message for message in messages)
    assert STATE_NAMES <= tables_in(pg_url, "public")  # not ours to drop: kept
    assert STATE_NAMES <= tables_in(pg_url, "error_analytics")
    moved.rename(cluster_with(moved, "ECONNREFUSED"), "Still down", actor="dave")
    assert "Still down" in {c.name for c in moved.list_clusters(limit=1000).items}
