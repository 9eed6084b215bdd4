"""Ranking what to fix first.

The items, each covering its clusters once:

* one per category that a rule, a review decision or the model gave to clusters, naming the
  category's largest clusters;
* one per cluster that maps to no category, saying what is specific to it (its template, an
  example, phases, runs, where it last occurred) — no fix time, since nobody knows the cause;
* the uncategorised clusters that do not make the list on their own are one item,
  "N clusters, M errors need review", pointing to the review workflow;
* phase hot spots (failure rate above the threshold) and a high share of failures without
  error text.

Muted (ignored) clusters are left out. Items are ranked by severity first — so severity never
rises down the list — then by a score from how often, how widely and how recently they occur::

    score = runs_affected * (1 + BREADTH_BONUS * (phases - 1)) * 0.5 ** (days_since_last_seen / HALF_LIFE_DAYS)

so a problem that hits many runs, in several phases, and is still happening ranks first; one
that stopped a month ago fades.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Sequence
from datetime import datetime

from ..models import (
    UNKNOWN_CATEGORY,
    CategoryRule,
    ClusterStatus,
    DebugRecommendation,
    DiscoveredCluster,
    ErrorEvent,
    Phase,
    PhaseErrorBreakdown,
    RecommendationKind,
    Severity,
)
from .clusters import WindowClusters
from .grouping import GroupStats, ProblemFigures, group_events
from .patterns import REVIEW_HINT, needs_review_text, shown_example

HALF_LIFE_DAYS = 7.0
BREADTH_BONUS = 0.25
#: Above this share of failed runs without any error text, instrumenting is the first fix.
MISSING_TEXT_SHARE = 0.2
_SEVERITY_WEIGHT: dict[Severity, float] = {
    Severity.HIGH: 1.5,
    Severity.MEDIUM: 1.0,
    Severity.LOW: 0.7,
}
_SEVERITY_RANK: dict[Severity, int] = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2}
#: Recommendations listed by default (``--limit``, the API's ``limit``).
DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
#: Clusters named in a category's recommendation.
NAMED_CLUSTERS = 3


def recommend(
    window: WindowClusters,
    events: Sequence[ErrorEvent],
    *,
    categories: Container[str],
    category_rule: Callable[[str], CategoryRule],
    breakdown: PhaseErrorBreakdown,
    now: datetime,
    failed_runs: int,
    limit: int = DEFAULT_LIMIT,
) -> list[DebugRecommendation]:
    """The ranked recommendations of a window (see the module docstring). ``categories`` are
    the keys of the rules' categories: a cluster of any other category (``unknown``, or one the
    rules no longer have) is uncategorised."""
    live = [cluster for cluster in window.clusters if cluster.status != ClusterStatus.IGNORED]
    id_to_category = {cluster.id: cluster.category for cluster in live}
    category_to_stats = group_events(
        events, lambda event: id_to_category.get(window.cluster_id_of(event) or "")
    )
    category_to_clusters: dict[str, list[DiscoveredCluster]] = defaultdict(list)
    for cluster in live:
        category_to_clusters[cluster.category].append(cluster)
    items: list[DebugRecommendation] = []
    cluster_items = []
    unknown_rule = category_rule(UNKNOWN_CATEGORY)
    for key, group in category_to_clusters.items():
        if key in categories:
            figures = category_to_stats[key].figures()
            items.append(
                category_recommendation(figures, category_rule(key), group, now, failed_runs)
            )
            continue
        for cluster in group:
            stats = window.id_to_stats[cluster.id]
            item = cluster_recommendation(cluster, stats, unknown_rule, now, failed_runs)
            cluster_items.append((item, cluster))
    items.extend(phase_hotspot_recommendations(breakdown))
    without_text = len({event.run_id for event in events if not event.message})
    missing = missing_text_recommendation(without_text, failed_runs)
    if missing:
        items.append(missing)
    return ranked(items, cluster_items, window.id_to_stats, limit)


def score(stats: ProblemFigures, now: datetime, severity: Severity) -> float:
    age_days = (
        max(0.0, (now - stats.last_seen).total_seconds() / 86400) if stats.last_seen else 30.0
    )
    breadth = 1 + BREADTH_BONUS * max(0, len(stats.phases) - 1)
    return (
        stats.runs_affected
        * breadth
        * 0.5 ** (age_days / HALF_LIFE_DAYS)
        * _SEVERITY_WEIGHT[severity]
    )


def group_recommendation(
    stats: ProblemFigures,
    rule: CategoryRule,
    now: datetime,
    failed_runs: int,
    *,
    issue: str,
    kind: RecommendationKind,
    cluster_ids: Sequence[str] = (),
) -> DebugRecommendation:
    severity = rule.severity
    if failed_runs and stats.runs_affected >= 0.25 * failed_runs:
        severity = Severity.HIGH
    phases = stats.phases
    where = f" in {', '.join(phases)}" if phases else ""
    return DebugRecommendation(
        issue=issue,
        severity=severity,
        root_cause=f"{rule.root_cause or rule.category}: {stats.occurrences} occurrences across "
        f"{stats.runs_affected} runs{where}. Example: {_shorten(stats.example_message)}",
        solution=rule.recommendation,
        estimated_fix_time=rule.estimated_fix_time,
        occurrences=stats.occurrences,
        runs_affected=stats.runs_affected,
        affected_phases=phases,
        last_seen=stats.last_seen,
        score=round(score(stats, now, severity), 3),
        kind=kind,
        cluster_ids=list(cluster_ids),
    )


def category_recommendation(
    stats: ProblemFigures,
    rule: CategoryRule,
    clusters: Sequence[DiscoveredCluster],
    now: datetime,
    failed_runs: int,
) -> DebugRecommendation:
    """The category's recommendation, naming its largest clusters."""
    item = group_recommendation(
        stats,
        rule,
        now,
        failed_runs,
        issue=rule.name,
        kind=RecommendationKind.CATEGORY,
        cluster_ids=[cluster.id for cluster in clusters],
    )
    named = "; ".join(
        f"{_shorten(cluster.name, 80)} ({cluster.size})" for cluster in clusters[:NAMED_CLUSTERS]
    )
    more = len(clusters) - NAMED_CLUSTERS
    where = f" in {', '.join(stats.phases)}" if stats.phases else ""
    item.root_cause = (
        f"{plural(len(clusters), 'cluster')}: {named}"
        + (f"; and {plural(more, 'smaller one')}" if more > 0 else "")
        + f". {plural(stats.occurrences, 'error')} across {plural(stats.runs_affected, 'run')}"
        + f"{where}. Example: {_shorten(stats.example_message)}. "
        + (rule.root_cause or rule.category)
    )
    return item


