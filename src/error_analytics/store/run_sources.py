"""Which runs exist: every table that names an ``adw_id``, as one SQL relation.

A run is keyed by ``adw_id`` across the three tables. ``workflow_history`` has a row per run
when the host writes it, but live databases hold runs known only from ``task_logs`` or
``hook_events``; they are runs too. :func:`runs_relation` is a ``UNION ALL`` of

* ``workflow_history``: time = ``created_at``, else ``start_time``; failed by ``status``;
* ``task_logs`` runs without a workflow_history row: time = their earliest task-log timestamp
  (``started_at``, else ``created_at``, else ``completed_at``); failed when a phase failed;
* ``hook_events`` runs known nowhere else, joined by ``workflow_id = 'wf-' || adw_id`` or
  ``source_app = 'adw_wf-' || adw_id``: time = their earliest event. Tool errors happen in
  runs that succeed too, so such a run is not counted as failed; its errors still count.

Each row is ``(adw_id, run_time, is_failed, origin)``; ``run_time`` compares with the window
parameters of :class:`~.workflow_reader.WorkflowReader` (``datetime()`` text on SQLite).
"""

from __future__ import annotations

from .schema_probe import HOOK_TABLE, TASK_LOG_TABLE, WORKFLOW_TABLE, WorkflowSchema

FAILED_STATUSES = ("failed", "error", "failure")
ORIGIN_WORKFLOW = WORKFLOW_TABLE
ORIGIN_TASK_LOGS = TASK_LOG_TABLE
ORIGIN_HOOKS = HOOK_TABLE


def time_expression(columns: list[str], alias: str, *, sqlite: bool) -> str | None:
    """The first non-NULL of ``columns`` as a comparable time; None without columns."""
    if not columns:
        return None
    parts = [f"datetime({alias}.{name})" if sqlite else f"{alias}.{name}" for name in columns]
    return parts[0] if len(parts) == 1 else f"COALESCE({', '.join(parts)})"


def is_failed(alias: str = "w") -> str:
    statuses = ", ".join(f"'{status}'" for status in FAILED_STATUSES)
    return f"LOWER({alias}.status) IN ({statuses})"


def workflow_time(schema: WorkflowSchema, alias: str = "w", *, sqlite: bool) -> str:
    names = [name for name in ("created_at", "start_time") if schema.has(WORKFLOW_TABLE, name)]
    expression = time_expression(names, alias, sqlite=sqlite)
    return expression or "NULL"


def task_log_time(schema: WorkflowSchema, alias: str = "t", *, sqlite: bool) -> str | None:
    names = [
        name
        for name in ("started_at", "created_at", "completed_at")
        if schema.has(TASK_LOG_TABLE, name)
    ]
    return time_expression(names, alias, sqlite=sqlite)


def hook_time(schema: WorkflowSchema, alias: str = "h", *, sqlite: bool) -> str | None:
    names = [name for name in ("timestamp", "created_at") if schema.has(HOOK_TABLE, name)]
    return time_expression(names, alias, sqlite=sqlite)


def runs_relation(schema: WorkflowSchema, *, sqlite: bool, with_hooks: bool = True) -> str:
    """A parenthesised SQL relation of every run: ``(adw_id, run_time, is_failed, origin)``."""
    history = (
        f"SELECT w.adw_id AS adw_id, {workflow_time(schema, sqlite=sqlite)} AS run_time, "
        f"CASE WHEN {is_failed()} THEN 1 ELSE 0 END AS is_failed, '{ORIGIN_WORKFLOW}' AS origin "
        f"FROM {WORKFLOW_TABLE} w"
    )
    others = other_runs_relation(schema, sqlite=sqlite, with_hooks=with_hooks)
    return f"({history})" if others is None else f"({history} UNION ALL SELECT * FROM {others} o)"


