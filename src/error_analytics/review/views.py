"""Persisted clusters as the objects the CLI and the API show.

Occurrence figures (errors, runs, phases, first and last seen) are aggregated from the
recorded events of each cluster's templates that occurred in the window (``since``); only
"new" (first seen in the last 7 days) looks at everything the state has recorded, and
:class:`ClusterDetail` adds the all-time figures under names that say so. Every object carries
the stable ``id``, the ``status`` and the ``version`` to pass back on a write.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ..models import ClusterStatus, DecidedBy, DiscoveredCluster, Phase
from ..store.state import ClusterRecord, OccurrenceStats, StateTransaction, TemplateRecord
from .breakdown import cluster_breakdown
from .lifecycle import SPIKE_BASELINE_DAYS, SPIKE_STATUSES, is_spike
from .models import ClusterDetail, DailyCount, TemplateInfo

#: Days in ``DiscoveredCluster.daily_counts`` (a sparkline; also the spike baseline + today).
SPARKLINE_DAYS = SPIKE_BASELINE_DAYS + 1
#: Most days in ``ClusterDetail.daily_series`` (it covers the window, up to this).
SERIES_MAX_DAYS = 90
NEW_CLUSTER_DAYS = 7
MAX_EXAMPLES = 3
MAX_LISTED_TEMPLATES = 20
MAX_RUN_IDS = 50
_PHASE_ORDER = {phase.value: index for index, phase in enumerate(Phase.ordered())}


def ordered_phases(phase_to_count: dict[str, int]) -> dict[str, int]:
    return dict(
        sorted(phase_to_count.items(), key=lambda item: (_PHASE_ORDER.get(item[0], 99), item[0]))
    )


def day_range(last: date, days: int) -> list[date]:
    return [last - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


class ClusterViews:
    """Builds :class:`DiscoveredCluster` objects for many clusters with a few queries."""

    def __init__(
        self,
        tx: StateTransaction,
        now: datetime,
        *,
        since: datetime | None = None,
        cluster_ids: list[str] | None = None,
    ) -> None:
        self.tx = tx
        self.now = now
        self.stats = tx.cluster_stats(cluster_ids, since=since)
        self.first_seen_ever = (
            {cluster_id: stats.first_seen for cluster_id, stats in self.stats.items()}
            if since is None
            else {
                cluster_id: stats.first_seen
                for cluster_id, stats in tx.cluster_stats(cluster_ids).items()
            }
        )
        self.phases = tx.phase_counts(cluster_ids, since=since)
        self.templates_of: dict[str, list[TemplateRecord]] = {}
        if cluster_ids is None:
            templates = list(tx.templates().values())
        else:
            templates = [
                template
                for cluster_id in cluster_ids
                for template in tx.templates(cluster_id).values()
            ]
        for template in templates:
            self.templates_of.setdefault(template.cluster_id, []).append(template)
        self._fp_counts: dict[str, int] | None = None

    def stats_of(self, cluster_id: str) -> OccurrenceStats:
        return self.stats.get(cluster_id, OccurrenceStats())

    def phases_of(self, cluster_id: str) -> list[str]:
        return list(ordered_phases(self.phases.get(cluster_id, {})))

    def search_text(self, record: ClusterRecord) -> str:
        parts = [record.id, record.name, record.template, record.category]
        for template in self.templates_of.get(record.id, ()):
            parts.extend((template.template, template.example[:2000]))
        return "\n".join(parts).lower()

    def build(self, records: list[ClusterRecord]) -> list[DiscoveredCluster]:
        days = day_range(self.now.date(), SPARKLINE_DAYS)
        cluster_to_days = (
            self.tx.daily_counts(days[0], [record.id for record in records]) if records else {}
        )
        return [
            self._cluster(record, [cluster_to_days.get(record.id, {}).get(day, 0) for day in days])
            for record in records
        ]

    def _fingerprint_counts(self) -> dict[str, int]:
        if self._fp_counts is None:
            self._fp_counts = self.tx.fingerprint_counts()
        return self._fp_counts

    def ranked_templates(self, cluster_id: str) -> list[TemplateRecord]:
        counts = self._fingerprint_counts()
        return sorted(
            self.templates_of.get(cluster_id, ()),
            key=lambda t: (-counts.get(t.fingerprint, 0), t.template),
        )

    def _cluster(self, record: ClusterRecord, daily: list[int]) -> DiscoveredCluster:
        stats = self.stats_of(record.id)
        templates = self.ranked_templates(record.id)
        new_since = self.now - timedelta(days=NEW_CLUSTER_DAYS)
        first_seen_ever = self.first_seen_ever.get(record.id)
        return DiscoveredCluster(
            id=record.id,
            size=stats.occurrences,
            name=record.name,
            template=record.template,
            top_terms=list(record.top_terms),
            examples=[template.example for template in templates[:MAX_EXAMPLES]],
            category=record.category,
            confidence=record.confidence,
            decided_by=DecidedBy(record.category_source),
            recommendation=record.recommendation,
            templates=[template.template for template in templates[:MAX_LISTED_TEMPLATES]],
            distinct_messages=stats.distinct_messages,
            runs_affected=stats.runs,
            phases=self.phases_of(record.id),
            first_seen=stats.first_seen,
            last_seen=stats.last_seen,
            is_new=bool(first_seen_ever and first_seen_ever >= new_since),
            status=ClusterStatus(record.status),
            version=record.version,
            is_spike=record.status in SPIKE_STATUSES and is_spike(daily),
            daily_counts=daily,
        )


def cluster_detail(
    tx: StateTransaction,
    record: ClusterRecord,
    now: datetime,
    *,
    days: int,
    since: datetime,
    history_limit: int = 100,
) -> ClusterDetail:
    """One cluster with its figures in the window from ``since`` (the last ``days`` days)."""
    views = ClusterViews(tx, now, since=since, cluster_ids=[record.id])
    cluster = views.build([record])[0]
    template_stats = tx.template_stats(record.id, since=since)
    templates = []
    for template in views.ranked_templates(record.id):
        occurrence = template_stats.get(template.fingerprint, OccurrenceStats())
        templates.append(
            TemplateInfo(
                fingerprint=template.fingerprint,
                template=template.template,
                occurrences=occurrence.occurrences,
                runs_affected=occurrence.runs,
                first_seen=occurrence.first_seen,
                last_seen=occurrence.last_seen,
                example=template.example,
                pinned=template.pinned,
            )
        )
    series_days = day_range(now.date(), min(days, SERIES_MAX_DAYS))
    day_to_count = tx.daily_counts(series_days[0], [record.id]).get(record.id, {})
    all_time = tx.cluster_stats([record.id]).get(record.id, OccurrenceStats())
    breakdown, over_represented, window_errors = cluster_breakdown(tx, record.id, since)
    ignore_remaining = None
    if record.status == ClusterStatus.IGNORED and record.ignore_occurrences and record.ignored_at:
        ignore_remaining = max(
            0, record.ignore_occurrences - tx.events_after(record.id, record.ignored_at)
        )
    all_records = tx.clusters()
    return ClusterDetail(
        cluster=cluster,
        templates=templates,
        top_terms=list(record.top_terms),
        examples=[template.example for template in templates[:MAX_EXAMPLES]],
        phases=ordered_phases(views.phases.get(record.id, {})),
        run_ids=tx.recent_run_ids(record.id, MAX_RUN_IDS, since=since),
        daily_series=[DailyCount(day, day_to_count.get(day, 0)) for day in series_days],
        history=tx.actions(cluster_id=record.id, limit=history_limit),
        days=days,
        since=since,
        errors_all_time=all_time.occurrences,
        runs_all_time=all_time.runs,
        first_seen_all_time=all_time.first_seen,
        last_seen_all_time=all_time.last_seen,
        total_errors_in_window=window_errors,
        breakdown=breakdown,
        over_represented=over_represented,
        created_at=record.created_at,
        reviewed_at=record.reviewed_at,
        reviewed_by=record.reviewed_by,
        ignored_until=record.ignored_until,
        ignore_occurrences=record.ignore_occurrences,
        ignore_remaining=ignore_remaining,
        resolved_at=record.resolved_at,
        regressed_at=record.regressed_at,
        merged_into=record.merged_into,
        split_from=record.split_from,
        merged_ids=sorted(
            other.id for other in all_records.values() if other.merged_into == record.id
        ),
        previous_ids=sorted(old for old, new in tx.id_map().items() if new == record.id),
    )