def cluster_recommendation(
    cluster: DiscoveredCluster,
    stats: GroupStats,
    rule: CategoryRule,
    now: datetime,
    failed_runs: int,
) -> DebugRecommendation:
    """A cluster that maps to no category, described by what is specific to it."""
    figures = ProblemFigures(
        occurrences=stats.occurrences,
        runs_affected=stats.runs_affected,
        phases=stats.phases,
        last_seen=stats.last_seen,
        example_message=shown_example(cluster),
    )
    item = group_recommendation(
        figures,
        rule,
        now,
        failed_runs,
        issue=cluster.name,
        kind=RecommendationKind.CLUSTER,
        cluster_ids=[cluster.id],
    )
    phases = ", ".join(stats.phases) or "no known phase"
    seen = ""
    if stats.first_seen and stats.last_seen:
        seen = f", {stats.first_seen:%Y-%m-%d} to {stats.last_seen:%Y-%m-%d}"
    item.root_cause = (
        f"Cluster {cluster.id}, no category yet: {plural(stats.occurrences, 'error')} in "
        f"{plural(stats.runs_affected, 'run')} ({phases}{seen}). Template: "
        f"{_shorten(cluster.template)}. Example: {_shorten(figures.example_message)}"
    )
    run, phase = _latest_run(stats)
    item.solution = (
        f"Reproduce it from run {run}{f' ({phase})' if phase else ''}, where it last occurred; "
        f"once the cause is known, give cluster {cluster.id} a category (analyze-errors "
        f"clusters set-category {cluster.id} <category>) so it is counted with its kind."
    )
    item.estimated_fix_time = ""  # unknown until someone knows the cause
    return item


def review_recommendation(
    clusters: Sequence[DiscoveredCluster], id_to_stats: dict[str, GroupStats]
) -> DebugRecommendation:
    """The uncategorised clusters not listed on their own, as one item: review them."""
    run_ids: set[str] = set()
    seen: list[datetime] = []
    phase_to_errors: dict[str, int] = {}
    errors = 0
    for cluster in clusters:
        stats = id_to_stats[cluster.id]
        errors += stats.occurrences
        run_ids |= stats.run_ids
        if stats.last_seen is not None:
            seen.append(stats.last_seen)
        for phase, count in stats.phase_counts.items():
            phase_to_errors[phase] = phase_to_errors.get(phase, 0) + count
    largest = ", ".join(f"{cluster.name} ({cluster.size})" for cluster in clusters[:NAMED_CLUSTERS])
    return DebugRecommendation(
        issue=needs_review_text(len(clusters), errors),
        severity=Severity.LOW,
        root_cause="No rule, review decision or model places these clusters in a category; "
        f"the largest: {_shorten(largest, 400)}",
        solution=f"Review them ({REVIEW_HINT}): name each cluster, give it a category or "
        "ignore it; the decisions stick and the errors are then counted with their category.",
        estimated_fix_time="",
        occurrences=errors,
        runs_affected=len(run_ids),
        affected_phases=sorted(phase_to_errors, key=lambda phase: -phase_to_errors[phase]),
        last_seen=max(seen, default=None),
        score=float(len(run_ids)),
        kind=RecommendationKind.NEEDS_REVIEW,
        cluster_ids=[cluster.id for cluster in clusters],
    )