def other_runs_relation(
    schema: WorkflowSchema, *, sqlite: bool, with_hooks: bool = True
) -> str | None:
    """The runs without a workflow_history row, as a relation like :func:`runs_relation`'s;
    None when no other table can name runs.

    The other tables are read id first: the distinct run ids (an index scan where there is
    one) without a workflow_history row, and only for those the time and the failure, so a
    database whose runs all have a workflow_history row pays little for the check.
    """
    branches = []
    no_history = f"NOT EXISTS (SELECT 1 FROM {WORKFLOW_TABLE} w WHERE w.adw_id = x.adw_id)"
    task_time = task_log_time(schema, sqlite=sqlite)
    has_task_runs = task_time is not None and schema.has(TASK_LOG_TABLE, "adw_id")
    if has_task_runs:
        failed = (
            f"(SELECT COUNT(*) FROM {TASK_LOG_TABLE} t WHERE t.adw_id = x.adw_id "
            "AND LOWER(t.phase_status) = 'failed') > 0"
            if schema.has(TASK_LOG_TABLE, "phase_status")
            else "1 = 0"
        )
        branches.append(
            f"SELECT x.adw_id AS adw_id, (SELECT MIN({task_time}) FROM {TASK_LOG_TABLE} t "
            f"WHERE t.adw_id = x.adw_id) AS run_time, CASE WHEN {failed} THEN 1 ELSE 0 END "
            f"AS is_failed, '{ORIGIN_TASK_LOGS}' AS origin FROM (SELECT DISTINCT adw_id "
            f"FROM {TASK_LOG_TABLE} WHERE adw_id IS NOT NULL) x WHERE {no_history}"
        )
    hook_branch = None
    if with_hooks:
        unknown = no_history
        if has_task_runs:
            unknown += (
                f" AND NOT EXISTS (SELECT 1 FROM {TASK_LOG_TABLE} t WHERE t.adw_id = x.adw_id)"
            )
        hook_branch = _hook_runs(schema, unknown, sqlite=sqlite)
    if hook_branch is not None:
        branches.append(
            f"SELECT y.adw_id AS adw_id, MIN(y.run_time) AS run_time, 0 AS is_failed, "
            f"'{ORIGIN_HOOKS}' AS origin FROM {hook_branch} y GROUP BY y.adw_id"
        )
    return "(" + " UNION ALL ".join(branches) + ")" if branches else None


def _hook_runs(schema: WorkflowSchema, unknown: str, *, sqlite: bool) -> str | None:
    """Runs that hook events name and ``unknown`` (SQL over ``x.adw_id``) accepts, with their
    earliest event: ``(adw_id, run_time)`` rows, a run possibly twice.

    ``workflow_id = 'wf-<adw_id>'`` first; ``source_app = 'adw_wf-<adw_id>'`` for events whose
    workflow_id does not name a run (the rule of the reader's Python side). Ids are filtered
    before any time is read, so runs known elsewhere cost an index lookup each.
    """
    event_time = hook_time(schema, "h", sqlite=sqlite)
    if event_time is None:
        return None
    parts = []
    has_workflow_id = schema.has(HOOK_TABLE, "workflow_id")
    if has_workflow_id:
        # on SQLite ranges over the (indexed) column; '.' follows '-'
        names_run = (
            "h.workflow_id >= 'wf-' AND h.workflow_id < 'wf.'"
            if sqlite
            else "SUBSTR(h.workflow_id, 1, 3) = 'wf-'"
        )
        parts.append(
            f"SELECT x.adw_id, (SELECT MIN({event_time}) FROM {HOOK_TABLE} h "
            "WHERE h.workflow_id = x.workflow_id) AS run_time "
            f"FROM (SELECT DISTINCT h.workflow_id, SUBSTR(h.workflow_id, 4) AS adw_id "
            f"FROM {HOOK_TABLE} h WHERE {names_run}) x WHERE x.adw_id <> '' AND {unknown}"
        )
    if schema.has(HOOK_TABLE, "source_app"):
        other = ""
        if has_workflow_id:
            other = (
                " AND (h.workflow_id IS NULL OR h.workflow_id < 'wf-' OR h.workflow_id >= 'wf.')"
                if sqlite
                else " AND (h.workflow_id IS NULL OR SUBSTR(h.workflow_id, 1, 3) <> 'wf-')"
            )
        parts.append(
            f"SELECT x.adw_id, x.run_time FROM (SELECT SUBSTR(h.source_app, 8) AS adw_id, "
            f"MIN({event_time}) AS run_time FROM {HOOK_TABLE} h "
            f"WHERE SUBSTR(h.source_app, 1, 7) = 'adw_wf-'{other} GROUP BY h.source_app) x "
            f"WHERE x.adw_id <> '' AND {unknown}"
        )
    return "(" + " UNION ALL ".join(parts) + ")" if parts else None
