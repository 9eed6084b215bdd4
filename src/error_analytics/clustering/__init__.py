"""Discover recurring error patterns: normalise -> group templates -> merge -> name -> categorise.

Public API: :class:`ErrorClusterer` (sklearn-style), :func:`cluster_messages` and its
:class:`ClusteringResult`; :func:`normalize` for one message.
"""

from __future__ import annotations

from error_analytics.clustering.estimator import (
    ClusteringResult,
    ErrorClusterer,
    cluster_messages,
)
from error_analytics.clustering.masker import Masker
from error_analytics.clustering.normalize import normalize
from error_analytics.clustering.salience import salient_text

__all__ = [
    "ClusteringResult",
    "ErrorClusterer",
    "Masker",
    "cluster_messages",
    "normalize",
    "salient_text",
]
