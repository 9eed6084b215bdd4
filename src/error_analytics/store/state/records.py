"""Rows of the state tables as plain dataclasses (they stay inside ``store`` and ``review``)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

#: Cluster fields that review actions change; the audit log stores them before and after.
REVIEW_FIELDS: tuple[str, ...] = (
    "name",
    "name_source",
    "category",
    "category_source",
    "confidence",
    "recommendation",
    "status",
    "previous_status",
    "ignored_at",
    "ignored_until",
    "ignore_occurrences",
    "resolved_at",
    "regressed_at",
    "reviewed_at",
    "reviewed_by",
    "merged_into",
)


@dataclasses.dataclass(slots=True)
class ClusterRecord:
    """One ``ea_clusters`` row."""

    id: str
    name: str
    name_source: str
    template: str
    top_terms: list[str]
    category: str
    category_source: str
    confidence: float
    recommendation: str
    status: str
    previous_status: str | None
    ignored_at: datetime | None
    ignored_until: datetime | None
    ignore_occurrences: int | None
    resolved_at: datetime | None
    regressed_at: datetime | None
    reviewed_at: datetime | None
    reviewed_by: str | None
    merged_into: str | None
    split_from: str | None
    created_at: datetime
    updated_at: datetime
    identity_version: str
    version: int

    def review_state(self) -> dict[str, Any]:
        """The fields review actions change, JSON-ready (datetimes as ISO text)."""
        return {name: state_json(getattr(self, name)) for name in REVIEW_FIELDS}


@dataclasses.dataclass(slots=True)
class TemplateRecord:
    """One ``ea_cluster_templates`` row: a normalised message shape and its cluster."""

    fingerprint: str
    cluster_id: str
    template: str
    example: str
    pinned: bool
    created_at: datetime


@dataclasses.dataclass(slots=True)
class AssignmentRow:
    """One error event to record in ``ea_event_assignments``."""

    event_key: str
    fingerprint: str
    run_id: str
    source: str
    phase: str
    message_hash: str
    occurred_at: datetime | None
    seen_at: datetime
    day: date
    workflow_template: str | None = None
    model: str | None = None
    sources: str | None = None  # every source that stated it, comma-separated


@dataclasses.dataclass(slots=True)
class RunRow:
    """One ``ea_runs`` row: a run as ingestion last read it."""

    run_id: str
    origin: str
    run_time: datetime | None
    day: date | None
    failed: bool
    in_progress: bool
    reached: int
    time_problem: str | None
    quality: dict[str, Any] | None
    ingested_at: datetime


@dataclasses.dataclass(slots=True)
class IndexedError:
    """One error of the index as a window reads it (``message`` None: no error text)."""

    run_id: str
    phase: str
    source: str
    message: str | None
    occurred_at: datetime | None
    workflow_template: str | None
    model: str | None
    sources: str | None
    fingerprint: str


@dataclasses.dataclass(slots=True)
class OccurrenceStats:
    """How often, how widely and when a cluster (or a template) occurred."""

    occurrences: int = 0
    runs: int = 0
    distinct_messages: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None


def state_json(value: Any) -> Any:
    """A review-field value as the audit log stores it."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return value


def parse_state_value(name: str, value: Any) -> Any:
    """The inverse of :meth:`ClusterRecord.review_state` for one field."""
    if value is not None and (name.endswith("_at") or name == "ignored_until"):
        return datetime.fromisoformat(value)
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class AlertRecord:
    """One row of ``ea_alerts``: a webhook event and how its delivery went."""

    id: int
    event_key: str  # unique: new_cluster:<id>, regressed:<id>:<regressed_at>, spike:<id>:<day>
    event: str  # new_cluster | regressed | spike
    cluster_id: str | None
    payload: dict[str, Any]
    status: str  # pending | sent | failed
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
