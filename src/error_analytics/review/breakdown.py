"""What is over-represented in a cluster: its errors by phase, model and workflow template,
against all errors of the window — the way Sentry and Datadog show tag distributions on an issue.

For each value of a tag, ``percent`` is its share of the cluster's errors and
``overall_percent`` its share of all errors in the same window; ``lift`` is their ratio. A value
is *over-represented* when its lift is at least :data:`MIN_LIFT` and the cluster has at least
:data:`MIN_SUPPORT` errors with it (two errors in one phase say nothing). Values the runs did not
record are listed as :data:`NOT_RECORDED` and never flagged.
"""

from __future__ import annotations

from datetime import datetime

from ..store.state import StateTransaction
from ..store.state.tables import event_assignments
from .models import TagBreakdown, TagShare

MIN_SUPPORT = 3
MIN_LIFT = 1.5
NOT_RECORDED = "(not recorded)"
#: tag name -> the column of ``ea_event_assignments`` that holds it, in display order
TAG_COLUMNS = {
    "phase": event_assignments.c.phase,
    "model": event_assignments.c.model,
    "workflow_template": event_assignments.c.workflow_template,
}


def tag_shares(
    tag: str, cluster_counts: dict[str | None, int], overall_counts: dict[str | None, int]
) -> list[TagShare]:
    """The shares of one tag's values, most frequent in the cluster first."""
    cluster_total = sum(cluster_counts.values())
    overall_total = sum(overall_counts.values())
    shares = []
    for value, errors in cluster_counts.items():
        overall = max(overall_counts.get(value, 0), errors)
        percent = 100.0 * errors / cluster_total if cluster_total else 0.0
        overall_percent = 100.0 * overall / overall_total if overall_total else 0.0
        lift = percent / overall_percent if overall_percent else 0.0
        shares.append(
            TagShare(
                tag=tag,
                value=value or NOT_RECORDED,
                errors=errors,
                percent=round(percent, 1),
                overall_errors=overall,
                overall_percent=round(overall_percent, 1),
                lift=round(lift, 2),
                over_represented=bool(value) and errors >= MIN_SUPPORT and lift >= MIN_LIFT,
            )
        )
    shares.sort(key=lambda share: (-share.errors, share.value))
    return shares


def cluster_breakdown(
    tx: StateTransaction, cluster_id: str, since: datetime | None
) -> tuple[list[TagBreakdown], list[TagShare], int]:
    """(breakdown per tag, the over-represented values by lift, all errors of the window)."""
    breakdown = []
    overall_total = 0
    for tag, column in TAG_COLUMNS.items():
        cluster_counts = tx.tag_counts(column, [cluster_id], since).get(cluster_id, {})
        overall_counts = tx.overall_tag_counts(column, since)
        overall_total = sum(overall_counts.values())
        breakdown.append(TagBreakdown(tag, tag_shares(tag, cluster_counts, overall_counts)))
    flagged = [share for tags in breakdown for share in tags.values if share.over_represented]
    flagged.sort(key=lambda share: (-share.lift, -share.errors, share.tag, share.value))
    return breakdown, flagged, overall_total
