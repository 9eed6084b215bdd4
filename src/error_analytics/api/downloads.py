"""Downloads: the Markdown report, every view as JSON, and the cluster list as CSV.

All three read the window once (one snapshot) and the persisted clusters as they are; none of
them refreshes the clusters (``POST /clusters/refresh`` does).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from enum import Enum
from typing import TypedDict

from fastapi import Response

from ..models import (
    DebugRecommendation,
    DiscoveredCluster,
    ErrorPattern,
    ErrorSummary,
    PhaseErrorBreakdown,
    TrendData,
    to_jsonable,
)
from ..render import markdown_report
from ..service import ErrorAnalyticsService
from . import schemas
from .dependencies import AnalyticsDep, Days, ReviewDep
from .routing import PROBLEMS, router

TAGS: list[str | Enum] = ["downloads"]
PAGE = 500
CSV_COLUMNS = (
    "id",
    "name",
    "status",
    "category",
    "size",
    "runs_affected",
    "distinct_messages",
    "phases",
    "first_seen",
    "last_seen",
    "is_new",
    "is_spike",
    "template",
    "example",
)
#: A cell starting with one of these is a formula to a spreadsheet; error text is untrusted.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def all_clusters(review: ReviewDep) -> list[DiscoveredCluster]:
    """Every listed cluster (merged ones leave the list), largest first."""
    clusters: list[DiscoveredCluster] = []
    while True:
        page = review.list_clusters(sort="size", limit=PAGE, offset=len(clusters))
        clusters.extend(page.items)
        if not page.items or len(clusters) >= page.total:
            return clusters


class Views(TypedDict):
    """Every view of one window, keyed as ``/export.json`` names them."""

    summary: ErrorSummary
    by_phase: PhaseErrorBreakdown
    patterns: list[ErrorPattern]
    trends: TrendData
    recommendations: list[DebugRecommendation]
    clusters: list[DiscoveredCluster]


def _views(analytics: ErrorAnalyticsService, clusters: list[DiscoveredCluster], days: int) -> Views:
    snapshot = analytics.snapshot(days)
    return {
        "summary": analytics.get_error_summary(days, snapshot=snapshot, clusters=clusters),
        "by_phase": analytics.analyze_by_phase(days, snapshot=snapshot),
        "patterns": analytics.find_error_patterns(days, snapshot=snapshot)
        + analytics.cluster_patterns(clusters),
        "trends": analytics.get_failure_trends(days, snapshot=snapshot),
        "recommendations": analytics.get_debugging_recommendations(
            days, snapshot=snapshot, clusters=clusters
        ),
        "clusters": clusters,
    }


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.get(
    "/report.md",
    tags=TAGS,
    responses={200: {"content": {"text/markdown": {}}}, **PROBLEMS},
    response_class=Response,
    summary="The Markdown report of every section (as --report writes it)",
)
def report(analytics: AnalyticsDep, review: ReviewDep, days: Days = 30) -> Response:
    views = _views(analytics, all_clusters(review), days)
    text = markdown_report(
        days=days,
        summary=views["summary"],
        breakdown=views["by_phase"],
        patterns=views["patterns"],
        trend=views["trends"],
        recommendations=views["recommendations"],
        clusters=views["clusters"],
        generated_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
    )
    return Response(
        text,
        media_type="text/markdown; charset=utf-8",
        headers=_attachment(f"error-analysis-{days}d.md"),
    )


@router.get(
    "/export.json",
    response_model=schemas.Export,
    tags=TAGS,
    responses=PROBLEMS,
    summary="Every view in one JSON document (as --report --json prints it)",
)
def export(
    analytics: AnalyticsDep, review: ReviewDep, response: Response, days: Days = 30
) -> object:
    response.headers.update(_attachment(f"error-analysis-{days}d.json"))
    return {"days": days, **to_jsonable(_views(analytics, all_clusters(review), days))}


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@router.get(
    "/clusters.csv",
    tags=TAGS,
    responses={200: {"content": {"text/csv": {}}}, **PROBLEMS},
    response_class=Response,
    summary="The cluster list as CSV, one row per cluster",
)
def clusters_csv(review: ReviewDep) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for cluster in all_clusters(review):
        row = to_jsonable(cluster)
        row["phases"] = ";".join(cluster.phases)
        row["example"] = cluster.examples[0] if cluster.examples else ""
        writer.writerow([_cell(row[column]) for column in CSV_COLUMNS])
    return Response(
        buffer.getvalue(), media_type="text/csv; charset=utf-8", headers=_attachment("clusters.csv")
    )
