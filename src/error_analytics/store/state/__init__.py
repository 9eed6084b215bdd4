"""The toolkit's own state: clusters, their templates, event assignments, review actions.

Tables (all prefixed ``ea_``) are described in :mod:`.tables`; :func:`open_state_engine`
opens the state database for writing; :class:`StateStore` creates/migrates the schema and
runs transactions whose :class:`StateTransaction` reads and writes the rows.

Where the tables live (a file beside a SQLite workflow database, a schema of their own on
PostgreSQL) is :meth:`error_analytics.config.Settings.state_database_target`; tables left in the
analysed database by earlier versions are moved by :mod:`.relocation`, and a hot journal left in
a SQLite file by a killed writer is rolled back by :mod:`.recovery`.
"""

from __future__ import annotations

from .engine import open_state_engine, prepare_state_engine, read_transaction, write_transaction
from .records import (
    REVIEW_FIELDS,
    AlertRecord,
    AssignmentRow,
    ClusterRecord,
    OccurrenceStats,
    TemplateRecord,
    parse_state_value,
    state_json,
)
from .repository import StateStore, StateTransaction
from .schema import SCHEMA_VERSION, ensure_schema
from .tables import STATE_METADATA, STATE_TABLES

__all__ = [
    "REVIEW_FIELDS",
    "SCHEMA_VERSION",
    "STATE_METADATA",
    "STATE_TABLES",
    "AlertRecord",
    "AssignmentRow",
    "ClusterRecord",
    "OccurrenceStats",
    "StateStore",
    "StateTransaction",
    "TemplateRecord",
    "ensure_schema",
    "open_state_engine",
    "parse_state_value",
    "prepare_state_engine",
    "read_transaction",
    "state_json",
    "write_transaction",
]
