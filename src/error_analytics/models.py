"""Domain objects that travel between the layers.

Plain dataclasses and enums: ``store`` produces them, ``service`` combines them, ``cli`` and
``api`` render them. Field names are part of the public JSON contract (``--json`` and the HTTP
API use :func:`to_jsonable`), so rename nothing without a deprecation.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any


class Phase(enum.StrEnum):
    """The ten canonical workflow phases, in order, plus ``Unknown``."""

    PLAN = "Plan"
    VALIDATE = "Validate"
    BUILD = "Build"
    LINT = "Lint"
    TEST = "Test"
    REVIEW = "Review"
    DOCUMENT = "Document"
    SHIP = "Ship"
    CLEANUP = "Cleanup"
    VERIFY = "Verify"
    UNKNOWN = "Unknown"

    @classmethod
    def ordered(cls) -> list[Phase]:
        """Canonical phases in workflow order, ``Unknown`` last."""
        return list(cls)


class Source(enum.StrEnum):
    """Where an error event was read from."""

    FAILURE_TEXT = "failure_text"  # workflow_history.failure_reason / error_message
    PHASE_ERROR = "phase_error"  # workflow_history.phase_errors / error_phase_distribution
    TASK_LOG = "task_log"  # task_logs rows (and their failed tool calls)
    HOOK_EVENT = "hook_event"  # hook_events error payloads
    NO_ERROR_TEXT = "no_error_text"  # a failed run that recorded no error text at all


class Severity(enum.StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class TrendDirection(enum.StrEnum):
    INCREASING = "increasing"
    DECREASING = "decreasing"
    STABLE = "stable"


class ClusterStatus(enum.StrEnum):
    """Where a persisted cluster is in its review lifecycle (see docs/review.md)."""

    NEW = "new"  # discovered, not yet reviewed
    REVIEWED = "reviewed"  # a person looked at it and kept it
    IGNORED = "ignored"  # muted: forever, until a date, or for N more occurrences
    RESOLVED = "resolved"  # fixed; becomes regressed when the error comes back
    REGRESSED = "regressed"  # occurred again after it was resolved
    MERGED = "merged"  # folded into another cluster (see merged_into)


class DecidedBy(enum.StrEnum):
    """What placed a cluster in its category (stored as ``ea_clusters.category_source``)."""

    RULE = "rule"  # a keyword/pattern rule matched its messages
    MODEL = "model"  # the category model was confident enough
    REVIEW = "review"  # a person set it, or a vote of reviewed templates (refresh)
    NONE = "none"  # nothing placed it: the category stays unknown


class ClusterSort(enum.StrEnum):
    """Orders of the review service's cluster list, largest/latest first."""

    SIZE = "size"
    LAST_SEEN = "last_seen"
    FIRST_SEEN = "first_seen"
    RUNS = "runs"


class RateBasis(enum.StrEnum):
    """The denominator of a phase's failure rate."""

    RUNS_REACHING_PHASE = "runs_reaching_phase"  # task_logs say which runs reached which phase
    ALL_RUNS = "all_runs"  # every run in the window


class PatternKind(enum.StrEnum):
    CATEGORY = "category"  # one per category, made of its clusters (what the views list)
    CLUSTER = "cluster"  # made for one cluster (``cluster_id``), kept for older documents


class RecommendationKind(enum.StrEnum):
    CATEGORY = "category"  # a category's clusters
    CLUSTER = "cluster"  # one cluster worth its own item
    NEEDS_REVIEW = "needs_review"  # uncategorised clusters to review
    PHASE_HOTSPOT = "phase_hotspot"  # a phase whose failure rate stands out
    MISSING_ERROR_TEXT = "missing_error_text"  # failed runs that recorded no error text


#: Category key given to messages that no rule (and no confident model) places.
UNKNOWN_CATEGORY = "unknown"
#: Category key of failed runs that recorded no error text.
NO_TEXT_CATEGORY = "no_error_text"
#: Longest cluster name and actor a review may set (the API, the service and their messages).
MAX_NAME_CHARS = 200
#: Longest piece of user input an error message repeats back; the rest is cut.
MAX_ECHO_CHARS = 200


