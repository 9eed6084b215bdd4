"""The window's events placed in the persisted clusters: what every view aggregates when there
is a review state (stable ids, review decisions).

Each message is placed by its template's fingerprint, as a refresh placed it. Messages the state
has no template for (none right after a refresh, unless the window moved in between) are
clustered afresh beside them, so every message has a cluster. The figures are counted over the
window's events (:func:`~error_analytics.analysis.clusters.count_in_window`), as for clusters
found without a state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from ..analysis.clusters import WindowClusters, count_in_window
from ..analysis.sources import cluster_messages
from ..models import DiscoveredCluster, ErrorEvent
from ..rules import RuleSet
from ..store.state import StateStore
from .identity import Templater, fingerprint_of


def state_token(store: StateStore) -> tuple[object, ...]:
    """A value that changes whenever the review state does (a decision, an undo, a refresh)."""
    with store.read() as tx:
        latest = tx.actions(limit=1)
        return (
            latest[0].id if latest else None,
            latest[0].undone_by if latest else None,
            tx.last_refresh(),
        )


def place_in_clusters(
    events: Sequence[ErrorEvent],
    persisted: Sequence[DiscoveredCluster],
    *,
    store: StateStore,
    templater: Templater,
    rules: RuleSet,
    cluster_by_id: Callable[[str], DiscoveredCluster],
    now: datetime,
) -> WindowClusters:
    """``events`` in the ``persisted`` clusters (the window's, just refreshed); a cluster with
    none of its errors in its own window is looked up with ``cluster_by_id``."""
    id_to_cluster = {cluster.id: cluster for cluster in persisted}
    distinct = list(dict.fromkeys(event.message for event in events if event.message))
    with store.read() as tx:
        fp_to_cluster_id = {
            fingerprint: template.cluster_id for fingerprint, template in tx.templates().items()
        }
    message_to_cluster_id: dict[str, str] = {}
    for message, template in zip(distinct, templater.templates(distinct), strict=True):
        cluster_id = fp_to_cluster_id.get(fingerprint_of(template))
        if cluster_id is not None:
            message_to_cluster_id[message] = cluster_id
    for cluster_id in set(message_to_cluster_id.values()) - id_to_cluster.keys():
        id_to_cluster[cluster_id] = cluster_by_id(cluster_id)
    descriptions = list(id_to_cluster.values())
    unplaced = [
        event for event in events if event.message and event.message not in message_to_cluster_id
    ]
    if unplaced:
        fresh, message_to_fresh_id = cluster_messages(unplaced, rules)
        descriptions += fresh
        message_to_cluster_id.update(message_to_fresh_id)
    return count_in_window(descriptions, events, message_to_cluster_id, now, stateful=True)
