"""Which tables and columns the workflow database has, and so which layout it is."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..errors import SchemaError

WORKFLOW_TABLE = "workflow_history"
TASK_LOG_TABLE = "task_logs"
HOOK_TABLE = "hook_events"

SPEC_ERROR_COLUMNS = ("failure_reason", "phase_errors")
HOST_ERROR_COLUMNS = ("error_message", "error_phase_distribution")
REQUIRED_WORKFLOW_COLUMNS = ("adw_id", "status")


@dataclasses.dataclass(frozen=True, slots=True)
class WorkflowSchema:
    """Columns present per table (lower-case names); absent tables map to an empty set."""

    engine_name: str  # "sqlite" | "postgresql" | ...
    table_columns: dict[str, frozenset[str]]

    def has(self, table: str, column: str | None = None) -> bool:
        columns = self.table_columns.get(table, frozenset())
        return bool(columns) if column is None else column in columns

    def columns(self, table: str) -> frozenset[str]:
        return self.table_columns.get(table, frozenset())

    @property
    def layout(self) -> str:
        spec = any(self.has(WORKFLOW_TABLE, name) for name in SPEC_ERROR_COLUMNS)
        host = any(self.has(WORKFLOW_TABLE, name) for name in HOST_ERROR_COLUMNS)
        if spec and host:
            return "mixed"
        return "spec" if spec else "host" if host else "minimal"

    @property
    def text_column(self) -> str | None:
        """The free-text failure column of workflow_history."""
        for name in ("failure_reason", "error_message"):
            if self.has(WORKFLOW_TABLE, name):
                return name
        return None

    @property
    def phase_json_columns(self) -> list[str]:
        return [
            name
            for name in ("phase_errors", "error_phase_distribution")
            if self.has(WORKFLOW_TABLE, name)
        ]

    def missing(self) -> list[str]:
        """Optional tables/columns that are absent, for the data-quality report."""
        notes = []
        for table in (TASK_LOG_TABLE, HOOK_TABLE):
            if not self.has(table):
                notes.append(f"table {table}")
        for column in (
            "created_at",
            "start_time",
            "current_phase",
            "workflow_template",
            "model_used",
        ):
            if not self.has(WORKFLOW_TABLE, column):
                notes.append(f"column {WORKFLOW_TABLE}.{column}")
        if self.text_column is None:
            notes.append(f"error text column ({' or '.join(('failure_reason', 'error_message'))})")
        return notes


def probe_schema(engine: Engine) -> WorkflowSchema:
    """Inspect the database; raise :class:`SchemaError` when workflow_history is unusable."""
    inspector = sa.inspect(engine)
    table_columns: dict[str, frozenset[str]] = {}
    existing = {name.lower(): name for name in inspector.get_table_names()}
    for table in (WORKFLOW_TABLE, TASK_LOG_TABLE, HOOK_TABLE):
        if table in existing:
            names = {column["name"].lower() for column in inspector.get_columns(existing[table])}
            table_columns[table] = frozenset(names)
    schema = WorkflowSchema(engine_name=engine.dialect.name, table_columns=table_columns)
    if not schema.has(WORKFLOW_TABLE):
        raise SchemaError(
            f"no {WORKFLOW_TABLE} table in this database (tables: {', '.join(sorted(existing)) or 'none'})"
        )
    missing = [name for name in REQUIRED_WORKFLOW_COLUMNS if not schema.has(WORKFLOW_TABLE, name)]
    if missing:
        raise SchemaError(f"{WORKFLOW_TABLE} lacks required column(s): {', '.join(missing)}")
    if not (schema.has(WORKFLOW_TABLE, "created_at") or schema.has(WORKFLOW_TABLE, "start_time")):
        raise SchemaError(
            f"{WORKFLOW_TABLE} has neither created_at nor start_time: no way to place runs in time"
        )
    return schema
