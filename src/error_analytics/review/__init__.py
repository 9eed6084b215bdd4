"""Clusters that persist across runs, and the review workflow whose decisions stick.

:class:`ClusterReviewService` is the entry point (see ``docs/review.md``).
"""

from __future__ import annotations

from .identity import ALGORITHM_VERSION
from .models import (
    ClusterDetail,
    ClusterPage,
    DailyCount,
    LabelledTemplate,
    RefreshResult,
    RulePreview,
    SimilarCluster,
    TagBreakdown,
    TagShare,
    TemplateInfo,
)
from .service import SORTS, STATUSES, ClusterReviewService

__all__ = [
    "ALGORITHM_VERSION",
    "SORTS",
    "STATUSES",
    "ClusterDetail",
    "ClusterPage",
    "ClusterReviewService",
    "DailyCount",
    "LabelledTemplate",
    "RefreshResult",
    "RulePreview",
    "SimilarCluster",
    "TagBreakdown",
    "TagShare",
    "TemplateInfo",
]
