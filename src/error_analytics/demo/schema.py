"""The workflow database as it exists in the wild, for building demo and test databases.

Two layouts (see ``docs/data-contract.md``): ``"spec"`` carries ``failure_reason`` and
``phase_errors``; ``"host"`` carries ``error_message``, ``error_category``,
``error_phase_distribution``, ``retry_reasons`` and a ``task_logs`` table. Both have
``workflow_history`` and ``hook_events``.

The column types reproduce each engine faithfully, because the reader is tested against them:

=============  ====================================  =================================
kind           SQLite                                PostgreSQL
=============  ====================================  =================================
JSON           ``TEXT`` (``json.dumps`` of a value)   ``JSONB``
timestamp      ``TEXT``, two forms (see below)        ``timestamp without time zone``
flag           ``INTEGER`` 0/1                        ``BOOLEAN``
=============  ====================================  =================================

On SQLite a datetime with microseconds is written ``2025-12-10T10:33:03.064774`` (what
Python's ``isoformat()`` writes) and one without is written ``2025-12-10 10:33:03`` (what
``CURRENT_TIMESTAMP`` writes), so the caller picks the form by truncating or not.

The same row dicts insert on both engines. To store something a well-behaved writer never
would, wrap it in :class:`RawValue`: on SQLite the text is stored verbatim (malformed JSON,
``'yesterday'`` as a date); JSONB cannot hold malformed JSON, so on PostgreSQL a raw JSON
value becomes a JSON *string* holding that text, and a raw timestamp is handed to the server
to parse (only use texts PostgreSQL accepts there).
"""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect, Engine

from error_analytics.errors import ConfigurationError

LAYOUTS: tuple[str, ...] = ("spec", "host")
TABLE_NAMES: tuple[str, ...] = ("workflow_history", "task_logs", "hook_events")
RUN_STATUSES: tuple[str, ...] = ("pending", "running", "completed", "failed")
PHASE_STATUSES: tuple[str, ...] = ("started", "completed", "failed", "skipped")
HOOK_EVENT_TYPES: tuple[str, ...] = (
    "PreToolUse",
    "PostToolUse",
    "Stop",
    "SubagentStop",
    "Notification",
    "UserPromptSubmit",
    "PreCompact",
    "SessionStart",
    "SessionEnd",
)


@dataclasses.dataclass(frozen=True, slots=True)
class RawValue:
    """A value stored as given, bypassing JSON encoding / timestamp formatting."""

    text: str


def _json_to_sqlite(value: Any) -> Any:
    if value is None:
        return None
    if type(value) is RawValue:
        return value.text
    return json.dumps(value)


def _timestamp_to_sqlite(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):  # str() is isoformat(" "), without a zero microsecond
        return value.isoformat() if value.microsecond else str(value)
    if isinstance(value, RawValue):
        return value.text
    return str(value)


def _flag_to_sqlite(value: Any) -> Any:
    return None if value is None else int(bool(value))


class JSONValue(sa.types.TypeDecorator[Any]):
    """JSON: ``TEXT`` holding ``json.dumps(value)`` on SQLite, ``JSONB`` on PostgreSQL."""

    impl = sa.Text
    cache_ok = True
    to_sqlite = staticmethod(_json_to_sqlite)

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB(none_as_null=True))
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name != "postgresql":
            return _json_to_sqlite(value)
        # JSONB cannot hold malformed JSON: a raw text becomes a JSON string holding it
        return value.text if isinstance(value, RawValue) else value


class Timestamp(sa.types.TypeDecorator[Any]):
    """Naive timestamp: ``TEXT`` in two forms on SQLite, ``timestamp`` on PostgreSQL."""

    impl = sa.Text
    cache_ok = True
    to_sqlite = staticmethod(_timestamp_to_sqlite)

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=False))
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name != "postgresql":
            return _timestamp_to_sqlite(value)
        return value.text if isinstance(value, RawValue) else value


class Flag(sa.types.TypeDecorator[Any]):
    """A boolean: ``INTEGER`` 0/1 on SQLite (as the host stores it), ``BOOLEAN`` on PostgreSQL."""

    impl = sa.Integer
    cache_ok = True
    to_sqlite = staticmethod(_flag_to_sqlite)

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.Boolean())
        return dialect.type_descriptor(sa.Integer())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name != "postgresql":
            return _flag_to_sqlite(value)
        return None if value is None else bool(value)


def check_layout(layout: str) -> str:
    """``layout`` when it is one of :data:`LAYOUTS`, else a :class:`ConfigurationError`."""
    if layout not in LAYOUTS:
        raise ConfigurationError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
    return layout


