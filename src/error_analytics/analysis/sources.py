"""Where the window's clusters come from: the review state, else clustering afresh.

* :func:`state_clusters` — the persisted clusters (stable ids, review decisions): the review
  service refreshes (the window's new errors join their clusters), then each message is placed
  by its template's fingerprint, as a refresh placed it.
* :func:`fresh_clusters` — the window's messages clustered now (``ErrorClusterer``), ids
  derived from the templates.

Either way the figures are counted over the window's events (:func:`.clusters.count_in_window`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ..models import DiscoveredCluster, ErrorEvent
from ..rules import RuleSet
from .clusters import WindowClusters, count_in_window

if TYPE_CHECKING:  # the review package builds on the service, which builds on this module
    from ..review import ClusterReviewService

#: Progress of clustering: (done, total).
Progress = Callable[[int, int], None]


def state_token(review: ClusterReviewService) -> tuple[object, ...]:
    """A value that changes whenever the review state does (a decision, an undo, a refresh)."""
    with review.store.read() as tx:
        latest = tx.actions(limit=1)
        return (
            latest[0].id if latest else None,
            latest[0].undone_by if latest else None,
            tx.last_refresh(),
        )


def state_clusters(
    review: ClusterReviewService,
    events: Sequence[ErrorEvent],
    days: int,
    now: datetime,
    progress: Progress | None = None,
) -> WindowClusters:
    """The persisted clusters of ``events``' messages, after a refresh of the last ``days``.

    Messages the state has no template for (none right after the refresh, unless the window
    moved in between) are clustered afresh beside them, so every message has a cluster.
    """
    from ..review.identity import fingerprint_of

    id_to_cluster = {
        cluster.id: cluster for cluster in review.window_clusters(days, progress=progress)
    }
    distinct = list(dict.fromkeys(event.message for event in events if event.message))
    with review.store.read() as tx:
        fp_to_cluster_id = {
            fingerprint: template.cluster_id for fingerprint, template in tx.templates().items()
        }
    message_to_cluster_id: dict[str, str] = {}
    for message, template in zip(distinct, review.templater.templates(distinct), strict=True):
        cluster_id = fp_to_cluster_id.get(fingerprint_of(template))
        if cluster_id is not None:
            message_to_cluster_id[message] = cluster_id
    for cluster_id in set(message_to_cluster_id.values()) - id_to_cluster.keys():
        id_to_cluster[cluster_id] = review.cluster(cluster_id)  # no errors in its own window
    descriptions = list(id_to_cluster.values())
    unplaced = [
        event for event in events if event.message and event.message not in message_to_cluster_id
    ]
    if unplaced:
        fresh, message_to_fresh_id = cluster_messages(unplaced, review.analytics.rules)
        descriptions += fresh
        message_to_cluster_id.update(message_to_fresh_id)
    return count_in_window(descriptions, events, message_to_cluster_id, now, stateful=True)


def fresh_clusters(
    events: Sequence[ErrorEvent],
    rules: RuleSet,
    now: datetime,
    progress: Progress | None = None,
) -> WindowClusters:
    """``events``' messages clustered now."""
    descriptions, message_to_cluster_id = cluster_messages(events, rules, progress)
    return count_in_window(descriptions, events, message_to_cluster_id, now)


def cluster_messages(
    events: Sequence[ErrorEvent], rules: RuleSet, progress: Progress | None = None
) -> tuple[list[DiscoveredCluster], dict[str, str]]:
    """Cluster the messages of ``events``: the clusters and each message's cluster id."""
    messages = [event.message for event in events if event.message]
    if not messages:
        return [], {}
    from ..clustering import ErrorClusterer  # scikit-learn loads only when clusters are needed

    clusterer = ErrorClusterer(rules=rules).fit(messages, progress=progress)
    message_to_cluster_id: dict[str, str] = {}
    for message, label in zip(messages, clusterer.labels_, strict=True):
        message_to_cluster_id.setdefault(message, label)
    return list(clusterer.clusters_), message_to_cluster_id
