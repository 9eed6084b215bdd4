"""The window's error events, each in one cluster: what every view aggregates.

Every error event with text belongs to exactly one cluster, and its category is the cluster's
(decided by a keyword rule, else a review decision, else the model, else ``unknown``). Failed
runs without error text stay a bucket of their own (:data:`~error_analytics.models.NO_TEXT_CATEGORY`).
The views count events through this one mapping, so category counts, phase counts, patterns
and trends are sums over clusters and agree with each other and with the clusters view.

A cluster's figures (errors, runs, phases, first and last seen) are counted here, over the
window's events, whichever way the clusters were found (stateless or from the review state).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from ..models import NO_TEXT_CATEGORY, UNKNOWN_CATEGORY, DiscoveredCluster, ErrorEvent
from .grouping import GroupStats, group_events

#: A cluster whose first error in the window is this recent is marked new.
NEW_CLUSTER_DAYS = 7


@dataclasses.dataclass(slots=True)
class WindowClusters:
    """The window's clusters and which cluster each message belongs to."""

    clusters: list[DiscoveredCluster]  # largest first; figures counted over the window
    message_to_cluster_id: dict[str, str]
    # cluster id -> its events' statistics (run ids, phase counts, ...) in the window
    id_to_stats: dict[str, GroupStats]
    stateful: bool = False  # ids and review decisions come from the review state
    id_to_cluster: dict[str, DiscoveredCluster] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.id_to_cluster = {cluster.id: cluster for cluster in self.clusters}

    def cluster_of(self, event: ErrorEvent) -> DiscoveredCluster | None:
        """The event's cluster; None for an event without text."""
        if not event.message:
            return None
        cluster_id = self.message_to_cluster_id.get(event.message)
        return self.id_to_cluster.get(cluster_id) if cluster_id is not None else None

    def category_of(self, event: ErrorEvent) -> str:
        """The event's category: its cluster's, or ``no_error_text`` for an event without text."""
        if not event.message:
            return NO_TEXT_CATEGORY
        cluster = self.cluster_of(event)
        return cluster.category if cluster is not None else UNKNOWN_CATEGORY

    def cluster_id_of(self, event: ErrorEvent) -> str | None:
        return self.message_to_cluster_id.get(event.message) if event.message else None

    def category_to_clusters(self) -> dict[str, list[DiscoveredCluster]]:
        """category key -> its clusters, largest first."""
        category_to_clusters: dict[str, list[DiscoveredCluster]] = {}
        for cluster in self.clusters:
            category_to_clusters.setdefault(cluster.category, []).append(cluster)
        return category_to_clusters


def count_in_window(
    descriptions: Iterable[DiscoveredCluster],
    events: Iterable[ErrorEvent],
    message_to_cluster_id: Mapping[str, str],
    now: datetime,
    *,
    stateful: bool = False,
) -> WindowClusters:
    """The clusters of ``descriptions`` that have events, with figures counted over ``events``.

    ``message_to_cluster_id`` must place every message of ``events`` (events without text are
    left out); a message it does not place is a bug of the caller and raises ``KeyError``.
    """
    with_text = [event for event in events if event.message]
    missing = {event.message for event in with_text} - message_to_cluster_id.keys()
    if missing:
        raise KeyError(f"{len(missing)} messages are in no cluster")
    id_to_stats = group_events(with_text, lambda event: message_to_cluster_id[event.message or ""])
    id_to_description = {cluster.id: cluster for cluster in descriptions}
    id_to_messages: dict[str, set[str]] = {}
    for message, cluster_id in message_to_cluster_id.items():
        id_to_messages.setdefault(cluster_id, set()).add(message)
    new_since = now - timedelta(days=NEW_CLUSTER_DAYS)
    clusters = []
    for cluster_id, stats in id_to_stats.items():
        described = id_to_description[cluster_id]
        clusters.append(
            dataclasses.replace(
                described,
                size=stats.occurrences,
                runs_affected=stats.runs_affected,
                phases=stats.phases,
                first_seen=stats.first_seen,
                last_seen=stats.last_seen,
                # a persisted cluster is new by its first error ever, not in this window
                is_new=described.is_new
                if stateful
                else bool(stats.first_seen and stats.first_seen >= new_since),
                distinct_messages=len(id_to_messages.get(cluster_id, ())),
            )
        )
    clusters.sort(key=lambda cluster: (-cluster.size, cluster.id))
    return WindowClusters(
        clusters=clusters,
        message_to_cluster_id=dict(message_to_cluster_id),
        id_to_stats=id_to_stats,
        stateful=stateful,
    )
