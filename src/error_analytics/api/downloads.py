"""Downloads: the Markdown report, every view as JSON, and the cluster list as CSV.

The report and the JSON export read the window once (one snapshot, the window's clusters), as
``analyze-errors --report`` does; ``limit`` is its ``--limit``. The JSON export is the document
``--report --json`` writes: ``days`` and the views' results keyed by view name
(:class:`ExportViews`), written by :class:`~.schemas.Export`. The report and the CSV are text
built here. The CSV lists the persisted clusters with errors in the window, their figures
counted in it (``days``, like every download).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from enum import Enum
from typing import TypedDict

from fastapi import APIRouter, Response

from ..analysis.recommendations import DEFAULT_LIMIT
from ..documents import View, report_markdown, window_views
from ..models import (
    DebugRecommendation,
    DiscoveredCluster,
    ErrorPattern,
    ErrorSummary,
    PhaseErrorBreakdown,
    TrendData,
    to_jsonable,
)
from . import schemas
from .dependencies import AnalyticsDep, Days, RecommendationLimit, ReviewDep
from .errors import ErrorMappingRoute
from .routing import PROBLEMS

router = APIRouter(route_class=ErrorMappingRoute)
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


class ExportViews(TypedDict):
    """What ``/export.json`` answers: the window and every view's result, as
    :func:`~error_analytics.documents.views_document` lays them out for ``--report --json``."""

    days: int
    summary: ErrorSummary
    by_phase: PhaseErrorBreakdown
    patterns: list[ErrorPattern]
    trends: TrendData
    recommendations: list[DebugRecommendation]
    clusters: list[DiscoveredCluster]


def all_clusters(review: ReviewDep, days: int = 30) -> list[DiscoveredCluster]:
    """Every cluster with errors in the window, largest first, counted in the window."""
    clusters: list[DiscoveredCluster] = []
    while True:
        page = review.list_clusters(sort="size", limit=PAGE, offset=len(clusters), days=days)
        clusters.extend(page.items)
        if not page.items or len(clusters) >= page.total:
            return clusters


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.get(
    "/report.md",
    tags=TAGS,
    responses={200: {"content": {"text/markdown": {}}}, **PROBLEMS},
    response_class=Response,
    summary="The Markdown report of every section (as --report writes it)",
)
def report(
    analytics: AnalyticsDep, days: Days = 30, limit: RecommendationLimit = DEFAULT_LIMIT
) -> Response:
    views = window_views(analytics, days, View, recommendation_limit=limit)
    text = report_markdown(days, views, datetime.now())
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
    analytics: AnalyticsDep,
    response: Response,
    days: Days = 30,
    limit: RecommendationLimit = DEFAULT_LIMIT,
) -> ExportViews:
    """The document ``analyze-errors --report --json`` writes, for the same window."""
    response.headers.update(_attachment(f"error-analysis-{days}d.json"))
    views = window_views(analytics, days, View, recommendation_limit=limit)
    return ExportViews(
        days=days,
        summary=views["summary"],
        by_phase=views["by_phase"],
        patterns=views["patterns"],
        trends=views["trends"],
        recommendations=views["recommendations"],
        clusters=views["clusters"],
    )


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@router.get(
    "/clusters.csv",
    tags=TAGS,
    responses={200: {"content": {"text/csv": {}}}, **PROBLEMS},
    response_class=Response,
    summary="The cluster list as CSV, one row per cluster, counted in the window",
)
def clusters_csv(review: ReviewDep, days: Days = 30) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for cluster in all_clusters(review, days):
        row = to_jsonable(cluster)
        row["phases"] = ";".join(cluster.phases)
        row["example"] = cluster.examples[0] if cluster.examples else ""
        writer.writerow([_cell(row[column]) for column in CSV_COLUMNS])
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers=_attachment(f"clusters-{days}d.csv"),
    )
