"""Pydantic response and request bodies of the HTTP API.

Each response model mirrors one domain dataclass of :mod:`error_analytics.models` (or
:mod:`error_analytics.review.models`) field for field. Routes return the dataclasses and the
route's ``response_model`` reads them (FastAPI validates with ``from_attributes``) and writes
the JSON: the document :func:`error_analytics.models.to_jsonable` makes for the CLI's ``--json``,
with the same keys in the same order and the same values. Timestamps are written the same way
too (``2026-01-31 12:00:00``, :data:`Timestamp`), and so is free-form content
(:data:`Jsonable`), so a consumer can switch between the CLI and the API without touching its
parser. ``tests/test_api_schemas.py`` fails when a dataclass gains a field that its schema
lacks; ``tests/test_view_parity.py`` compares the documents as JSON text.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, StrictInt

from ..models import MAX_NAME_CHARS, to_jsonable

#: A naive timestamp, written as ``YYYY-MM-DD HH:MM:SS`` like the CLI's ``--json``.
Timestamp = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(sep=" ", timespec="seconds"), return_type=str),
]
#: A free-form value (a cluster's figures, an audit entry's state), written as the CLI's
#: ``--json`` writes it: a timestamp inside it as ``YYYY-MM-DD HH:MM:SS``, an enum as its value.
Jsonable = Annotated[Any, PlainSerializer(to_jsonable)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DataQualityReport(_Body):
    """What was read and what was skipped, per source."""

    rows_read: dict[str, int]
    rows_skipped: dict[str, int]
    skipped_examples: dict[str, list[str]]
    rows_adjusted: dict[str, int] = Field(
        description="values read but changed to be usable (decoded, cut)"
    )
    missing: list[str]
    layout: str
    engine: str


class ErrorSummary(_Body):
    total_workflows: int
    failed_workflows: int
    failure_rate: float = Field(description="percent of runs that failed, 0-100")
    top_errors: list[tuple[str, int]] = Field(
        description="[category key, count], most frequent first"
    )
    most_problematic_phase: str | None
    most_problematic_phase_failures: int
    failed_without_error_text: int
    total_errors: int
    days: int
    top_clusters: list[dict[str, Jsonable]] = Field(
        description="the window's largest clusters: id, name, size, runs, category"
    )
    data_quality: DataQualityReport | None


class PhaseErrorBreakdown(_Body):
    phase_error_counts: dict[str, int]
    phase_failure_rates: dict[str, float] = Field(
        description="percent of runs that failed in the phase"
    )
    phase_failed_runs: dict[str, int]
    phase_reached_runs: dict[str, int] = Field(description="denominator of the rate")
    total_errors: int
    phases_above_threshold: list[str]
    threshold_percent: float
    rate_basis: str = Field(description="runs_reaching_phase (from task_logs) or all_runs")
    days: int


class ClusterEvidence(_Body):
    """One cluster as the evidence of a category pattern: its figures in the window."""

    id: str
    name: str
    errors: int = Field(description="error events of the cluster in the window")
    runs: int = Field(description="runs with at least one of them")
    example: str


class ErrorPattern(_Body):
    pattern_name: str
    category_key: str
    category: str
    occurrences: int
    runs_affected: int
    example_message: str
    affected_phases: list[str]
    recommendation: str
    severity: str
    first_seen: Timestamp | None
    last_seen: Timestamp | None
    kind: str = Field(description="category (keyword rules) or cluster (discovered)")
    cluster_id: str | None
    top_clusters: list[ClusterEvidence] = Field(
        description="the category's largest clusters in the window, largest first"
    )
    clusters: int = Field(description="how many clusters the category has in the window")


class DebugRecommendation(_Body):
    issue: str
    severity: str = Field(description="high | medium | low")
    root_cause: str
    solution: str
    estimated_fix_time: str
    occurrences: int
    runs_affected: int
    affected_phases: list[str]
    last_seen: Timestamp | None
    score: float
    kind: str = Field(
        description="category | cluster | needs_review | phase_hotspot | missing_error_text"
    )
    cluster_ids: list[str] = Field(description="the clusters it covers")


class TrendPoint(_Body):
    date: date
    runs: int
    failed: int
    failure_rate: float
    is_spike: bool


class TrendData(_Body):
    days: int
    points: list[TrendPoint]
    category_daily_counts: dict[str, list[int]] = Field(
        description="category key -> counts aligned with points"
    )
    direction: str = Field(description="increasing | decreasing | stable")
    percentage_change: float
    spike_days: list[date]


class HealthCheck(_Body):
    name: str = Field(description="database (a query answers) or views (the summary is computed)")
    ok: bool
    detail: str | None = Field(default=None, description="why it failed")


class Health(_Body):
    status: str = Field(
        description="ok; degraded when the database opened but a check failed; unavailable when "
        "the workflow database cannot be opened"
    )
    version: str
    engine: str | None = Field(default=None, description="sqlite or postgresql")
    detail: str | None = None
    checks: list[HealthCheck] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list, description="names of the failed checks")
    writes_need_token: bool


class Problem(_Body):
    """The body of every 4xx/5xx answer raised by the toolkit."""

    detail: str
    error: str = Field(description="name of the exception class, e.g. NotFoundError")


class ValidationIssue(_Body):
    """One entry of a 422's ``detail`` list (FastAPI's, with ``input`` cut short)."""

    type: str
    loc: list[str | int]
    msg: str
    input: Any = Field(default=None, description="the value given, cut to 200 characters")
    ctx: dict[str, Any] | None = None


class ValidationProblem(_Body):
    """A 422: a list of issues from validation, or one sentence from the toolkit."""

    detail: list[ValidationIssue] | str
    error: str = Field(description="RequestValidationError, InputError or ConfigurationError")


class Export(_Body):
    """Every view in one document, as ``analyze-errors --report --json`` prints it."""

    days: int
    summary: ErrorSummary
    by_phase: PhaseErrorBreakdown
    patterns: list[ErrorPattern]
    trends: TrendData
    recommendations: list[DebugRecommendation]
    clusters: list[Cluster]


# -- clusters and their review ---------------------------------------------------------------
class Cluster(_Body):
    """A discovered cluster with its stable id and review status (``DiscoveredCluster``).

    Its figures count the errors that occurred in the window (``days``)."""

    id: str
    size: int = Field(description="errors of the cluster in the window")
    name: str
    template: str
    top_terms: list[str] = Field(description="why these messages are together")
    examples: list[str]
    category: str
    confidence: float
    decided_by: str = Field(description="rule | model | none | review")
    recommendation: str
    templates: list[str]
    distinct_messages: int
    runs_affected: int = Field(description="runs with at least one of these errors in the window")
    phases: list[str] = Field(description="phases of these errors in the window")
    first_seen: Timestamp | None = Field(description="the first of these errors in the window")
    last_seen: Timestamp | None = Field(description="the last of these errors in the window")
    is_new: bool = Field(description="first error ever recorded in the last 7 days")
    status: str = Field(description="new | reviewed | ignored | resolved | regressed | merged")
    version: int = Field(
        description="pass it back as expected_version to detect concurrent changes"
    )
    is_spike: bool
    daily_counts: list[int] = Field(
        description="errors per day over the last 15 days, oldest first"
    )


class ClusterPage(_Body):
    items: list[Cluster]
    total: int = Field(description="clusters matching the filters, on all pages")
    limit: int
    offset: int
    days: int = Field(description="the window: errors that occurred in the last N days")
    since: Timestamp | None = Field(description="the window's start")


class AuditEntry(_Body):
    id: int
    action: str
    cluster_id: str | None
    related_ids: list[str]
    actor: str
    at: Timestamp
    before: dict[str, Jsonable] | None
    after: dict[str, Jsonable] | None
    undoable: bool
    undo_of: int | None
    undone_by: int | None


class AlertRecord(_Body):
    """A webhook alert recorded in the state and how its delivery went."""

    id: int
    event_key: str = Field(description="new_cluster:<id>, regressed:<id>:<when>, spike:<id>:<day>")
    event: str = Field(description="new_cluster | regressed | spike")
    cluster_id: str | None
    payload: dict[str, Jsonable] = Field(description="the JSON document POSTed")
    status: str = Field(description="pending | sent | failed")
    attempts: int
    last_error: str | None
    created_at: Timestamp
    sent_at: Timestamp | None


class TemplateInfo(_Body):
    fingerprint: str
    template: str
    occurrences: int
    runs_affected: int
    first_seen: Timestamp | None
    last_seen: Timestamp | None
    example: str
    pinned: bool


class DailyCount(_Body):
    day: date
    count: int


class TagShare(_Body):
    tag: str = Field(description="phase | model | workflow_template")
    value: str = Field(description="the value; (not recorded) when the run did not say")
    errors: int = Field(description="errors of the cluster with this value, in the window")
    percent: float = Field(description="share of the cluster's errors, 0-100")
    overall_errors: int = Field(description="errors of the window with this value, all clusters")
    overall_percent: float = Field(description="share of all errors of the window, 0-100")
    lift: float = Field(description="percent / overall_percent")
    over_represented: bool = Field(description="lift of 1.5 or more, with 3 errors or more")


class TagBreakdown(_Body):
    tag: str
    values: list[TagShare] = Field(description="most frequent in the cluster first")


class RunLink(_Body):
    run_id: str
    url: str | None = Field(
        description="github_url, else ERROR_ANALYTICS_RUN_URL_TEMPLATE; http(s) only; null: none"
    )


class SimilarCluster(_Body):
    """A merge suggestion: another live cluster much like this one."""

    id: str
    name: str
    similarity: float = Field(
        description="0-1, 2 decimals: TF-IDF cosine and rapidfuzz token similarity combined"
    )
    errors: int = Field(description="its errors in the window")
    status: str = Field(description="new | reviewed | ignored | resolved | regressed")


class ClusterDetail(_Body):
    """One cluster; figures in the window (``days``), all-time ones named ``*_all_time``."""

    cluster: Cluster
    templates: list[TemplateInfo]
    top_terms: list[str]
    examples: list[str]
    phases: dict[str, int] = Field(description="phase -> errors in the window")
    run_ids: list[str] = Field(description="runs with errors in the window, most recent first")
    runs: list[RunLink] = Field(description="run_ids with their URL")
    daily_series: list[DailyCount]
    history: list[AuditEntry]
    days: int = Field(description="the window: errors that occurred in the last N days")
    since: Timestamp | None = Field(description="the window's start")
    errors_all_time: int = Field(description="every error of the cluster the state recorded")
    runs_all_time: int
    first_seen_all_time: Timestamp | None
    last_seen_all_time: Timestamp | None
    total_errors_in_window: int = Field(
        description="errors of all clusters in the window: the breakdown's overall"
    )
    breakdown: list[TagBreakdown] = Field(
        description="the cluster's errors by phase, model and workflow template"
    )
    over_represented: list[TagShare] = Field(description="highest lift first")
    created_at: Timestamp | None
    reviewed_at: Timestamp | None
    reviewed_by: str | None
    ignored_until: Timestamp | None
    ignore_occurrences: int | None
    ignore_remaining: int | None
    resolved_at: Timestamp | None
    regressed_at: Timestamp | None
    merged_into: str | None
    split_from: str | None
    merged_ids: list[str]
    previous_ids: list[str]
    similar: list[SimilarCluster] = Field(
        description="merge suggestions: the most similar live clusters, most similar first"
    )


class RulePreview(_Body):
    cluster_id: str
    category: str
    keywords: list[str]
    pattern: str | None
    matched_events: int
    matched_messages: int
    cluster_events: int
    cluster_matched: int
    cluster_to_matches: dict[str, int]
    examples: list[str]
    missed_examples: list[str]
    toml: str = Field(description="the snippet that promote adds to the rules file")
    days: int
    rules_file: str | None


class RefreshResult(_Body):
    days: int
    events_seen: int
    new_assignments: int
    new_templates: int
    attached_templates: int
    new_clusters: int
    regressed: int
    unmuted: int
    new_cluster_ids: list[str]
    regressed_ids: list[str]
    unmuted_ids: list[str]
    remapped_ids: dict[str, str]
    identity_version: str
    finished_at: Timestamp | None
    runs_read: int
    runs_forgotten: int


class CategoryInfo(_Body):
    key: str
    name: str
    category: str
    recommendation: str
    severity: str


class Catalog(_Body):
    """The words the filters and forms may use."""

    categories: list[CategoryInfo]
    statuses: list[str]
    sorts: list[str]
    phases: list[str]


# -- request bodies of the review actions ------------------------------------------------------
#: The largest whole number the state tables store (32-bit columns on PostgreSQL).
MAX_STORED_INT = 2**31 - 1


def storable_text(value: str) -> str:
    """Text a database can store: no NUL (PostgreSQL refuses it) and no lone surrogate (JSON
    allows ``"\\ud800"``; no encoder does)."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (a lone surrogate is not)") from None
    return value


