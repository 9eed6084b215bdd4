"""What the routes depend on, as ``Annotated`` aliases a host can override.

* :data:`SettingsDep` — :func:`error_analytics.config.get_settings` (cached, from the
  environment). A host or a test replaces it with ``app.dependency_overrides[get_settings]``;
  :func:`error_analytics.api.create_app` does that for the settings it is given.
* :data:`AnalyticsDep` — the :class:`ErrorAnalyticsService` for those settings, built by the
  composition root (:meth:`ErrorAnalyticsService.from_settings`) once per app and settings (the
  engine is a pool; opening it per request would probe the database every time). Override
  :func:`get_analytics` to supply your own service.
* :data:`ReviewDep` — that service's review workflow (:attr:`ErrorAnalyticsService.review`):
  the same state, clusters and clock as the views.
* :data:`Days` — the ``days`` query parameter, 1..3650, else a 422.
* :data:`RecommendationLimit` — the ``limit`` of ``/recommendations`` (like ``--limit``).
* :data:`WriteAccess` — marks every POST: when ``Settings.api_token`` is set, a request needs
  ``Authorization: Bearer <token>``, else a 401. The route class checks it (and the content
  type and size) before the body is read (:mod:`.guard`); the dependency checks it again and
  puts the bearer scheme in the OpenAPI document.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..analysis.recommendations import MAX_LIMIT as MAX_RECOMMENDATIONS
from ..config import Settings, get_settings
from ..service import MAX_DAYS, MIN_DAYS, ErrorAnalyticsService
from .guard import check_token

if TYPE_CHECKING:  # clustering (scikit-learn) loads on the first cluster request, not on import
    from ..review import ClusterReviewService

T = TypeVar("T")

_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8  # distinct settings per app before the oldest service is dropped

SettingsDep = Annotated[Settings, Depends(get_settings)]

Days = Annotated[
    int,
    Query(
        ge=MIN_DAYS,
        le=MAX_DAYS,
        description=f"analyse runs of the last N days ({MIN_DAYS}-{MAX_DAYS})",
    ),
]

RecommendationLimit = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_RECOMMENDATIONS,
        description=f"list at most N recommendations (1-{MAX_RECOMMENDATIONS}), like --limit",
    ),
]


def _settings_key(settings: Settings) -> tuple[Hashable, ...]:
    """What makes two settings open the same databases with the same rules."""
    return (
        settings.database_target().url,
        settings.state_database_target().url,
        settings.rules_file,
        settings.timezone,
        settings.run_url_template,
    )


def _cached(request: Request, key: Hashable, build: Callable[[], T]) -> T:
    """One object per app and key, kept on ``app.state`` (no module-level state)."""
    state = request.app.state
    with _CACHE_LOCK:
        cache: dict[Hashable, Any] = getattr(state, "error_analytics_cache", None) or {}
        state.error_analytics_cache = cache
        if key in cache:
            return cache[key]
    built = build()  # outside the lock: opening a database may take a while
    with _CACHE_LOCK:
        if key not in cache:
            if len(cache) >= _CACHE_SIZE:
                cache.pop(next(iter(cache)))
            cache[key] = built
        return cache[key]


def get_analytics(request: Request, settings: SettingsDep) -> ErrorAnalyticsService:
    return _cached(
        request,
        ("analytics",) + _settings_key(settings),
        lambda: ErrorAnalyticsService.from_settings(settings),
    )


AnalyticsDep = Annotated[ErrorAnalyticsService, Depends(get_analytics)]


def prime_services(app: Any, settings: Settings, analytics: ErrorAnalyticsService) -> None:
    """Hand a service already built (by ``serve`` at startup) to the app, under the key that
    :func:`get_analytics` looks up, so requests reuse it."""
    app.state.error_analytics_cache = {("analytics",) + _settings_key(settings): analytics}


def get_review(analytics: AnalyticsDep) -> ClusterReviewService:
    """The review workflow of the analytics service (its state, opened on first use)."""
    return analytics.review


ReviewDep = Annotated["ClusterReviewService", Depends(get_review)]

_bearer = HTTPBearer(auto_error=False, description="needed for writes when a token is configured")


def require_write_token(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    given = credentials.credentials if credentials is not None else ""
    check_token(settings, f"Bearer {given}")


WriteAccess = Depends(require_write_token)