def rank_key(item: DebugRecommendation) -> tuple[int, float, str]:
    """Severity first (high, medium, low), then the score, highest first."""
    return (_SEVERITY_RANK[item.severity], -item.score, item.issue)


def ranked(
    items: Iterable[DebugRecommendation],
    cluster_items: Sequence[tuple[DebugRecommendation, DiscoveredCluster]],
    id_to_stats: dict[str, GroupStats],
    limit: int,
) -> list[DebugRecommendation]:
    """At most ``limit`` items, severity first; the uncategorised clusters that do not make
    the list on their own are folded into one "need review" item (which then takes a place)."""
    item_to_cluster = {id(item): cluster for item, cluster in cluster_items}
    candidates = sorted([*items, *(item for item, _ in cluster_items)], key=rank_key)

    def left_out(shown: int) -> list[DiscoveredCluster]:
        return [
            item_to_cluster[id(item)] for item in candidates[shown:] if id(item) in item_to_cluster
        ]

    if limit < 2 or not left_out(limit):
        return candidates[:limit]
    folded = sorted(left_out(limit - 1), key=lambda cluster: (-cluster.size, cluster.id))
    return sorted(
        [*candidates[: limit - 1], review_recommendation(folded, id_to_stats)], key=rank_key
    )


def phase_hotspot_recommendations(breakdown: PhaseErrorBreakdown) -> Iterable[DebugRecommendation]:
    for phase in breakdown.phases_above_threshold:
        rate = breakdown.phase_failure_rates.get(phase, 0.0)
        failed = breakdown.phase_failed_runs.get(phase, 0)
        yield DebugRecommendation(
            issue=f"{phase} phase hot spot",
            severity=Severity.HIGH if rate >= 2 * breakdown.threshold_percent else Severity.MEDIUM,
            root_cause=f"{rate:.1f}% of runs failed in {phase} ({failed} runs), above the "
            f"{breakdown.threshold_percent:.0f}% threshold",
            solution=f"Look at the {phase} phase first: reproduce one failing run locally, add a "
            f"pre-flight check for its inputs, and break the phase's error clusters down below.",
            estimated_fix_time="2-4 hours",
            occurrences=breakdown.phase_error_counts.get(phase, 0),
            runs_affected=failed,
            affected_phases=[phase],
            score=float(failed) * 1.2,
            kind=RecommendationKind.PHASE_HOTSPOT,
        )


def missing_text_recommendation(without_text: int, failed_runs: int) -> DebugRecommendation | None:
    if not failed_runs or without_text / failed_runs < MISSING_TEXT_SHARE:
        return None
    share = 100.0 * without_text / failed_runs
    return DebugRecommendation(
        issue="Failures without error text",
        severity=Severity.HIGH if share >= 50 else Severity.MEDIUM,
        root_cause=f"{without_text} of {failed_runs} failed runs ({share:.0f}%) recorded no error "
        "message, so they cannot be classified",
        solution="Record the exception text and the failing phase when a workflow fails "
        "(write failure_reason / error_message and phase errors in the workflow's error handler).",
        estimated_fix_time="1-2 hours",
        occurrences=without_text,
        runs_affected=without_text,
        score=float(without_text),
        kind=RecommendationKind.MISSING_ERROR_TEXT,
    )


def plural(count: int, noun: str) -> str:
    """``"1 error"``, ``"2 errors"``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _latest_run(stats: GroupStats) -> tuple[str, str | None]:
    """A run of the group (the one where it last occurred when known) and its phase if known."""
    if stats.latest_run_id is not None:
        phase = stats.latest_phase
        return stats.latest_run_id, phase if phase != Phase.UNKNOWN else None
    return min(stats.run_ids), None


def _shorten(message: str, limit: int = 160) -> str:
    first = " ".join(message.split())
    return first if len(first) <= limit else first[: limit - 1] + "…"
