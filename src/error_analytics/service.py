"""The one entry point that the CLI, the HTTP API and the dashboard call.

:class:`ErrorAnalyticsService` answers the five analyses (summary, by phase, patterns, trends,
recommendations) and the clustering view for a window of ``days``. Run counts and daily series
are aggregated in the database; error events are read once per call, and each distinct message
is classified once.

Phase failure rate: the share of runs that failed in a phase (had an error event there) over
the runs that *reached* that phase according to ``task_logs``; where the database has no
``task_logs``, over all runs in the window (``rate_basis`` says which).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from .analysis.grouping import GroupStats, ProblemFigures, group_events
from .analysis.recommendations import (
    group_recommendation,
    missing_text_recommendation,
    phase_hotspot_recommendations,
)
from .analysis.trends import build_trend, window_days
from .config import Settings, get_settings
from .errors import InputError
from .models import (
    NO_TEXT_CATEGORY,
    UNKNOWN_CATEGORY,
    CategoryRule,
    DataQualityReport,
    DebugRecommendation,
    DiscoveredCluster,
    ErrorEvent,
    ErrorPattern,
    ErrorSummary,
    Phase,
    PhaseErrorBreakdown,
    Severity,
    Source,
    TimeWindow,
    TrendData,
)
from .rules import RuleSet, classify_error, default_rules, load_rules
from .rules.text import strip_ansi
from .store.engine import open_engine
from .store.workflow_reader import DailyRunCount, RunCounts, WorkflowReader

MIN_DAYS, MAX_DAYS = 1, 3650
#: A cached snapshot serves until the data changes or this many seconds pass (the window moves).
SNAPSHOT_MAX_AGE_SECONDS = 60
PHASE_RATE_THRESHOLD = 10.0
NEW_CLUSTER_DAYS = 7

UNKNOWN_RULE = CategoryRule(
    key=UNKNOWN_CATEGORY,
    name="Unclassified Error",
    category="Unknown",
    recommendation="Read the example message and the failing phase's log; if it recurs, "
    "add a rule for it (--rules) so it is classified next time.",
    severity=Severity.MEDIUM.value,
    root_cause="Errors that no rule recognises",
    estimated_fix_time="1-3 hours",
)
NO_TEXT_RULE = CategoryRule(
    key=NO_TEXT_CATEGORY,
    name="Errors Without Text",
    category="Missing Diagnostics",
    recommendation="Record the exception text and the failing phase when a workflow fails.",
    severity=Severity.MEDIUM.value,
    root_cause="Failed runs that recorded no error text, and phase error counts without a message",
    estimated_fix_time="1-2 hours",
)


@dataclasses.dataclass(slots=True)
class Snapshot:
    """Everything the analyses of one window read from the database, read once."""

    window: TimeWindow
    counts: RunCounts
    events: list[ErrorEvent]
    quality: DataQualityReport
    message_to_category: dict[str | None, str]
    phase_reach: dict[Phase, int] | None
    daily: list[DailyRunCount]

    def category_of(self, event: ErrorEvent) -> str:
        return self.message_to_category[event.message]


class ErrorAnalyticsService:
    """Analyses of one workflow database.

    ``ErrorAnalyticsService(reader)`` analyses the database the reader reads;
    ``ErrorAnalyticsService()`` (the host's original way of building it) or
    ``ErrorAnalyticsService(settings=...)`` finds the database the way the CLI does
    (:func:`~error_analytics.config.get_settings`: ``ERROR_ANALYTICS_DB``, else the host's
    ``DB_TYPE`` / ``POSTGRES_*``) and opens it, read-only, on first use, so that building one
    at import time opens nothing. :meth:`from_settings` opens it at once.
    """

    def __init__(
        self,
        reader: WorkflowReader | None = None,
        *,
        rules: RuleSet | None = None,
        clock: Callable[[], datetime] | None = None,
        settings: Settings | None = None,
    ) -> None:
        self._reader = reader
        # without a reader, the database, rules file and clock all come from the settings
        self._configured = reader is None
        self._rules = rules
        self._clock = clock
        self._settings = settings
        self._open_lock = threading.Lock()
        self._snapshot_lock = threading.Lock()
        self._days_to_snapshot: dict[int, tuple[tuple, float, Snapshot]] = {}

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ErrorAnalyticsService:
        """Open the database the settings point at (read-only) and load the rules file."""
        settings = settings or get_settings()
        rules = load_rules(settings.rules_file) if settings.rules_file else default_rules()
        engine = open_engine(settings.database_target(), read_only=True)
        return cls(WorkflowReader(engine), rules=rules, clock=settings.now)

    @property
    def reader(self) -> WorkflowReader:
        """The workflow database's reader, opened on first use when none was given."""
        if self._reader is None:
            with self._open_lock:
                if self._reader is None:
                    target = self._configured_settings().database_target()
                    self._reader = WorkflowReader(open_engine(target, read_only=True))
        return self._reader

    @property
    def rules(self) -> RuleSet:
        """The rules given, else the settings' rules file, else the canonical rules."""
        if self._rules is None:
            rules_file = self._configured_settings().rules_file if self._configured else None
            self._rules = load_rules(rules_file) if rules_file else default_rules()
        return self._rules

    @rules.setter
    def rules(self, rules: RuleSet) -> None:
        self._rules = rules

    def _configured_settings(self) -> Settings:
        if self._settings is None:
            self._settings = get_settings()
        return self._settings

    def _now(self) -> datetime:
        if self._clock is not None:
            return self._clock()
        if self._configured or self._settings is not None:
            return self._configured_settings().now()
        return datetime.now()  # built around a reader: the machine's clock, as before

    def classify_error(self, message: str | None) -> str:
        """The category key of ``message`` under this service's rules, else ``"unknown"``."""
        return classify_error(message, self.rules)

    # -- reading -------------------------------------------------------------------------
    def window(self, days: int) -> TimeWindow:
        if isinstance(days, bool) or not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
            raise InputError(
                f"days must be a whole number from {MIN_DAYS} to {MAX_DAYS}, not {days!r}"
            )
        end = self._now()
        return TimeWindow(start=end - timedelta(days=days), end=end)

    def snapshot(self, days: int = 30) -> Snapshot:
        """The window's data, served from cache while the database has not changed.

        The cache key is :meth:`WorkflowReader.data_fingerprint` (new or updated rows change it),
        so answers stay true as failures arrive; entries also expire after
        :data:`SNAPSHOT_MAX_AGE_SECONDS` because the window itself moves with the clock.
        """
        window = self.window(days)
        fingerprint = self.reader.data_fingerprint()
        with self._snapshot_lock:
            cached = self._days_to_snapshot.get(days)
        if (
            cached
            and cached[0] == fingerprint
            and time.monotonic() - cached[1] < SNAPSHOT_MAX_AGE_SECONDS
        ):
            return cached[2]
        snapshot = self._read_snapshot(window)
        with self._snapshot_lock:
            self._days_to_snapshot[days] = (fingerprint, time.monotonic(), snapshot)
        return snapshot

    def _read_snapshot(self, window: TimeWindow) -> Snapshot:
        quality = DataQualityReport()
        events = self.reader.error_events(window, quality)
        counts = self.reader.run_counts(window)
        classify = functools.partial(classify_error, rules=self.rules)
        message_to_category: dict[str | None, str] = {None: NO_TEXT_CATEGORY}
        for event in events:
            if event.message not in message_to_category:
                message_to_category[event.message] = classify(event.message)
        return Snapshot(
            window,
            counts,
            events,
            quality,
            message_to_category,
            phase_reach=self.reader.phase_reach(window),
            daily=self.reader.daily_run_counts(window),
        )

    def category_rule(self, key: str) -> CategoryRule:
        if key == NO_TEXT_CATEGORY:
            return NO_TEXT_RULE
        return self.rules.categories.get(key, UNKNOWN_RULE)

    # -- the five analyses ---------------------------------------------------------------
    def get_error_summary(
        self,
        days: int = 30,
        *,
        snapshot: Snapshot | None = None,
        clusters: list[DiscoveredCluster] | None = None,
    ) -> ErrorSummary:
        snapshot = snapshot or self.snapshot(days)
        category_counts = Counter(snapshot.category_of(event) for event in snapshot.events)
        breakdown = self.analyze_by_phase(days, snapshot=snapshot)
        known = {
            phase: runs
            for phase, runs in breakdown.phase_failed_runs.items()
            if runs and phase != Phase.UNKNOWN.value
        }
        candidates = known or {
            phase: runs for phase, runs in breakdown.phase_failed_runs.items() if runs
        }
        worst_phase = max(
            candidates, key=lambda phase: (candidates[phase], -_phase_index(phase)), default=None
        )
        without_text = sum(1 for event in snapshot.events if event.source is Source.NO_ERROR_TEXT)
        return ErrorSummary(
            total_workflows=snapshot.counts.total,
            failed_workflows=snapshot.counts.failed,
            failure_rate=_percent(snapshot.counts.failed, snapshot.counts.total),
            top_errors=sorted(category_counts.items(), key=lambda item: (-item[1], item[0])),
            most_problematic_phase=worst_phase,
            most_problematic_phase_failures=candidates.get(worst_phase, 0) if worst_phase else 0,
            failed_without_error_text=without_text,
            total_errors=len(snapshot.events),
            days=days,
            top_clusters=[
                {
                    "id": cluster.id,
                    "name": cluster.name,
                    "size": cluster.size,
                    "category": cluster.category,
                }
                for cluster in (clusters or [])[:5]
            ],
            data_quality=snapshot.quality,
        )

    def analyze_by_phase(
        self, days: int = 30, *, snapshot: Snapshot | None = None
    ) -> PhaseErrorBreakdown:
        snapshot = snapshot or self.snapshot(days)
        error_counts = Counter(event.phase.value for event in snapshot.events)
        phase_to_runs: dict[str, set[str]] = defaultdict(set)
        for event in snapshot.events:
            phase_to_runs[event.phase.value].add(event.run_id)
        reach = snapshot.phase_reach
        rate_basis = "runs_reaching_phase" if reach else "all_runs"
        phase_counts, rates, failed_runs, reached_runs = {}, {}, {}, {}
        for phase in Phase.ordered():
            name = phase.value
            failed = len(phase_to_runs.get(name, ()))
            # Unknown is no phase a run reaches: its rate is always over all runs
            reached = (
                reach.get(phase, 0)
                if reach and phase is not Phase.UNKNOWN
                else snapshot.counts.total
            )
            reached = max(reached, failed)
            phase_counts[name] = error_counts.get(name, 0)
            failed_runs[name] = failed
            reached_runs[name] = reached
            rates[name] = _percent(failed, reached)
        above = [
            name
            for name, rate in rates.items()
            if rate > PHASE_RATE_THRESHOLD and name != Phase.UNKNOWN.value
        ]
        return PhaseErrorBreakdown(
            phase_error_counts=phase_counts,
            phase_failure_rates=rates,
            phase_failed_runs=failed_runs,
            phase_reached_runs=reached_runs,
            total_errors=len(snapshot.events),
            phases_above_threshold=above,
            threshold_percent=PHASE_RATE_THRESHOLD,
            rate_basis=rate_basis,
            days=days,
        )

    def find_error_patterns(
        self, days: int = 30, *, snapshot: Snapshot | None = None
    ) -> list[ErrorPattern]:
        """One pattern per keyword category seen in the window, most frequent first."""
        snapshot = snapshot or self.snapshot(days)
        key_to_stats = group_events(snapshot.events, snapshot.category_of)
        patterns = []
        for key, stats in key_to_stats.items():
            rule = self.category_rule(key)
            patterns.append(_pattern_from(stats, rule, kind="category"))
        return patterns

    # -- discovered clusters -------------------------------------------------------------
    def cluster_errors(
        self,
        days: int = 30,
        *,
        snapshot: Snapshot | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[DiscoveredCluster]:
        """Cluster the window's error messages; each cluster carries runs, phases and dates."""
        from .clustering import (
            ErrorClusterer,
        )  # scikit-learn loads only when clusters are asked for

        snapshot = snapshot or self.snapshot(days)
        with_text = [event for event in snapshot.events if event.message]
        if not with_text:
            return []
        clusterer = ErrorClusterer(rules=self.rules).fit(
            [event.message for event in with_text if event.message], progress=progress
        )
        id_to_cluster = {cluster.id: cluster for cluster in clusterer.clusters_}
        id_to_stats = group_events(
            (event for event in with_text), _LabelLookup(with_text, clusterer.labels_)
        )
        new_since = snapshot.window.end - timedelta(days=NEW_CLUSTER_DAYS)
        clusters = []
        for cluster_id, cluster in id_to_cluster.items():
            stats = id_to_stats.get(cluster_id)
            if stats is not None:
                cluster.runs_affected = stats.runs_affected
                cluster.phases = stats.phases
                cluster.first_seen = stats.first_seen
                cluster.last_seen = stats.last_seen
                cluster.is_new = bool(stats.first_seen and stats.first_seen >= new_since)
            clusters.append(cluster)
        clusters.sort(key=lambda cluster: (-cluster.size, cluster.id))
        return clusters

    def cluster_patterns(self, clusters: list[DiscoveredCluster]) -> list[ErrorPattern]:
        """Discovered clusters as patterns, to list beside the keyword categories."""
        return [
            _cluster_pattern(cluster, self.category_rule(cluster.category)) for cluster in clusters
        ]

    def get_failure_trends(self, days: int = 30, *, snapshot: Snapshot | None = None) -> TrendData:
        snapshot = snapshot or self.snapshot(days)
        window = snapshot.window
        day_list = window_days(window.start.date() + timedelta(days=1), window.end.date())
        day_to_runs_failed = {daily.day: (daily.runs, daily.failed) for daily in snapshot.daily}
        category_to_day_counts: dict[str, Counter] = defaultdict(Counter)
        for event in snapshot.events:
            if event.timestamp is not None:
                category_to_day_counts[snapshot.category_of(event)][event.timestamp.date()] += 1
        if day_to_runs_failed:
            # runs in the first partial day of the window belong to the first point
            first = day_list[0]
            for day in list(day_to_runs_failed):
                if day < first:
                    runs, failed = day_to_runs_failed.pop(day)
                    old_runs, old_failed = day_to_runs_failed.get(first, (0, 0))
                    day_to_runs_failed[first] = (old_runs + runs, old_failed + failed)
        return build_trend(day_list, day_to_runs_failed, category_to_day_counts)

    def get_debugging_recommendations(
        self,
        days: int = 30,
        *,
        snapshot: Snapshot | None = None,
        clusters: list[DiscoveredCluster] | None = None,
    ) -> list[DebugRecommendation]:
        """What to fix first: categories and clusters ranked by frequency, breadth and recency."""
        snapshot = snapshot or self.snapshot(days)
        now = snapshot.window.end
        failed = snapshot.counts.failed
        recommendations = []
        without_text = 0
        for key, stats in group_events(snapshot.events, snapshot.category_of).items():
            if key == NO_TEXT_CATEGORY:
                without_text = stats.runs_affected
                continue
            rule = self.category_rule(key)
            recommendations.append(
                group_recommendation(
                    stats.figures(), rule, now, failed, issue=rule.name, kind="category"
                )
            )
        for cluster in clusters or ():
            if cluster.status == "ignored":
                continue
            figures = ProblemFigures(
                occurrences=cluster.size,
                runs_affected=cluster.runs_affected,
                phases=list(cluster.phases),
                last_seen=cluster.last_seen,
                example_message=_shown_example(cluster),
            )
            rule = self.category_rule(cluster.category)
            rule = dataclasses.replace(
                rule, recommendation=cluster.recommendation or rule.recommendation
            )
            recommendations.append(
                group_recommendation(
                    figures, rule, now, failed, issue=f"Cluster: {cluster.name}", kind="cluster"
                )
            )
        recommendations.extend(
            phase_hotspot_recommendations(self.analyze_by_phase(days, snapshot=snapshot))
        )
        missing = missing_text_recommendation(without_text, failed)
        if missing:
            recommendations.append(missing)
        recommendations.sort(key=lambda item: (-item.score, item.issue))
        return recommendations


class _LabelLookup:
    """Maps an event (by identity) to the cluster label of its message."""

    def __init__(self, events: list[ErrorEvent], labels: list[str]) -> None:
        self._id_to_label = {id(event): label for event, label in zip(events, labels, strict=False)}

    def __call__(self, event: ErrorEvent) -> str | None:
        return self._id_to_label.get(id(event))


def _shown_example(cluster: DiscoveredCluster) -> str:
    """The cluster's first example (else its template) as shown: without colour codes."""
    return strip_ansi(cluster.examples[0] if cluster.examples else cluster.template)


def _cluster_pattern(cluster: DiscoveredCluster, rule: CategoryRule) -> ErrorPattern:
    return ErrorPattern(
        pattern_name=cluster.name,
        category_key=cluster.category,
        category=rule.category,
        severity=rule.severity,
        occurrences=cluster.size,
        runs_affected=cluster.runs_affected,
        example_message=_shown_example(cluster),
        affected_phases=list(cluster.phases),
        recommendation=cluster.recommendation,
        first_seen=cluster.first_seen,
        last_seen=cluster.last_seen,
        kind="cluster",
        cluster_id=cluster.id,
    )


def _pattern_from(stats: GroupStats, rule: CategoryRule, *, kind: str) -> ErrorPattern:
    return ErrorPattern(
        pattern_name=rule.name,
        category_key=rule.key,
        category=rule.category,
        occurrences=stats.occurrences,
        runs_affected=stats.runs_affected,
        example_message=strip_ansi(stats.example_message),
        affected_phases=stats.phases,
        recommendation=rule.recommendation,
        severity=rule.severity,
        first_seen=stats.first_seen,
        last_seen=stats.last_seen,
        kind=kind,
    )


def _phase_index(name: str) -> int:
    return [phase.value for phase in Phase.ordered()].index(name)


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0
