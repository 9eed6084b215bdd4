"""The one entry point that the CLI, the HTTP API and the dashboard call.

:class:`ErrorAnalyticsService` answers the five analyses (summary, by phase, patterns, trends,
recommendations) and the clustering view for a window of ``days``. With a review state the
window is aggregated from the state's index of errors, which ingestion keeps up to date
(:mod:`error_analytics.review.ingest`); without one (``--no-state``) run counts and daily series
are aggregated in the analysed database and its error events read once per window. Either way
the window is one :class:`Snapshot`, shared by the views.

Every view is built from the window's clusters (:meth:`ErrorAnalyticsService.window_clusters`):
each error event with text is in one cluster, and its category is the cluster's. The clusters
come from the review state when the service has one (stable ids, review decisions), else from
clustering the window afresh; they are cached with the snapshot.

Phase failure rate: the share of runs that failed in a phase (had an error event there) over
the runs that *reached* that phase according to ``task_logs``; where the database has no
``task_logs``, over all runs in the window (``rate_basis`` says which).
"""

from __future__ import annotations

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
from .analysis.snapshot import Snapshot
from .analysis.sources import Progress, fresh_clusters
from .analysis.trends import build_trend, runs_failed_by_day, window_days
from .config import Settings, get_settings
from .errors import ConfigurationError, DatabaseError, InputError
from .models import (
    CategoryRule,
    DataQualityReport,
    DebugRecommendation,
    DiscoveredCluster,
    ErrorPattern,
    ErrorSummary,
    Phase,
    PhaseErrorBreakdown,
    RateBasis,
    Source,
    TimeWindow,
    TrendData,
)
from .rules import RuleSet, classify_error, default_rules, load_rules
from .store.engine import open_engine
from .store.workflow_reader import WorkflowReader

if TYPE_CHECKING:  # loaded on first use: it brings the clustering code (scikit-learn)
    from .review import ClusterReviewService
    from .review.alerts import WebhookPolicy

logger = logging.getLogger("error_analytics.service")

MIN_DAYS, MAX_DAYS = 1, 3650
#: A cached snapshot serves until the data changes or this many seconds pass (the window moves).
SNAPSHOT_MAX_AGE_SECONDS = 60
PHASE_RATE_THRESHOLD = 10.0
#: The most recommendations one call lists (``limit``).
MAX_RECOMMENDATIONS = MAX_LIMIT


