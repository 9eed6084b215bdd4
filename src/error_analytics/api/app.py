"""``create_app()``: the API and the dashboard as one standalone FastAPI application."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from fastapi import FastAPI

from .. import __version__
from ..config import Settings, get_settings
from .dashboard import mount_dashboard
from .dependencies import prime_services
from .router import API_PREFIX, router

if TYPE_CHECKING:
    from ..service import ErrorAnalyticsService

DESCRIPTION = (
    "Why do our AI developer workflows fail? Summary, phases, patterns, trends, recommendations "
    "and the review of discovered error clusters. Write endpoints (POST) take a JSON body "
    "(`Content-Type: application/json`, at most 64 KiB; `{}` when there is nothing to say) and "
    "need `Authorization: Bearer <token>` when a token is configured."
)


def create_app(
    settings: Settings | None = None,
    *,
    dashboard: bool = True,
    ingest_every: float | None = None,
    analytics: ErrorAnalyticsService | None = None,
    reads_ingest: bool = True,
) -> FastAPI:
    """The router at ``/api/error-analytics`` and (unless ``dashboard=False``) the page at ``/``.

    ``settings`` replaces :func:`~error_analytics.config.get_settings` for this app only; without
    it the settings come from the environment. ``ingest_every`` (seconds): while the app runs,
    new runs are ingested in the background (:mod:`error_analytics.review.background`) and
    requests only read; without it each request ingests what is new first, unless
    ``reads_ingest=False`` says another process ingests (``serve`` runs one). ``analytics``:
    the service to answer with (built by the composition root when not given).
    """
    lifespan = None
    if ingest_every:
        lifespan = _ingesting(settings, ingest_every, analytics)
    elif analytics is not None or not reads_ingest:
        lifespan = _primed(settings, analytics, reads_ingest=reads_ingest)
    app = FastAPI(
        title="Error analytics", version=__version__, description=DESCRIPTION, lifespan=lifespan
    )
    app.include_router(router)
    if settings is not None:
        app.dependency_overrides[get_settings] = lambda: settings
    if dashboard:
        mount_dashboard(app, path="/", api_base=API_PREFIX)
    return app


def _primed(
    settings: Settings | None, analytics: ErrorAnalyticsService | None, *, reads_ingest: bool
):  # noqa: ANN202
    """A lifespan that hands the service to the routes (built now when not given); with
    ``reads_ingest=False`` its reads only read (another process ingests)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from ..errors import ConfigurationError, DatabaseError
        from ..service import ErrorAnalyticsService

        chosen = settings or get_settings()
        service = analytics or ErrorAnalyticsService.from_settings(chosen)
        prime_services(app, chosen, service)
        if not reads_ingest:
            try:
                service.review.ingest_on_read = False
            except (DatabaseError, ConfigurationError):
                pass  # no usable state: requests read the analysed tables
        yield

    return lifespan


def _ingesting(settings: Settings | None, interval: float, analytics: ErrorAnalyticsService | None):  # noqa: ANN202
    """A lifespan that builds the service (unless given) and ingests in the background."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from ..errors import DatabaseError
        from ..service import ErrorAnalyticsService

        chosen = settings or get_settings()
        service = analytics or ErrorAnalyticsService.from_settings(chosen)
        prime_services(app, chosen, service)
        background = None
        try:
            review = service.review
        except DatabaseError:
            review = None  # no usable state: requests read the analysed tables
        if review is not None:
            from ..review.background import BackgroundIngestion

            background = BackgroundIngestion(review, interval)
            background.start()
            app.state.error_analytics_ingestion = background
        try:
            yield
        finally:
            if background is not None:
                background.stop()

    return lifespan


def served_app() -> FastAPI:
    """The app ``serve --workers N`` starts in each worker process: the settings from the
    environment (``serve`` exports its options there); ``serve``'s own ingestion process
    ingests, so the workers' requests only read (unless the interval is 0)."""
    settings = get_settings()
    return create_app(settings, reads_ingest=not settings.ingest_interval_seconds)
