"""``ClusterReviewService``: persisted clusters and the review workflow, for the CLI and the API.

It reads the analysed database through an :class:`~error_analytics.review.ports.AnalysedDatabase`
(the :class:`~error_analytics.service.ErrorAnalyticsService` that builds it, read-only) and
keeps its own state in the ``ea_`` tables of a *state* database — by default
the analysed database itself, or another one (``--state-db``). Errors: a missing cluster or
action raises :class:`NotFoundError`, a stale ``expected_version`` or a lost race
:class:`ConflictError`, bad input :class:`InputError`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy.engine import Engine

from ..analysis.clusters import WindowClusters
from ..analysis.snapshot import Snapshot
from ..errors import ConflictError, InputError, NotFoundError
from ..models import (
    AuditEntry,
    ClusterSort,
    ClusterStatus,
    DecidedBy,
    DiscoveredCluster,
    ErrorEvent,
    TimeWindow,
)
from ..rules import normalize_phase
from ..store.state import AlertRecord, StateStore, StateTransaction
from ..store.state.engine import WriterBusy
from ..store.state.records import ClusterRecord, OccurrenceStats
from .actions import (
    ReviewActions,
    ReviewContext,
    apply_changes,
    check_actor,
    check_version,
    live_cluster,
    recorded_states,
    reviewed_changes,
    shown,
    storable,
)
from .alerts import Alerter, WebhookPolicy
from .identity import Templater
from .ingest import Ingester
from .labels import labelled_templates
from .models import (
    ClusterDetail,
    ClusterPage,
    LabelledTemplate,
    RefreshResult,
    RulePreview,
    RunLink,
)
from .ports import AnalysedDatabase
from .promotion import build_preview, candidate_templates, check_rule_input, rule_for
from .refresh import Progress
from .rule_file import read_rules_text, with_rule, write_rules_text
from .run_links import check_run_url_template, run_links
from .similar import SimilarityIndex, live_cluster_texts, similar_clusters
from .views import ClusterViews, cluster_detail
from .window import indexed_snapshot, place_in_clusters, state_token

#: How each sort orders (record, its window figures) pairs: largest or latest first.
SORTS: dict[ClusterSort, Callable[[tuple[ClusterRecord, OccurrenceStats]], tuple]] = {
    ClusterSort.SIZE: lambda cluster: (-cluster[1].occurrences, cluster[0].id),
    ClusterSort.LAST_SEEN: lambda cluster: (-_stamp(cluster[1].last_seen), cluster[0].id),
    ClusterSort.FIRST_SEEN: lambda cluster: (-_stamp(cluster[1].first_seen), cluster[0].id),
    ClusterSort.RUNS: lambda cluster: (-cluster[1].runs, -cluster[1].occurrences, cluster[0].id),
}
STATUSES = tuple(ClusterStatus)
MAX_LIMIT = 1000


Member = TypeVar("Member", bound=enum.StrEnum)


def _member(kind: type[Member], value: object, name: str) -> Member:
    """``value`` as a member of ``kind``, else an :class:`InputError` listing the members."""
    if isinstance(value, str) and value in kind.__members__.values():
        return kind(value)
    raise InputError(f"unknown {name} {shown(value)}; use one of {', '.join(kind)}")


def _stamp(moment: datetime | None) -> float:
    return moment.timestamp() if moment else float("-inf")


class ClusterReviewService:
    """Persisted clusters with stable ids, their lifecycle and the review actions."""

    def __init__(
        self,
        analytics: AnalysedDatabase,
        state_engine: Engine,
        *,
        timezone: str | None = None,
        run_url_template: str | None = None,
        alerts: WebhookPolicy | None = None,
        retention_days: int | None = None,
    ) -> None:
        """``timezone`` is the zone of the stored (naive) times, ``Settings.timezone``: an aware
        time given to an action (``ignore(until=...)``) is converted to it.
        ``run_url_template`` (``Settings.run_url_template``) links runs without a ``github_url``.
        ``alerts``: where each refresh POSTs what it found (:mod:`.alerts`); None = no alerts.
        ``retention_days``: per-error rows older than this are folded into daily counts."""
        self.analytics = analytics
        self.run_url_template = check_run_url_template(run_url_template)
        self.store = StateStore(state_engine)
        self.alerter = Alerter(self.store, alerts) if alerts is not None else None
        self.templater = Templater(analytics.rules)
        self.ingester = Ingester(
            analytics, self.store, self.templater, retention_days=retention_days
        )
        #: ingest before answering a read (the CLI, tests); a server ingests in the
        #: background instead (:mod:`error_analytics.api.ingestion`) and sets it False
        self.ingest_on_read = True
        self._similarity: tuple[tuple[object, ...], SimilarityIndex] | None = None
        self.actions = ReviewActions(
            self.store,
            ReviewContext(
                now=self.now,
                categories=lambda: list(analytics.rules.categories),
                recommendation=lambda key: analytics.category_rule(key).recommendation,
                identity_version=lambda: self.templater.identity_version,
                timezone=timezone,
            ),
        )

    def now(self) -> datetime:
        """The analytics service's clock (``window(1)`` ends now)."""
        return self.analytics.window(1).end

    # -- refresh -------------------------------------------------------------------------
    def refresh(
        self,
        days: int = 30,
        progress: Progress | None = None,
        *,
        rebuild: bool = False,
        record: bool = True,
        wait: bool = True,
        backfill: int = 0,
    ) -> RefreshResult:
        """Ingest what is new in the analysed database (:mod:`.ingest`): changed runs are read
        again, every run of the last ``days`` days is in the index, their new errors are
        assigned to clusters (creating clusters only for what matches nothing), lifecycle
        changes applied — step by step, each step one transaction; then record and send the
        alerts (never raising). ``rebuild`` reads every run again from an empty index
        (``state rebuild``); ``backfill``: at most that many steps of older history too."""
        window = self.analytics.window(days)  # validates days
        self.ingester.templater = self.templater  # the templater in force (it may be replaced)
        result = self.ingester.run(
            self.now(),
            days=days,
            since=None if rebuild else window.start,
            backfill=backfill,
            progress=progress,
            rebuild=rebuild,
            record=record,
            wait=wait,
        )
        if self.alerter is not None:
            self.alerter.after_refresh(result, now=window.end, since=window.start)
        return result

    def ingest(
        self, days: int = 30, *, wait: bool = True, backfill: int = 0
    ) -> RefreshResult | None:
        """One ingestion pass as a read or the background runs it (recorded if it changed
        something); see :meth:`refresh`. ``wait=False``: None at once when another process is
        ingesting."""
        try:
            return self.refresh(days, record=False, wait=wait, backfill=backfill)
        except WriterBusy:
            if wait:
                raise
            return None

    def covers(self, days: int) -> bool:
        """Whether every run of the last ``days`` days is in the index."""
        window = self.analytics.window(days)
        with self.store.read() as tx:
            return self.ingester.covers(tx, window.start)

    def ready(self, days: int) -> None:
        """Make the index hold the last ``days`` days before a read: a pass when reads ingest
        (:attr:`ingest_on_read`), else only when the window reaches past the history read so
        far (a server's background ingestion reads older history step by step)."""
        if self.ingest_on_read or not self.covers(days):
            self.ingest(days)

    def _covered(self, days: int) -> None:
        """Read the history the window reaches that the index does not hold yet (a server's
        background ingestion reads older history step by step)."""
        if not self.covers(days):
            self.ingest(days)

    def snapshot(self, days: int = 30) -> Snapshot:
        """The window's data from the index of errors (made ready first: :meth:`ready`)."""
        window = self.analytics.window(days)
        self.ready(days)
        return self.window_snapshot(window, days)

    def window_snapshot(self, window: TimeWindow, days: int) -> Snapshot:
        """``window``'s data as the index holds it now (no ingestion)."""
        return indexed_snapshot(self.store, self.analytics.reader, window, days)

    def generation(self) -> int:
        """Grows with every ingestion step that changed the index."""
        with self.store.read() as tx:
            return tx.generation()

    # -- reading -------------------------------------------------------------------------
    def list_clusters(
        self,
        *,
        status: ClusterStatus | str | None = None,
        category: str | None = None,
        phase: str | None = None,
        text: str | None = None,
        sort: ClusterSort | str = ClusterSort.SIZE,
        limit: int = 50,
        offset: int = 0,
        days: int = 30,
    ) -> ClusterPage:
        """Clusters matching every filter given, with their figures (errors, runs, phases, first
        and last seen) counted in the last ``days`` days. Without ``status`` only clusters with
        errors in the window are listed; with it, every cluster in that status (a resolved
        cluster that stayed quiet shows 0). Merged clusters only when ``status="merged"``."""
        status = _member(ClusterStatus, status, "status") if status is not None else None
        sort = _member(ClusterSort, sort, "sort")
        for name, value, low in (("limit", limit, 1), ("offset", offset, 0)):
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or value < low
                or (name == "limit" and value > MAX_LIMIT)
            ):
                raise InputError(
                    f"{name} must be a whole number from {low}{f' to {MAX_LIMIT}' if name == 'limit' else ''}, not {shown(value)}"
                )
        wanted_phase = normalize_phase(phase).value if phase else None
        needle = text.strip().lower() if text and text.strip() else None
        self._covered(days)
        window = self.analytics.window(days)
        with self.store.read() as tx:
            views = ClusterViews(tx, window.end, since=window.start)
            chosen = []
            for record in tx.clusters().values():
                if status is None and record.id not in views.stats:
                    continue  # no errors in the window
                if status is not ClusterStatus.MERGED and record.status == ClusterStatus.MERGED:
                    continue
                if status is not None and record.status != status:
                    continue
                if category is not None and record.category != category:
                    continue
                if wanted_phase is not None and wanted_phase not in views.phases_of(record.id):
                    continue
                if needle is not None and needle not in views.search_text(record):
                    continue
                chosen.append((record, views.stats_of(record.id)))
            chosen.sort(key=SORTS[sort])
            page = [record for record, _ in chosen[offset : offset + limit]]
            return ClusterPage(
                items=views.build(page),
                total=len(chosen),
                limit=limit,
                offset=offset,
                days=days,
                since=window.start,
            )

    def get_cluster(self, cluster_id: str, days: int = 30) -> ClusterDetail:
        """One cluster with its evidence and history (a retired id leads to its successor);
        figures counted in the last ``days`` days, all-time ones labelled as such."""
        self._covered(days)
        window = self.analytics.window(days)
        token = self.state_token()
        with self.store.read() as tx:
            known = isinstance(cluster_id, str) and storable(cluster_id)
            record = tx.cluster(cluster_id) if known else None
            if record is None and known:
                successor = tx.mapped_id(cluster_id)
                record = tx.cluster(successor) if successor else None
            if record is None:
                raise NotFoundError(f"no cluster {shown(cluster_id)}")
            detail = cluster_detail(tx, record, window.end, days=days, since=window.start)
            detail.similar = similar_clusters(
                tx, self._similarity_index(tx, token), record, since=window.start
            )
        detail.runs = self._run_links(detail.run_ids)
        return detail

    def _similarity_index(self, tx: StateTransaction, token: tuple[object, ...]) -> SimilarityIndex:
        """The live clusters' similarity index, fitted once per state token."""
        cached = self._similarity
        if cached is None or cached[0] != token:
            cached = (token, SimilarityIndex(live_cluster_texts(tx)))
            self._similarity = cached
        return cached[1]

    def _run_links(self, run_ids: list[str]) -> list[RunLink]:
        """The runs with where to open each: ``github_url``, else the URL template, else None."""
        github_urls = self.analytics.reader.run_urls(run_ids)
        return run_links(run_ids, github_urls, self.run_url_template)

    def cluster(self, cluster_id: str, days: int = 30) -> DiscoveredCluster:
        """One cluster as a list item (cheaper than :meth:`get_cluster`), figures in the window."""
        window = self.analytics.window(days)
        with self.store.read() as tx:
            known = isinstance(cluster_id, str) and storable(cluster_id)
            record = tx.cluster(cluster_id) if known else None
            if record is None:
                raise NotFoundError(f"no cluster {shown(cluster_id)}")
            views = ClusterViews(tx, window.end, since=window.start, cluster_ids=[record.id])
            return views.build([record])[0]

    def window_clusters(
        self, days: int = 30, progress: Progress | None = None
    ) -> list[DiscoveredCluster]:
        """Ingest (when :attr:`ingest_on_read`), then the clusters with errors in the window,
        figures counted in the window, largest first — the persisted counterpart of
        ``ErrorAnalyticsService.cluster_errors``."""
        if self.ingest_on_read:
            self.refresh(days, progress, record=False)
        elif not self.covers(days):
            self.ingest(days)
        return self._persisted_window(days)

    def _persisted_window(self, days: int) -> list[DiscoveredCluster]:
        window = self.analytics.window(days)
        with self.store.read() as tx:
            views = ClusterViews(tx, window.end, since=window.start)
            records = tx.clusters(views.stats).values()
            live = [record for record in records if record.status != ClusterStatus.MERGED]
            live.sort(key=lambda record: (-views.stats_of(record.id).occurrences, record.id))
            return views.build(live)

    def state_token(self) -> tuple[object, ...]:
        """A value that changes whenever the state does (a decision, an undo, a refresh)."""
        return state_token(self.store)

    def place_events(
        self,
        events: list[ErrorEvent],
        days: int,
        now: datetime,
        progress: Progress | None = None,
        fingerprints: dict[str, str] | None = None,
    ) -> WindowClusters:
        """``events`` (a window's, read after ingestion) in their persisted clusters (stable
        ids, review decisions), figures counted over ``events`` as of ``now``: what the views
        aggregate. ``fingerprints``: message -> fingerprint, when the index gave them."""
        return place_in_clusters(
            events,
            self._persisted_window(days),
            store=self.store,
            templater=self.templater,
            rules=self.analytics.rules,
            cluster_by_id=self.cluster,  # a cluster with no errors in its own window
            now=now,
            fingerprints=fingerprints,
        )

    def audit_log(self, *, cluster_id: str | None = None, limit: int = 100) -> list[AuditEntry]:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InputError(
                f"limit must be a whole number from 1 to {MAX_LIMIT}, not {shown(limit)}"
            )
        with self.store.read() as tx:
            if cluster_id is not None and (
                not isinstance(cluster_id, str)
                or not storable(cluster_id)
                or tx.cluster(cluster_id) is None
            ):
                raise NotFoundError(f"no cluster {shown(cluster_id)}")
            return tx.actions(cluster_id=cluster_id, limit=limit)

    def alerts(self, *, limit: int = 100) -> list[AlertRecord]:
        """The webhook alerts recorded in the state (see :mod:`.alerts`), newest first, with
        how their delivery went; none when no webhook was ever configured."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InputError(
                f"limit must be a whole number from 1 to {MAX_LIMIT}, not {shown(limit)}"
            )
        with self.store.read() as tx:
            return tx.alerts(limit=limit)

    def training_labels(self) -> list[LabelledTemplate]:
        """(template, category) pairs people decided: what new clusters' categories learn from."""
        with self.store.read() as tx:
            return labelled_templates(tx)

    # -- review actions (each returns the cluster as it is now) --------------------------
    def accept(
        self, cluster_id: str, *, actor: str, expected_version: int | None = None
    ) -> DiscoveredCluster:
        return self.cluster(
            self.actions.accept(cluster_id, actor=actor, expected_version=expected_version)
        )

    def rename(
        self, cluster_id: str, name: str, *, actor: str, expected_version: int | None = None
    ) -> DiscoveredCluster:
        return self.cluster(
            self.actions.rename(cluster_id, name, actor=actor, expected_version=expected_version)
        )

    def set_category(
        self, cluster_id: str, category: str, *, actor: str, expected_version: int | None = None
    ) -> DiscoveredCluster:
        return self.cluster(
            self.actions.set_category(
                cluster_id, category, actor=actor, expected_version=expected_version
            )
        )

    def merge(
        self,
        source_ids: list[str],
        target_id: str,
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> DiscoveredCluster:
        """Fold the sources into the target: their templates (and so their past and future
        errors) belong to the target from now on. ``expected_version`` is the target's."""
        return self.cluster(
            self.actions.merge(
                source_ids, target_id, actor=actor, expected_version=expected_version
            )
        )

    def split(
        self,
        cluster_id: str,
        templates: list[str],
        *,
        actor: str,
        name: str | None = None,
        expected_version: int | None = None,
    ) -> DiscoveredCluster:
        """Move ``templates`` (texts or fingerprints) out into a new cluster; returns it."""
        return self.cluster(
            self.actions.split(
                cluster_id, templates, actor=actor, name=name, expected_version=expected_version
            )
        )

    def ignore(
        self,
        cluster_id: str,
        *,
        actor: str,
        until: datetime | date | None = None,
        occurrences: int | None = None,
        expected_version: int | None = None,
    ) -> DiscoveredCluster:
        """Mute forever, until ``until``, or until it occurs ``occurrences`` more times."""
        return self.cluster(
            self.actions.ignore(
                cluster_id,
                actor=actor,
                until=until,
                occurrences=occurrences,
                expected_version=expected_version,
            )
        )

    def unignore(
        self, cluster_id: str, *, actor: str, expected_version: int | None = None
    ) -> DiscoveredCluster:
        return self.cluster(
            self.actions.unignore(cluster_id, actor=actor, expected_version=expected_version)
        )

    def resolve(
        self, cluster_id: str, *, actor: str, expected_version: int | None = None
    ) -> DiscoveredCluster:
        return self.cluster(
            self.actions.resolve(cluster_id, actor=actor, expected_version=expected_version)
        )

    def undo(self, action_id: int, *, actor: str) -> AuditEntry:
        """Undo one action (if nothing changed the clusters since); returns the ``undo`` entry."""
        undo_id = self.actions.undo(action_id, actor=actor, extra_undo=_undo_rules_file)
        with self.store.read() as tx:
            entry = tx.action(undo_id)
        if entry is None:  # just committed: only a concurrent wipe of the state could do this
            raise NotFoundError(f"no review action #{undo_id}")
        return entry

    # -- rules ---------------------------------------------------------------------------
    def preview_rule(
        self,
        cluster_id: str,
        *,
        pattern: str | None = None,
        keywords: list[str] | None = None,
        category: str | None = None,
        days: int = 30,
        rules_file: str | None = None,
    ) -> RulePreview:
        """What a rule would match among the window's errors, and the TOML that saves it."""
        snapshot = self.analytics.snapshot(days)  # before the read: it may ingest (write)
        with self.store.read() as tx:
            record = live_cluster(tx, cluster_id)
            key, keywords, pattern = check_rule_input(
                record,
                self.analytics,
                pattern=pattern,
                keywords=keywords,
                category=category,
                templates=candidate_templates(tx, record),
            )
            return build_preview(
                tx,
                record,
                self.analytics,
                self.templater,
                key=key,
                keywords=keywords,
                pattern=pattern,
                snapshot=snapshot,
                rules_file=rules_file,
            )

    def promote_to_rule(
        self,
        cluster_id: str,
        *,
        category: str | None = None,
        rules_file: str,
        actor: str,
        pattern: str | None = None,
        keywords: list[str] | None = None,
        expected_version: int | None = None,
    ) -> DiscoveredCluster:
        """Add the rule to ``rules_file`` (validated first) and give the cluster its category.
        The running services keep their rules; new ones load the updated file."""
        actor = check_actor(actor)
        if not isinstance(rules_file, str) or not rules_file.strip():
            raise InputError("promote needs the rules file to write")
        now = self.now()
        with self.store.write() as tx:
            record = live_cluster(tx, cluster_id)
            check_version(record, expected_version)
            key, keywords, pattern = check_rule_input(
                record,
                self.analytics,
                pattern=pattern,
                keywords=keywords,
                category=category,
                templates=candidate_templates(tx, record),
            )
            rule, fields, _ = rule_for(key, record, self.analytics, keywords, pattern)
            before_text = read_rules_text(rules_file)
            lists = {"keywords": keywords, "patterns": [pattern] if pattern else []}
            after_text = with_rule(before_text, key, fields, lists, rules_file)
            changes = {
                "category": key,
                "category_source": DecidedBy.RULE.value,
                "confidence": 1.0,
                "recommendation": rule.recommendation,
                **reviewed_changes(record, actor, now),
            }
            apply_changes(
                tx,
                record,
                changes,
                action="promote",
                actor=actor,
                now=now,
                before_extra={"rules_file": rules_file, "rules_text": before_text},
                after_extra={
                    "rules_file": rules_file,
                    "rules_text": after_text,
                    "keywords": keywords,
                    "pattern": pattern,
                },
            )
            write_rules_text(rules_file, after_text)  # last: a failure rolls the state back
        return self.cluster(record.id)


def _undo_rules_file(tx: StateTransaction, entry: AuditEntry, now: datetime) -> None:
    """Restore the rules file a ``promote`` changed, if nobody edited it since."""
    before, after = recorded_states(entry)
    path = after["rules_file"]
    if read_rules_text(path) != after["rules_text"]:
        raise ConflictError(f"{path} changed after action #{entry.id}; edit it by hand")
    write_rules_text(path, before["rules_text"])
