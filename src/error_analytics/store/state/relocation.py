"""Moving ``ea_*`` tables out of the place earlier versions kept them.

Earlier versions created the state tables in the analysed database itself: in the default
(``public``) schema on PostgreSQL, in the analysed file on SQLite. The state now lives in a
schema of its own, or in a file beside the analysed one (:class:`~error_analytics.config.
StateTarget`). The first time a new, empty state is set up, the old tables' rows are copied into
it inside the set-up transaction, so the move is all or nothing; then, only if we are allowed
to, the old ``ea_*`` tables are dropped. Nothing but the tables of :data:`.tables.STATE_TABLES`
is ever read or dropped there.

* PostgreSQL: the old and the new place are schemas of one database, so the copy and the drop
  run in the same transaction (the drop in a savepoint: a role that does not own the old tables
  keeps them, and the copy still commits).
* SQLite: two files. The copy commits in the new file with the ``relocation`` component set to
  ``pending``; then the old tables are dropped in the old file and the component is set to
  ``done`` (or ``kept`` when the old file cannot be written). A process killed in between
  leaves ``pending``, and the next set-up finishes the drop.

Tables left by earlier versions are at schema version 1; columns are copied by name, so a row
keeps every column both layouts have.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from ...config import DatabaseTarget, StateTarget
from ..engine import open_engine
from .engine import write_transaction
from .tables import (
    STATE_METADATA,
    STATE_TABLES,
    clusters,
    review_actions,
    schema_version,
    write_component,
)

logger = logging.getLogger("error_analytics.state")

RELOCATION_COMPONENT = "relocation"
PENDING, DONE, KEPT = "pending", "done", "kept"
_CHUNK = 1000
#: How long dropping the old tables waits for another writer of the old SQLite file (seconds).
DROP_BUSY_TIMEOUT_S = 2.0
_STATE_NAMES = frozenset(table.name for table in STATE_TABLES)


@dataclasses.dataclass(frozen=True, slots=True)
class Relocation:
    """What a move copied (table name -> rows), where from, and what became of the old tables:
    ``done`` (dropped), ``kept`` (not ours to drop) or ``pending`` (dropped after the commit)."""

    source: str
    table_to_rows: dict[str, int]
    outcome: str
    kept_because: str = ""  # why the old tables were kept, for the note after the commit

    def summary(self) -> str:
        return (
            f"{self.table_to_rows.get(clusters.name, 0)} clusters, "
            f"{self.table_to_rows.get(review_actions.name, 0)} review actions"
        )


def move_old_tables(
    connection: Connection, target: StateTarget | None, schema: str | None
) -> Relocation | None:
    """Copy the old place's ``ea_*`` rows into the (new, empty) state on ``connection``.

    Returns None when there is nothing to move. On PostgreSQL the old tables are also dropped
    (when allowed); on SQLite :func:`finish_move` drops them after the commit.
    """
    if target is None or target.moved_from is None:
        return None
    if connection.dialect.name == "postgresql":
        return _move_schema(connection, schema)
    if connection.dialect.name == "sqlite":
        return _move_file(connection, target)
    return None


def _move_schema(connection: Connection, schema: str | None) -> Relocation | None:
    if schema is None:
        return None
    old_schema = connection.execute(
        sa.text("SELECT s FROM unnest(current_schemas(false)) AS s WHERE s <> :new LIMIT 1"),
        {"new": schema},
    ).scalar()
    if old_schema is None:
        return None
    old_columns = _old_columns(connection, old_schema)
    if schema_version.name not in old_columns:
        return None
    quote = connection.dialect.identifier_preparer.quote
    table_to_rows: dict[str, int] = {}
    for table in STATE_METADATA.sorted_tables:
        columns = [
            column.name
            for column in table.columns
            if column.name in old_columns.get(table.name, ())
        ]
        if not columns:
            continue
        names = ", ".join(quote(name) for name in columns)
        moved = connection.execute(
            sa.text(
                f"INSERT INTO {quote(schema)}.{quote(table.name)} ({names}) "
                f"SELECT {names} FROM {quote(old_schema)}.{quote(table.name)}"
            )
        )
        table_to_rows[table.name] = moved.rowcount
        if table.autoincrement_column is not None:
            column = table.autoincrement_column.name
            qualified = f"{quote(schema)}.{quote(table.name)}"
            connection.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                    f"COALESCE((SELECT MAX({quote(column)}) FROM {qualified}), 0) + 1, false)"
                ),
                {"table": qualified, "column": column},
            )
    source = f"schema {old_schema!r}"
    savepoint = connection.begin_nested()
    try:
        for table in reversed(STATE_METADATA.sorted_tables):
            if table.name in old_columns:
                connection.execute(sa.text(f"DROP TABLE {quote(old_schema)}.{quote(table.name)}"))
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        return Relocation(source, table_to_rows, KEPT, _reason(exc))
    savepoint.commit()
    return Relocation(source, table_to_rows, DONE)


def _old_columns(connection: Connection, old_schema: str | None) -> dict[str, set[str]]:
    """State table name -> its column names, for the state tables present in the old place."""
    inspector = sa.inspect(connection)
    present = _STATE_NAMES.intersection(inspector.get_table_names(schema=old_schema))
    return {
        name: {column["name"] for column in inspector.get_columns(name, schema=old_schema)}
        for name in present
    }


def _move_file(connection: Connection, target: StateTarget) -> Relocation | None:
    old_url = target.moved_from
    if old_url is None or _same_file(old_url, target.url):
        return None
    old_path = make_url(old_url).database
    if not old_path or not Path(old_path).is_file():
        return None
    old_engine = open_engine(DatabaseTarget(old_url, "old state location"))
    try:
        with old_engine.connect() as old:
            old_columns = _old_columns(old, None)
            if schema_version.name not in old_columns:
                return None
            table_to_rows: dict[str, int] = {}
            for table in STATE_METADATA.sorted_tables:
                columns = [
                    column
                    for column in table.columns
                    if column.name in old_columns.get(table.name, ())
                ]
                if not columns:
                    continue
                rows = old.execute(sa.select(*columns)).mappings()
                count = 0
                while chunk := rows.fetchmany(_CHUNK):
                    connection.execute(table.insert(), [dict(row) for row in chunk])
                    count += len(chunk)
                table_to_rows[table.name] = count
    finally:
        old_engine.dispose()
    return Relocation(old_path, table_to_rows, PENDING)


def finish_move(target: StateTarget | None, state_engine: Engine, now: datetime) -> str:
    """Drop the old SQLite file's ``ea_*`` tables after a committed copy; return the outcome.

    A file another process is writing stays ``pending`` (retried by the next set-up); a file
    we may not write is ``kept``. Either way the copied state is already in use.
    """

    old_path = make_url(target.moved_from).database if target and target.moved_from else None
    outcome = DONE
    if old_path and Path(old_path).is_file():
        try:
            _drop_state_tables(Path(old_path))
        except sqlite3.Error as exc:
            busy = "locked" in str(exc).lower() or "busy" in str(exc).lower()
            outcome = PENDING if busy else KEPT
            if not busy:
                warn_kept(old_path, _reason(exc))
    with write_transaction(state_engine) as connection:
        write_component(connection, RELOCATION_COMPONENT, outcome, now)
    return outcome


def _drop_state_tables(path: Path) -> None:
    """Drop the ``ea_*`` tables of the SQLite file ``path`` in one short write transaction."""
    connection = sqlite3.connect(path, timeout=DROP_BUSY_TIMEOUT_S, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            present = {
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            }
            for table in reversed(STATE_METADATA.sorted_tables):
                if table.name in present:
                    connection.execute(f'DROP TABLE "{table.name}"')
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
    finally:
        connection.close()


def warn_kept(source: str, reason: str) -> None:
    logger.warning(
        "Note: the review state was copied out of %s, but its old ea_* tables could not be "
        "dropped there (%s); they are no longer used and their owner may drop them",
        source,
        reason,
    )


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _same_file(first: str | None, second: str) -> bool:
    if first is None:
        return True
    one, two = make_url(first).database, make_url(second).database
    if not one or not two:
        return True
    return Path(one).resolve() == Path(two).resolve()
