"""The window's clusters found afresh, without a review state.

:func:`fresh_clusters` clusters the window's messages now (``ErrorClusterer``), ids derived
from the templates; the figures are counted over the window's events
(:func:`.clusters.count_in_window`). With a review state the persisted clusters are used
instead (:mod:`error_analytics.review.window`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from ..models import DiscoveredCluster, ErrorEvent
from ..rules import RuleSet
from .clusters import WindowClusters, count_in_window

#: Progress of clustering: (done, total).
Progress = Callable[[int, int], None]


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
