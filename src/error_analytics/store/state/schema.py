"""Creating and migrating the state tables, with a schema version.

:func:`ensure_schema` is idempotent and safe to call from several processes at once: it
creates missing ``ea_`` tables, records :data:`SCHEMA_VERSION` in ``ea_schema_version`` and
applies the migration steps between the recorded version and this one, all in one write
transaction (serialised by an advisory lock on PostgreSQL, by ``BEGIN IMMEDIATE`` on SQLite).

Adding a migration: bump :data:`SCHEMA_VERSION`, change :mod:`.tables`, and register the step
in :data:`MIGRATIONS` under the new version. ``create_all`` runs first and creates new
*tables* of the new version, so a step only alters tables that already existed.

Where: on an engine opened for a :class:`~error_analytics.config.StateTarget`, the target's
PostgreSQL schema is created when missing, and a new, empty state first takes over the tables
an earlier version left in the old place (:mod:`.relocation`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ...errors import DatabaseError
from .engine import read_transaction, state_schema, state_target, write_transaction
from .relocation import (
    PENDING,
    RELOCATION_COMPONENT,
    finish_move,
    logger,
    move_old_tables,
    warn_kept,
)
from .tables import (
    STATE_METADATA,
    alerts,
    event_assignments,
    ingest_marks,
    ingested_runs,
    schema_version,
    write_component,
)

SCHEMA_VERSION = 4
SCHEMA_COMPONENT = "schema"


def _add_event_tags(connection: Connection) -> None:
    """Version 2: each recorded error event keeps its run's workflow template and model (what a
    cluster's breakdown compares). Rows recorded before get NULL until a refresh re-reads them.
    Idempotent: tables moved from an old place were created at this version already."""
    _add_columns(
        connection,
        event_assignments,
        [event_assignments.c.workflow_template, event_assignments.c.model],
    )


def _add_columns(connection: Connection, target: sa.Table, columns: list[sa.Column]) -> None:
    """``ALTER TABLE ... ADD COLUMN`` for each of ``columns`` that ``target`` lacks."""
    schema = (connection.get_execution_options().get("schema_translate_map") or {}).get(None)
    existing = {
        column["name"] for column in sa.inspect(connection).get_columns(target.name, schema=schema)
    }
    preparer = connection.dialect.identifier_preparer
    table = preparer.quote(target.name)
    if schema is not None:
        table = f"{preparer.quote_schema(schema)}.{table}"
    for column in columns:
        if column.name not in existing:
            kind = column.type.compile(dialect=connection.dialect)
            connection.execute(
                sa.text(f"ALTER TABLE {table} ADD COLUMN {preparer.quote(column.name)} {kind}")
            )


def _add_alerts(connection: Connection) -> None:
    """Version 3: the ``ea_alerts`` table (webhook events and their delivery). ``create_all``
    has created it already in the same transaction; this step states it and stays idempotent."""
    alerts.create(connection, checkfirst=True)


def _add_error_index(connection: Connection) -> None:
    """Version 4: the index of errors. ``ea_runs``, ``ea_messages`` and ``ea_ingest_marks`` are
    new (``create_all`` made them); ``ea_event_assignments`` gains ``sources`` and the indexes
    ingestion reads by. With no watermark recorded, the next pass reads every run again and
    replaces each run's rows (keeping when each error was first seen)."""
    _add_columns(connection, event_assignments, [event_assignments.c.sources])
    for index in event_assignments.indexes:
        index.create(connection, checkfirst=True)
    # read every run again (a state migrated from before keeps rows without what is new)
    connection.execute(ingest_marks.delete())
    connection.execute(ingested_runs.delete())


#: new version -> the step that migrates a state at ``new version - 1`` to it
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    2: _add_event_tags,
    3: _add_alerts,
    4: _add_error_index,
}


def ensure_schema(engine: Engine, now: datetime | None = None) -> int:
    """Create or migrate the state tables; return the schema version now in place."""
    now = now or datetime.now().replace(microsecond=0)
    target, schema = state_target(engine), state_schema(engine)
    recorded, relocation = _recorded_version(engine, schema)
    if recorded == SCHEMA_VERSION:
        if relocation == PENDING:
            finish_move(target, engine, now)
        return SCHEMA_VERSION
    moved = None
    try:
        with write_transaction(engine, lock="schema") as connection:
            if schema is not None and not sa.inspect(connection).has_schema(schema):
                quoted = connection.dialect.identifier_preparer.quote_schema(schema)
                connection.execute(sa.text(f"CREATE SCHEMA {quoted}"))
            STATE_METADATA.create_all(connection, checkfirst=True)
            current = read_component(connection, SCHEMA_COMPONENT)
            if current is None:
                moved = move_old_tables(connection, target, schema)
                current = read_component(connection, SCHEMA_COMPONENT)
                if moved is not None:
                    write_component(connection, RELOCATION_COMPONENT, moved.outcome, now)
            if current is None:
                write_component(connection, SCHEMA_COMPONENT, str(SCHEMA_VERSION), now)
                current = str(SCHEMA_VERSION)
            recorded = int(current)
            if recorded > SCHEMA_VERSION:
                raise DatabaseError(
                    f"the state tables are at schema version {recorded}, newer than this version of "
                    f"error-analytics supports ({SCHEMA_VERSION}); upgrade error-analytics"
                )
            for version in range(recorded + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](connection)
                write_component(connection, SCHEMA_COMPONENT, str(version), now)
    except (sa.exc.SQLAlchemyError, DatabaseError) as exc:
        failure = exc.__cause__ if isinstance(exc, DatabaseError) else exc
        if not isinstance(failure, sa.exc.SQLAlchemyError):
            raise
        where = engine.url.render_as_string(hide_password=True)
        where += f" (schema {schema!r})" if schema else ""
        reason = str(getattr(failure, "orig", failure)).strip().splitlines()[0]
        raise DatabaseError(
            f"cannot create the state tables in {where}: {reason}; "
            "the user needs CREATE rights there, or the state another place (--state-db)"
        ) from exc
    if moved is not None:
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        where = database or engine.url.render_as_string(hide_password=True)
        where += f" (schema {schema!r})" if schema else ""
        logger.warning(
            "Note: moved the review state (%s) from %s to %s", moved.summary(), moved.source, where
        )
        if moved.kept_because:
            warn_kept(moved.source, moved.kept_because)
        if moved.outcome == PENDING:
            finish_move(target, engine, now)
    return SCHEMA_VERSION


def _recorded_version(engine: Engine, schema: str | None) -> tuple[int | None, str | None]:
    """The recorded schema version and relocation state, without a write lock (None: not set)."""
    if not sa.inspect(engine).has_table(schema_version.name, schema=schema):
        return None, None
    with read_transaction(engine) as connection:
        value = read_component(connection, SCHEMA_COMPONENT)
        relocation = read_component(connection, RELOCATION_COMPONENT)
    return (int(value) if value is not None else None), relocation


def read_component(connection: Connection, component: str) -> str | None:
    """The version recorded for ``component`` (``schema``, ``identity``, ...)."""
    return connection.execute(
        sa.select(schema_version.c.version).where(schema_version.c.component == component)
    ).scalar()
