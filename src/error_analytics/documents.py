"""The public JSON documents of the views: what ``--json`` prints and what the API answers.

The CLI's ``--json`` writes the service's results through this module
(:func:`~error_analytics.models.to_jsonable`): the same keys in the same order as the result's
fields, timestamps as ``YYYY-MM-DD HH:MM:SS`` and days as ``YYYY-MM-DD``. The API returns the
same results and its ``response_model`` (``api/schemas.py``, which mirrors the results field for
field and writes timestamps the same way) writes them; ``tests/test_view_parity.py`` proves the
two documents equal for every view on both engines, and ``tests/test_api.py`` fails when a
result gains a field its schema lacks.

A view's document is its result's (:func:`view_document`). Several views make one object keyed
by view name (:func:`views_document`), as ``analyze-errors --summary --phase --json`` prints it
and ``/export.json`` answers it for every view::

    {"days": 30, "summary": {...}, "by_phase": {...}, "patterns": [...], "trends": {...},
     "recommendations": [...], "clusters": [...]}

Without the summary (which carries it), the window's ``data_quality`` is added at the end.
:func:`window_views` computes several views of one window from one snapshot; the CLI and the
API both call it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from .analysis.recommendations import DEFAULT_LIMIT
from .models import (
    DataQualityReport,
    DebugRecommendation,
    DiscoveredCluster,
    ErrorPattern,
    ErrorSummary,
    PhaseErrorBreakdown,
    TrendData,
    to_jsonable,
)
from .render import markdown_report

if TYPE_CHECKING:  # the service reads databases; this module only shapes its results
    from .service import ErrorAnalyticsService

#: What one view's result is, before it becomes a document.
ViewResult = (
    ErrorSummary
    | PhaseErrorBreakdown
    | TrendData
    | list[ErrorPattern]
    | list[DebugRecommendation]
    | list[DiscoveredCluster]
)


class WindowViews(TypedDict, total=False):
    """The results of some views of one window, keyed by view name (:class:`View`)."""

    summary: ErrorSummary
    by_phase: PhaseErrorBreakdown
    patterns: list[ErrorPattern]
    trends: TrendData
    recommendations: list[DebugRecommendation]
    clusters: list[DiscoveredCluster]


class View(enum.StrEnum):
    """The views, named as the keys of a several-view document, in the order it lists them."""

    SUMMARY = "summary"
    BY_PHASE = "by_phase"
    PATTERNS = "patterns"
    TRENDS = "trends"
    RECOMMENDATIONS = "recommendations"
    CLUSTERS = "clusters"


def view_document(result: ViewResult) -> Any:
    """One view's document: ``result`` as JSON-ready dicts, lists, strings and numbers."""
    return to_jsonable(result)


def views_document(
    days: int,
    view_to_result: Mapping[str, Any],
    *,
    quality: DataQualityReport | None = None,
) -> dict[str, Any]:
    """Several views as one document: ``days``, then each view given (in :class:`View` order),
    then ``data_quality`` when the summary (which carries it) is not among them."""
    unknown = set(view_to_result) - {view.value for view in View}
    if unknown:
        raise ValueError(f"not a view: {', '.join(sorted(unknown))}")
    document: dict[str, Any] = {"days": days}
    for view in View:
        if view.value in view_to_result:
            document[view.value] = view_document(view_to_result[view.value])
    if View.SUMMARY.value not in view_to_result and quality is not None:
        document["data_quality"] = to_jsonable(quality)
    return document


def window_views(
    analytics: ErrorAnalyticsService,
    days: int,
    views: Iterable[View],
    *,
    recommendation_limit: int = DEFAULT_LIMIT,
) -> WindowViews:
    """The results of ``views`` over one window, read once (one snapshot, one set of clusters:
    the service's, with the review state's ids and decisions where there is one); at most
    ``recommendation_limit`` recommendations, as ``--limit`` says."""
    wanted = set(views)
    snapshot = analytics.snapshot(days)
    results = WindowViews()
    if View.SUMMARY in wanted:
        results["summary"] = analytics.get_error_summary(days, snapshot=snapshot)
    if View.BY_PHASE in wanted:
        results["by_phase"] = analytics.analyze_by_phase(days, snapshot=snapshot)
    if View.PATTERNS in wanted:
        results["patterns"] = analytics.find_error_patterns(days, snapshot=snapshot)
    if View.TRENDS in wanted:
        results["trends"] = analytics.get_failure_trends(days, snapshot=snapshot)
    if View.RECOMMENDATIONS in wanted:
        results["recommendations"] = analytics.get_debugging_recommendations(
            days, snapshot=snapshot, limit=recommendation_limit
        )
    if View.CLUSTERS in wanted:
        results["clusters"] = analytics.cluster_errors(days, snapshot=snapshot)
    return results


def report_markdown(days: int, views: WindowViews, generated_at: datetime) -> str:
    """The Markdown report of one window's views (all of them: :func:`window_views` with every
    :class:`View`), as ``--report`` writes it and ``/report.md`` answers it."""
    return markdown_report(
        days=days,
        summary=views["summary"],
        breakdown=views["by_phase"],
        patterns=views["patterns"],
        trend=views["trends"],
        recommendations=views["recommendations"],
        clusters=views["clusters"],
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M"),
    )