Storable = AfterValidator(storable_text)
#: A cluster name: the service's limit (``MAX_NAME_CHARS``), so both say the same number.
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS), Storable]
ClusterIdText = Annotated[str, Field(min_length=1, max_length=64), Storable]
#: A template (or its fingerprint) or a keyword.
Item = Annotated[str, Field(min_length=1, max_length=1000), Storable]
CategoryKey = Annotated[str, Field(min_length=1, max_length=64), Storable]


class RefreshRequest(_Body):
    """The body of ``POST /clusters/refresh``: ``{}`` (a write is always JSON, see ``guard``)."""

    model_config = ConfigDict(extra="forbid")


class Action(_Body):
    actor: Annotated[str, Storable] | None = Field(
        default=None, max_length=MAX_NAME_CHARS, description="who acts; recorded in the audit log"
    )
    expected_version: StrictInt | None = Field(  # strict: JSON false is not version 0
        default=None,
        ge=0,
        le=MAX_STORED_INT,
        description="the cluster's version as last read; a 409 when it changed since",
    )


class Rename(Action):
    name: Name


class SetCategory(Action):
    category: CategoryKey


class Merge(Action):
    source_ids: list[ClusterIdText] = Field(
        min_length=1, description="clusters folded into the one in the path"
    )


class Split(Action):
    templates: list[Item] = Field(
        min_length=1, description="fingerprints (or templates) to move out"
    )
    name: Name | None = None


class Ignore(Action):
    until: datetime | None = Field(
        default=None,
        description="mute until this time; with an offset (2027-01-01T00:00:00Z) it is converted "
        "to the server's zone (ERROR_ANALYTICS_TZ), without one it is in that zone",
    )
    occurrences: StrictInt | None = Field(
        default=None, ge=1, le=MAX_STORED_INT, description="mute for N more occurrences"
    )


class RuleDraft(Action):
    pattern: Annotated[str, Storable] | None = Field(
        default=None, max_length=1000, description="a regular expression"
    )
    keywords: list[Item] | None = None
    category: Annotated[str, Storable] | None = Field(default=None, max_length=64)
