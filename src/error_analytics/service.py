"""The one entry point that the CLI, the HTTP API and the dashboard call.

:class:`ErrorAnalyticsService` answers the five analyses (summary, by phase, patterns, trends,
recommendations) and the clustering view for a window of ``days``. Run counts and daily series
are aggregated in the database; error events are read once per window (the snapshot).

Every view is built from the window's clusters (:meth:`ErrorAnalyticsService.window_clusters`):
each error event with text is in one cluster, and its category is the cluster's. The clusters
come from the review state when the service has one (stable ids, review decisions), else from
clustering the window afresh; they are cached with the snapshot.

Phase failure rate: the share of runs that failed in a phase (had an error event there) over
the runs that *reached* that phase according to ``task_logs``; where the database has no
``task_logs``, over all runs in the window (``rate_basis`` says which).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from .analysis.clusters import WindowClusters
from .analysis.patterns import category_patterns
from .analysis.recommendations import DEFAULT_LIMIT, MAX_LIMIT, recommend
from .analysis.sources import Progress, fresh_clusters, state_clusters, state_token
from .analysis.trends import build_trend, window_days
from .config import Settings, get_settings
from .errors import DatabaseError, InputError
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
from .store.engine import open_engine
from .store.workflow_reader import DailyRunCount, RunCounts, WorkflowReader

if TYPE_CHECKING:  # the review package imports this module
    from .review import ClusterReviewService

logger = logging.getLogger("error_analytics.service")

MIN_DAYS, MAX_DAYS = 1, 3650
#: A cached snapshot serves until the data changes or this many seconds pass (the window moves).
SNAPSHOT_MAX_AGE_SECONDS = 60
PHASE_RATE_THRESHOLD = 10.0
#: The most recommendations one call lists (``limit``).
MAX_RECOMMENDATIONS = MAX_LIMIT

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
    phase_reach: dict[Phase, int] | None
    daily: list[DailyRunCount]
    days: int = 30
    # the window's clusters, found on first use; with the review state's token they came from
    clusters: WindowClusters | None = None
    clusters_token: tuple | None = None
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)


class ErrorAnalyticsService:
    """Analyses of one workflow database.

    ``ErrorAnalyticsService(reader)`` analyses the database the reader reads;
    ``ErrorAnalyticsService()`` (the host's original way of building it) or
    ``ErrorAnalyticsService(settings=...)`` finds the database the way the CLI does
    (:func:`~error_analytics.config.get_settings`: ``ERROR_ANALYTICS_DB``, else the host's
    ``DB_TYPE`` / ``POSTGRES_*``) and opens it, read-only, on first use, so that building one
    at import time opens nothing. :meth:`from_settings` opens it at once.

    Clusters (and so every view) come from the review state when there is one: the settings'
    state database for a service built from settings, else ``state_engine`` (an engine, or a
    function that opens one on first use). A state that cannot be used (a read-only file, a
    restricted role) leaves the service stateless; :attr:`state_note` says why.
    """

    def __init__(
        self,
        reader: WorkflowReader | None = None,
        *,
        rules: RuleSet | None = None,
        clock: Callable[[], datetime] | None = None,
        settings: Settings | None = None,
        state_engine: Engine | Callable[[], Engine] | None = None,
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
        if state_engine is None and self._configured:
            state_engine = self._open_configured_state
        self._state_engine = state_engine
        self._review: ClusterReviewService | None = None
        #: Why the review state is not used, when it could not be (None: used, or none given).
        self.state_note: str | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, review_state: bool = True
    ) -> ErrorAnalyticsService:
        """Open the database the settings point at (read-only) and load the rules file; the
        state database (``settings.state_db``, else the default place) is opened on first use
        unless ``review_state`` is False."""
        settings = settings or get_settings()
        rules = load_rules(settings.rules_file) if settings.rules_file else default_rules()
        engine = open_engine(settings.database_target(), read_only=True)
        service = cls(WorkflowReader(engine), rules=rules, clock=settings.now)
        service._settings = settings
        if review_state:
            service._state_engine = service._open_configured_state
        return service

    def _open_configured_state(self) -> Engine:
        from .store.state import open_state_engine

        return open_state_engine(self._configured_settings().state_database_target())

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
        snapshot = self._read_snapshot(window, days)
        with self._snapshot_lock:
            self._days_to_snapshot[days] = (fingerprint, time.monotonic(), snapshot)
        return snapshot

    def _read_snapshot(self, window: TimeWindow, days: int) -> Snapshot:
        quality = DataQualityReport()
        events = self.reader.error_events(window, quality)
        return Snapshot(
            window,
            self.reader.run_counts(window),
            events,
            quality,
            phase_reach=self.reader.phase_reach(window),
            daily=self.reader.daily_run_counts(window),
            days=days,
        )

    # -- the window's clusters -----------------------------------------------------------
    def window_clusters(
        self,
        days: int = 30,
        *,
        snapshot: Snapshot | None = None,
        progress: Progress | None = None,
    ) -> WindowClusters:
        """The window's clusters, each error event with text in one of them; what every view
        aggregates. From the review state when there is one (it is refreshed first: new
        errors join their clusters), else clustered afresh. Cached with the snapshot until the
        data or the review state changes."""
        snapshot = snapshot or self.snapshot(days)
        review = self.review_service()
        with snapshot.lock:
            token = None
            if review is not None:
                try:
                    token = state_token(review)
                except DatabaseError as exc:
                    self._state_unusable(exc)
                    review = None
            if snapshot.clusters is not None and snapshot.clusters_token == token:
                return snapshot.clusters
            found = None
            if review is not None:
                try:
                    found = state_clusters(
                        review, snapshot.events, snapshot.days, snapshot.window.end, progress
                    )
                    token = state_token(review)
                except DatabaseError as exc:
                    self._state_unusable(exc)
            if found is None:
                found = fresh_clusters(snapshot.events, self.rules, snapshot.window.end, progress)
                token = None
            snapshot.clusters, snapshot.clusters_token = found, token
            return found

    def review_service(self) -> ClusterReviewService | None:
        """The review service on this service's state, opened on first use (None: stateless)."""
        if self._review is None and self._state_engine is not None:
            from .review import ClusterReviewService

            with self._open_lock:
                if self._review is None and self._state_engine is not None:
                    opener = self._state_engine
                    try:
                        engine = opener if isinstance(opener, Engine) else opener()
                    except DatabaseError as exc:
                        self._state_unusable(exc)
                        return None
                    timezone = self._settings.timezone if self._settings else None
                    self._review = ClusterReviewService(self, engine, timezone=timezone)
        return self._review

    def _state_unusable(self, exc: DatabaseError) -> None:
        self.state_note = (
            f"review state unavailable ({exc}); showing this run's clusters only "
            "(use --state-db to keep ids and decisions)"
        )
        logger.warning("%s", self.state_note)
        self._state_engine, self._review = None, None

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
    ) -> ErrorSummary:
        """Totals and the categories' error counts (sums over their clusters), with the
        window's largest clusters."""
        snapshot = snapshot or self.snapshot(days)
        window = self.window_clusters(days, snapshot=snapshot)
        category_counts = Counter(window.category_of(event) for event in snapshot.events)
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
                    "runs": cluster.runs_affected,
                    "category": cluster.category,
                }
                for cluster in window.clusters[:5]
            ],
            data_quality=snapshot.quality,
        )

    def analyze_by_phase(
        self, days: int = 30, *, snapshot: Snapshot | None = None
    ) -> PhaseErrorBreakdown:
        """Errors and failed runs per phase. Every error event is in one cluster (or, without
        text, in the ``no_error_text`` bucket), so these counts are sums over clusters too."""
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
        """One pattern per category seen in the window, each the sum of its clusters and
        listing the largest as evidence; the categories someone can act on first (most
        frequent first), then ``unknown`` (clusters that need review), then failed runs
        without error text."""
        snapshot = snapshot or self.snapshot(days)
        window = self.window_clusters(days, snapshot=snapshot)
        return category_patterns(snapshot.events, window, self.category_rule)

    # -- discovered clusters -------------------------------------------------------------
    def cluster_errors(
        self,
        days: int = 30,
        *,
        snapshot: Snapshot | None = None,
        progress: Progress | None = None,
    ) -> list[DiscoveredCluster]:
        """The window's clusters, largest first, each with its errors, runs, phases and dates
        in the window (:meth:`window_clusters`' list)."""
        return self.window_clusters(days, snapshot=snapshot, progress=progress).clusters

    def get_failure_trends(self, days: int = 30, *, snapshot: Snapshot | None = None) -> TrendData:
        snapshot = snapshot or self.snapshot(days)
        window = snapshot.window
        clusters = self.window_clusters(days, snapshot=snapshot)
        day_list = window_days(window.start.date() + timedelta(days=1), window.end.date())
        day_to_runs_failed = {daily.day: (daily.runs, daily.failed) for daily in snapshot.daily}
        category_to_day_counts: dict[str, Counter] = defaultdict(Counter)
        for event in snapshot.events:
            if event.timestamp is not None:
                category_to_day_counts[clusters.category_of(event)][event.timestamp.date()] += 1
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
        limit: int = DEFAULT_LIMIT,
    ) -> list[DebugRecommendation]:
        """What to fix first, at most ``limit`` items ranked by severity, then frequency,
        breadth and recency (:mod:`~error_analytics.analysis.recommendations`): one per
        category naming its clusters, one per uncategorised cluster, the rest of those as one
        "need review" item, phase hot spots and missing error text. Each cluster is in one
        item; ignored clusters in none."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InputError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
        snapshot = snapshot or self.snapshot(days)
        return recommend(
            self.window_clusters(days, snapshot=snapshot),
            snapshot.events,
            categories=self.rules.categories,
            category_rule=self.category_rule,
            breakdown=self.analyze_by_phase(days, snapshot=snapshot),
            now=snapshot.window.end,
            failed_runs=snapshot.counts.failed,
            limit=limit,
        )


def _phase_index(name: str) -> int:
    return [phase.value for phase in Phase.ordered()].index(name)


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0
