"""What the review service returns: plain dataclasses that the CLI and the HTTP API render.

Clusters themselves travel as :class:`~error_analytics.models.DiscoveredCluster` (with their
stable ``id``, ``status`` and ``version``); audit entries as
:class:`~error_analytics.models.AuditEntry`. Field names are part of the JSON contract.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from ..models import AuditEntry, ClusterStatus, DiscoveredCluster


@dataclasses.dataclass(slots=True)
class RefreshResult:
    """What one refresh did."""

    days: int
    events_seen: int  # error events with text in the window
    new_assignments: int  # events recorded for the first time
    new_templates: int  # message templates seen for the first time
    attached_templates: int  # of those, attached to an existing cluster
    new_clusters: int
    regressed: int  # resolved clusters that occurred again
    unmuted: int  # ignored clusters whose mute ended
    new_cluster_ids: list[str] = dataclasses.field(default_factory=list)
    regressed_ids: list[str] = dataclasses.field(default_factory=list)
    unmuted_ids: list[str] = dataclasses.field(default_factory=list)
    remapped_ids: dict[str, str] = dataclasses.field(
        default_factory=dict
    )  # after an identity change
    identity_version: str = ""
    finished_at: datetime | None = None
    runs_read: int = 0  # runs (re-)read from the analysed database
    runs_forgotten: int = 0  # runs that left the index (their rows were deleted)


@dataclasses.dataclass(slots=True)
class ClusterPage:
    """One page of :meth:`ClusterReviewService.list_clusters`: figures counted in the window."""

    items: list[DiscoveredCluster]
    total: int  # clusters matching the filters, on all pages
    limit: int = 50
    offset: int = 0
    days: int = 30  # the window: errors that occurred in the last ``days`` days
    since: datetime | None = None  # the window's start


@dataclasses.dataclass(slots=True)
class TagShare:
    """How often one value of a tag (a phase, a model, a workflow template) occurs among a
    cluster's errors, beside how often it occurs among all errors of the window."""

    tag: str  # phase | model | workflow_template
    value: str  # NOT_RECORDED when the run did not say (or was read by an older version)
    errors: int  # the cluster's errors with this value, in the window
    percent: float  # of the cluster's errors, 0-100
    overall_errors: int  # all errors of the window with this value
    overall_percent: float  # of all errors of the window, 0-100
    lift: float  # percent / overall_percent: above 1 the value is more common in the cluster
    over_represented: bool  # lift >= MIN_LIFT with at least MIN_SUPPORT errors


@dataclasses.dataclass(slots=True)
class TagBreakdown:
    """One tag's values among a cluster's errors, most frequent first."""

    tag: str
    values: list[TagShare]


@dataclasses.dataclass(slots=True)
class TemplateInfo:
    """One message template of a cluster."""

    fingerprint: str
    template: str
    occurrences: int
    runs_affected: int
    first_seen: datetime | None
    last_seen: datetime | None
    example: str
    pinned: bool  # placed by a person (merge/split): it stays where it was put


@dataclasses.dataclass(slots=True)
class DailyCount:
    day: date
    count: int


@dataclasses.dataclass(frozen=True, slots=True)
class RunLink:
    """A run and where to open it (:mod:`.run_links`): an http(s) URL, or None."""

    run_id: str
    url: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class SimilarCluster:
    """A merge suggestion: another live cluster much like this one (:mod:`.similar`)."""

    id: str
    name: str
    similarity: float  # 0..1, 2 decimals: TF-IDF cosine and rapidfuzz token similarity combined
    errors: int  # its errors in the window
    status: ClusterStatus


@dataclasses.dataclass(slots=True)
class ClusterDetail:
    """Everything known about one cluster: the evidence and the history.

    Figures are counted in the window (the last ``days`` days); the ``*_all_time`` ones count
    everything the state has recorded."""

    cluster: DiscoveredCluster
    templates: list[TemplateInfo]
    top_terms: list[str]
    examples: list[str]
    phases: dict[str, int]  # phase -> errors in the window, in workflow order
    run_ids: list[str]  # runs with errors in the window, most recent first (at most 50)
    daily_series: list[DailyCount]  # oldest first, one point per day
    history: list[AuditEntry]  # newest first
    days: int = 30
    since: datetime | None = None  # the window's start
    errors_all_time: int = 0
    runs_all_time: int = 0
    first_seen_all_time: datetime | None = None
    last_seen_all_time: datetime | None = None
    total_errors_in_window: int = 0  # errors of every cluster: the breakdown's "overall"
    breakdown: list[TagBreakdown] = dataclasses.field(default_factory=list)
    over_represented: list[TagShare] = dataclasses.field(default_factory=list)  # highest lift first
    created_at: datetime | None = None
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    ignored_until: datetime | None = None
    ignore_occurrences: int | None = None
    ignore_remaining: int | None = None  # occurrences left before the mute ends
    resolved_at: datetime | None = None
    regressed_at: datetime | None = None
    merged_into: str | None = None
    split_from: str | None = None
    merged_ids: list[str] = dataclasses.field(default_factory=list)  # clusters folded into this one
    previous_ids: list[str] = dataclasses.field(default_factory=list)  # ids retired into this one
    runs: list[RunLink] = dataclasses.field(default_factory=list)  # run_ids with their URL
    similar: list[SimilarCluster] = dataclasses.field(
        default_factory=list
    )  # merge suggestions, most similar first


@dataclasses.dataclass(slots=True)
class RulePreview:
    """What a keyword/regex rule would match among the errors of the window, before saving it."""

    cluster_id: str
    category: str
    keywords: list[str]
    pattern: str | None
    matched_events: int  # error events of the window the rule matches
    matched_messages: int  # distinct messages it matches
    cluster_events: int  # events of this cluster in the window
    cluster_matched: int  # of those, matched by the rule
    cluster_to_matches: dict[str, int]  # cluster id -> events matched, largest first
    examples: list[str]  # matched messages
    missed_examples: list[str]  # messages of this cluster the rule does not match
    toml: str  # the snippet that promote_to_rule adds to the rules file
    days: int = 30
    rules_file: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class LabelledTemplate:
    """A template whose category a person decided: a training label for category mapping."""

    template: str
    category: str
    cluster_id: str
