"""The toolkit's own tables, as SQLAlchemy Core metadata.

Every name starts with ``ea_`` so the tables can live beside the analysed ``workflow_history``,
``task_logs`` and ``hook_events`` without ever colliding with them. The analysed tables are
never written; these are the only tables the toolkit creates or changes.

=========================  ==========================================================
table                      one row per
=========================  ==========================================================
``ea_schema_version``      versioned component (``schema``, ``identity``)
``ea_clusters``            cluster, with its review state and optimistic ``version``
``ea_cluster_templates``   template fingerprint -> the cluster it belongs to
``ea_event_assignments``   error event (run, source, phase, message hash) -> fingerprint,
                           with the run's workflow template and model
``ea_review_actions``      review action or lifecycle change (the audit log)
``ea_id_map``              cluster id retired by an identity-version change -> its successor
``ea_refresh_runs``        completed refresh (committed with the refresh's writes)
``ea_alerts``              webhook event (unique key), with its delivery status (version 3)
``ea_runs``                run of the analysed database, as ingestion last read it: time,
                           failed / in progress, phases reached, unreadable values (version 4)
``ea_messages``            distinct error message text, by hash (version 4)
``ea_ingest_marks``        ingestion watermark, row count or generation -> value (version 4)
``ea_error_days``          errors older than the retention, per fingerprint, day and phase
                           (version 4)
=========================  ==========================================================

Since version 4, ``ea_event_assignments`` is the index of errors: ingestion
(:mod:`error_analytics.review.ingest`) keeps one row per error of every run it has read
(failed runs without error text too, with an empty fingerprint), replaced whenever its run
changes, and the views of a window aggregate these rows and ``ea_runs``.

A cluster's occurrences, runs, phases, first/last seen and daily series are aggregated from
``ea_event_assignments`` joined to ``ea_cluster_templates``, so merges and splits (which move
template rows) carry the history of their errors with them.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

STATE_METADATA = sa.MetaData()

ID_LENGTH = 32
FINGERPRINT_LENGTH = 40

schema_version = sa.Table(
    "ea_schema_version",
    STATE_METADATA,
    sa.Column("component", sa.String(32), primary_key=True),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

clusters = sa.Table(
    "ea_clusters",
    STATE_METADATA,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("name_source", sa.String(16), nullable=False, default="auto"),  # auto | review
    sa.Column("template", sa.Text, nullable=False),
    sa.Column("top_terms", sa.JSON, nullable=False, default=list),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("category_source", sa.String(16), nullable=False),  # rule | model | none | review
    sa.Column("confidence", sa.Float, nullable=False, default=0.0),
    sa.Column("recommendation", sa.Text, nullable=False, default=""),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("previous_status", sa.String(16)),  # what an expired mute returns to
    sa.Column("ignored_at", sa.DateTime),
    sa.Column("ignored_until", sa.DateTime),
    sa.Column("ignore_occurrences", sa.Integer),
    sa.Column("resolved_at", sa.DateTime),
    sa.Column("regressed_at", sa.DateTime),
    sa.Column("reviewed_at", sa.DateTime),
    sa.Column("reviewed_by", sa.String(200)),
    sa.Column("merged_into", sa.String(ID_LENGTH)),
    sa.Column("split_from", sa.String(ID_LENGTH)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("identity_version", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=1),
)

cluster_templates = sa.Table(
    "ea_cluster_templates",
    STATE_METADATA,
    sa.Column("fingerprint", sa.String(FINGERPRINT_LENGTH), primary_key=True),
    sa.Column(
        "cluster_id",
        sa.String(ID_LENGTH),
        sa.ForeignKey("ea_clusters.id"),
        nullable=False,
        index=True,
    ),
    sa.Column("template", sa.Text, nullable=False),
    sa.Column(
        "example", sa.Text, nullable=False
    ),  # the first message seen, for evidence and re-keying
    sa.Column(
        "pinned", sa.Boolean, nullable=False, default=False
    ),  # placed by a person (merge/split)
    sa.Column("created_at", sa.DateTime, nullable=False),
)

event_assignments = sa.Table(
    "ea_event_assignments",
    STATE_METADATA,
    sa.Column("event_key", sa.String(FINGERPRINT_LENGTH), primary_key=True),
    sa.Column("fingerprint", sa.String(FINGERPRINT_LENGTH), nullable=False),
    sa.Column("run_id", sa.String(128), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("phase", sa.String(32), nullable=False),
    sa.Column("message_hash", sa.String(FINGERPRINT_LENGTH), nullable=False),
    sa.Column("occurred_at", sa.DateTime),  # the event's own timestamp, when it has one
    sa.Column("seen_at", sa.DateTime, nullable=False),  # when a refresh first assigned it
    sa.Column("day", sa.Date, nullable=False),  # day of occurred_at, else of seen_at
    # the run's workflow template and model (schema version 2; NULL on rows recorded before,
    # until a refresh that reads their run again fills them in)
    sa.Column("workflow_template", sa.String(200)),
    sa.Column("model", sa.String(200)),
    # every source that stated the error, comma-separated (version 4)
    sa.Column("sources", sa.String(120)),
    sa.Index("ix_ea_event_assignments_fingerprint_day", "fingerprint", "day"),
    sa.Index("ix_ea_event_assignments_run_id", "run_id"),
    sa.Index("ix_ea_event_assignments_occurred_at", "occurred_at"),
)

review_actions = sa.Table(
    "ea_review_actions",
    STATE_METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("cluster_id", sa.String(ID_LENGTH), index=True),
    sa.Column("related_ids", sa.Text, nullable=False, default=""),  # ",id1,id2," of other clusters
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("before", sa.JSON),
    sa.Column("after", sa.JSON),
    sa.Column("undoable", sa.Boolean, nullable=False, default=True),
    sa.Column("undo_of", sa.Integer),
    sa.Column("undone_by", sa.Integer),
)

id_map = sa.Table(
    "ea_id_map",
    STATE_METADATA,
    sa.Column("old_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("new_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("from_version", sa.String(64), nullable=False),
    sa.Column("to_version", sa.String(64), nullable=False),
    sa.Column("mapped_at", sa.DateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
)

refresh_runs = sa.Table(
    "ea_refresh_runs",
    STATE_METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("finished_at", sa.DateTime, nullable=False),
    sa.Column("days", sa.Integer, nullable=False),
    sa.Column("events_seen", sa.Integer, nullable=False),
    sa.Column("new_assignments", sa.Integer, nullable=False),
    sa.Column("new_clusters", sa.Integer, nullable=False),
    sa.Column("identity_version", sa.String(64), nullable=False),
)

#: Alerts (schema version 3): one row per event, inserted before it is sent (the UNIQUE key is
#: what makes it at most once); ``claimed_until`` is the lease of the process sending it.
alerts = sa.Table(
    "ea_alerts",
    STATE_METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_key", sa.String(200), nullable=False, unique=True),
    sa.Column("event", sa.String(32), nullable=False),  # new_cluster | regressed | spike
    sa.Column("cluster_id", sa.String(ID_LENGTH), index=True),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),  # pending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("claimed_until", sa.DateTime),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("sent_at", sa.DateTime),
)

#: The runs ingestion has read (schema version 4); ``reached`` has bit ``i`` set when the run
#: reached phase ``i`` of ``Phase.ordered()`` (task_logs).
ingested_runs = sa.Table(
    "ea_runs",
    STATE_METADATA,
    sa.Column("run_id", sa.String(128), primary_key=True),
    sa.Column("origin", sa.String(32), nullable=False),
    sa.Column("run_time", sa.DateTime, index=True),
    sa.Column("day", sa.Date),
    sa.Column("failed", sa.Boolean, nullable=False),
    sa.Column("in_progress", sa.Boolean, nullable=False),
    sa.Column("reached", sa.Integer, nullable=False, default=0),
    sa.Column("time_problem", sa.String(64)),
    sa.Column("quality", sa.JSON),  # what of the run's rows was read, changed or skipped
    sa.Column("ingested_at", sa.DateTime, nullable=False),
)

messages = sa.Table(
    "ea_messages",
    STATE_METADATA,
    sa.Column("message_hash", sa.String(FINGERPRINT_LENGTH), primary_key=True),
    sa.Column("message", sa.Text, nullable=False),
)

ingest_marks = sa.Table(
    "ea_ingest_marks",
    STATE_METADATA,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

#: Errors older than the retention (``Settings.retention_days``), per fingerprint, day and phase:
#: what is left of the per-error rows ingestion dropped (schema version 4).
error_days = sa.Table(
    "ea_error_days",
    STATE_METADATA,
    sa.Column("fingerprint", sa.String(FINGERPRINT_LENGTH), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("phase", sa.String(32), primary_key=True),
    sa.Column("errors", sa.Integer, nullable=False),
)

STATE_TABLES: tuple[sa.Table, ...] = (
    schema_version,
    clusters,
    cluster_templates,
    event_assignments,
    review_actions,
    id_map,
    refresh_runs,
    alerts,
    ingested_runs,
    messages,
    ingest_marks,
    error_days,
)


def write_component(connection: Connection, component: str, version: str, now: datetime) -> None:
    """Record ``component``'s version in ``ea_schema_version`` (insert or update)."""
    updated = connection.execute(
        schema_version.update()
        .where(schema_version.c.component == component)
        .values(version=version, updated_at=now)
    )
    if updated.rowcount == 0:
        connection.execute(
            schema_version.insert().values(component=component, version=version, updated_at=now)
        )