def _workflow_history_columns(layout: str) -> list[sa.Column[Any]]:
    columns: list[sa.Column[Any]] = [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("adw_id", sa.Text, nullable=False, unique=True),
        sa.Column("issue_number", sa.Integer),
        sa.Column("workflow_template", sa.Text),
        sa.Column("model_used", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("start_time", Timestamp),
        sa.Column("end_time", Timestamp),
        sa.Column("duration_seconds", sa.Integer),
        sa.Column("current_phase", sa.Text),
        sa.Column("retry_count", sa.Integer, server_default=sa.text("0")),
    ]
    if layout == "spec":
        columns += [
            sa.Column("failure_reason", sa.Text),
            sa.Column("phase_errors", JSONValue),
        ]
    else:
        columns += [
            sa.Column("error_message", sa.Text),
            sa.Column("error_category", sa.Text),
            sa.Column("error_phase_distribution", JSONValue),
            sa.Column("retry_reasons", JSONValue),
            sa.Column("bottleneck_phase", sa.Text),
            sa.Column("recovery_time_seconds", sa.Integer),
        ]
    columns += [
        sa.Column("created_at", Timestamp),
        sa.Column("updated_at", Timestamp),
    ]
    return columns


def _task_logs_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("adw_id", sa.Text, nullable=False, index=True),
        sa.Column("issue_number", sa.Integer),
        sa.Column("workflow_template", sa.Text),
        sa.Column("phase_name", sa.Text),
        sa.Column("phase_number", sa.Integer),
        sa.Column("phase_status", sa.Text),
        sa.Column("log_message", sa.Text),
        sa.Column("error_message", sa.Text),
        sa.Column("started_at", Timestamp),
        sa.Column("completed_at", Timestamp),
        sa.Column("duration_seconds", sa.Float),
        sa.Column("created_at", Timestamp),
        sa.Column("tool_calls", JSONValue),
    ]


def _hook_events_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Text, nullable=False, unique=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("source_app", sa.Text),
        sa.Column("session_id", sa.Text),
        sa.Column("workflow_id", sa.Text, index=True),
        sa.Column("timestamp", Timestamp),
        sa.Column("payload", JSONValue, nullable=False),
        sa.Column("tool_name", sa.Text),
        sa.Column("processed", Flag, server_default=sa.false()),
        sa.Column("created_at", Timestamp),
    ]


def workflow_metadata(layout: str) -> sa.MetaData:
    """Fresh ``MetaData`` holding the tables of ``layout`` (``"spec"`` or ``"host"``)."""
    check_layout(layout)
    metadata = sa.MetaData()
    # AUTOINCREMENT as the host declares it on SQLite (ids are never reused)
    sa.Table(
        "workflow_history", metadata, *_workflow_history_columns(layout), sqlite_autoincrement=True
    )
    if layout == "host":
        sa.Table("task_logs", metadata, *_task_logs_columns(), sqlite_autoincrement=True)
    sa.Table("hook_events", metadata, *_hook_events_columns(), sqlite_autoincrement=True)
    return metadata


def create_workflow_tables(engine: Engine, layout: str) -> sa.MetaData:
    """Create the tables of ``layout`` (if missing) and return their ``MetaData``."""
    metadata = workflow_metadata(layout)
    metadata.create_all(engine)
    return metadata


def _all_columns(table_name: str) -> list[sa.Column[Any]]:
    if table_name == "workflow_history":
        spec = _workflow_history_columns("spec")
        names = {column.name for column in spec}
        return spec + [c for c in _workflow_history_columns("host") if c.name not in names]
    if table_name == "task_logs":
        return _task_logs_columns()
    if table_name == "hook_events":
        return _hook_events_columns()
    raise ConfigurationError(f"unknown table {table_name!r}; expected one of {TABLE_NAMES}")


def insert_rows(engine: Engine, table_name: str, rows: Iterable[Mapping[str, Any]]) -> int:
    """Bulk-insert ``rows`` (dicts keyed by column name) in one executemany; return the count.

    Columns that exist in the database but not in the rows are left to their defaults;
    keys missing from some rows are inserted as NULL. Keys the table lacks are an error.
    """
    rows = [dict(row) for row in rows]
    if not rows:
        return 0
    keys: dict[str, None] = dict.fromkeys(rows[0])
    for row in rows:
        if row.keys() != keys.keys():
            keys.update(dict.fromkeys(row))
    key_list = list(keys)
    present = {c["name"] for c in sa.inspect(engine).get_columns(table_name)}
    unknown = [key for key in key_list if key not in present]
    if unknown:
        raise ConfigurationError(f"table {table_name} has no column(s) {', '.join(unknown)}")
    by_name = {column.name: column for column in _all_columns(table_name)}
    columns = [by_name[key] if key in by_name else sa.Column(key) for key in key_list]
    if engine.dialect.name == "sqlite":
        _insert_sqlite(engine, table_name, columns, rows)
        return len(rows)
    table = sa.Table(table_name, sa.MetaData(), *columns)
    if any(len(row) != len(key_list) for row in rows):
        rows = [{key: row.get(key) for key in key_list} for row in rows]
    with engine.begin() as connection:
        connection.execute(table.insert(), rows)
    return len(rows)


def _insert_sqlite(
    engine: Engine,
    table_name: str,
    columns: list[sa.Column[Any]],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """executemany straight on the driver, values converted column by column: the same
    storage as the column types produce, without SQLAlchemy's per-row bookkeeping."""
    uniform = all(len(row) == len(columns) for row in rows)  # every key in every row
    values_by_column = []
    for column in columns:
        if uniform:
            values = list(map(operator.itemgetter(column.name), rows))
        else:
            values = [row.get(column.name) for row in rows]
        convert = getattr(column.type, "to_sqlite", None)
        values_by_column.append(values if convert is None else list(map(convert, values)))
    quote = engine.dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table_name)} ({', '.join(quote(c.name) for c in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    with engine.begin() as connection:
        connection.exec_driver_sql(sql, list(zip(*values_by_column, strict=False)))