class ErrorAnalyticsService:
    """Analyses of one workflow database, and the façade the CLI, the API and the host call.

    The composition root is :meth:`from_settings`: it builds the service from
    :class:`~error_analytics.config.Settings` (the workflow database read-only, the rules file,
    the clock and time zone, the review state database) for the CLI, the API and the tests;
    nothing else wires these parts. The review workflow on the same database and state is
    :attr:`review`, built here on first use.

    ``ErrorAnalyticsService()`` (the host's original way of building it) or
    ``ErrorAnalyticsService(settings=...)`` is the same service opened lazily: the database
    (``ERROR_ANALYTICS_DB``, else the host's ``DB_TYPE`` / ``POSTGRES_*``) and the state open on
    first use, so building one at import time opens nothing. ``ErrorAnalyticsService(reader)``
    analyses what ``reader`` reads, with ``rules``, ``clock`` and ``state_engine`` (an engine,
    or a function that opens one on first use) given explicitly, as unit tests do.

    Clusters (and so every view) come from the review state when there is one. A state that
    cannot be used (a read-only file, a restricted role) leaves the views stateless;
    :attr:`state_note` says why, and :attr:`review` raises the reason.
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
        self._rebuilding: set[int] = set()  # windows whose snapshot a thread is building
        if state_engine is None and self._configured:
            state_engine = self._open_configured_state
        self._state_engine = state_engine
        self._review: ClusterReviewService | None = None
        self._views_stateless = False  # the state failed once: the views go on without it
        self._state_worked = False  # a window was read from the state once
        #: Why the review state is not used, when it could not be (None: used, or none given).
        self.state_note: str | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, review_state: bool = True
    ) -> ErrorAnalyticsService:
        """The composition root: the service for ``settings`` (default
        :func:`~error_analytics.config.get_settings`). The workflow database is opened
        read-only and the rules file loaded at once, so a bad setting fails here; the state
        database (``settings.state_db``, else the default place) opens on first use, or never
        when ``review_state`` is False (``--no-state``)."""
        service = cls(settings=settings or get_settings())
        if not review_state:
            service._state_engine = None
        service.rules  # noqa: B018 - load and validate the rules file now
        service.reader  # noqa: B018 - open the database now
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
        """The window's data, served from cache while it has not changed.

        With a review state, from its index of errors (:mod:`error_analytics.review.ingest`),
        keyed by the index's generation and the review state; without one, read from the
        analysed tables, keyed by :meth:`WorkflowReader.data_fingerprint` (new or updated rows
        change it). Entries also expire after :data:`SNAPSHOT_MAX_AGE_SECONDS` because the
        window itself moves with the clock.
        """
        window = self.window(days)
        review = self.review_service()
        if review is not None:
            try:
                return self._indexed_snapshot(review, days)
            except DatabaseError as exc:
                self._state_unusable(exc)
        fingerprint = self.reader.data_fingerprint()
        return self._cached(days, fingerprint, lambda: self._read_snapshot(window, days))

    def _indexed_snapshot(self, review: ClusterReviewService, days: int) -> Snapshot:
        """The window from the review state's index of errors (ingested first when the review
        service ingests on read), cached while the index and the review state are unchanged."""
        review.ready(days)
        token = ("index", review.state_token())
        snapshot = self._served_while_rebuilt(review, days, token) or self._cached(
            days, token, lambda: review.window_snapshot(self.window(days), days)
        )
        self._state_worked = True
        return snapshot

    def _served_while_rebuilt(
        self, review: ClusterReviewService, days: int, token: tuple
    ) -> Snapshot | None:
        """When requests only read (another process or thread ingests) and only ingestion
        changed the index since the cached snapshot of ``days`` was built: that snapshot, while
        a thread builds the new one with its clusters (a request never waits for a rebuild; the
        next one gets it). None otherwise: a review decision is seen at once."""
        if review.ingest_on_read:
            return None
        with self._snapshot_lock:
            cached = self._days_to_snapshot.get(days)
            if (
                cached is None
                or cached[0] == token
                or not _only_ingested(cached[0], token)
                or time.monotonic() - cached[1] >= SNAPSHOT_MAX_AGE_SECONDS
            ):
                return None
            if days not in self._rebuilding:
                self._rebuilding.add(days)
                threading.Thread(
                    target=self._rebuild, args=(review, days), name="snapshot", daemon=True
                ).start()
            return cached[2]

    def _rebuild(self, review: ClusterReviewService, days: int) -> None:
        """Build the snapshot of ``days`` and its clusters, then serve them."""
        try:
            token = ("index", review.state_token())
            snapshot = review.window_snapshot(self.window(days), days)
            self.window_clusters(days, snapshot=snapshot)
            self._remember(days, token, snapshot)
        except Exception:  # noqa: BLE001 - the next request rebuilds (and reports) it
            logger.debug("snapshot rebuild failed", exc_info=True)
        finally:
            with self._snapshot_lock:
                self._rebuilding.discard(days)

    def _cached(self, days: int, token: tuple, read: Callable[[], Snapshot]) -> Snapshot:
        """The cached snapshot of ``days`` while ``token`` is unchanged and it is younger than
        :data:`SNAPSHOT_MAX_AGE_SECONDS` (the window moves with the clock), else ``read()``."""
        with self._snapshot_lock:
            cached = self._days_to_snapshot.get(days)
        if (
            cached
            and cached[0] == token
            and time.monotonic() - cached[1] < SNAPSHOT_MAX_AGE_SECONDS
        ):
            return cached[2]
        snapshot = read()
        self._remember(days, token, snapshot)
        return snapshot

    def _remember(self, days: int, token: tuple, snapshot: Snapshot) -> None:
        with self._snapshot_lock:
            self._days_to_snapshot[days] = (token, time.monotonic(), snapshot)

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
                    token = review.state_token()
                except DatabaseError as exc:
                    self._state_unusable(exc)
                    review = None
            if snapshot.clusters is not None and (
                snapshot.clusters_token == token
                or (
                    review is not None
                    and not review.ingest_on_read
                    and _only_ingested(snapshot.clusters_token, token)
                )
            ):
                # a snapshot served while its successor is built keeps its clusters
                return snapshot.clusters
            found = None
            if review is not None:
                try:
                    found = review.place_events(
                        snapshot.events,
                        snapshot.days,
                        snapshot.window.end,
                        progress,
                        fingerprints=snapshot.fingerprints,
                    )
                    token = review.state_token()
                except DatabaseError as exc:
                    self._state_unusable(exc)
            if found is None:
                found = fresh_clusters(snapshot.events, self.rules, snapshot.window.end, progress)
                token = None
            snapshot.clusters, snapshot.clusters_token = found, token
            return found

    @property
    def review(self) -> ClusterReviewService:
        """The review workflow on this service's state database (opened on first use): the
        same clusters, ids and decisions the views show. Raises the state's
        :class:`~error_analytics.errors.DatabaseError` when it cannot be opened, and
        :class:`~error_analytics.errors.ConfigurationError` for a service built without one."""
        return self._open_review()

    def review_service(self) -> ClusterReviewService | None:
        """:attr:`review` for the views: None when there is no usable state (stateless)."""
        if self._state_engine is None or self._views_stateless:
            return None
        try:
            return self._open_review()
        except DatabaseError as exc:
            self._state_unusable(exc)
            return None

    def _open_review(self) -> ClusterReviewService:
        if self._review is not None:
            return self._review
        from .review import ClusterReviewService

        with self._open_lock:
            if self._review is None:
                opener = self._state_engine
                if opener is None:
                    raise ConfigurationError(
                        "no review state: the clusters are not kept "
                        "(drop --no-state, or give --state-db)"
                    )
                engine = opener if isinstance(opener, Engine) else opener()
                settings = self._settings
                self._review = ClusterReviewService(
                    self,
                    engine,
                    timezone=settings.timezone if settings else None,
                    run_url_template=settings.run_url_template if settings else None,
                    alerts=_webhook_policy(settings),
                    retention_days=settings.retention_days if settings else None,
                )
            return self._review

    def _state_unusable(self, exc: DatabaseError) -> None:
        """The views go on without the state when it never worked (a read-only file, a
        restricted role); once it has, a failure is an outage: raised (a 503), so the views
        recover by themselves when the database is back."""
        if self._state_worked:
            raise exc
        self.state_note = (
            f"review state unavailable ({exc}); showing this run's clusters only "
            "(use --state-db to keep ids and decisions)"
        )
        logger.warning("%s", self.state_note)
        self._views_stateless = True

    def category_rule(self, key: str) -> CategoryRule:
        """The rule of category ``key``; ``unknown`` and ``no_error_text`` have their own."""
        return self.rules.rule_for(key)

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
            if runs and phase != Phase.UNKNOWN
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
        rate_basis = RateBasis.RUNS_REACHING_PHASE if reach else RateBasis.ALL_RUNS
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
            if rate > PHASE_RATE_THRESHOLD and name != Phase.UNKNOWN
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
        category_to_day_counts: dict[str, Counter] = defaultdict(Counter)
        for event in snapshot.events:
            if event.timestamp is not None:
                category_to_day_counts[clusters.category_of(event)][event.timestamp.date()] += 1
        day_to_runs_failed = runs_failed_by_day(
            day_list[0], ((daily.day, daily.runs, daily.failed) for daily in snapshot.daily)
        )
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


def _webhook_policy(settings: Settings | None) -> WebhookPolicy | None:
    """Where the settings send alerts; None when they name no webhook."""
    if settings is None or not settings.alert_webhook_url:
        return None
    from .review.alerts import WebhookPolicy

    return WebhookPolicy(settings.alert_webhook_url, backoff_seconds=settings.alert_backoff_seconds)


def _phase_index(name: str) -> int:
    return [phase.value for phase in Phase.ordered()].index(name)


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _only_ingested(before: tuple | None, after: tuple | None) -> bool:
    """Whether two state tokens differ at most by ingestion (the same last review decision,
    see :func:`~error_analytics.review.window.state_token`); nested in ``("index", ...)``."""
    if not before or not after:
        return False
    if before[0] == "index" and after[0] == "index":
        before, after = before[1], after[1]
    return before[:2] == after[:2]