@dataclasses.dataclass(frozen=True, slots=True)
class ErrorEvent:
    """One error observed in one workflow run (one failure, however many places state it)."""

    run_id: str
    phase: Phase
    source: Source
    message: str | None
    timestamp: datetime | None
    workflow_template: str | None = None
    model: str | None = None
    # every source that stated this failure, ``source`` (the primary one) first; () = source only
    sources: tuple[Source, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class TimeWindow:
    """The analysed period: runs whose ``created_at`` (else ``start_time``) is in [start, end]."""

    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return max(1, round((self.end - self.start).total_seconds() / 86400))


@dataclasses.dataclass(slots=True)
class DataQualityReport:
    """What was read and what was skipped, per source. Nothing is dropped silently."""

    rows_read: dict[str, int] = dataclasses.field(default_factory=dict)
    # "source: reason" -> count, e.g. "phase_errors: malformed JSON" -> 3
    rows_skipped: dict[str, int] = dataclasses.field(default_factory=dict)
    # reason -> up to a few examples (run ids or truncated values) to find the rows again
    skipped_examples: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # "source: what was done" -> count: values read but changed to be usable (decoded, cut)
    rows_adjusted: dict[str, int] = dataclasses.field(default_factory=dict)
    missing: list[str] = dataclasses.field(default_factory=list)  # tables/columns not present
    layout: str = "unknown"
    engine: str = "unknown"

    def at_run(self, run_id: str) -> None:
        """The rows read next belong to run ``run_id`` (a report kept per run records it)."""

    def at_unattributed(self, moment: datetime | None) -> None:
        """The rows read next are hook events of no run, at ``moment`` (see :meth:`at_run`)."""

    def read(self, source: str, count: int = 1) -> None:
        self.rows_read[source] = self.rows_read.get(source, 0) + count

    def skip(self, source: str, reason: str, example: str | None = None) -> None:
        key = f"{source}: {reason}"
        self.rows_skipped[key] = self.rows_skipped.get(key, 0) + 1
        if example is not None:
            examples = self.skipped_examples.setdefault(key, [])
            if len(examples) < 3:
                examples.append(example[:120])

    def adjust(self, source: str, what: str) -> None:
        key = f"{source}: {what}"
        self.rows_adjusted[key] = self.rows_adjusted.get(key, 0) + 1

    @property
    def total_skipped(self) -> int:
        return sum(self.rows_skipped.values())


@dataclasses.dataclass(slots=True)
class ErrorSummary:
    total_workflows: int
    failed_workflows: int
    failure_rate: float  # percent, 0-100
    top_errors: list[tuple[str, int]]  # [category key, count], most frequent first
    most_problematic_phase: str | None
    most_problematic_phase_failures: int = 0
    failed_without_error_text: int = 0
    total_errors: int = 0
    days: int = 30
    top_clusters: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    data_quality: DataQualityReport | None = None


@dataclasses.dataclass(slots=True)
class PhaseErrorBreakdown:
    phase_error_counts: dict[str, int]  # phase -> error events
    phase_failure_rates: dict[str, float]  # phase -> percent of runs that failed in it
    # keyword-only with a default, so the seed's fields alone (positionally too) build one
    phase_failed_runs: dict[str, int] = dataclasses.field(  # phase -> runs that failed in it
        default_factory=dict, kw_only=True
    )
    phase_reached_runs: dict[str, int] = dataclasses.field(  # phase -> the rate's denominator
        default_factory=dict, kw_only=True
    )
    total_errors: int
    # phases whose failure rate exceeds threshold_percent
    phases_above_threshold: list[str] = dataclasses.field(default_factory=list)
    threshold_percent: float = 10.0
    rate_basis: RateBasis = RateBasis.ALL_RUNS  # RUNS_REACHING_PHASE when task_logs tell
    days: int = 30


@dataclasses.dataclass(frozen=True, slots=True)
class ClusterEvidence:
    """One cluster as the evidence of a category pattern: its figures in the window."""

    id: str
    name: str
    errors: int  # error events of the cluster in the window
    runs: int  # runs with at least one of them
    example: str  # one of its messages, without colour codes


@dataclasses.dataclass(slots=True)
class ErrorPattern:
    pattern_name: str  # e.g. "Import Error"
    # keyword-only with defaults, so the seed's fields alone (positionally too) build one
    category_key: str = dataclasses.field(default=UNKNOWN_CATEGORY, kw_only=True)
    category: str = dataclasses.field(default="Unknown", kw_only=True)  # "Dependency Issue"
    occurrences: int
    runs_affected: int = dataclasses.field(default=0, kw_only=True)
    example_message: str
    affected_phases: list[str]
    recommendation: str
    severity: Severity = Severity.MEDIUM
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    kind: PatternKind = PatternKind.CATEGORY
    cluster_id: str | None = None
    # the category's largest clusters in the window, largest first: what the count is made of
    top_clusters: list[ClusterEvidence] = dataclasses.field(default_factory=list)
    clusters: int = 0  # how many clusters the category has in the window


@dataclasses.dataclass(slots=True)
class DebugRecommendation:
    issue: str
    severity: Severity
    root_cause: str
    solution: str
    estimated_fix_time: str
    occurrences: int = 0
    runs_affected: int = 0
    affected_phases: list[str] = dataclasses.field(default_factory=list)
    last_seen: datetime | None = None
    score: float = 0.0
    kind: RecommendationKind = RecommendationKind.CATEGORY
    cluster_ids: list[str] = dataclasses.field(default_factory=list)  # the clusters it covers


@dataclasses.dataclass(slots=True)
class TrendPoint:
    date: date
    runs: int
    failed: int
    failure_rate: float  # percent
    is_spike: bool = False


@dataclasses.dataclass(slots=True)
class TrendData:
    # keyword-only with a default: the seed's trend fields alone (positionally too) build one
    days: int = dataclasses.field(default=30, kw_only=True)
    points: list[TrendPoint]
    category_daily_counts: dict[str, list[int]]  # category key -> counts aligned with points
    direction: TrendDirection
    percentage_change: float  # failure rate, second half vs first half of the window
    spike_days: list[date]


@dataclasses.dataclass(slots=True)
class CategoryRule:
    """One canonical (or user-defined) error category, as data."""

    key: str
    name: str  # "Import Error"
    category: str  # "Dependency Issue"
    recommendation: str
    severity: Severity
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    root_cause: str = ""
    estimated_fix_time: str = "1-2 hours"


@dataclasses.dataclass(slots=True)
class DiscoveredCluster:
    """A group of error messages found by clustering, with what explains it."""

    id: str  # deterministic for the same input; persisted ids come from the state store
    size: int  # messages in the cluster (counting repeats)
    name: str  # short human name, e.g. "Cannot find module <*>"
    template: str  # common text with placeholders
    top_terms: list[str]  # why these messages are together
    examples: list[str]  # a few original messages
    category: str  # one of the category keys, or "unknown"
    confidence: float  # 0..1
    decided_by: DecidedBy
    recommendation: str
    templates: list[str] = dataclasses.field(default_factory=list)  # distinct normalised forms
    distinct_messages: int = 0
    # filled by the service when the messages came from the database
    runs_affected: int = 0
    phases: list[str] = dataclasses.field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    is_new: bool = False
    status: ClusterStatus = ClusterStatus.NEW
    # filled from the review state (error_analytics.review)
    version: int = 0  # optimistic-concurrency token: pass it back as expected_version
    is_spike: bool = False  # a reviewed cluster occurring far above its usual daily rate
    daily_counts: list[int] = dataclasses.field(default_factory=list)  # last days, oldest first


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEntry:
    """One review action (or lifecycle change made by a refresh), as the audit log shows it."""

    id: int
    action: (
        str  # accept | rename | set_category | merge | split | ignore | unignore | resolve | ...
    )
    cluster_id: str | None
    related_ids: list[str]  # other clusters the action touched (merge sources, split result)
    actor: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    undoable: bool = True
    undo_of: int | None = None  # the action this one undid
    undone_by: int | None = None  # the action that undid this one


def to_jsonable(value: Any) -> Any:
    """Turn models (dataclasses, enums, dates, tuples) into JSON-ready structures."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: to_jsonable(getattr(value, field.name))
            for field in dataclasses.fields(value)
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(item) for item in value]
    return value
