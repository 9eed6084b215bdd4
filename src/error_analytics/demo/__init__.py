"""Demo and test databases: the workflow schema of both layouts and a realistic generator.

``build_demo_database`` writes a database the toolkit can be pointed at; ``schema`` exposes
the tables so tests can insert their own (also deliberately broken) rows on SQLite and
PostgreSQL.
"""

from error_analytics.demo.generator import (
    DEFAULT_DEMO_FILENAME,
    DEMO_DB_ENV,
    DemoInfo,
    add_days_of_runs,
    build_demo_database,
    default_demo_path,
    ensure_demo_database,
)
from error_analytics.demo.messages import CATALOGUE, MessageTemplate
from error_analytics.demo.schema import (
    LAYOUTS,
    RawValue,
    create_workflow_tables,
    insert_rows,
    workflow_metadata,
)

__all__ = [
    "CATALOGUE",
    "DEFAULT_DEMO_FILENAME",
    "DEMO_DB_ENV",
    "LAYOUTS",
    "DemoInfo",
    "MessageTemplate",
    "RawValue",
    "add_days_of_runs",
    "build_demo_database",
    "create_workflow_tables",
    "default_demo_path",
    "ensure_demo_database",
    "insert_rows",
    "workflow_metadata",
]
