"""The state tables: created and versioned automatically, prefixed ``ea_``, on both engines."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
import sqlalchemy as sa

from error_analytics.config import DatabaseTarget
from error_analytics.errors import DatabaseError
from error_analytics.store.state import (
    SCHEMA_VERSION,
    STATE_TABLES,
    StateStore,
    ensure_schema,
    open_state_engine,
)
from error_analytics.store.state.schema import MIGRATIONS
from error_analytics.store.state.tables import schema_version


def engine_for(url: str) -> sa.Engine:
    return open_state_engine(DatabaseTarget(url, "test"))


def recorded_version(engine: sa.Engine) -> str:
    with engine.connect() as connection:
        return connection.execute(
            sa.select(schema_version.c.version).where(schema_version.c.component == "schema")
        ).scalar_one()


def test_every_state_table_is_prefixed():
    assert all(table.name.startswith("ea_") for table in STATE_TABLES)


def test_schema_is_created_once_and_versioned(db_url):
    engine = engine_for(db_url)
    assert ensure_schema(engine) == SCHEMA_VERSION
    assert ensure_schema(engine) == SCHEMA_VERSION
    tables = set(sa.inspect(engine).get_table_names())
    assert {table.name for table in STATE_TABLES} <= tables
    assert recorded_version(engine) == str(SCHEMA_VERSION)
    engine.dispose()


def test_schema_set_up_by_several_processes_at_once(db_url):
    engines = [engine_for(db_url) for _ in range(3)]
    errors: list[Exception] = []

    def set_up(engine: sa.Engine) -> None:
        try:
            ensure_schema(engine)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=set_up, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert recorded_version(engines[0]) == str(SCHEMA_VERSION)
    for engine in engines:
        engine.dispose()


def test_a_migration_step_runs_once_and_is_recorded(sqlite_url, monkeypatch):
    engine = engine_for(sqlite_url)
    ensure_schema(engine)
    calls: list[int] = []

    def add_column(connection) -> None:
        calls.append(1)
        connection.execute(sa.text("ALTER TABLE ea_clusters ADD COLUMN note TEXT"))

    monkeypatch.setattr("error_analytics.store.state.schema.SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(MIGRATIONS, SCHEMA_VERSION + 1, add_column)
    ensure_schema(engine)
    ensure_schema(engine)
    assert calls == [1]
    assert recorded_version(engine) == str(SCHEMA_VERSION + 1)
    assert "note" in {column["name"] for column in sa.inspect(engine).get_columns("ea_clusters")}
    engine.dispose()


def test_a_newer_state_schema_is_refused(sqlite_url):
    engine = engine_for(sqlite_url)
    ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(schema_version.update().values(version=str(SCHEMA_VERSION + 5)))
    with pytest.raises(DatabaseError, match="newer"):
        ensure_schema(engine)
    engine.dispose()


def test_store_transactions_roll_back_on_error(db_url):
    store = StateStore(engine_for(db_url))

    class Boom(Exception):
        pass

    with pytest.raises(Boom), store.write() as tx:
        tx.set_component_version("probe", "1", datetime(2026, 1, 1))
        raise Boom
    with store.read() as tx:
        assert tx.component_version("probe") is None
    store.engine.dispose()


def test_a_plain_engine_is_prepared_for_state_transactions(sqlite_url):
    """The HTTP layer may hand over an engine from ``open_engine(..., read_only=False)``."""
    from error_analytics.store.engine import open_engine

    store = StateStore(open_engine(DatabaseTarget(sqlite_url, "test"), read_only=False))
    with store.write() as tx:
        tx.set_component_version("probe", "2", datetime(2026, 1, 1))
    with store.read() as tx:
        assert tx.component_version("probe") == "2"
    store.engine.dispose()
