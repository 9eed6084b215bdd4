"""Creating and migrating the state tables, with a schema version.

:func:`ensure_schema` is idempotent and safe to call from several processes at once: it
creates missing ``ea_`` tables, records :data:`SCHEMA_VERSION` in ``ea_schema_version`` and
applies the migration steps between the recorded version and this one, all in one write
transaction (serialised by an advisory lock on PostgreSQL, by ``BEGIN IMMEDIATE`` on SQLite).

Adding a migration: bump :data:`SCHEMA_VERSION`, change :mod:`.tables`, and register the step
in :data:`MIGRATIONS` under the new version. ``create_all`` runs first and creates new
*tables* of the new version, so a step only alters tables that already existed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ...errors import DatabaseError
from .engine import read_transaction, write_transaction
from .tables import STATE_METADATA, schema_version

SCHEMA_VERSION = 1
SCHEMA_COMPONENT = "schema"
#: new version -> the step that migrates a state at ``new version - 1`` to it
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}


def ensure_schema(engine: Engine, now: datetime | None = None) -> int:
    """Create or migrate the state tables; return the schema version now in place."""
    now = now or datetime.now().replace(microsecond=0)
    if _recorded_version(engine) == SCHEMA_VERSION:
        return SCHEMA_VERSION
    try:
        with write_transaction(engine, lock="schema") as connection:
            STATE_METADATA.create_all(connection, checkfirst=True)
            current = read_component(connection, SCHEMA_COMPONENT)
            if current is None:
                write_component(connection, SCHEMA_COMPONENT, str(SCHEMA_VERSION), now)
                return SCHEMA_VERSION
            recorded = int(current)
            if recorded > SCHEMA_VERSION:
                raise DatabaseError(
                    f"the state tables are at schema version {recorded}, newer than this version of "
                    f"error-analytics supports ({SCHEMA_VERSION}); upgrade error-analytics"
                )
            for version in range(recorded + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](connection)
                write_component(connection, SCHEMA_COMPONENT, str(version), now)
    except sa.exc.SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise DatabaseError(
            f"cannot create the state tables in {where}: {reason} "
            "(give the user CREATE rights, or keep the state elsewhere with --state-db)"
        ) from exc
    return SCHEMA_VERSION


def _recorded_version(engine: Engine) -> int | None:
    """The recorded schema version, without taking a write lock; None when not set up."""
    if not sa.inspect(engine).has_table(schema_version.name):
        return None
    with read_transaction(engine) as connection:
        value = read_component(connection, SCHEMA_COMPONENT)
    return int(value) if value is not None else None


def read_component(connection: Connection, component: str) -> str | None:
    """The version recorded for ``component`` (``schema``, ``identity``, ...)."""
    return connection.execute(
        sa.select(schema_version.c.version).where(schema_version.c.component == component)
    ).scalar()


def write_component(connection: Connection, component: str, version: str, now: datetime) -> None:
    updated = connection.execute(
        schema_version.update()
        .where(schema_version.c.component == component)
        .values(version=version, updated_at=now)
    )
    if updated.rowcount == 0:
        connection.execute(
            schema_version.insert().values(component=component, version=version, updated_at=now)
        )
