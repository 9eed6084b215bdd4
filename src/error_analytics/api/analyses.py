"""The health check and the five analyses: summary, by-phase, patterns, trends, recommendations.

Each analysis answers the service's result for the window (a domain object of
:mod:`error_analytics.models`), written by its ``response_model`` (:mod:`.schemas`): the document
``analyze-errors --<view> --json`` prints under the view's key, for the same ``days``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from enum import Enum

from fastapi import APIRouter, Request

from .. import __version__
from ..analysis.recommendations import DEFAULT_LIMIT
from ..documents import View, window_views
from ..errors import ErrorAnalyticsError
from ..models import (
    DebugRecommendation,
    ErrorPattern,
    ErrorSummary,
    PhaseErrorBreakdown,
    TrendData,
)
from ..service import ErrorAnalyticsService
from . import schemas
from .dependencies import AnalyticsDep, Days, RecommendationLimit, SettingsDep, get_analytics
from .errors import ErrorMappingRoute
from .routing import PROBLEMS

router = APIRouter(route_class=ErrorMappingRoute)
TAGS: list[str | Enum] = ["analyses"]
logger = logging.getLogger("error_analytics.api")


def _database_check(analytics: ErrorAnalyticsService) -> None:
    analytics.reader.data_fingerprint()  # a real query: a cached engine may have lost its server


def _views_check(analytics: ErrorAnalyticsService) -> None:
    # the read every data endpoint starts with, on one day; by-phase because it needs no
    # clustering, so a polling balancer never makes the health check cluster or write state
    analytics.analyze_by_phase(1)


#: What ``/health`` runs, in order; a failing check makes the status ``degraded``.
HEALTH_CHECKS: tuple[tuple[str, Callable[[ErrorAnalyticsService], None]], ...] = (
    ("database", _database_check),
    ("views", _views_check),
)


def _run_check(name: str, check: Callable[[], None]) -> schemas.HealthCheck:
    try:
        check()
    except Exception as exc:  # health reports any failure (even a bug) instead of raising
        if not isinstance(exc, ErrorAnalyticsError):
            logger.exception("health check %s failed", name)
        reason = str(exc).strip().splitlines()
        detail = f"{type(exc).__name__}: {reason[0] if reason else ''}".rstrip(": ")
        return schemas.HealthCheck(name=name, ok=False, detail=detail[:500])
    return schemas.HealthCheck(name=name, ok=True)


@router.get(
    "/health",
    response_model=schemas.Health,
    tags=["health"],
    summary="Is the workflow database readable?",
)
def health(request: Request, settings: SettingsDep) -> schemas.Health:
    """``status`` is ``ok`` when every check passes (the database answers a query and a view is
    computed), ``degraded`` when one fails (``failed`` names it, ``checks`` says why) and
    ``unavailable`` when the workflow database cannot be opened. Never an error status itself,
    so a load balancer can read ``detail``."""
    writes_need_token = bool(settings.api_token)
    try:
        analytics = get_analytics(request, settings)
    except ErrorAnalyticsError as exc:  # health reports the problem instead of failing
        return schemas.Health(
            status="unavailable",
            version=__version__,
            detail=str(exc),
            failed=["database"],
            checks=[schemas.HealthCheck(name="database", ok=False, detail=str(exc))],
            writes_need_token=writes_need_token,
        )
    checks = [
        _run_check(name, functools.partial(check, analytics)) for name, check in HEALTH_CHECKS
    ]
    failed = [check.name for check in checks if not check.ok]
    return schemas.Health(
        status="degraded" if failed else "ok",
        version=__version__,
        engine=analytics.reader.engine.dialect.name,
        detail="; ".join(f"{check.name}: {check.detail}" for check in checks if not check.ok)
        or None,
        checks=checks,
        failed=failed,
        writes_need_token=writes_need_token,
    )


# Each view is read through window_views, as the CLI reads it: one snapshot of the window.
@router.get(
    "/summary",
    tags=TAGS,
    response_model=schemas.ErrorSummary,
    responses=PROBLEMS,
    summary="Totals, failure rate, top error categories and the largest clusters",
)
def summary(analytics: AnalyticsDep, days: Days = 30) -> ErrorSummary:
    return window_views(analytics, days, [View.SUMMARY])["summary"]


@router.get(
    "/by-phase",
    tags=TAGS,
    response_model=schemas.PhaseErrorBreakdown,
    responses=PROBLEMS,
    summary="Errors and failure rate per workflow phase",
)
def by_phase(analytics: AnalyticsDep, days: Days = 30) -> PhaseErrorBreakdown:
    return window_views(analytics, days, [View.BY_PHASE])["by_phase"]


@router.get(
    "/patterns",
    tags=TAGS,
    response_model=list[schemas.ErrorPattern],
    responses=PROBLEMS,
    summary="Error patterns: each category with its largest clusters",
)
def patterns(analytics: AnalyticsDep, days: Days = 30) -> list[ErrorPattern]:
    return window_views(analytics, days, [View.PATTERNS])["patterns"]


@router.get(
    "/trends",
    tags=TAGS,
    response_model=schemas.TrendData,
    responses=PROBLEMS,
    summary="Daily failure rate, direction and spike days",
)
def trends(analytics: AnalyticsDep, days: Days = 30) -> TrendData:
    return window_views(analytics, days, [View.TRENDS])["trends"]


@router.get(
    "/recommendations",
    tags=TAGS,
    response_model=list[schemas.DebugRecommendation],
    responses=PROBLEMS,
    summary="What to fix first, ranked by frequency, breadth and recency",
)
def recommendations(
    analytics: AnalyticsDep, days: Days = 30, limit: RecommendationLimit = DEFAULT_LIMIT
) -> list[DebugRecommendation]:
    views = window_views(analytics, days, [View.RECOMMENDATIONS], recommendation_limit=limit)
    return views["recommendations"]


__all__ = ["HEALTH_CHECKS", "router"]
